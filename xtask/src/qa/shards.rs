//! The shard check of `cargo xtask qa`: shards select what nextest selects, run each selected test
//! exactly once, and merge into the report of a full run.
//!
//! Cheap on purpose (the smoketests binary is the one warmup built):
//! - listing level: for `hash:` and `slice:` at N = 2 and 3, with and without a filter, the xtask's
//!   own shards equal `cargo nextest list --partition` (where nextest is installed);
//! - a real run of both `duration:` shards of a small filtered subset (serial tests included), the
//!   first under nextest and the second under the `cargo test` fallback, then `report merge`'s check:
//!   every selected test in exactly one shard, and the merged tests are the full run's.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail, ensure};
use keel_artifacts::{Manifest, smoketest_dir};
use xshell::{Shell, cmd};

use crate::{
    cargo, flags, process, project_root, report,
    smoketest::{
        self, fresh_binary,
        partition::{Partition, PartitionKind},
        report_dir,
        shard::RunRecord,
        summary::TestStatus,
    },
};

/// The subset the real two-shard run uses: small, with serial tests and a tagged (`[kind]`) one.
const RUN_FILTERS: &[&str] = &["basics::", "concurrency::", "cli::cli_bad_input_exit_codes"];

/// Runs the check; `full_run` is the run.json of the qa's full smoketest run.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    let out_dir = smoketest_dir(&root);
    let full_run = RunRecord::read(&out_dir).context("read the full run's run.json")?;
    let manifest = Manifest::load(&root)?;
    let test_binary = fresh_binary(&root, &manifest, "smoketests")?;
    let metadata = smoketest::read_metadata(sh, &test_binary, None)?;

    if smoketest::nextest_available(sh) {
        for filters in [&[][..], &["cli::".to_owned()][..]] {
            let mut flags = flags::Smoketest::qa_default();
            flags.filters = filters.to_vec();
            let listed = smoketest::list_selected(sh, &test_binary, &flags)?;
            let selected: BTreeSet<String> = listed.keys().cloned().collect();
            for kind in ["hash", "slice"] {
                for total in [2u64, 3] {
                    for shard in 1..=total {
                        let partition: Partition = format!("{kind}:{shard}/{total}")
                            .parse()
                            .map_err(anyhow::Error::msg)?;
                        let ours = smoketest::assign_shard(
                            &out_dir,
                            partition,
                            &selected,
                            &listed,
                            Some(&metadata),
                        )
                        .tests;
                        let nextest = nextest_list(sh, &partition, filters)?;
                        ensure!(
                            ours == nextest,
                            "shard {partition} (filters {filters:?}) differs from nextest's: only ours {:?}, only nextest's {:?}",
                            ours.difference(&nextest).collect::<Vec<_>>(),
                            nextest.difference(&ours).collect::<Vec<_>>()
                        );
                    }
                }
            }
            eprintln!(
                "==> shards: hash: and slice: at N = 2, 3 select what `cargo nextest list --partition` selects ({} tests, filters {filters:?})",
                selected.len()
            );
        }
    } else {
        eprintln!(
            "==> shards: nextest is not installed; the listing check against it did not run (the run below uses the cargo test fallback twice)"
        );
    }

    let mut shard_dirs = Vec::new();
    for (shard, no_nextest) in [(1, false), (2, true)] {
        let mut flags = flags::Smoketest::qa_default();
        flags.no_build = true;
        flags.filters = RUN_FILTERS.iter().map(|it| (*it).to_owned()).collect();
        flags.partition = Some(
            format!("duration:{shard}/2")
                .parse()
                .map_err(anyhow::Error::msg)?,
        );
        flags.no_nextest = no_nextest;
        let report = smoketest::run_suite(sh, &flags, &[])?;
        smoketest::finish(&flags, &report)
            .with_context(|| format!("shard duration:{shard}/2 of {RUN_FILTERS:?}"))?;
        shard_dirs.push(report_dir(&out_dir, flags.partition.as_ref()));
    }
    let records = shard_dirs
        .iter()
        .map(|dir| RunRecord::read(dir))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let (merged, problems) = report::merge(&records);
    ensure!(
        problems.is_empty(),
        "the shards do not add up: {}",
        problems.join("; ")
    );
    let merged_tests: BTreeSet<&str> = merged.outcomes.iter().map(|it| it.name.as_str()).collect();
    let full_tests: BTreeSet<&str> = full_run
        .outcomes
        .iter()
        .map(|it| it.name.as_str())
        .filter(|name| RUN_FILTERS.iter().any(|filter| name.contains(filter)))
        .collect();
    ensure!(
        merged_tests == full_tests,
        "the merged shards list {merged_tests:?}, the full run {full_tests:?}"
    );
    let not_passed: Vec<&str> = merged
        .outcomes
        .iter()
        .filter(|it| it.status != TestStatus::Passed)
        .map(|it| it.name.as_str())
        .collect();
    if !not_passed.is_empty() {
        bail!("in the shards, these did not pass: {not_passed:?}");
    }
    eprintln!(
        "==> shards: duration:1/2 (nextest) and duration:2/2 (cargo test) ran {} and {} of the {} selected tests, each exactly once, as the full run lists them",
        records[0].outcomes.len(),
        records[1].outcomes.len(),
        merged_tests.len()
    );
    Ok(())
}

/// The tests (by name, without `[kind] `) of `cargo nextest list --partition` for `filters`.
fn nextest_list(
    sh: &Shell,
    partition: &Partition,
    filters: &[String],
) -> anyhow::Result<BTreeSet<String>> {
    debug_assert!(partition.kind != PartitionKind::Duration);
    let cargo = cargo();
    let profile = crate::builds::PROFILE_FLAG;
    let partition = partition.to_string();
    let json = process::read(
        cmd!(
            sh,
            "{cargo} nextest list {profile} -p smoketests --message-format json --partition {partition} {filters...}"
        )
        .quiet()
        .ignore_stderr(),
    )
    .with_context(|| format!("cargo nextest list --partition {partition}"))?;
    let list: NextestList = serde_json::from_str(&json).context("parse nextest's list")?;
    let mut names = BTreeSet::new();
    for suite in list.rust_suites.values() {
        for (listed, case) in &suite.testcases {
            if case.filter_match.status == "matches" {
                let name = smoketest::selection::parse_listed(&format!("{listed}: test\n"));
                names.extend(name.into_keys());
            }
        }
    }
    Ok(names)
}

/// The part of `cargo nextest list --message-format json` the check reads.
#[derive(serde::Deserialize)]
struct NextestList {
    #[serde(rename = "rust-suites")]
    rust_suites: BTreeMap<String, NextestSuite>,
}

#[derive(serde::Deserialize)]
struct NextestSuite {
    testcases: BTreeMap<String, NextestCase>,
}

#[derive(serde::Deserialize)]
struct NextestCase {
    #[serde(rename = "filter-match")]
    filter_match: NextestFilterMatch,
}

#[derive(serde::Deserialize)]
struct NextestFilterMatch {
    status: String,
}
