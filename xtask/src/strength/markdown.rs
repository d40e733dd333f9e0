//! `target/smoketest/strength.md`, the [`StrengthReport`] for reading: the per-crate table (also
//! what the command prints), the per-file table, then the uncovered regions of each file by
//! `line:column`, one line of source each, and what the figures leave out.

use std::{
    collections::BTreeMap,
    fmt::Write,
    path::{Path, PathBuf},
};

use crate::strength::{
    report::{StrengthReport, Totals},
    tally::{Position, Tally},
};

/// How much of a source line the list of uncovered regions shows.
const SNIPPET_CHARS: usize = 100;

/// The whole report; `sources` holds the text of the files with uncovered regions (a file
/// missing from it is listed without its lines).
pub(crate) fn render(report: &StrengthReport, sources: &BTreeMap<PathBuf, String>) -> String {
    let mut out = String::new();
    let reuse = if report.map_reused {
        "coverage map and profiles reused"
    } else {
        "suite run for it"
    };
    let _ = writeln!(
        out,
        "# How strong is the suite? Coverage by the smoketests\n\n\
         Revision `{}`: the profiles of {} smoketests ({} left out), each run in its own process against its own instrumented `keel-standalone`, with the `keel` runs it started profiled too; {reuse}; {:.1} s.\n",
        report.revision,
        report.tests,
        report.left_out.len(),
        report.wall_ms / 1000.0
    );
    for note in &report.notes {
        let _ = writeln!(out, "- {note}");
    }
    let _ = writeln!(
        out,
        "- Regions are counted where they start: regions that start at the same place count once, so there are a little fewer than `llvm-cov report` counts.\n"
    );
    let _ = writeln!(out, "## Per crate\n\n{}", crate_table(report));
    out.push_str("## Per file\n\n");
    out.push_str(&table_header("file", true));
    for file in report.coverage.crates.iter().flat_map(|it| &it.files) {
        out.push_str(&table_row(
            &format!("`{}`", file.path.display()),
            file.totals,
            Some(file.uncovered.len()),
        ));
    }
    out.push_str("\n## Uncovered regions\n\nWhere each region no smoketest executed starts (`line:column`), with its line.\n");
    for file in report.coverage.crates.iter().flat_map(|it| &it.files) {
        if file.uncovered.is_empty() {
            continue;
        }
        let _ = writeln!(
            out,
            "\n### `{}` ({})\n",
            file.path.display(),
            file.uncovered.len()
        );
        let lines = sources
            .get(&file.path)
            .map(|it| it.lines().collect::<Vec<_>>());
        for (line, positions) in by_line(&file.uncovered) {
            let spots: Vec<String> = positions
                .iter()
                .map(|it| format!("{}:{}", it.line, it.column))
                .collect();
            let snippet = lines
                .as_ref()
                .and_then(|it| it.get(line as usize - 1))
                .map(|text| snippet(text))
                .filter(|it| !it.is_empty());
            match snippet {
                Some(snippet) => {
                    let _ = writeln!(out, "- {} {}", spots.join(", "), inline_code(&snippet));
                }
                None => {
                    let _ = writeln!(out, "- {}", spots.join(", "));
                }
            }
        }
    }
    if !report.left_out.is_empty() {
        out.push_str(
            "\n## Smoketests left out\n\nWhat only these execute counts as uncovered.\n\n",
        );
        for it in &report.left_out {
            let _ = writeln!(out, "- `{}`: {}", it.name, it.reason);
        }
    }
    if !report.coverage.without_code.is_empty() {
        out.push_str("\n## Files without code\n\nSource files of these crates in which neither `keel-standalone` nor `keel` has a code region: declarations only (modules, types, constants, derived code), or code neither binary links.\n\n");
        for path in &report.coverage.without_code {
            let _ = writeln!(out, "- `{}`", path.display());
        }
    }
    out
}

/// The per-crate table, with the server's and the total rows.
pub(crate) fn crate_table(report: &StrengthReport) -> String {
    let crates = &report.coverage.crates;
    let mut out = table_header("crate", false);
    for it in crates {
        out.push_str(&table_row(&it.name, it.totals, None));
    }
    let server: Vec<&str> = crates
        .iter()
        .filter(|it| it.server)
        .map(|it| it.name.as_str())
        .collect();
    out.push_str(&table_row(
        &format!("**server** ({})", server.join(", ")),
        report.coverage.server,
        None,
    ));
    out.push_str(&table_row("**total**", report.coverage.total, None));
    out
}

/// The header of a table of lines and regions, first column `first`.
fn table_header(first: &str, with_uncovered: bool) -> String {
    let (extra, extra_rule) = if with_uncovered {
        (" uncovered regions |", "---:|")
    } else {
        ("", "")
    };
    format!(
        "| {first} | lines | covered | lines % | regions | covered | regions % |{extra}\n|---|---:|---:|---:|---:|---:|---:|{extra_rule}\n"
    )
}

/// One row of a table of lines and regions.
fn table_row(first: &str, totals: Totals, uncovered: Option<usize>) -> String {
    let Totals { lines, regions } = totals;
    let extra = uncovered.map_or(String::new(), |it| format!(" {it} |"));
    format!(
        "| {first} | {} | {} | {} | {} | {} | {} |{extra}\n",
        lines.count(),
        lines.covered(),
        percent(lines),
        regions.count(),
        regions.covered(),
        percent(regions)
    )
}

/// `94.6 %`, rounded down so that only a complete tally shows 100; `-` without a count.
fn percent(tally: Tally) -> String {
    match tally.percent() {
        Some(percent) => format!("{:.1} %", (percent * 10.0).floor() / 10.0),
        None => "-".to_owned(),
    }
}

/// `positions` (sorted) grouped by line.
fn by_line(positions: &[Position]) -> Vec<(u32, Vec<Position>)> {
    let mut lines: Vec<(u32, Vec<Position>)> = Vec::new();
    for position in positions {
        match lines.last_mut() {
            Some((line, on_it)) if *line == position.line => on_it.push(*position),
            _ => lines.push((position.line, vec![*position])),
        }
    }
    lines
}

/// A source line trimmed, and cut after [`SNIPPET_CHARS`] characters.
fn snippet(line: &str) -> String {
    let line = line.trim();
    match line.char_indices().nth(SNIPPET_CHARS) {
        Some((cut, _)) => format!("{} …", &line[..cut]),
        None => line.to_owned(),
    }
}

/// `text` as markdown inline code, whatever backticks it holds.
fn inline_code(text: &str) -> String {
    let longest_run = text.split(|it| it != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest_run + 1);
    if longest_run == 0 {
        format!("{fence}{text}{fence}")
    } else {
        format!("{fence} {text} {fence}")
    }
}

/// Whether `path` is one the report lists uncovered regions of, so its text is needed.
pub(crate) fn needs_source(report: &StrengthReport, path: &Path) -> bool {
    report
        .coverage
        .crates
        .iter()
        .flat_map(|it| &it.files)
        .any(|it| it.path == path && !it.uncovered.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        coverage::map::LeftOut,
        strength::report::{self, CLIENT_NOTE, FORMAT_VERSION, measure},
    };

    fn report() -> StrengthReport {
        StrengthReport {
            format_version: FORMAT_VERSION,
            revision: "0123abcd".to_owned(),
            tests: 2,
            left_out: vec![LeftOut {
                name: "t::crashes".to_owned(),
                reason: "failed under instrumentation: boom".to_owned(),
            }],
            map_reused: true,
            wall_ms: 2345.0,
            notes: vec![CLIENT_NOTE.to_owned()],
            coverage: measure(
                &report::tests::scope(),
                &report::tests::files(),
                &[PathBuf::from("crates/cli-b/src/unused.rs")],
            ),
        }
    }

    #[test]
    fn the_crate_table_has_a_row_per_crate_then_the_server_and_the_total() {
        assert_eq!(
            crate_table(&report()),
            "\
| crate | lines | covered | lines % | regions | covered | regions % |
|---|---:|---:|---:|---:|---:|---:|
| server-a | 40 | 30 | 75.0 % | 52 | 50 | 96.1 % |
| cli-b | 20 | 10 | 50.0 % | 25 | 20 | 80.0 % |
| **server** (server-a) | 40 | 30 | 75.0 % | 52 | 50 | 96.1 % |
| **total** | 60 | 40 | 66.6 % | 77 | 70 | 90.9 % |
"
        );
    }

    #[test]
    fn the_report_lists_files_then_uncovered_regions_by_line_with_their_source() {
        let sources = BTreeMap::from([(
            PathBuf::from("crates/cli-b/src/main.rs"),
            (1..=12)
                .map(|line| match line {
                    3 => "    if a { `tick` } else { b() }".to_owned(),
                    9 => String::new(),
                    11 => format!("    {}", "x".repeat(120)),
                    _ => format!("line {line}"),
                })
                .collect::<Vec<_>>()
                .join("\n"),
        )]);
        let markdown = render(&report(), &sources);
        assert!(
            markdown.starts_with(
                "# How strong is the suite? Coverage by the smoketests\n\nRevision `0123abcd`: the profiles of 2 smoketests (1 left out),"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("; coverage map and profiles reused; 2.3 s.\n"));
        assert!(markdown.contains(&format!("- {CLIENT_NOTE}\n")));
        assert!(markdown.contains(
            "| file | lines | covered | lines % | regions | covered | regions % | uncovered regions |\n|---|---:|---:|---:|---:|---:|---:|---:|\n\
             | `crates/server-a/src/lib.rs` | 10 | 9 | 90.0 % | 12 | 10 | 83.3 % | 2 |\n\
             | `crates/server-a/src/sql/mod.rs` | 30 | 21 | 70.0 % | 40 | 40 | 100.0 % | 0 |\n\
             | `crates/cli-b/src/main.rs` | 20 | 10 | 50.0 % | 25 | 20 | 80.0 % | 5 |\n"
        ));
        // The other crate's file is not measured; a file without uncovered regions has no list;
        // one without its source has its positions only.
        assert!(!markdown.contains("crates/other"));
        assert!(!markdown.contains("### `crates/server-a/src/sql/mod.rs`"));
        assert!(markdown.contains("### `crates/server-a/src/lib.rs` (2)\n\n- 4:9\n- 7:13\n"));
        let cli = format!(
            "### `crates/cli-b/src/main.rs` (5)\n\n\
             - 3:5, 3:20 `` if a {{ `tick` }} else {{ b() }} ``\n\
             - 9:1\n\
             - 11:5 `{} …`\n\
             - 12:5 `line 12`\n",
            "x".repeat(100)
        );
        assert!(markdown.contains(&cli), "{markdown}");
        assert!(markdown.contains(
            "## Smoketests left out\n\nWhat only these execute counts as uncovered.\n\n- `t::crashes`: failed under instrumentation: boom\n"
        ));
        assert!(markdown.ends_with("- `crates/cli-b/src/unused.rs`\n"));
    }

    #[test]
    fn percentages_round_down_and_say_when_there_is_nothing() {
        assert_eq!(percent(Tally::new(10_000, 9_999)), "99.9 %");
        assert_eq!(percent(Tally::new(3, 3)), "100.0 %");
        assert_eq!(percent(Tally::new(0, 0)), "-");
        assert_eq!(inline_code("a"), "`a`");
        assert_eq!(inline_code("a ``b`` c"), "``` a ``b`` c ```");
    }

    #[test]
    fn only_files_with_uncovered_regions_need_their_source() {
        let report = report();
        assert!(needs_source(&report, Path::new("crates/cli-b/src/main.rs")));
        assert!(!needs_source(
            &report,
            Path::new("crates/server-a/src/sql/mod.rs")
        ));
        assert!(!needs_source(&report, Path::new("crates/other/src/lib.rs")));
    }
}
