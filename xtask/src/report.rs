//! `cargo xtask report merge DIR...`: the fan-in of a sharded run.
//!
//! Each shard leaves `run.json` (see `smoketest::shard`) in its report directory. The merge checks
//! that the shards selected the same tests and that every selected test was assigned to, and ran in,
//! exactly one shard; then it writes one summary, one `junit.xml`, one `test-durations.json` (the
//! next run's balance input) and a merged `run.json`, and prints the shards' predicted and measured
//! times. Under GitHub Actions it also writes the job summary and the annotations.

use std::{
    collections::{BTreeMap, BTreeSet},
    env,
};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{
    flags,
    smoketest::{
        github,
        shard::{RunRecord, ShardTime},
    },
};

impl flags::Report {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        match self.command {
            flags::ReportCommand::Merge(merge) => merge.run(),
        }
    }
}

impl flags::Merge {
    fn run(self) -> anyhow::Result<()> {
        // Relative to where the command was given, not to the workspace root.
        let cwd = env::current_dir().context("find the current directory")?;
        let records = self
            .dirs
            .iter()
            .map(|dir| RunRecord::read(&cwd.join(dir)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let (merged, problems) = merge(&records);
        let summary = merged.summary(self.flaky_result.fails());
        eprint!("{}", summary.render(&[], &[]));
        let shard_times: Vec<ShardTime> = records.iter().map(RunRecord::shard_time).collect();
        eprint!("{}", shard_table(&shard_times));
        let out = cwd.join(&self.out);
        summary.write_durations(&out)?;
        summary.write_junit(&out.join("junit.xml"))?;
        merged.write(&out)?;
        eprintln!(
            "\nmerged {} shard(s) into {}, {}, {}",
            records.len(),
            out.join("junit.xml").display(),
            out.join("test-durations.json").display(),
            out.join("run.json").display()
        );
        if github::enabled() {
            github::publish(&summary, &shard_times)?;
        }
        let mut errors = problems;
        errors.extend(merged.infrastructure_errors.iter().cloned());
        if merged.interrupted {
            errors.push("a shard was interrupted".to_owned());
        }
        let failing: Vec<&str> = summary.failing().map(|it| it.name.as_str()).collect();
        if !failing.is_empty() {
            errors.push(format!(
                "{} smoketest(s) failed: {}",
                failing.len(),
                failing.join(", ")
            ));
        }
        if !errors.is_empty() {
            bail!("{}", errors.join("; "));
        }
        Ok(())
    }
}

/// Joins the shards' records; the problems are selected tests assigned to or run in no shard or
/// in several, and shards that disagree on the selection.
pub(crate) fn merge(records: &[RunRecord]) -> (RunRecord, Vec<String>) {
    let mut problems = Vec::new();
    let selected: BTreeSet<String> = records
        .iter()
        .flat_map(|it| it.selected.iter().cloned())
        .collect();
    for record in records {
        if record.selected.iter().cloned().collect::<BTreeSet<_>>() != selected {
            problems.push(format!(
                "shard {} selected {} test(s), the shards together {}: they ran with different filters or binaries",
                record.partition.as_deref().unwrap_or("(full run)"),
                record.selected.len(),
                selected.len()
            ));
        }
    }
    let mut assigned: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    let mut ran: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for record in records {
        let label = record.partition.as_deref().unwrap_or("(full run)");
        for name in &record.assigned {
            assigned.entry(name).or_default().push(label);
        }
        for outcome in &record.outcomes {
            ran.entry(&outcome.name).or_default().push(label);
        }
    }
    for name in &selected {
        match assigned.get(name.as_str()).map_or(&[][..], Vec::as_slice) {
            [] => problems.push(format!("{name} was selected but assigned to no shard")),
            [_] => {}
            shards => problems.push(format!(
                "{name} was assigned to {} shards: {}",
                shards.len(),
                shards.join(", ")
            )),
        }
        if let Some(shards) = ran.get(name.as_str())
            && shards.len() > 1
        {
            problems.push(format!(
                "{name} ran in {} shards: {}",
                shards.len(),
                shards.join(", ")
            ));
        }
    }
    for name in ran.keys() {
        if !selected.contains(*name) {
            problems.push(format!("{name} ran but was not selected"));
        }
    }
    let mut outcomes: Vec<_> = records
        .iter()
        .flat_map(|it| it.outcomes.iter().cloned())
        .collect();
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    let selected: Vec<String> = selected.into_iter().collect();
    let merged = RunRecord {
        partition: None,
        assigned: selected.clone(),
        selected,
        predicted_ms: None,
        wall_ms: records.iter().map(|it| it.wall_ms).fold(0.0, f64::max),
        runner: records
            .iter()
            .map(|it| it.runner.as_str())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>()
            .join(", "),
        interrupted: records.iter().any(|it| it.interrupted),
        infrastructure_errors: records
            .iter()
            .flat_map(|it| it.infrastructure_errors.iter().cloned())
            .collect(),
        outcomes,
    };
    (merged, problems)
}

/// The shards' predicted and measured times, with the slowest over the mean.
fn shard_table(shards: &[ShardTime]) -> String {
    let mut out = String::from("\nshards:\n");
    for shard in shards {
        out.push_str(&format!(
            "  {:<16} {:>4} tests  predicted {:>7}  ran {:>7.1}s\n",
            shard.label,
            shard.n_tests,
            shard
                .predicted_ms
                .map_or("-".to_owned(), |it| format!("{:.1}s", it / 1000.0)),
            shard.wall_ms / 1000.0
        ));
    }
    let walls: Vec<f64> = shards.iter().map(|it| it.wall_ms).collect();
    if let Some(ratio) = slowest_over_mean(&walls) {
        out.push_str(&format!("  slowest shard / mean: {ratio:.2}\n"));
    }
    out
}

/// The slowest of `times` over their mean; none when there are none or they are all zero.
pub(crate) fn slowest_over_mean(times: &[f64]) -> Option<f64> {
    let mean = times.iter().sum::<f64>() / times.len() as f64;
    (mean > 0.0).then(|| times.iter().copied().fold(0.0, f64::max) / mean)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoketest::summary::{Outcome, TestStatus};

    fn outcome(name: &str) -> Outcome {
        Outcome {
            name: name.to_owned(),
            status: TestStatus::Passed,
            duration_ms: Some(1.0),
            detail: None,
            attempts: Vec::new(),
            file: None,
            line: None,
        }
    }

    fn shard(partition: &str, selected: &[&str], assigned: &[&str], ran: &[&str]) -> RunRecord {
        RunRecord {
            partition: Some(partition.to_owned()),
            selected: selected.iter().map(|it| (*it).to_owned()).collect(),
            assigned: assigned.iter().map(|it| (*it).to_owned()).collect(),
            predicted_ms: Some(1.0),
            wall_ms: 2.0,
            runner: "nextest".to_owned(),
            interrupted: false,
            infrastructure_errors: Vec::new(),
            outcomes: ran.iter().map(|it| outcome(it)).collect(),
        }
    }

    #[test]
    fn disjoint_shards_merge_into_the_full_selection() {
        let all = ["a", "b", "c"];
        let (merged, problems) = merge(&[
            shard("duration:1/2", &all, &["a", "c"], &["a", "c"]),
            shard("duration:2/2", &all, &["b"], &["b"]),
        ]);
        assert!(problems.is_empty(), "{problems:?}");
        let names: Vec<&str> = merged.outcomes.iter().map(|it| it.name.as_str()).collect();
        assert_eq!(names, all);
        assert_eq!(merged.assigned, all);
    }

    #[test]
    fn a_test_in_no_shard_or_in_two_is_an_error() {
        let all = ["a", "b", "c"];
        let (_, problems) = merge(&[
            shard("hash:1/2", &all, &["a", "b"], &["a", "b"]),
            shard("hash:2/2", &all, &["b"], &["b"]),
        ]);
        assert_eq!(
            problems,
            [
                "b was assigned to 2 shards: hash:1/2, hash:2/2",
                "b ran in 2 shards: hash:1/2, hash:2/2",
                "c was selected but assigned to no shard",
            ]
        );
        let (_, problems) = merge(&[
            shard("slice:1/2", &all, &["a"], &["a"]),
            shard("slice:2/2", &["a", "b"], &["b"], &["b"]),
        ]);
        assert!(
            problems[0].contains("shard slice:2/2 selected 2 test(s), the shards together 3"),
            "{problems:?}"
        );
    }

    #[test]
    fn slowest_over_mean_of_shard_times() {
        assert_eq!(slowest_over_mean(&[1.0, 3.0]), Some(1.5));
        assert_eq!(slowest_over_mean(&[]), None);
        assert_eq!(slowest_over_mean(&[0.0]), None);
    }
}
