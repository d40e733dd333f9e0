//! Shards: `--partition hash:M/N | slice:M/N | duration:M/N` over the tests a run selects.
//!
//! `hash:` and `slice:` are nextest's own (`nextest-runner/src/partition.rs`), re-implemented so the
//! `cargo test` fallback selects what nextest selects: `hash:` keeps a test when the xxh64 (seed 0)
//! of its name modulo N is M-1; `slice:` deals the selected tests, sorted by name, round-robin, with a
//! separate deal for the ignored ones (nextest counts ignored and non-ignored tests apart).
//! `duration:` balances recorded durations: longest first onto the least loaded shard (ties: lower
//! shard, then name), a test without a recorded duration weighing the median. [`plan`] assigns every
//! selected test to exactly one shard, so the shards of one N together run each test once.

use std::{collections::BTreeMap, fmt, str::FromStr};

use xxhash_rust::xxh64::xxh64;

/// How tests are dealt to shards.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PartitionKind {
    /// nextest's `hash:`: by the hash of the test name.
    Hash,
    /// nextest's `slice:`: round-robin over the sorted names.
    Slice,
    /// Balanced by recorded durations, longest first.
    Duration,
}

/// `--partition KIND:M/N`: run shard M (from 1) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Partition {
    /// How tests are dealt.
    pub(crate) kind: PartitionKind,
    /// This shard, from 1.
    pub(crate) shard: u64,
    /// Shards in all.
    pub(crate) total: u64,
}

/// One selected test, as the partitioner sees it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct PlanEntry<'a> {
    /// Its name.
    pub(crate) name: &'a str,
    /// Whether the test binary marks it ignored (local-only in remote mode).
    pub(crate) ignored: bool,
}

/// Every shard's tests and predicted time, for one kind and N.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ShardPlan {
    /// Per shard (index = M-1), its tests sorted by name.
    pub(crate) shards: Vec<Vec<String>>,
    /// Per shard, the sum of its tests' recorded (or median) durations.
    pub(crate) predicted_ms: Vec<f64>,
}

impl Partition {
    /// `hash:M/N` as nextest writes it.
    pub(crate) fn nextest_arg(&self) -> Option<String> {
        match self.kind {
            PartitionKind::Hash | PartitionKind::Slice => Some(self.to_string()),
            PartitionKind::Duration => None,
        }
    }
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            PartitionKind::Hash => "hash",
            PartitionKind::Slice => "slice",
            PartitionKind::Duration => "duration",
        };
        write!(f, "{kind}:{}/{}", self.shard, self.total)
    }
}

impl FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Partition, String> {
        let (kind, shards) = text
            .split_once(':')
            .ok_or_else(|| format!("partition `{text}` is not KIND:M/N"))?;
        let kind = match kind {
            "hash" => PartitionKind::Hash,
            "slice" => PartitionKind::Slice,
            "duration" => PartitionKind::Duration,
            other => {
                return Err(format!(
                    "partition kind `{other}` is not one of hash, slice, duration"
                ));
            }
        };
        let (shard, total) = shards
            .split_once('/')
            .ok_or_else(|| format!("partition `{text}` is not KIND:M/N"))?;
        let parse = |it: &str| {
            it.parse::<u64>()
                .map_err(|err| format!("partition `{text}`: `{it}` is not a number: {err}"))
        };
        let (shard, total) = (parse(shard)?, parse(total)?);
        if !(1..=total).contains(&shard) {
            return Err(format!(
                "partition `{text}`: shard {shard} is not between 1 and {total}"
            ));
        }
        Ok(Partition { kind, shard, total })
    }
}

/// Deals `tests` (sorted by name, as the binary lists them) to `total` shards.
///
/// `durations` are the recorded durations by test name (`test-durations.json`); only `duration:`
/// reads them, and a test missing from them weighs the median of the selected tests that have one
/// (1 ms when none has).
pub(crate) fn plan(
    kind: PartitionKind,
    total: u64,
    tests: &[PlanEntry<'_>],
    durations: &BTreeMap<String, f64>,
) -> ShardPlan {
    let n_shards = usize::try_from(total.max(1)).expect("shard count fits usize");
    let weight = weights(tests, durations);
    let mut shard_of: Vec<usize> = vec![0; tests.len()];
    match kind {
        PartitionKind::Hash => {
            for (test_idx, test) in tests.iter().enumerate() {
                shard_of[test_idx] = usize::try_from(xxh64(test.name.as_bytes(), 0) % total)
                    .expect("shard index fits usize");
            }
        }
        PartitionKind::Slice => {
            let mut sorted: Vec<usize> = (0..tests.len()).collect();
            sorted.sort_by(|a, b| tests[*a].name.cmp(tests[*b].name));
            let mut next = [0usize; 2];
            for test_idx in sorted {
                let deal = &mut next[usize::from(tests[test_idx].ignored)];
                shard_of[test_idx] = *deal;
                *deal = (*deal + 1) % n_shards;
            }
        }
        PartitionKind::Duration => {
            let mut order: Vec<usize> = (0..tests.len()).collect();
            order.sort_by(|a, b| {
                weight[*b]
                    .total_cmp(&weight[*a])
                    .then_with(|| tests[*a].name.cmp(tests[*b].name))
            });
            let mut load = vec![0.0f64; n_shards];
            for test_idx in order {
                let lightest = (0..n_shards)
                    .min_by(|a, b| load[*a].total_cmp(&load[*b]).then(a.cmp(b)))
                    .expect("at least one shard");
                load[lightest] += weight[test_idx];
                shard_of[test_idx] = lightest;
            }
        }
    }
    let mut shards = vec![Vec::new(); n_shards];
    let mut predicted_ms = vec![0.0; n_shards];
    for (test_idx, test) in tests.iter().enumerate() {
        shards[shard_of[test_idx]].push(test.name.to_owned());
        predicted_ms[shard_of[test_idx]] += weight[test_idx];
    }
    for shard in &mut shards {
        shard.sort();
    }
    ShardPlan {
        shards,
        predicted_ms,
    }
}

/// Each test's predicted duration: recorded, else the median; ignored tests do not run and weigh 0.
fn weights(tests: &[PlanEntry<'_>], durations: &BTreeMap<String, f64>) -> Vec<f64> {
    let mut known: Vec<f64> = tests
        .iter()
        .filter(|it| !it.ignored)
        .filter_map(|it| durations.get(it.name).copied())
        .collect();
    known.sort_by(f64::total_cmp);
    let median = match known.len() {
        0 => 1.0,
        n if n % 2 == 1 => known[n / 2],
        n => (known[n / 2 - 1] + known[n / 2]) / 2.0,
    };
    tests
        .iter()
        .map(|it| match it.ignored {
            true => 0.0,
            false => durations.get(it.name).copied().unwrap_or(median),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(names: &[&'static str]) -> Vec<PlanEntry<'static>> {
        names
            .iter()
            .map(|name| PlanEntry {
                name,
                ignored: false,
            })
            .collect()
    }

    #[test]
    fn partitions_parse_as_nextest_parses_them() {
        assert_eq!(
            "duration:2/4".parse(),
            Ok(Partition {
                kind: PartitionKind::Duration,
                shard: 2,
                total: 4
            })
        );
        assert_eq!(
            "hash:1/1".parse::<Partition>().unwrap().nextest_arg(),
            Some("hash:1/1".to_owned())
        );
        assert_eq!(
            "duration:1/2".parse::<Partition>().unwrap().nextest_arg(),
            None
        );
        for bad in [
            "",
            "hash",
            "hash:",
            "hash:1",
            "hash:0/2",
            "hash:3/2",
            "hash:m/2",
            "slice:1/2/3",
            "count:1/2",
            "duration:1/0",
        ] {
            assert!(bad.parse::<Partition>().is_err(), "{bad}");
        }
    }

    #[test]
    fn hash_is_xxh64_of_the_name_with_seed_0() {
        // Pinned values: nextest's HashPartitioner computes `xxh64(test_name.as_bytes(), 0)`.
        assert_eq!(xxh64(b"", 0), 0xef46_db37_51d8_e999);
        let tests = entries(&["a", "b", "c", "d", "e", "f", "g", "h"]);
        let plan = plan(PartitionKind::Hash, 3, &tests, &BTreeMap::new());
        for (shard_idx, shard) in plan.shards.iter().enumerate() {
            for name in shard {
                assert_eq!(xxh64(name.as_bytes(), 0) % 3, shard_idx as u64);
            }
        }
    }

    #[test]
    fn slice_deals_sorted_names_round_robin_and_ignored_apart() {
        let mut tests = entries(&["d", "a", "c", "b", "e"]);
        tests.push(PlanEntry {
            name: "z_ignored",
            ignored: true,
        });
        let plan = plan(PartitionKind::Slice, 2, &tests, &BTreeMap::new());
        assert_eq!(plan.shards[0], ["a", "c", "e", "z_ignored"]);
        assert_eq!(plan.shards[1], ["b", "d"]);
    }

    #[test]
    fn duration_puts_the_longest_first_on_the_lightest_shard() {
        let tests = entries(&["a", "b", "c", "d", "e", "new"]);
        let durations: BTreeMap<String, f64> =
            [("a", 7.0), ("b", 5.0), ("c", 4.0), ("d", 3.0), ("e", 1.0)]
                .into_iter()
                .map(|(name, ms)| (name.to_owned(), ms))
                .collect();
        let plan = plan(PartitionKind::Duration, 2, &tests, &durations);
        // Longest first: a(7)->0, b(5)->1, c(4)->1, new(median 4)->0, d(3)->1, e(1)->0.
        assert_eq!(plan.shards[0], ["a", "e", "new"]);
        assert_eq!(plan.shards[1], ["b", "c", "d"]);
        assert_eq!(plan.predicted_ms, vec![12.0, 12.0]);
        // Deterministic: the same inputs give the same plan.
        assert_eq!(
            plan,
            super::plan(PartitionKind::Duration, 2, &tests, &durations)
        );
    }

    #[test]
    fn every_kind_assigns_each_test_to_exactly_one_shard() {
        let names: Vec<String> = (0..53)
            .map(|it| format!("area{}::test_{it}", it % 5))
            .collect();
        let tests: Vec<PlanEntry<'_>> = names
            .iter()
            .map(|name| PlanEntry {
                name,
                ignored: name.ends_with('7'),
            })
            .collect();
        let durations: BTreeMap<String, f64> = names
            .iter()
            .enumerate()
            .filter(|(idx, _)| idx % 4 != 0)
            .map(|(idx, name)| (name.clone(), (idx * 37 % 101) as f64))
            .collect();
        for kind in [
            PartitionKind::Hash,
            PartitionKind::Slice,
            PartitionKind::Duration,
        ] {
            for total in [1, 2, 4, 8, 60] {
                let plan = plan(kind, total, &tests, &durations);
                let mut all: Vec<&String> = plan.shards.iter().flatten().collect();
                all.sort();
                let mut expected: Vec<&String> = names.iter().collect();
                expected.sort();
                assert_eq!(all, expected, "{kind:?} {total}");
            }
        }
    }
}
