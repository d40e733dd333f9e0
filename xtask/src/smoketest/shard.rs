//! The record a run leaves for the merge: `run.json` beside its JUnit and durations.
//!
//! It says what the run selected before partitioning, which tests it was assigned (its shard), what
//! happened to each (every attempt) and how long the shard was predicted to take and took, so that
//! `cargo xtask report merge` can prove that the shards together ran each selected test exactly once.

use std::{
    collections::{BTreeMap, BTreeSet},
    fs,
    path::Path,
};

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::smoketest::{
    SuiteReport, shard_index,
    summary::{Outcome, Summary},
};

/// The file name of the record in a run's report directory.
pub(crate) const RUN_RECORD: &str = "run.json";

/// What one run (a shard, a full run, or a merge) did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct RunRecord {
    /// `--partition` of the run (`duration:2/4`); none for a full run or a merge.
    pub(crate) partition: Option<String>,
    /// Every test the run selected, before partitioning, sorted.
    pub(crate) selected: Vec<String>,
    /// The tests dealt to this run (its shard; all of `selected` without a partition), sorted.
    pub(crate) assigned: Vec<String>,
    /// The shard's predicted time from the recorded durations.
    pub(crate) predicted_ms: Option<f64>,
    /// Wall time of the test runner.
    pub(crate) wall_ms: f64,
    /// `nextest` or `cargo test`.
    pub(crate) runner: String,
    /// Whether Ctrl-C or SIGTERM stopped it.
    pub(crate) interrupted: bool,
    /// Problems outside the tests.
    pub(crate) infrastructure_errors: Vec<String>,
    /// The outcome of each assigned test, with every attempt.
    pub(crate) outcomes: Vec<Outcome>,
}

/// One shard's times, for the summary's table.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShardTime {
    /// `duration:1/2`, or `full run`.
    pub(crate) label: String,
    /// Tests assigned.
    pub(crate) n_tests: usize,
    /// Predicted from the recorded durations.
    pub(crate) predicted_ms: Option<f64>,
    /// Measured.
    pub(crate) wall_ms: f64,
}

impl RunRecord {
    /// The record of `report`.
    pub(crate) fn of(report: &SuiteReport) -> RunRecord {
        let selected: Vec<String> = report
            .selected
            .iter()
            .flatten()
            .cloned()
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        let assigned = match &report.shard {
            Some(shard) => shard.tests.iter().cloned().collect(),
            None => selected.clone(),
        };
        RunRecord {
            partition: report.shard.as_ref().map(|it| it.partition.to_string()),
            predicted_ms: report
                .shard
                .as_ref()
                .map(|it| it.predicted_ms[shard_index(&it.partition)]),
            selected,
            assigned,
            wall_ms: report.wall.as_secs_f64() * 1000.0,
            runner: if report.used_nextest {
                "nextest"
            } else {
                "cargo test"
            }
            .to_owned(),
            interrupted: report.interrupted,
            infrastructure_errors: report.infrastructure_errors.clone(),
            outcomes: report.summary.outcomes.clone(),
        }
    }

    /// Writes `run.json` into `dir`.
    pub(crate) fn write(&self, dir: &Path) -> anyhow::Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let path = dir.join(RUN_RECORD);
        let json = serde_json::to_string_pretty(self).context("serialize the run record")?;
        fs::write(&path, json).with_context(|| format!("write {}", path.display()))
    }

    /// Reads `run.json` from `dir`.
    pub(crate) fn read(dir: &Path) -> anyhow::Result<RunRecord> {
        let path = dir.join(RUN_RECORD);
        let json = fs::read_to_string(&path).with_context(|| {
            format!(
                "read {}; is it the report directory of a `cargo xtask smoketest --partition` run?",
                path.display()
            )
        })?;
        serde_json::from_str(&json).with_context(|| format!("parse {}", path.display()))
    }

    /// This run's line of the shard table.
    pub(crate) fn shard_time(&self) -> ShardTime {
        ShardTime {
            label: self
                .partition
                .clone()
                .unwrap_or_else(|| "full run".to_owned()),
            n_tests: self.assigned.len(),
            predicted_ms: self.predicted_ms,
            wall_ms: self.wall_ms,
        }
    }

    /// The summary this record holds.
    pub(crate) fn summary(&self, flaky_fails: bool) -> Summary {
        Summary {
            outcomes: self.outcomes.clone(),
            interrupted: self.interrupted,
            not_finished: 0,
            flaky_fails,
        }
    }
}

/// The recorded durations by test name, from a `test-durations.json` (a run's or a merge's).
pub(crate) fn read_durations(path: &Path) -> anyhow::Result<BTreeMap<String, f64>> {
    let json = fs::read_to_string(path).with_context(|| format!("read {}", path.display()))?;
    let outcomes: Vec<Outcome> =
        serde_json::from_str(&json).with_context(|| format!("parse {}", path.display()))?;
    Ok(outcomes
        .into_iter()
        .filter_map(|it| it.duration_ms.map(|ms| (it.name, ms)))
        .collect())
}
