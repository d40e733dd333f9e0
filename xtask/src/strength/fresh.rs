//! Whether the coverage map and the tests' profiles still describe the checkout, so that
//! `cargo xtask strength` reads them instead of running the suite again (minutes).
//!
//! They do when the map was built at the checkout's revision, every file it knows has the
//! content it had then, it covers the suite the smoketests binary lists now (a map built with a
//! filter covers only part of it), no artifact the tests ran (the instrumented binaries, the
//! smoketests binary, the modules) was rebuilt after it, and every mapped test's merged profile
//! is there.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    time::SystemTime,
};

use anyhow::Context;
use keel_artifacts::hash_file;

use crate::{coverage::map::CoverageMap, strength::profile};

/// The checkout, as the map must describe it.
#[derive(Debug)]
pub(crate) struct Checkout<'a> {
    /// The workspace root.
    pub(crate) root: &'a Path,
    /// `git rev-parse HEAD`.
    pub(crate) revision: &'a str,
    /// Every smoketest the binary lists, run or skipped.
    pub(crate) tests: BTreeSet<&'a str>,
    /// What the tests run, absolute or relative to the root.
    pub(crate) artifacts: Vec<PathBuf>,
}

/// What became of the check.
#[derive(Debug)]
pub(crate) enum Freshness {
    /// The map, which describes the checkout.
    Fresh(CoverageMap),
    /// Why the map must be built again (one line).
    Stale(String),
}

/// Loads the map of `checkout` and tells whether it can be used as it is.
pub(crate) fn check(checkout: &Checkout<'_>) -> anyhow::Result<Freshness> {
    let root = checkout.root;
    let map = match CoverageMap::load(root) {
        Ok(Some(map)) => map,
        Ok(None) => return Ok(Freshness::Stale("there is no coverage map yet".to_owned())),
        Err(error) => return Ok(Freshness::Stale(format!("{error:#}"))),
    };
    let map_path = CoverageMap::path(root);
    let built = modified(&map_path)?;
    Ok(match stale_reason(checkout, &map, built)? {
        None => Freshness::Fresh(map),
        Some(reason) => Freshness::Stale(reason),
    })
}

/// Why `map`, written at `built`, does not describe `checkout`; `None` when it does.
fn stale_reason(
    checkout: &Checkout<'_>,
    map: &CoverageMap,
    built: SystemTime,
) -> anyhow::Result<Option<String>> {
    if map.revision() != checkout.revision {
        return Ok(Some(format!(
            "the coverage map is of revision {}, the checkout is at {}",
            map.revision(),
            checkout.revision
        )));
    }
    let mut map_tests = map.tests();
    map_tests.extend(map.left_out().iter().map(|it| it.name.as_str()));
    if let Some(test) = checkout.tests.difference(&map_tests).next() {
        let count = checkout.tests.difference(&map_tests).count();
        return Ok(Some(format!(
            "the coverage map covers {} of the {} smoketests ({test} and {} more are not in it: new, or the map was built with a filter)",
            checkout.tests.intersection(&map_tests).count(),
            checkout.tests.len(),
            count - 1
        )));
    }
    if let Some(test) = map_tests.difference(&checkout.tests).next() {
        return Ok(Some(format!(
            "the coverage map holds {test}, which the smoketests binary no longer lists"
        )));
    }
    for (file, hash) in map.file_hashes() {
        let path = checkout.root.join(file);
        if hash_file(&path).ok().as_deref() != Some(hash) {
            return Ok(Some(format!(
                "{} changed since the coverage map was built",
                file.display()
            )));
        }
    }
    for artifact in &checkout.artifacts {
        let path = checkout.root.join(artifact);
        if !path.exists() {
            return Ok(Some(format!("{} is missing", artifact.display())));
        }
        if modified(&path)? > built {
            return Ok(Some(format!(
                "{} was rebuilt after the coverage map was built",
                artifact.display()
            )));
        }
    }
    for test in map.tests() {
        let path = profile::test_profile(checkout.root, test);
        if !path.is_file() {
            return Ok(Some(format!(
                "the merged profile of {test} is missing ({})",
                path.display()
            )));
        }
    }
    Ok(None)
}

/// When `path` was last written.
fn modified(path: &Path) -> anyhow::Result<SystemTime> {
    fs::metadata(path)
        .and_then(|it| it.modified())
        .with_context(|| format!("read when {} was written", path.display()))
}

#[cfg(test)]
mod tests {
    use std::{collections::BTreeMap, fs::File, time::Duration};

    use super::*;
    use crate::coverage::{
        lcov::FileLines,
        map::{MapBuilder, MapTimings, TestTiming},
        ranges::LineRanges,
    };

    /// A checkout with `src/a.rs`, an artifact written an hour ago, and a map of revision `r1`
    /// in which `t::one` executed `src/a.rs` and `t::two` was left out; `t::one`'s profile
    /// exists.
    fn checkout_with_map(dir: &Path) -> Vec<PathBuf> {
        fs::create_dir_all(dir.join("src")).unwrap();
        fs::write(dir.join("src/a.rs"), "fn a() {\n    b();\n}\n").unwrap();
        let artifact = dir.join("bin");
        fs::write(&artifact, "binary").unwrap();
        let an_hour_ago = SystemTime::now() - Duration::from_secs(3600);
        File::options()
            .write(true)
            .open(&artifact)
            .unwrap()
            .set_modified(an_hour_ago)
            .unwrap();
        let mut builder = MapBuilder::default();
        let lines = FileLines {
            instrumented: LineRanges::from_lines([1, 2, 3]),
            executed: LineRanges::from_lines([1, 2, 3]),
            functions: LineRanges::from_lines([1]),
        };
        builder.add_test(
            "t::one",
            TestTiming::default(),
            BTreeMap::from([(PathBuf::from("src/a.rs"), lines)]),
        );
        builder.leave_out("t::two", "failed under instrumentation: boom");
        let map = builder.finish(dir, "r1", MapTimings::default()).unwrap();
        map.save(dir).unwrap();
        let profile = profile::test_profile(dir, "t::one");
        fs::create_dir_all(profile.parent().unwrap()).unwrap();
        fs::write(&profile, "profile").unwrap();
        vec![PathBuf::from("bin")]
    }

    fn reason(checkout: &Checkout<'_>) -> Option<String> {
        match check(checkout).unwrap() {
            Freshness::Fresh(map) => {
                assert_eq!(map.revision(), checkout.revision);
                None
            }
            Freshness::Stale(reason) => Some(reason),
        }
    }

    #[test]
    fn a_map_of_this_checkout_with_its_profiles_is_fresh() {
        let dir = tempfile::tempdir().unwrap();
        let artifacts = checkout_with_map(dir.path());
        let checkout = Checkout {
            root: dir.path(),
            revision: "r1",
            tests: BTreeSet::from(["t::one", "t::two"]),
            artifacts,
        };
        assert_eq!(reason(&checkout), None);
    }

    #[test]
    fn each_difference_makes_it_stale_and_says_which() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let artifacts = checkout_with_map(root);
        let fresh = || Checkout {
            root,
            revision: "r1",
            tests: BTreeSet::from(["t::one", "t::two"]),
            artifacts: artifacts.clone(),
        };
        let cases = [
            (
                Checkout {
                    revision: "r2",
                    ..fresh()
                },
                "the coverage map is of revision r1, the checkout is at r2",
            ),
            (
                Checkout {
                    tests: BTreeSet::from(["t::one", "t::three", "t::two", "t::zero"]),
                    ..fresh()
                },
                "the coverage map covers 2 of the 4 smoketests (t::three and 1 more are not in it: new, or the map was built with a filter)",
            ),
            (
                Checkout {
                    tests: BTreeSet::from(["t::one"]),
                    ..fresh()
                },
                "the coverage map holds t::two, which the smoketests binary no longer lists",
            ),
            (
                Checkout {
                    artifacts: vec![PathBuf::from("gone")],
                    ..fresh()
                },
                "gone is missing",
            ),
        ];
        for (checkout, expected) in cases {
            assert_eq!(reason(&checkout).as_deref(), Some(expected));
        }
        assert_eq!(reason(&fresh()), None);

        File::options()
            .write(true)
            .open(root.join("bin"))
            .unwrap()
            .set_modified(SystemTime::now() + Duration::from_secs(60))
            .unwrap();
        assert_eq!(
            reason(&fresh()).as_deref(),
            Some("bin was rebuilt after the coverage map was built")
        );
        fs::write(root.join("bin"), "binary").unwrap();
        File::options()
            .write(true)
            .open(root.join("bin"))
            .unwrap()
            .set_modified(SystemTime::now() - Duration::from_secs(3600))
            .unwrap();
        assert_eq!(reason(&fresh()), None);

        fs::remove_file(profile::test_profile(root, "t::one")).unwrap();
        let missing = reason(&fresh()).unwrap();
        assert!(
            missing.starts_with("the merged profile of t::one is missing ("),
            "{missing}"
        );

        fs::write(root.join("src/a.rs"), "fn a() {\n    c();\n}\n").unwrap();
        assert_eq!(
            reason(&fresh()).as_deref(),
            Some("src/a.rs changed since the coverage map was built")
        );

        fs::remove_file(CoverageMap::path(root)).unwrap();
        assert_eq!(
            reason(&fresh()).as_deref(),
            Some("there is no coverage map yet")
        );
        fs::write(CoverageMap::path(root), "{").unwrap();
        let damaged = reason(&fresh()).unwrap();
        assert!(damaged.contains("is not a coverage map"), "{damaged}");
    }
}
