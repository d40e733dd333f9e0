//! Shard balance in `cargo xtask bench`: for N = 2, 4 and 8 shards and each way of dealing
//! (`duration:`, nextest's `hash:` and `slice:`), every shard is run for real, one test at a
//! time (`-j 1`, so a test's time is its own), and the slowest shard is compared with the mean,
//! as the runner predicts it from the recorded durations and as the shards' runs measure it.
//! Goal for `duration:`: the slowest shard at most 1.10 times the mean.
//! The shards run at `-j 1`, so they are balanced by the durations of the bench's own `-j 1` full
//! run (a `-j 16` run's durations stretch unevenly under contention); the checkout's recorded
//! durations are put back afterwards.

use std::{fs, path::PathBuf};

use serde::Serialize;
use xshell::Shell;

use crate::smoketest::{
    self, Summary,
    partition::{Partition, PartitionKind},
};
use crate::{flags, process, project_root};

/// Puts the recorded durations back, however the measurement ends.
struct RestoreDurations {
    saved: Vec<(PathBuf, Option<Vec<u8>>)>,
}

impl Drop for RestoreDurations {
    fn drop(&mut self) {
        for (path, bytes) in &self.saved {
            let restored = match bytes {
                Some(bytes) => fs::write(path, bytes),
                None => fs::remove_file(path),
            };
            if let Err(err) = restored {
                eprintln!("warning: could not restore {}: {err}", path.display());
            }
        }
    }
}

/// Shard counts measured.
const SHARD_COUNTS: [u64; 3] = [2, 4, 8];
/// Ways of dealing measured.
const KINDS: [(PartitionKind, &str); 3] = [
    (PartitionKind::Duration, "duration"),
    (PartitionKind::Hash, "hash"),
    (PartitionKind::Slice, "slice"),
];

/// One way of dealing at one shard count.
#[derive(Debug, Serialize)]
pub(super) struct ShardBalance {
    pub(super) kind: &'static str,
    pub(super) shards: u64,
    /// The runner's prediction (recorded durations; the median for unknown tests), per shard.
    pub(super) predicted_ms: Vec<f64>,
    /// The measured wall time of each shard's run.
    pub(super) measured_ms: Vec<f64>,
    pub(super) predicted_slowest_over_mean: Option<f64>,
    pub(super) measured_slowest_over_mean: Option<f64>,
}

/// Runs every shard of every kind and count, balanced by `balance_input`'s durations (the `-j 1`
/// run); `filters` narrow the suite as for the other runs.
pub(super) fn measure(
    sh: &Shell,
    filters: &[String],
    balance_input: &Summary,
) -> anyhow::Result<Vec<ShardBalance>> {
    let out_dir = keel_artifacts::smoketest_dir(&project_root());
    let _restore = RestoreDurations {
        saved: ["test-durations.json", "test-durations.md"]
            .iter()
            .map(|name| {
                let path = out_dir.join(name);
                let bytes = fs::read(&path).ok();
                (path, bytes)
            })
            .collect(),
    };
    balance_input.write_durations(&out_dir)?;
    let mut rows = Vec::new();
    for total in SHARD_COUNTS {
        for (kind, name) in KINDS {
            let mut predicted_ms = Vec::new();
            let mut measured_ms = Vec::new();
            for shard in 1..=total {
                let mut flags = flags::Smoketest::qa_default();
                flags.no_build = true;
                flags.jobs = 1;
                flags.filters = filters.to_vec();
                flags.partition = Some(Partition { kind, shard, total });
                eprintln!("\n==> bench: shard {name}:{shard}/{total} at -j 1");
                let report = smoketest::run_suite(sh, &flags, &[])?;
                process::check_interrupted()?;
                report.verdict()?;
                if let Some(assignment) = &report.shard {
                    predicted_ms.clone_from(&assignment.predicted_ms);
                }
                measured_ms.push(report.wall.as_secs_f64() * 1000.0);
            }
            rows.push(ShardBalance {
                kind: name,
                shards: total,
                predicted_slowest_over_mean: slowest_over_mean(&predicted_ms),
                measured_slowest_over_mean: slowest_over_mean(&measured_ms),
                predicted_ms,
                measured_ms,
            });
        }
    }
    Ok(rows)
}

/// The largest value over the mean.
fn slowest_over_mean(values: &[f64]) -> Option<f64> {
    let mean = values.iter().sum::<f64>() / values.len() as f64;
    let slowest = values.iter().copied().fold(f64::MIN, f64::max);
    (mean > 0.0).then(|| slowest / mean)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slowest_shard_is_compared_with_the_mean() {
        assert_eq!(slowest_over_mean(&[1.0, 1.0]), Some(1.0));
        assert_eq!(slowest_over_mean(&[3.0, 1.0]), Some(1.5));
        assert_eq!(slowest_over_mean(&[]), None);
        assert_eq!(slowest_over_mean(&[0.0, 0.0]), None);
    }
}
