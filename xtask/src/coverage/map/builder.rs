//! [`MapBuilder`]: the tests' coverage, one test at a time, into a [`CoverageMap`], with the hash
//! of every source file as it is when the map is finished, and its blank and comment lines inside
//! function bodies counted with their neighbours (`quiet_lines`).

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::Context;
use keel_artifacts::hash_file;

use crate::coverage::{
    lcov::FileLines,
    map::{
        CoverageMap, FORMAT_VERSION, FileCoverage, LeftOut, MapTimings, TestTiming,
        quiet_lines::{bridge, quiet_gaps},
    },
    ranges::LineRanges,
};

/// Collects the tests' coverage into a [`CoverageMap`].
#[derive(Debug, Default)]
pub(crate) struct MapBuilder {
    tests: BTreeMap<String, TestTiming>,
    left_out: Vec<LeftOut>,
    files: BTreeMap<PathBuf, FileParts>,
}

/// One source file, as the tests so far saw it.
#[derive(Debug, Default)]
struct FileParts {
    instrumented: LineRanges,
    functions: LineRanges,
    executed: BTreeMap<String, LineRanges>,
}

impl MapBuilder {
    /// Adds test `name`, which executed `files` (as one lcov export of its profiles says).
    pub(crate) fn add_test(
        &mut self,
        name: &str,
        timing: TestTiming,
        files: BTreeMap<PathBuf, FileLines>,
    ) {
        self.tests.insert(name.to_owned(), timing);
        for (path, lines) in files {
            let file = self.files.entry(path).or_default();
            file.instrumented = file.instrumented.union(&lines.instrumented);
            file.functions = file.functions.union(&lines.functions);
            if !lines.executed.is_empty() {
                file.executed.insert(name.to_owned(), lines.executed);
            }
        }
    }

    /// Records that test `name` is not mapped, and why (one line).
    pub(crate) fn leave_out(&mut self, name: &str, reason: &str) {
        self.left_out.push(LeftOut {
            name: name.to_owned(),
            reason: reason.lines().next().unwrap_or_default().to_owned(),
        });
    }

    /// The map, with the hash and the quiet lines of every file as it is now under `root`.
    pub(crate) fn finish(
        mut self,
        root: &Path,
        revision: &str,
        timings: MapTimings,
    ) -> anyhow::Result<CoverageMap> {
        self.left_out.sort_by(|a, b| a.name.cmp(&b.name));
        let mut files = BTreeMap::new();
        for (path, file) in self.files {
            let source = root.join(&path);
            let what = || {
                format!(
                    "read {}, a source file of the instrumented binaries",
                    path.display()
                )
            };
            let blake3 = hash_file(&source).with_context(what)?;
            let text = fs::read(&source).with_context(what)?;
            let gaps = quiet_gaps(
                &String::from_utf8_lossy(&text),
                &file.instrumented,
                &file.functions,
            );
            let coverage = FileCoverage {
                blake3,
                instrumented: bridge(&file.instrumented, &gaps),
                executed: file
                    .executed
                    .into_iter()
                    .map(|(test, executed)| (test, bridge(&executed, &gaps)))
                    .collect(),
            };
            files.insert(path, coverage);
        }
        Ok(CoverageMap {
            format_version: FORMAT_VERSION,
            revision: revision.to_owned(),
            timings,
            tests: self.tests,
            left_out: self.left_out,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::fs;

    use super::*;

    #[test]
    fn the_builder_joins_tests_and_hashes_the_files_as_they_are() {
        let root = tempfile::tempdir().unwrap();
        fs::create_dir_all(root.path().join("src")).unwrap();
        // Line 4 is blank inside `a`; lines 8-9 lie between `a` and `b`.
        let text = "fn a(x: u32) -> u32 {\n    let y = x + 1;\n    let z = y * 2;\n\n    y + z\n}\n\n/// b.\nfn b() {}\n";
        fs::write(root.path().join("src/a.rs"), text).unwrap();
        let lines = |instrumented: &[u32], executed: &[u32]| FileLines {
            instrumented: LineRanges::from_lines(instrumented.iter().copied()),
            executed: LineRanges::from_lines(executed.iter().copied()),
            functions: LineRanges::from_lines([1, 9]),
        };
        let mut builder = MapBuilder::default();
        let timing = TestTiming {
            run_ms: 1.0,
            export_ms: 2.0,
        };
        builder.add_test(
            "one",
            timing,
            BTreeMap::from([(
                PathBuf::from("src/a.rs"),
                lines(&[1, 2, 3, 5, 6, 9], &[1, 2, 3, 5, 6]),
            )]),
        );
        builder.add_test(
            "two",
            timing,
            BTreeMap::from([(
                PathBuf::from("src/a.rs"),
                lines(&[1, 2, 3, 5, 6, 9, 12], &[]),
            )]),
        );
        builder.leave_out("zeta", "failed: assertion\nwith a second line");
        builder.leave_out("alpha", "timed out");
        let map = builder
            .finish(root.path(), "abc", MapTimings::default())
            .unwrap();
        assert_eq!(
            map.file_hash(Path::new("src/a.rs")),
            Some(hash_file(&root.path().join("src/a.rs")).unwrap().as_str())
        );
        assert_eq!(map.tests().into_iter().collect::<Vec<_>>(), ["one", "two"]);
        let file = &map.files[Path::new("src/a.rs")];
        // The union of what the tests saw, with the blank line 4 of `a`, not 7-8 before `b`.
        assert_eq!(file.instrumented.ranges(), [[1, 6], [9, 9], [12, 12]]);
        assert_eq!(file.executed["one"].ranges(), [[1, 6]]);
        // A test that executed nothing of a file is not listed under it.
        assert_eq!(file.executed.keys().collect::<Vec<_>>(), ["one"]);
        assert_eq!(
            map.left_out(),
            [
                LeftOut {
                    name: "alpha".to_owned(),
                    reason: "timed out".to_owned()
                },
                LeftOut {
                    name: "zeta".to_owned(),
                    reason: "failed: assertion".to_owned()
                }
            ]
        );

        let mut builder = MapBuilder::default();
        builder.add_test(
            "one",
            timing,
            BTreeMap::from([(PathBuf::from("src/gone.rs"), lines(&[1], &[1]))]),
        );
        let error = format!(
            "{:#}",
            builder
                .finish(root.path(), "abc", MapTimings::default())
                .unwrap_err()
        );
        assert!(error.contains("read src/gone.rs"), "{error}");
    }
}
