//! [`StrengthReport`], `target/smoketest/strength.json`: the coverage of the measured crates by
//! the smoketests, per file, per crate, for the server and in total, with the uncovered regions;
//! and how it is written, with its markdown twin `strength.md`.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::Context;
use keel_artifacts::{smoketest_dir, write_atomic};
use serde::{Deserialize, Serialize};

use crate::{
    coverage::map::LeftOut,
    strength::{
        export::FileCounts,
        scope::Scope,
        tally::{Position, Tally},
    },
};

/// The format of `strength.json`.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// What the figures of keel-client mean, said in every report.
pub(crate) const CLIENT_NOTE: &str = "keel-client also runs inside the smoketests binary, which is not instrumented: only its use by the CLI (`keel`) is measured.";

/// What `cargo xtask strength` measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StrengthReport {
    /// [`FORMAT_VERSION`] when written.
    pub(crate) format_version: u32,
    /// The revision of the coverage map the profiles belong to.
    pub(crate) revision: String,
    /// How many smoketests' profiles are counted.
    pub(crate) tests: usize,
    /// Smoketests that could not be mapped, so what only they execute counts as uncovered.
    pub(crate) left_out: Vec<LeftOut>,
    /// Whether the coverage map and its profiles were reused (`false`: the suite was run).
    pub(crate) map_reused: bool,
    /// The command's wall time.
    pub(crate) wall_ms: f64,
    /// What the figures do not say.
    pub(crate) notes: Vec<String>,
    /// The figures.
    #[serde(flatten)]
    pub(crate) coverage: Measured,
}

/// The figures, from the export of the suite's profile.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Measured {
    /// The server's crates together.
    pub(crate) server: Totals,
    /// Every measured crate together.
    pub(crate) total: Totals,
    /// Per crate, in the order of the scope.
    pub(crate) crates: Vec<CrateReport>,
    /// Source files of the measured crates in which neither binary has a code region
    /// (declarations only: modules, types, constants, derived code; or code no binary links),
    /// relative to the workspace root.
    pub(crate) without_code: Vec<PathBuf>,
}

/// Lines and regions, executed of all.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Totals {
    /// Lines with code.
    pub(crate) lines: Tally,
    /// Code regions.
    pub(crate) regions: Tally,
}

/// One measured crate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CrateReport {
    /// The package name.
    pub(crate) name: String,
    /// Whether it counts as the server.
    pub(crate) server: bool,
    /// Its files together.
    pub(crate) totals: Totals,
    /// Its files, by path.
    pub(crate) files: Vec<FileReport>,
}

/// One source file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FileReport {
    /// Relative to the workspace root.
    pub(crate) path: PathBuf,
    /// Its lines and regions.
    pub(crate) totals: Totals,
    /// Where its regions that no test executed start.
    pub(crate) uncovered: Vec<Position>,
}

impl Totals {
    /// The sum of `self` and `other`.
    fn plus(self, other: Totals) -> Totals {
        Totals {
            lines: self.lines.plus(other.lines),
            regions: self.regions.plus(other.regions),
        }
    }
}

/// The figures of `scope`'s crates in `files` (the export, by path relative to the workspace
/// root); `sources` are the scope's source files, for those without code.
pub(crate) fn measure(
    scope: &Scope,
    files: &BTreeMap<PathBuf, FileCounts>,
    sources: &[PathBuf],
) -> Measured {
    let mut measured = Measured::default();
    for measured_crate in &scope.crates {
        let mut report = CrateReport {
            name: measured_crate.name.clone(),
            server: measured_crate.server,
            totals: Totals::default(),
            files: Vec::new(),
        };
        for (path, counts) in files {
            if scope.crate_of(path) != Some(measured_crate) {
                continue;
            }
            let totals = Totals {
                lines: counts.lines,
                regions: counts.regions,
            };
            report.totals = report.totals.plus(totals);
            report.files.push(FileReport {
                path: path.clone(),
                totals,
                uncovered: counts.uncovered.clone(),
            });
        }
        measured.total = measured.total.plus(report.totals);
        if report.server {
            measured.server = measured.server.plus(report.totals);
        }
        measured.crates.push(report);
    }
    measured.without_code = sources
        .iter()
        .filter(|it| !files.contains_key(*it))
        .cloned()
        .collect();
    measured
}

/// Where the report of the checkout at `root` goes: `strength.json` and `strength.md`.
pub(crate) fn paths(root: &Path) -> (PathBuf, PathBuf) {
    let dir = smoketest_dir(root);
    (dir.join("strength.json"), dir.join("strength.md"))
}

/// Writes `report` and its `markdown` atomically; returns where.
pub(crate) fn save(
    root: &Path,
    report: &StrengthReport,
    markdown: &str,
) -> anyhow::Result<(PathBuf, PathBuf)> {
    let (json_path, markdown_path) = paths(root);
    let json = serde_json::to_vec_pretty(report).context("serialize the strength report")?;
    write_atomic(&json_path, &json).with_context(|| format!("write {}", json_path.display()))?;
    write_atomic(&markdown_path, markdown.as_bytes())
        .with_context(|| format!("write {}", markdown_path.display()))?;
    Ok((json_path, markdown_path))
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::strength::scope::MeasuredCrate;

    /// Two crates: `server-a` (server) and `cli-b`.
    pub(crate) fn scope() -> Scope {
        let measured = |name: &str, server| MeasuredCrate {
            name: name.to_owned(),
            server,
            src: Path::new("crates").join(name).join("src"),
        };
        Scope {
            crates: vec![measured("server-a", true), measured("cli-b", false)],
        }
    }

    fn counts(lines: (u64, u64), regions: (u64, u64), uncovered: &[(u32, u32)]) -> FileCounts {
        FileCounts {
            lines: Tally::new(lines.0, lines.1),
            regions: Tally::new(regions.0, regions.1),
            uncovered: uncovered
                .iter()
                .map(|&(line, column)| Position { line, column })
                .collect(),
        }
    }

    /// The export of [`scope`]: two files of `server-a`, one of `cli-b`, one of another crate.
    pub(crate) fn files() -> BTreeMap<PathBuf, FileCounts> {
        BTreeMap::from([
            (
                PathBuf::from("crates/server-a/src/lib.rs"),
                counts((10, 9), (12, 10), &[(4, 9), (7, 13)]),
            ),
            (
                PathBuf::from("crates/server-a/src/sql/mod.rs"),
                counts((30, 21), (40, 40), &[]),
            ),
            (
                PathBuf::from("crates/cli-b/src/main.rs"),
                counts(
                    (20, 10),
                    (25, 20),
                    &[(3, 5), (3, 20), (9, 1), (11, 5), (12, 5)],
                ),
            ),
            (
                PathBuf::from("crates/other/src/lib.rs"),
                counts((5, 0), (5, 0), &[(1, 1)]),
            ),
        ])
    }

    #[test]
    fn files_add_up_per_crate_for_the_server_and_in_total() {
        let sources = [
            PathBuf::from("crates/cli-b/src/main.rs"),
            PathBuf::from("crates/cli-b/src/unused.rs"),
            PathBuf::from("crates/server-a/src/lib.rs"),
            PathBuf::from("crates/server-a/src/sql/mod.rs"),
        ];
        let measured = measure(&scope(), &files(), &sources);
        let totals = |lines: (u64, u64), regions: (u64, u64)| Totals {
            lines: Tally::new(lines.0, lines.1),
            regions: Tally::new(regions.0, regions.1),
        };
        let names: Vec<&str> = measured.crates.iter().map(|it| it.name.as_str()).collect();
        assert_eq!(names, ["server-a", "cli-b"]);
        assert_eq!(measured.crates[0].totals, totals((40, 30), (52, 50)));
        assert_eq!(measured.crates[1].totals, totals((20, 10), (25, 20)));
        assert_eq!(measured.server, totals((40, 30), (52, 50)));
        assert_eq!(measured.total, totals((60, 40), (77, 70)));
        let server_files: Vec<&Path> = measured.crates[0]
            .files
            .iter()
            .map(|it| it.path.as_path())
            .collect();
        assert_eq!(
            server_files,
            [
                Path::new("crates/server-a/src/lib.rs"),
                Path::new("crates/server-a/src/sql/mod.rs")
            ]
        );
        assert_eq!(measured.crates[1].files[0].uncovered.len(), 5);
        assert_eq!(
            measured.without_code,
            [PathBuf::from("crates/cli-b/src/unused.rs")]
        );
    }

    #[test]
    fn the_report_is_written_atomically_as_json_and_markdown() {
        let dir = tempfile::tempdir().unwrap();
        let report = StrengthReport {
            format_version: FORMAT_VERSION,
            revision: "abc".to_owned(),
            tests: 2,
            left_out: Vec::new(),
            map_reused: true,
            wall_ms: 1.0,
            notes: vec![CLIENT_NOTE.to_owned()],
            coverage: measure(&scope(), &files(), &[]),
        };
        let (json, markdown) = save(dir.path(), &report, "# report\n").unwrap();
        assert_eq!(json, dir.path().join("target/smoketest/strength.json"));
        let read: StrengthReport = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(read, report);
        let value: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
        assert_eq!(value["server"]["lines"]["percent"], 75.0);
        assert_eq!(std::fs::read_to_string(markdown).unwrap(), "# report\n");
    }
}
