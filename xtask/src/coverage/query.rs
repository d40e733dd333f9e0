//! `cargo xtask coverage-map --query FILE[:A[-B]]`: which tests of the existing map executed
//! lines A-B of FILE (or any line of it), asked the way the affected-test selection asks.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use keel_artifacts::hash_file;

use crate::coverage::map::{CoverageMap, Hunk};

/// The question: a file and, optionally, a span of its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Query {
    file: PathBuf,
    /// First and last line (inclusive); `None`: the whole file.
    lines: Option<(u32, u32)>,
}

/// Answers `query` from the map of the checkout at `root`, on stdout.
pub(crate) fn run(root: &Path, query: &str) -> anyhow::Result<()> {
    let query = parse(query)?;
    let Some(map) = CoverageMap::load(root)? else {
        bail!(
            "there is no coverage map yet ({}); build it with `cargo xtask coverage-map`",
            CoverageMap::path(root).display()
        );
    };
    let Some(hash) = map.file_hash(&query.file) else {
        bail!(
            "the coverage map knows no {}: it holds the workspace files compiled into keel-standalone and keel, relative to the workspace root",
            query.file.display()
        );
    };
    if hash_file(&root.join(&query.file)).ok().as_deref() != Some(hash) {
        eprintln!(
            "note: {} changed since the map was built (revision {}); the line numbers are those of the map's version",
            query.file.display(),
            map.revision()
        );
    }
    // The whole file: a hunk past every instrumented line, which makes the selection file-wide.
    let (start, end) = query.lines.unwrap_or((1, u32::MAX));
    let hunk = Hunk {
        old_start: start,
        old_count: end - start + 1,
    };
    let selection = map.tests_for_hunks(&query.file, &[hunk]);
    let what = match query.lines {
        None => "any line".to_owned(),
        Some((start, end)) if start == end => format!("line {start}"),
        Some((start, end)) => format!("lines {start}-{end}"),
    };
    println!(
        "{} of {} mapped test(s) selected by {what} of {} (map of revision {}){}",
        selection.tests.len(),
        map.tests().len(),
        query.file.display(),
        map.revision(),
        if selection.file_wide && query.lines.is_some() {
            ": file-wide, a line is not instrumented"
        } else {
            ""
        }
    );
    for test in &selection.tests {
        println!("  {test}");
    }
    Ok(())
}

/// `FILE`, `FILE:A` or `FILE:A-B` (lines from 1, A <= B).
fn parse(text: &str) -> anyhow::Result<Query> {
    let usage = || format!("`{text}` is not FILE, FILE:LINE or FILE:FIRST-LAST");
    let Some((file, lines)) = text.rsplit_once(':') else {
        return Ok(Query {
            file: PathBuf::from(text),
            lines: None,
        });
    };
    let (start, end) = lines.split_once('-').unwrap_or((lines, lines));
    let start: u32 = start.trim().parse().with_context(usage)?;
    let end: u32 = end.trim().parse().with_context(usage)?;
    if file.is_empty() || start == 0 || end < start {
        bail!(usage());
    }
    Ok(Query {
        file: PathBuf::from(file),
        lines: Some((start, end)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_is_a_file_and_perhaps_lines() {
        assert_eq!(
            parse("crates/a/src/x.rs").unwrap(),
            Query {
                file: PathBuf::from("crates/a/src/x.rs"),
                lines: None
            }
        );
        assert_eq!(parse("x.rs:7").unwrap().lines, Some((7, 7)));
        assert_eq!(parse("x.rs:7-12").unwrap().lines, Some((7, 12)));
        for bad in ["x.rs:", "x.rs:0", "x.rs:9-3", "x.rs:a-b", ":4"] {
            let error = format!("{:#}", parse(bad).unwrap_err());
            assert!(error.contains("is not FILE"), "{bad}: {error}");
        }
    }
}
