//! Which tests a map build runs, and with whom: the tests the filters select (as the smoketests
//! binary lists them, like `cargo xtask smoketest` filters), split by their metadata into those
//! run N at a time, those marked serial (run alone) and those skipped where the binary runs.

use std::{collections::BTreeMap, path::Path};

use anyhow::bail;
use keel_artifacts::TestMeta;
use xshell::Shell;

use crate::{coverage::run, flags, smoketest};

/// The selected tests, in the order and the company they run in.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct TestPlan {
    /// Run `-j N` at a time.
    pub(crate) parallel: Vec<String>,
    /// Marked `#[serial]`: run one at a time, after the others.
    pub(crate) serial: Vec<String>,
    /// Skipped where the binary runs (for example without cargo), with the reason.
    pub(crate) skipped: Vec<(String, String)>,
}

/// The tests `filters` select, as the smoketests binary lists them (like `cargo xtask smoketest`
/// filters), sorted into a [`TestPlan`] by their metadata.
pub(crate) fn plan_tests(
    sh: &Shell,
    test_binary: &Path,
    filters: &[String],
) -> anyhow::Result<TestPlan> {
    let listing = flags::Smoketest {
        filters: filters.to_vec(),
        ..flags::Smoketest::qa_default()
    };
    let listed = smoketest::list_selected(sh, test_binary, &listing)?;
    if listed.is_empty() {
        bail!(
            "no smoketest matches the filters {filters:?}; `cargo xtask smoketest --no-build -- --list` lists them"
        );
    }
    let metadata = smoketest::read_metadata(sh, test_binary, None)?;
    let plan = plan_from(listed.keys().map(String::as_str), &metadata);
    let mut dirs = BTreeMap::new();
    for name in plan.parallel.iter().chain(&plan.serial) {
        if let Some(other) = dirs.insert(run::dir_name(name), name) {
            bail!(
                "tests `{other}` and `{name}` would share the profile directory {}; rename one",
                run::dir_name(name)
            );
        }
    }
    Ok(plan)
}

/// Sorts the selected `names` by what `metadata` says of each.
fn plan_from<'a>(names: impl IntoIterator<Item = &'a str>, metadata: &[TestMeta]) -> TestPlan {
    let by_name: BTreeMap<&str, &TestMeta> =
        metadata.iter().map(|it| (it.name.as_str(), it)).collect();
    let mut plan = TestPlan::default();
    for name in names {
        let meta = by_name.get(name);
        match meta.and_then(|it| it.skipped.as_ref()) {
            Some(reason) => plan
                .skipped
                .push((name.to_owned(), format!("skipped: {reason}"))),
            None if meta.is_some_and(|it| it.serial.is_some()) => plan.serial.push(name.to_owned()),
            None => plan.parallel.push(name.to_owned()),
        }
    }
    plan
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(name: &str, serial: Option<&str>, skipped: Option<&str>) -> TestMeta {
        TestMeta {
            name: name.to_owned(),
            local_only: None,
            serial: serial.map(str::to_owned),
            file: "tests/src/a.rs".to_owned(),
            line: 1,
            skipped: skipped.map(str::to_owned),
        }
    }

    #[test]
    fn serial_tests_run_apart_and_skipped_ones_are_left_out_with_their_reason() {
        let metadata = [
            meta("a::one", None, None),
            meta("a::two", Some("dozens of threads"), None),
            meta(
                "a::three",
                None,
                Some("needs cargo: builds a module at run time"),
            ),
            meta("a::unselected", None, None),
        ];
        let plan = plan_from(["a::one", "a::two", "a::three", "a::new"], &metadata);
        assert_eq!(
            plan,
            TestPlan {
                // A test the metadata does not know (it cannot happen with one binary) still runs.
                parallel: vec!["a::one".to_owned(), "a::new".to_owned()],
                serial: vec!["a::two".to_owned()],
                skipped: vec![(
                    "a::three".to_owned(),
                    "skipped: needs cargo: builds a module at run time".to_owned()
                )],
            }
        );
    }
}
