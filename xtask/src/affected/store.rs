//! The usage records: per test, what it used and how it last went, kept in
//! `target/smoketest/usage.json` with the fingerprint of the toolchain and lock file they were made
//! with, and the revision of the last full run that passed (the default base of `--affected`).

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::Context;
use keel_artifacts::{TestMeta, TestRecord, TestUsage, smoketest_dir};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

use crate::{process, smoketest::Summary, smoketest::TestStatus};

/// Bumped when the file's meaning changes; another version is no record.
pub(crate) const STORE_VERSION: u32 = 1;

/// How a test went the last time it ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum LastOutcome {
    /// Passed at the first attempt.
    Passed,
    /// Failed (at its last attempt).
    Failed,
    /// Failed, then passed at a retry.
    Flaky,
}

/// What one test used and how it went, as of the last run that ran it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TestEntry {
    /// The source file that registers the test.
    pub(crate) file: String,
    /// How it went.
    pub(crate) outcome: LastOutcome,
    /// What it used (every attempt's usage together).
    pub(crate) usage: TestUsage,
}

/// What the records were made with: a change here can change any test's behaviour.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Fingerprint {
    /// blake3 of `Cargo.lock`.
    pub(crate) cargo_lock: String,
    /// `rustc -vV`.
    pub(crate) rustc: String,
    /// `RUSTFLAGS` and `CARGO_ENCODED_RUSTFLAGS`.
    pub(crate) rustflags: String,
    /// blake3 of `.cargo/config.toml`.
    pub(crate) cargo_config: String,
    /// The host target the binaries are built for.
    pub(crate) target: String,
}

/// `target/smoketest/usage.json`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct UsageStore {
    /// [`STORE_VERSION`].
    pub(crate) version: u32,
    /// What the records were made with.
    pub(crate) fingerprint: Fingerprint,
    /// `git rev-parse HEAD` of the last full local run in which every test passed.
    pub(crate) green_revision: Option<String>,
    /// Per test.
    pub(crate) tests: BTreeMap<String, TestEntry>,
}

/// What one run tells the store.
pub(crate) struct RunFacts<'a> {
    /// The records the tests left (every attempt).
    pub(crate) records: &'a [TestRecord],
    /// The run's outcomes.
    pub(crate) summary: &'a Summary,
    /// Every registered test's metadata.
    pub(crate) metadata: &'a [TestMeta],
    /// A full local run (no filter, shard or selection) without any failure or infrastructure error.
    pub(crate) full_green: bool,
    /// The revision the run tested.
    pub(crate) revision: Option<String>,
}

impl UsageStore {
    /// Where the store lives under `root`.
    pub(crate) fn path(root: &Path) -> PathBuf {
        smoketest_dir(root).join("usage.json")
    }

    /// The store, or `None` when there is none (or of another version).
    pub(crate) fn load(root: &Path) -> anyhow::Result<Option<UsageStore>> {
        let path = UsageStore::path(root);
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(err) => return Err(err).with_context(|| format!("read {}", path.display())),
        };
        let store: UsageStore = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "parse {} (delete it; the next full run writes it again)",
                path.display()
            )
        })?;
        Ok((store.version == STORE_VERSION).then_some(store))
    }

    /// Writes the store atomically.
    pub(crate) fn save(&self, root: &Path) -> anyhow::Result<()> {
        let path = UsageStore::path(root);
        let json = serde_json::to_vec_pretty(self)?;
        keel_artifacts::write_atomic(&path, &json)
            .with_context(|| format!("write {}", path.display()))
    }

    /// Folds one run in: the tests it ran get new entries; a fingerprint change drops the rest.
    pub(crate) fn record_run(&mut self, fingerprint: Fingerprint, facts: &RunFacts<'_>) {
        if self.version != STORE_VERSION || self.fingerprint != fingerprint {
            *self = UsageStore {
                version: STORE_VERSION,
                fingerprint,
                ..UsageStore::default()
            };
        }
        let files: BTreeMap<&str, &str> = facts
            .metadata
            .iter()
            .map(|it| (it.name.as_str(), it.file.as_str()))
            .collect();
        for outcome in &facts.summary.outcomes {
            let last = match outcome.status {
                TestStatus::Passed => LastOutcome::Passed,
                TestStatus::Failed => LastOutcome::Failed,
                TestStatus::Flaky => LastOutcome::Flaky,
                TestStatus::Skipped => continue,
            };
            let mut usage = TestUsage::default();
            for record in facts.records.iter().filter(|it| it.name == outcome.name) {
                usage.modules.extend(record.usage.modules.iter().cloned());
                usage.binaries.extend(record.usage.binaries.iter().cloned());
                usage.module_code |= record.usage.module_code;
            }
            self.tests.insert(
                outcome.name.clone(),
                TestEntry {
                    file: files
                        .get(outcome.name.as_str())
                        .copied()
                        .unwrap_or_default()
                        .to_owned(),
                    outcome: last,
                    usage,
                },
            );
        }
        // Tests that no longer exist have no entry to keep.
        self.tests
            .retain(|name, _| files.contains_key(name.as_str()));
        if facts.full_green {
            self.green_revision.clone_from(&facts.revision);
        }
    }
}

impl Fingerprint {
    /// The fingerprint of the checkout at `root` and the toolchain on `PATH`.
    pub(crate) fn current(sh: &Shell, root: &Path) -> anyhow::Result<Fingerprint> {
        // Where no toolchain is installed (an archive's checkout) the records say so, and differ
        // from any made with one.
        let rustc = process::read(cmd!(sh, "rustc -vV").ignore_stderr())
            .unwrap_or_else(|_| "no rustc on PATH".to_owned());
        let target = rustc
            .lines()
            .find_map(|line| line.strip_prefix("host: "))
            .unwrap_or_default()
            .to_owned();
        let rustflags = ["RUSTFLAGS", "CARGO_ENCODED_RUSTFLAGS"]
            .iter()
            .map(|key| format!("{key}={}", std::env::var(key).unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" ");
        Ok(Fingerprint {
            cargo_lock: hash_or_missing(&root.join("Cargo.lock")),
            rustc,
            rustflags,
            cargo_config: hash_or_missing(&root.join(".cargo/config.toml")),
            target,
        })
    }

    /// What differs from `other`, by field name.
    pub(crate) fn differences(&self, other: &Fingerprint) -> Vec<&'static str> {
        [
            ("Cargo.lock", self.cargo_lock != other.cargo_lock),
            ("the toolchain (rustc -vV)", self.rustc != other.rustc),
            ("RUSTFLAGS", self.rustflags != other.rustflags),
            (
                ".cargo/config.toml",
                self.cargo_config != other.cargo_config,
            ),
            ("the target", self.target != other.target),
        ]
        .into_iter()
        .filter_map(|(name, differs)| differs.then_some(name))
        .collect()
    }
}

fn hash_or_missing(path: &Path) -> String {
    keel_artifacts::hash_file(path).unwrap_or_else(|_| "missing".to_owned())
}

/// `git rev-parse HEAD` in `root`; none outside a git checkout.
pub(crate) fn head_revision(sh: &Shell) -> Option<String> {
    process::read(cmd!(sh, "git rev-parse HEAD"))
        .ok()
        .map(|it| it.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::smoketest::summary::Outcome;

    fn outcome(name: &str, status: TestStatus) -> Outcome {
        Outcome {
            name: name.to_owned(),
            status,
            duration_ms: Some(1.0),
            detail: None,
            attempts: Vec::new(),
            file: None,
            line: None,
        }
    }

    fn record(name: &str, attempt: u32, module: &str) -> TestRecord {
        TestRecord {
            name: name.to_owned(),
            duration_ms: 1.0,
            failure: None,
            attempt,
            usage: TestUsage {
                modules: [module.to_owned()].into(),
                module_code: false,
                binaries: [TestUsage::SERVER.to_owned()].into(),
            },
        }
    }

    fn meta(name: &str) -> TestMeta {
        TestMeta {
            name: name.to_owned(),
            local_only: None,
            serial: None,
            file: "tests/src/a.rs".to_owned(),
            line: 1,
            skipped: None,
        }
    }

    #[test]
    fn a_run_records_usage_outcomes_and_the_green_revision() {
        let records = [
            record("a::x", 1, "bank"),
            record("a::x", 2, "kv"),
            record("a::y", 1, "kv"),
        ];
        let summary = Summary {
            outcomes: vec![
                outcome("a::x", TestStatus::Flaky),
                outcome("a::y", TestStatus::Passed),
                outcome("a::z", TestStatus::Skipped),
            ],
            ..Summary::default()
        };
        let metadata = [meta("a::x"), meta("a::y"), meta("a::z")];
        let mut store = UsageStore::default();
        let facts = RunFacts {
            records: &records,
            summary: &summary,
            metadata: &metadata,
            full_green: true,
            revision: Some("abc".to_owned()),
        };
        store.record_run(Fingerprint::default(), &facts);
        assert_eq!(store.green_revision.as_deref(), Some("abc"));
        assert_eq!(store.tests["a::x"].outcome, LastOutcome::Flaky);
        assert_eq!(
            store.tests["a::x"].usage.modules.len(),
            2,
            "every attempt's usage"
        );
        assert_eq!(store.tests["a::x"].file, "tests/src/a.rs");
        assert!(
            !store.tests.contains_key("a::z"),
            "a skipped test keeps no entry"
        );

        // A partial run keeps the others and the green revision; a new fingerprint forgets all.
        let partial = Summary {
            outcomes: vec![outcome("a::y", TestStatus::Failed)],
            ..Summary::default()
        };
        store.record_run(
            Fingerprint::default(),
            &RunFacts {
                summary: &partial,
                full_green: false,
                revision: Some("def".to_owned()),
                ..facts
            },
        );
        assert_eq!(store.tests["a::y"].outcome, LastOutcome::Failed);
        assert!(store.tests.contains_key("a::x"));
        assert_eq!(store.green_revision.as_deref(), Some("abc"));
        let other = Fingerprint {
            cargo_lock: "other".to_owned(),
            ..Fingerprint::default()
        };
        store.record_run(
            other.clone(),
            &RunFacts {
                summary: &partial,
                full_green: false,
                revision: None,
                ..facts
            },
        );
        assert_eq!(store.tests.len(), 1);
        assert_eq!(store.green_revision, None);
        assert_eq!(other.differences(&Fingerprint::default()), ["Cargo.lock"]);
    }

    #[test]
    fn the_store_round_trips_and_another_version_is_no_store() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(UsageStore::load(dir.path()).unwrap(), None);
        let store = UsageStore {
            version: STORE_VERSION,
            ..UsageStore::default()
        };
        store.save(dir.path()).unwrap();
        assert_eq!(UsageStore::load(dir.path()).unwrap(), Some(store));
        UsageStore {
            version: 99,
            ..UsageStore::default()
        }
        .save(dir.path())
        .unwrap();
        assert_eq!(UsageStore::load(dir.path()).unwrap(), None);
    }
}
