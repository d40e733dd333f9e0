//! Reading the lcov text `llvm-cov export -format=lcov` prints: each source file's `SF:` record,
//! its `DA:<line>,<count>` entries and the start lines of its functions (`FN:<line>,<name>`);
//! everything else (function counts, branches, totals) is skipped.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};

use crate::coverage::ranges::LineRanges;

/// One source file's lines in an lcov report.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct FileLines {
    /// Lines with a `DA` entry: code the compiler instrumented.
    pub(crate) instrumented: LineRanges,
    /// Lines whose `DA` count is above zero.
    pub(crate) executed: LineRanges,
    /// Lines where a function or closure starts (`FN` entries).
    pub(crate) functions: LineRanges,
}

/// The files of `lcov` that lie below one of `roots` (the workspace root, perhaps spelled two
/// ways), keyed by their path relative to it; files elsewhere (the registry, the standard
/// library) are left out.
pub(crate) fn parse(lcov: &str, roots: &[&Path]) -> anyhow::Result<BTreeMap<PathBuf, FileLines>> {
    let mut files: BTreeMap<PathBuf, [Vec<u32>; 3]> = BTreeMap::new();
    // The file of the record being read: `Some(None)` for one outside the roots.
    let mut current: Option<Option<PathBuf>> = None;
    for (index, line) in lcov.lines().enumerate() {
        let line_no = index + 1;
        let line = line.trim_end();
        if let Some(path) = line.strip_prefix("SF:") {
            if current.is_some() {
                bail!("lcov line {line_no}: SF: before the previous record's end_of_record");
            }
            current = Some(relative_to(Path::new(path), roots));
        } else if let Some(entry) = line.strip_prefix("DA:") {
            let Some(file) = &current else {
                bail!("lcov line {line_no}: DA: outside a file record");
            };
            let (line_number, count) =
                parse_da(entry).with_context(|| format!("lcov line {line_no}: `{line}`"))?;
            if let Some(path) = file {
                let [instrumented, executed, _] = files.entry(path.clone()).or_default();
                instrumented.push(line_number);
                if count > 0 {
                    executed.push(line_number);
                }
            }
        } else if let Some(entry) = line.strip_prefix("FN:") {
            let Some(file) = &current else {
                bail!("lcov line {line_no}: FN: outside a file record");
            };
            let line_number = entry
                .split(',')
                .next()
                .and_then(|it| it.parse::<u32>().ok())
                .with_context(|| format!("lcov line {line_no}: `{line}` has no line number"))?;
            if let Some(path) = file {
                files.entry(path.clone()).or_default()[2].push(line_number);
            }
        } else if line == "end_of_record" && current.take().is_none() {
            bail!("lcov line {line_no}: end_of_record without a file record");
        }
    }
    if current.is_some() {
        bail!("the lcov report ends inside a file record (no end_of_record): truncated?");
    }
    Ok(files
        .into_iter()
        .map(|(path, [instrumented, executed, functions])| {
            let lines = FileLines {
                instrumented: LineRanges::from_lines(instrumented),
                executed: LineRanges::from_lines(executed),
                functions: LineRanges::from_lines(functions),
            };
            (path, lines)
        })
        .collect())
}

/// `<line>,<count>` or `<line>,<count>,<checksum>`.
fn parse_da(entry: &str) -> anyhow::Result<(u32, u64)> {
    let mut fields = entry.split(',');
    let (Some(line), Some(count)) = (fields.next(), fields.next()) else {
        bail!("expected DA:<line>,<count>");
    };
    let line: u32 = line.parse().context("the line number is not a number")?;
    if line == 0 {
        bail!("line 0 does not exist");
    }
    let count: u64 = count.parse().context("the count is not a number")?;
    Ok((line, count))
}

/// `path` relative to the first of `roots` it lies below.
pub(crate) fn relative_to(path: &Path, roots: &[&Path]) -> Option<PathBuf> {
    roots
        .iter()
        .find_map(|root| path.strip_prefix(root).ok())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Trimmed from a real `llvm-cov export -format=lcov` of keel-standalone and keel: function
    /// records, branch records and totals around the `DA` lines, a registry file and a file of the
    /// standard library.
    const LCOV: &str = "\
SF:/work/keel/crates/keel-host/src/guard.rs
FN:40,_RNvMNtCs5LhOv2Tjbnp_9keel_host5guardNtB2_5Guard3new
FN:58,_RNvMNtCs5LhOv2Tjbnp_9keel_host5guardNtB2_5Guard10is_private
FNDA:12,_RNvMNtCs5LhOv2Tjbnp_9keel_host5guardNtB2_5Guard3new
FNDA:0,_RNvMNtCs5LhOv2Tjbnp_9keel_host5guardNtB2_5Guard10is_private
FNF:2
FNH:1
DA:40,12
DA:41,12
DA:42,12
DA:43,12
DA:58,0
DA:59,0
DA:60,0
BRF:0
BRH:0
LF:7
LH:4
end_of_record
SF:/root/.cargo/registry/src/index.crates.io-1949cf8c6b5b557f/axum-0.8.4/src/routing/mod.rs
FN:100,_RNvXs_NtCs9axum7routing
FNDA:30,_RNvXs_NtCs9axum7routing
DA:100,30
DA:101,30
LF:2
LH:2
end_of_record
SF:/rustc/59807616e1fa2540724bfbac14d7976d7e4a3860/library/core/src/option.rs
DA:10,1
end_of_record
SF:/work/keel/crates/keel-cli/src/output.rs
FN:12,_RNvNtCs2keel_cli6output5print
FNDA:3,_RNvNtCs2keel_cli6output5print
DA:12,3
DA:13,3,AbCdEf
DA:15,0
DA:16,3
LF:4
LH:3
end_of_record
";

    #[test]
    fn workspace_files_keep_their_instrumented_and_executed_lines() {
        let files = parse(LCOV, &[Path::new("/work/keel")]).unwrap();
        assert_eq!(
            files.keys().collect::<Vec<_>>(),
            [
                Path::new("crates/keel-cli/src/output.rs"),
                Path::new("crates/keel-host/src/guard.rs")
            ]
        );
        let guard = &files[Path::new("crates/keel-host/src/guard.rs")];
        assert_eq!(guard.instrumented.ranges(), [[40, 43], [58, 60]]);
        assert_eq!(guard.executed.ranges(), [[40, 43]]);
        assert_eq!(guard.functions.ranges(), [[40, 40], [58, 58]]);
        let output = &files[Path::new("crates/keel-cli/src/output.rs")];
        assert_eq!(output.instrumented.ranges(), [[12, 13], [15, 16]]);
        assert_eq!(output.executed.ranges(), [[12, 13], [16, 16]]);
    }

    #[test]
    fn the_second_spelling_of_the_root_is_tried_too() {
        let files = parse(
            LCOV,
            &[Path::new("/elsewhere"), Path::new("/work/keel/crates")],
        )
        .unwrap();
        assert!(files.contains_key(Path::new("keel-host/src/guard.rs")));
        assert!(parse(LCOV, &[Path::new("/elsewhere")]).unwrap().is_empty());
    }

    #[test]
    fn a_file_listed_twice_is_one_union() {
        let twice = "SF:/r/a.rs\nDA:1,0\nDA:2,1\nend_of_record\nSF:/r/a.rs\nDA:1,4\nDA:3,0\nend_of_record\n";
        let files = parse(twice, &[Path::new("/r")]).unwrap();
        let lines = &files[Path::new("a.rs")];
        assert_eq!(lines.instrumented.ranges(), [[1, 3]]);
        assert_eq!(lines.executed.ranges(), [[1, 2]]);
    }

    #[test]
    fn malformed_reports_are_refused_with_the_line() {
        let cases = [
            ("DA:1,1\n", "lcov line 1: DA: outside a file record"),
            (
                "SF:/r/a.rs\nDA:x,1\nend_of_record\n",
                "lcov line 2: `DA:x,1`",
            ),
            ("SF:/r/a.rs\nDA:3\nend_of_record\n", "lcov line 2: `DA:3`"),
            (
                "SF:/r/a.rs\nDA:0,1\nend_of_record\n",
                "lcov line 2: `DA:0,1`",
            ),
            ("SF:/r/a.rs\nDA:1,1\n", "ends inside a file record"),
            ("SF:/r/a.rs\nSF:/r/b.rs\n", "lcov line 2: SF: before"),
            ("end_of_record\n", "lcov line 1: end_of_record without"),
            ("FN:3,f\n", "lcov line 1: FN: outside a file record"),
            (
                "SF:/r/a.rs\nFN:f\nend_of_record\n",
                "lcov line 2: `FN:f` has no line number",
            ),
        ];
        for (text, expected) in cases {
            let error = format!("{:#}", parse(text, &[Path::new("/r")]).unwrap_err());
            assert!(error.contains(expected), "{text:?}: {error}");
        }
    }
}
