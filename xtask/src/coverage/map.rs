//! The coverage map, `target/smoketest/coverage-map.json`: which lines of the server's and the
//! CLI's source files each smoketest executed, and the query the affected-test selection asks it.
//!
//! Per source file (relative to the workspace root) the map keeps the blake3 of the file as it was
//! when the map was built, the lines the compiler instrumented (every line with an lcov `DA`
//! entry), and per test the lines it executed; all as [`LineRanges`]. Lines that are not
//! instrumented are code that never executes by itself: struct and enum fields, `use` lines,
//! consts and statics, macro definitions, item headers and attributes, match-arm patterns, and
//! comments and blank lines between items. Blank and `//` comment lines inside a function body
//! count as instrumented, and as executed by the tests that executed the lines around them
//! (`builder` and `quiet_lines`).
//!
//! [`CoverageMap::tests_for_hunks`] turns the changed lines of one file into tests:
//! - a hunk whose lines are all instrumented selects the tests that executed one of them; a pure
//!   insertion after line `a` selects the tests that executed both `a` and `a + 1` (the new code
//!   runs where they ran through);
//! - a hunk that touches a line that is not instrumented (for an insertion: when `a` or `a + 1` is
//!   not, or does not exist, as at the top or the end of the file) may change meaning without
//!   executing, so it selects every test that executed any line of the file, and says so
//!   ([`HunkSelection::file_wide`]).

use std::{
    collections::{BTreeMap, BTreeSet},
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use keel_artifacts::{smoketest_dir, write_atomic};
use serde::{Deserialize, Serialize};

use crate::coverage::ranges::LineRanges;

mod builder;
mod quiet_lines;

pub(crate) use builder::MapBuilder;

/// The format of `coverage-map.json`; a map of another format is refused and must be rebuilt.
pub(crate) const FORMAT_VERSION: u32 = 1;

/// The map's file name under `target/smoketest/`.
const FILE_NAME: &str = "coverage-map.json";

/// Which lines of which source files each smoketest executed, in the server and CLI processes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CoverageMap {
    /// [`FORMAT_VERSION`] when written.
    format_version: u32,
    /// `git rev-parse HEAD` of the checkout the map was built in.
    revision: String,
    /// How long building the map took.
    timings: MapTimings,
    /// The tests the map covers, with what each cost.
    tests: BTreeMap<String, TestTiming>,
    /// Tests that were to be mapped but are not, with the reason; sorted by name.
    left_out: Vec<LeftOut>,
    /// Per source file, relative to the workspace root.
    files: BTreeMap<PathBuf, FileCoverage>,
}

/// Wall times of the steps that built a map.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct MapTimings {
    /// The instrumented build of `keel-standalone` and `keel`.
    pub(crate) build_ms: f64,
    /// The warmup: modules and the smoketests binary.
    pub(crate) warmup_ms: f64,
    /// Running the tests and exporting their coverage, from the first start to the last export.
    pub(crate) tests_ms: f64,
}

/// What mapping one test cost.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct TestTiming {
    /// Its smoketests process, from spawn to exit (its server's shutdown included).
    pub(crate) run_ms: f64,
    /// Merging its profiles and exporting them as lcov, and reading that.
    pub(crate) export_ms: f64,
}

/// A test that is not in the map, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct LeftOut {
    /// The test name.
    pub(crate) name: String,
    /// One line: why it is not mapped.
    pub(crate) reason: String,
}

/// One source file of the map.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct FileCoverage {
    /// blake3 of the file's content when the map was built.
    blake3: String,
    /// Lines the compiler instrumented, and the blank and comment lines inside function bodies.
    instrumented: LineRanges,
    /// Per test that executed at least one line of the file, the lines it executed.
    executed: BTreeMap<String, LineRanges>,
}

/// A hunk of `git diff -U0`, on the side of the map's version of the file (`@@ -start,count`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Hunk {
    /// The first line the hunk replaces or removes; for a pure insertion, the line it follows
    /// (0: the top of the file).
    pub(crate) old_start: u32,
    /// How many lines it replaces or removes; 0 for a pure insertion.
    pub(crate) old_count: u32,
}

/// The tests some hunks of one file select.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct HunkSelection {
    /// The selected tests.
    pub(crate) tests: BTreeSet<String>,
    /// Whether a hunk touched a line that is not instrumented, so that every test that executed
    /// any line of the file is selected.
    pub(crate) file_wide: bool,
}

impl Hunk {
    /// The lines the hunk touches: the lines it replaces, or for an insertion after `a` its two
    /// neighbours `a` and `a + 1`; and whether it is an insertion.
    fn touched(self) -> (u32, u32, bool) {
        if self.old_count == 0 {
            (self.old_start, self.old_start.saturating_add(1), true)
        } else {
            let end = self.old_start.saturating_add(self.old_count - 1);
            (self.old_start, end, false)
        }
    }
}

impl CoverageMap {
    /// Where the map of the checkout at `root` lives.
    pub(crate) fn path(root: &Path) -> PathBuf {
        smoketest_dir(root).join(FILE_NAME)
    }

    /// The map of the checkout at `root`; `None` when none was built. A map that cannot be read,
    /// or was written in another format, is an error that says to rebuild it.
    pub(crate) fn load(root: &Path) -> anyhow::Result<Option<CoverageMap>> {
        let path = CoverageMap::path(root);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(error) => {
                return Err(error).with_context(|| format!("read {}", path.display()));
            }
        };
        let rebuild = "run `cargo xtask coverage-map` to build it again";
        #[derive(Deserialize)]
        struct Version {
            format_version: u32,
        }
        let version: Version = serde_json::from_str(&text)
            .with_context(|| format!("{} is not a coverage map; {rebuild}", path.display()))?;
        if version.format_version != FORMAT_VERSION {
            bail!(
                "{} has format {}, this xtask reads format {FORMAT_VERSION}; {rebuild}",
                path.display(),
                version.format_version
            );
        }
        let map = serde_json::from_str(&text)
            .with_context(|| format!("{} is damaged; {rebuild}", path.display()))?;
        Ok(Some(map))
    }

    /// Writes the map of the checkout at `root` atomically, and returns where.
    pub(crate) fn save(&self, root: &Path) -> anyhow::Result<PathBuf> {
        let path = CoverageMap::path(root);
        let json = serde_json::to_vec(self).context("serialize the coverage map")?;
        write_atomic(&path, &json).with_context(|| format!("write {}", path.display()))?;
        Ok(path)
    }

    /// The git revision (`HEAD`) the map was built from.
    pub(crate) fn revision(&self) -> &str {
        &self.revision
    }

    /// The blake3 of `file` (relative to the workspace root) when the map was built; `None` when
    /// the map does not know the file: no instrumented binary compiled it.
    pub(crate) fn file_hash(&self, file: &Path) -> Option<&str> {
        self.files.get(file).map(|it| it.blake3.as_str())
    }

    /// Every source file the map knows (relative to the workspace root), with its blake3 when
    /// the map was built.
    pub(crate) fn file_hashes(&self) -> impl Iterator<Item = (&Path, &str)> {
        self.files
            .iter()
            .map(|(path, file)| (path.as_path(), file.blake3.as_str()))
    }

    /// The tests the map covers; tests left out (and tests added since) are not among them.
    pub(crate) fn tests(&self) -> BTreeSet<&str> {
        self.tests.keys().map(String::as_str).collect()
    }

    /// The tests that were to be mapped but are not, with the reason.
    pub(crate) fn left_out(&self) -> &[LeftOut] {
        &self.left_out
    }

    /// What mapping each covered test cost.
    pub(crate) fn test_timings(&self) -> &BTreeMap<String, TestTiming> {
        &self.tests
    }

    /// How long building the map took.
    pub(crate) fn timings(&self) -> MapTimings {
        self.timings
    }

    /// How many source files the map knows, and how many instrumented lines they hold.
    pub(crate) fn file_totals(&self) -> (usize, u64) {
        let lines = self
            .files
            .values()
            .map(|it| it.instrumented.line_count())
            .sum();
        (self.files.len(), lines)
    }

    /// The tests that `hunks` of `file` select (see the module doc for the rule).
    ///
    /// `hunks` are in the coordinates of the map's version of the file (the old side of
    /// `git diff -U0 <revision> -- file`, when the file at that revision has
    /// [`CoverageMap::file_hash`]). A file the map does not know selects nothing here; the
    /// caller decides what a change to it means.
    pub(crate) fn tests_for_hunks(&self, file: &Path, hunks: &[Hunk]) -> HunkSelection {
        let mut selection = HunkSelection::default();
        let Some(coverage) = self.files.get(file) else {
            return selection;
        };
        for hunk in hunks {
            let (start, end, insertion) = hunk.touched();
            if !coverage.instrumented.contains_all(start, end) {
                selection.file_wide = true;
                continue;
            }
            for (test, executed) in &coverage.executed {
                let hit = if insertion {
                    executed.contains_all(start, end)
                } else {
                    executed.overlaps(start, end)
                };
                if hit {
                    selection.tests.insert(test.clone());
                }
            }
        }
        if selection.file_wide {
            selection.tests.extend(coverage.executed.keys().cloned());
        }
        selection
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `src/a.rs`: lines 1-9 are `use` lines and a struct (not instrumented), 10-20 one function,
    /// 21-29 consts and blank lines (not instrumented), 30-40 another function, nothing after.
    /// `first` ran 10-15, `second` 10-12 and 16-20 (the other branch), `third` 30-35;
    /// `elsewhere` ran only `src/b.rs`, which `src/c.rs` stands beside with no test at all.
    fn hand_made_map() -> CoverageMap {
        let instrumented = LineRanges::try_from(vec![[10, 20], [30, 40]]).unwrap();
        let executed = |ranges: Vec<[u32; 2]>| LineRanges::try_from(ranges).unwrap();
        let file_a = FileCoverage {
            blake3: "hash-of-a".to_owned(),
            instrumented,
            executed: BTreeMap::from([
                ("first".to_owned(), executed(vec![[10, 15]])),
                ("second".to_owned(), executed(vec![[10, 12], [16, 20]])),
                ("third".to_owned(), executed(vec![[30, 35]])),
            ]),
        };
        let file_b = FileCoverage {
            blake3: "hash-of-b".to_owned(),
            instrumented: executed(vec![[1, 5]]),
            executed: BTreeMap::from([("elsewhere".to_owned(), executed(vec![[1, 5]]))]),
        };
        let file_c = FileCoverage {
            blake3: "hash-of-c".to_owned(),
            instrumented: executed(vec![[3, 9]]),
            executed: BTreeMap::new(),
        };
        CoverageMap {
            format_version: FORMAT_VERSION,
            revision: "0123abcd".to_owned(),
            timings: MapTimings::default(),
            tests: ["first", "second", "third", "elsewhere"]
                .into_iter()
                .map(|name| (name.to_owned(), TestTiming::default()))
                .collect(),
            left_out: vec![LeftOut {
                name: "crashed".to_owned(),
                reason: "failed: boom".to_owned(),
            }],
            files: BTreeMap::from([
                (PathBuf::from("src/a.rs"), file_a),
                (PathBuf::from("src/b.rs"), file_b),
                (PathBuf::from("src/c.rs"), file_c),
            ]),
        }
    }

    fn select(hunks: &[(u32, u32)]) -> (Vec<String>, bool) {
        select_in("src/a.rs", hunks)
    }

    fn select_in(file: &str, hunks: &[(u32, u32)]) -> (Vec<String>, bool) {
        let hunks: Vec<Hunk> = hunks
            .iter()
            .map(|&(old_start, old_count)| Hunk {
                old_start,
                old_count,
            })
            .collect();
        let selection = hand_made_map().tests_for_hunks(Path::new(file), &hunks);
        (selection.tests.into_iter().collect(), selection.file_wide)
    }

    fn names(names: &[&str]) -> Vec<String> {
        names.iter().map(|it| (*it).to_owned()).collect()
    }

    #[test]
    fn a_changed_instrumented_line_selects_the_tests_that_executed_it() {
        assert_eq!(select(&[(13, 1)]), (names(&["first"]), false));
        assert_eq!(select(&[(16, 2)]), (names(&["second"]), false));
        assert_eq!(select(&[(11, 1)]), (names(&["first", "second"]), false));
        assert_eq!(select(&[(33, 1)]), (names(&["third"]), false));
    }

    #[test]
    fn instrumented_lines_no_test_executed_select_nothing() {
        assert_eq!(select(&[(36, 5)]), (names(&[]), false));
    }

    #[test]
    fn a_deletion_selects_the_tests_that_executed_a_deleted_line() {
        // `@@ -12,2 +11,0 @@`: lines 12 and 13 removed.
        assert_eq!(select(&[(12, 2)]), (names(&["first", "second"]), false));
        // Removing lines 14-15 (only `first` ran them) and 16 (only `second`).
        assert_eq!(select(&[(14, 2)]), (names(&["first"]), false));
        assert_eq!(select(&[(14, 3)]), (names(&["first", "second"]), false));
    }

    #[test]
    fn an_insertion_selects_the_tests_that_ran_through_both_neighbours() {
        // `@@ -12,0 +13 @@`: a line inserted between 12 and 13; only `first` ran both.
        assert_eq!(select(&[(12, 0)]), (names(&["first"]), false));
        // Between 15 and 16: `first` stopped at 15 and `second` resumed at 16 (another branch).
        assert_eq!(select(&[(15, 0)]), (names(&[]), false));
        assert_eq!(select(&[(32, 0)]), (names(&["third"]), false));
    }

    #[test]
    fn an_insertion_at_the_top_of_the_file_is_file_wide() {
        // `@@ -0,0 +1 @@`: there is no line 0, so nothing instrumented surrounds the new line.
        assert_eq!(
            select(&[(0, 0)]),
            (names(&["first", "second", "third"]), true)
        );
    }

    #[test]
    fn an_insertion_beside_a_line_that_is_not_instrumented_is_file_wide() {
        // After the last line (40; there is no 41), and between a const (25) and another (26).
        assert_eq!(
            select(&[(40, 0)]),
            (names(&["first", "second", "third"]), true)
        );
        assert_eq!(
            select(&[(25, 0)]),
            (names(&["first", "second", "third"]), true)
        );
        // Right after the first function's last line (20), before a blank line (21).
        assert_eq!(
            select(&[(20, 0)]),
            (names(&["first", "second", "third"]), true)
        );
    }

    #[test]
    fn a_change_to_lines_that_are_not_instrumented_is_file_wide() {
        // A `use` line, a struct field: every test that executed any line of the file.
        assert_eq!(
            select(&[(3, 1)]),
            (names(&["first", "second", "third"]), true)
        );
        assert_eq!(
            select(&[(1, 9)]),
            (names(&["first", "second", "third"]), true)
        );
    }

    #[test]
    fn a_hunk_spanning_instrumented_and_other_lines_is_file_wide() {
        // Lines 19-23: the end of a function (instrumented) and consts after it (not).
        assert_eq!(
            select(&[(19, 5)]),
            (names(&["first", "second", "third"]), true)
        );
        // A line number past the file's end counts as not instrumented too.
        assert_eq!(
            select(&[(38, 5)]),
            (names(&["first", "second", "third"]), true)
        );
    }

    #[test]
    fn several_hunks_select_the_union() {
        assert_eq!(
            select(&[(13, 1), (31, 1)]),
            (names(&["first", "third"]), false)
        );
        assert_eq!(
            select(&[(31, 1), (5, 1)]),
            (names(&["first", "second", "third"]), true)
        );
        assert_eq!(select(&[]), (names(&[]), false));
    }

    #[test]
    fn a_file_no_test_executed_selects_nothing() {
        assert_eq!(select_in("src/c.rs", &[(4, 2)]), (names(&[]), false));
        // Even a file-wide hunk: no test executed any of its lines.
        assert_eq!(select_in("src/c.rs", &[(1, 1)]), (names(&[]), true));
        // Another file's tests are not this file's.
        assert_eq!(
            select_in("src/b.rs", &[(2, 1)]),
            (names(&["elsewhere"]), false)
        );
    }

    #[test]
    fn a_file_the_map_does_not_know_selects_nothing_and_has_no_hash() {
        let map = hand_made_map();
        assert_eq!(map.file_hash(Path::new("src/unknown.rs")), None);
        assert_eq!(map.file_hash(Path::new("src/a.rs")), Some("hash-of-a"));
        assert_eq!(
            select_in("src/unknown.rs", &[(0, 0), (3, 1)]),
            (names(&[]), false)
        );
    }

    #[test]
    fn the_map_says_what_it_covers() {
        let map = hand_made_map();
        assert_eq!(map.revision(), "0123abcd");
        assert_eq!(
            map.tests().into_iter().collect::<Vec<_>>(),
            ["elsewhere", "first", "second", "third"]
        );
        assert_eq!(map.left_out()[0].name, "crashed");
        assert_eq!(map.file_totals(), (3, 22 + 5 + 7));
    }

    #[test]
    fn saved_maps_load_back_and_damaged_ones_say_to_rebuild() {
        let root = tempfile::tempdir().unwrap();
        assert_eq!(CoverageMap::load(root.path()).unwrap(), None);
        let map = hand_made_map();
        let path = map.save(root.path()).unwrap();
        assert_eq!(path, root.path().join("target/smoketest/coverage-map.json"));
        assert_eq!(CoverageMap::load(root.path()).unwrap(), Some(map));

        let text = fs::read_to_string(&path).unwrap();
        let other_format = text.replacen(
            &format!("\"format_version\":{FORMAT_VERSION}"),
            "\"format_version\":999",
            1,
        );
        fs::write(&path, other_format).unwrap();
        let error = format!("{:#}", CoverageMap::load(root.path()).unwrap_err());
        assert!(
            error.contains("has format 999") && error.contains("cargo xtask coverage-map"),
            "{error}"
        );
        let unsorted = text.replacen("[[10,20],[30,40]]", "[[30,40],[10,20]]", 1);
        assert_ne!(unsorted, text);
        fs::write(&path, unsorted).unwrap();
        let error = format!("{:#}", CoverageMap::load(root.path()).unwrap_err());
        assert!(error.contains("is damaged"), "{error}");
        fs::write(&path, "[1, 2]").unwrap();
        let error = format!("{:#}", CoverageMap::load(root.path()).unwrap_err());
        assert!(error.contains("is not a coverage map"), "{error}");
    }
}
