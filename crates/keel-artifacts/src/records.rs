//! Records exchanged between the smoketests binary and the xtask: results, build records, metadata, timings.

use std::{
    collections::BTreeSet,
    fs, io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
    time::{SystemTime, UNIX_EPOCH},
};

use serde::{Deserialize, Serialize, de::DeserializeOwned};

use crate::{atomic::write_atomic, smoketest_dir};

/// The outcome of one smoketest that ran, written by the harness into the results dir
/// ([`crate::env::RESULTS_DIR`]).
///
/// Only tests that ran leave a record: a skipped test (local-only in remote mode) is known to the
/// xtask from [`TestMeta`] and the binary's `--list`, so there is no skip record to drift from them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRecord {
    /// The full test name as libtest-mimic and nextest print it.
    pub name: String,
    /// Wall time of the test body.
    pub duration_ms: f64,
    /// Why the test failed; none when it passed.
    pub failure: Option<String>,
    /// Which try this was, from 1: nextest's `NEXTEST_ATTEMPT`, or the xtask's
    /// [`crate::env::ATTEMPT`] under the `cargo test` fallback. Every attempt keeps its own record.
    #[serde(default = "first_attempt")]
    pub attempt: u32,
    /// What the test used, recorded by the harness as it ran (the input of `--affected`).
    #[serde(default)]
    pub usage: TestUsage,
}

/// What one test used, as the harness saw it at run time: nothing here is declared by hand.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestUsage {
    /// The precompiled modules it loaded, by directory name under `modules/`.
    #[serde(default)]
    pub modules: BTreeSet<String>,
    /// Whether it built a module at run time (`module_code()`, `keel build`): such builds depend
    /// on the guest SDK.
    #[serde(default)]
    pub module_code: bool,
    /// The binaries it used: [`TestUsage::SERVER`] when it talked to a server, [`TestUsage::CLI`]
    /// when it ran the CLI.
    #[serde(default)]
    pub binaries: BTreeSet<String>,
}

impl TestUsage {
    /// The server binary's name in [`TestUsage::binaries`].
    pub const SERVER: &'static str = "keel-standalone";
    /// The CLI binary's name in [`TestUsage::binaries`].
    pub const CLI: &'static str = "keel";
}

fn first_attempt() -> u32 {
    1
}

/// One runtime module build (`module_code()`), written into `<results dir>/builds`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModuleBuildRecord {
    /// The test that built the module.
    pub test: String,
    /// The module (crate) name.
    pub module: String,
    /// Whether the build used the shared target dir (`USE_SHARED_TARGET_DIR=true`).
    pub shared_target_dir: bool,
    /// Wall time of the cargo build.
    pub duration_ms: f64,
    /// Crates cargo compiled (not fresh).
    pub crates_compiled: u32,
    /// Whether cargo succeeded.
    pub success: bool,
}

/// What `smoketests --keel-metadata` prints, one entry per registered test (as a JSON array).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TestMeta {
    /// The full test name.
    pub name: String,
    /// The reason the test needs a local server, when it does.
    pub local_only: Option<String>,
    /// The reason the test must run alone (`#[serial = "why"]`), when it must.
    #[serde(default)]
    pub serial: Option<String>,
    /// The source file that registers the test, relative to the workspace root.
    #[serde(default)]
    pub file: String,
    /// The line of the registration in [`TestMeta::file`].
    #[serde(default)]
    pub line: u32,
    /// Why the binary that printed this skips the test where it runs (remote mode, no cargo):
    /// decided before any test runs, from the same environment the run gets.
    #[serde(default)]
    pub skipped: Option<String>,
}

/// The skip reason of a test that builds a module at run time (`module_code()`, `keel build`)
/// where no cargo can be run.
pub const SKIP_NEEDS_CARGO: &str = "needs cargo: builds a module at run time";

/// What `smoketests --keel-bench-overhead N` prints (one JSON object) for `cargo xtask bench`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BenchOverhead {
    /// How many samples were asked for.
    pub iterations: usize,
    /// Per-test overhead: acquire database and identity, publish the precompiled `counter`, first call.
    pub samples_ms: Vec<f64>,
    /// Releasing the test's database afterwards (wipe and return it to the pool).
    pub release_ms: Vec<f64>,
    /// The same module built with `module_code()` and called once.
    pub module_code_ms: Vec<f64>,
    /// Start-to-ready of a fresh server process.
    pub server_start_ms: Vec<f64>,
    /// One client's sequential reducer calls per second.
    pub calls_per_second: f64,
    /// Whether the `module_code()` build used the shared target dir.
    pub shared_target_dir: bool,
}

/// One warmup step, written to `target/smoketest/build-timings.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BuildTiming {
    /// The step name, e.g. `binaries` or `modules`.
    pub step: String,
    /// Wall time of the step.
    pub wall_ms: f64,
    /// Crates cargo compiled (not fresh) in this step.
    pub crates_compiled: u32,
    /// Whether nothing had to be compiled.
    pub fresh: bool,
}

impl TestRecord {
    /// Whether the test passed.
    pub fn passed(&self) -> bool {
        self.failure.is_none()
    }

    /// Writes the record into `dir` (created if needed), in a file named after the test and the
    /// attempt, atomically.
    pub fn write(&self, dir: &Path) -> io::Result<()> {
        let file_name = format!(
            "{}-{}-{}.json",
            sanitize(&self.name),
            short_hash(&self.name),
            self.attempt
        );
        write_json(&dir.join(file_name), self)
    }

    /// Reads every record in `dir`; a missing directory holds no records.
    pub fn read_all(dir: &Path) -> io::Result<Vec<TestRecord>> {
        read_json_files(dir)
    }
}

impl ModuleBuildRecord {
    /// The subdirectory of the results directory that holds build records.
    pub const SUBDIR: &'static str = "builds";

    /// Writes the record into `<results_dir>/builds` under a unique file name, atomically.
    pub fn write(&self, results_dir: &Path) -> io::Result<()> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |it| it.as_nanos());
        let unique = format!(
            "{}:{}:{}:{nanos}:{}",
            self.test,
            self.module,
            std::process::id(),
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let file_name = format!("{}-{}.json", sanitize(&self.test), short_hash(&unique));
        write_json(&results_dir.join(Self::SUBDIR).join(file_name), self)
    }

    /// Reads every build record under `<results_dir>/builds`.
    pub fn read_all(results_dir: &Path) -> io::Result<Vec<ModuleBuildRecord>> {
        read_json_files(&results_dir.join(Self::SUBDIR))
    }
}

impl BuildTiming {
    /// `target/smoketest/build-timings.json` under `root`.
    pub fn path(root: &Path) -> PathBuf {
        smoketest_dir(root).join("build-timings.json")
    }

    /// Writes all timings of one warmup atomically.
    pub fn save_all(root: &Path, timings: &[BuildTiming]) -> io::Result<()> {
        write_json(&BuildTiming::path(root), &timings)
    }

    /// Reads the timings of the last warmup; none when warmup has not run.
    pub fn load_all(root: &Path) -> io::Result<Vec<BuildTiming>> {
        match fs::read(BuildTiming::path(root)) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(io::Error::other),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Vec::new()),
            Err(err) => Err(err),
        }
    }
}

/// Keeps ASCII letters, digits, `-` and `_`; everything else (such as `::`) becomes `_`.
fn sanitize(name: &str) -> String {
    let sanitized: String = name
        .chars()
        .map(|it| {
            if it.is_ascii_alphanumeric() || it == '-' || it == '_' {
                it
            } else {
                '_'
            }
        })
        .take(120)
        .collect();
    if sanitized.is_empty() {
        "test".to_owned()
    } else {
        sanitized
    }
}

/// Disambiguates names that sanitize to the same string.
fn short_hash(text: &str) -> String {
    blake3::hash(text.as_bytes()).to_hex()[..12].to_owned()
}

fn write_json(path: &Path, value: &impl Serialize) -> io::Result<()> {
    let json = serde_json::to_vec_pretty(value).map_err(io::Error::other)?;
    write_atomic(path, &json)
}

fn read_json_files<T: DeserializeOwned>(dir: &Path) -> io::Result<Vec<T>> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(err) => return Err(err),
    };
    let mut paths = Vec::new();
    for entry in entries {
        let path = entry?.path();
        let name = path.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if !name.starts_with('.') && name.ends_with(".json") && path.is_file() {
            paths.push(path);
        }
    }
    paths.sort();
    paths
        .iter()
        .map(|path| {
            let bytes = fs::read(path)?;
            serde_json::from_slice(&bytes).map_err(|err| {
                io::Error::new(
                    io::ErrorKind::InvalidData,
                    format!("{}: {err}", path.display()),
                )
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, failure: Option<&str>) -> TestRecord {
        TestRecord {
            name: name.to_owned(),
            duration_ms: 1.5,
            failure: failure.map(str::to_owned),
            attempt: 1,
            usage: TestUsage::default(),
        }
    }

    #[test]
    fn test_records_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let passed = record("sql::select_works", None);
        let failed = record("restart::keeps_data", Some("expected 1, got 0"));
        passed.write(dir.path()).unwrap();
        failed.write(dir.path()).unwrap();
        let mut records = TestRecord::read_all(dir.path()).unwrap();
        records.sort_by(|a, b| a.name.cmp(&b.name));
        assert_eq!(records, vec![failed.clone(), passed.clone()]);
        assert!(passed.passed() && !failed.passed());
    }

    #[test]
    fn names_that_sanitize_alike_do_not_collide() {
        let dir = tempfile::tempdir().unwrap();
        record("a::b", None).write(dir.path()).unwrap();
        record("a__b", Some("x")).write(dir.path()).unwrap();
        assert_eq!(TestRecord::read_all(dir.path()).unwrap().len(), 2);
    }

    #[test]
    fn rewriting_a_record_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        record("a", Some("x")).write(dir.path()).unwrap();
        record("a", None).write(dir.path()).unwrap();
        assert_eq!(
            TestRecord::read_all(dir.path()).unwrap(),
            vec![record("a", None)]
        );
    }

    #[test]
    fn every_attempt_keeps_its_record() {
        let dir = tempfile::tempdir().unwrap();
        record("a", Some("x")).write(dir.path()).unwrap();
        let second = TestRecord {
            attempt: 2,
            ..record("a", None)
        };
        second.write(dir.path()).unwrap();
        let mut records = TestRecord::read_all(dir.path()).unwrap();
        records.sort_by_key(|it| it.attempt);
        assert_eq!(records, vec![record("a", Some("x")), second]);
    }

    #[test]
    fn records_without_an_attempt_are_first_attempts() {
        let record: TestRecord =
            serde_json::from_str(r#"{"name":"a","duration_ms":1.0,"failure":null}"#).unwrap();
        assert_eq!(record.attempt, 1);
    }

    #[test]
    fn missing_results_dir_holds_no_records() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            TestRecord::read_all(&dir.path().join("nope")).unwrap(),
            vec![]
        );
    }

    #[test]
    fn build_records_round_trip_beside_test_records() {
        let dir = tempfile::tempdir().unwrap();
        let build = ModuleBuildRecord {
            test: "module_code::builds".to_owned(),
            module: "m".to_owned(),
            shared_target_dir: true,
            duration_ms: 10.0,
            crates_compiled: 3,
            success: true,
        };
        build.write(dir.path()).unwrap();
        build.write(dir.path()).unwrap();
        record("a", None).write(dir.path()).unwrap();
        assert_eq!(
            ModuleBuildRecord::read_all(dir.path()).unwrap(),
            vec![build.clone(), build]
        );
        assert_eq!(TestRecord::read_all(dir.path()).unwrap().len(), 1);
    }

    #[test]
    fn build_timings_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(BuildTiming::load_all(dir.path()).unwrap(), vec![]);
        let timings = vec![BuildTiming {
            step: "modules".to_owned(),
            wall_ms: 5.0,
            crates_compiled: 0,
            fresh: true,
        }];
        BuildTiming::save_all(dir.path(), &timings).unwrap();
        assert_eq!(BuildTiming::load_all(dir.path()).unwrap(), timings);
    }
}
