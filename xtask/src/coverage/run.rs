//! Running one smoketest for the coverage map: its own smoketests process (`--exact NAME`), so
//! the harness starts a server of its own for it, from the instrumented binaries, with
//! `LLVM_PROFILE_FILE` naming the test's profile directory; the servers and `keel` runs the test
//! starts inherit it, and each process writes `<pid>.profraw`.
//!
//! The name is `%p.profraw`, without LLVM's `%m` (binary signature): with `%m` the profile
//! runtime creates the file only when the process exits, so a process killed with SIGKILL (as
//! `crash_server()` does) leaves no trace; with `%p` alone it creates the file when the process
//! starts and fills it at exit, so a killed process leaves an empty file, and its test, whose
//! coverage is then incomplete, is left out of the map instead of being mapped without it. (What
//! `%m` would add, merging when a later process reuses a pid, needs the pid counter to wrap
//! during one test.)
//!
//! Under `target/coverage/`, per test: `profiles/<test>/` (its profiles), `results/<test>/` (the
//! harness's result record) and `logs/<test>.log` (the process's output).

use std::{
    fs,
    path::{Path, PathBuf},
    process::{ExitStatus, Stdio},
    time::{Duration, Instant},
};

use anyhow::Context;
use keel_artifacts::{TestRecord, env as keel_env};
use keel_process::{GroupChild, STOP_GRACE};
use xshell::{Shell, cmd};

use crate::{coverage::build::InstrumentedBinaries, process};

/// How long one test process may run; nextest's profile ends a test after 5 minutes too.
pub(crate) const TEST_TIMEOUT: Duration = Duration::from_secs(300);

/// What running the tests needs.
#[derive(Debug)]
pub(crate) struct TestRunner<'a> {
    /// The workspace root, where the test processes run.
    pub(crate) root: &'a Path,
    /// The smoketests binary warmup built.
    pub(crate) test_binary: &'a Path,
    /// The instrumented server and CLI.
    pub(crate) binaries: &'a InstrumentedBinaries,
    /// `target/coverage`, absolute.
    pub(crate) work_dir: &'a Path,
}

/// One test's run.
#[derive(Debug)]
pub(crate) struct TestRun {
    /// Its profiles when it passed and left some; else why it cannot be mapped (one line).
    pub(crate) outcome: Result<Profiles, String>,
    /// From spawn to exit.
    pub(crate) wall: Duration,
}

/// The profiles one test's processes wrote.
#[derive(Debug)]
pub(crate) struct Profiles {
    /// Their directory, where the merged profile goes too.
    pub(crate) dir: PathBuf,
    /// The `.profraw` files, one per process that exited normally.
    pub(crate) raw: Vec<PathBuf>,
    /// The test's log, where the LLVM tools' messages go too.
    pub(crate) log: PathBuf,
}

impl TestRunner<'_> {
    /// Runs test `name` in a process of its own; fails only when the test could not be run
    /// (spawning, files, an interrupt), not when the test fails.
    pub(crate) fn run(&self, name: &str) -> anyhow::Result<TestRun> {
        let dir_name = dir_name(name);
        let profiles = self.work_dir.join("profiles").join(&dir_name);
        let results = self.work_dir.join("results").join(&dir_name);
        let log_path = self.work_dir.join("logs").join(format!("{dir_name}.log"));
        for dir in [&profiles, &results] {
            recreate_dir(dir)?;
        }
        let logs_dir = log_path.parent().expect("the log is in a directory");
        fs::create_dir_all(logs_dir).with_context(|| format!("create {}", logs_dir.display()))?;
        let log = fs::File::create(&log_path)
            .with_context(|| format!("create {}", log_path.display()))?;

        let sh = Shell::new()?;
        sh.change_dir(self.root);
        let binary = self.test_binary;
        let mut test = cmd!(sh, "{binary} --exact {name}");
        // No shared servers and no remote one: the harness starts this process's own server.
        for variable in keel_env::SERVER_VARIABLES
            .iter()
            .chain(&[keel_env::FRESH_SERVER])
        {
            test = test.env_remove(variable);
        }
        let test = test
            .env(keel_env::WORKSPACE_ROOT, self.root)
            .env(keel_env::STANDALONE_BIN, &self.binaries.server)
            .env(keel_env::CLI_BIN, &self.binaries.cli)
            .env(keel_env::RESULTS_DIR, &results)
            .env(keel_env::LLVM_PROFILE_FILE, profiles.join("%p.profraw"));
        let mut command = process::sanitized_command(test);
        let log_for_stderr = log
            .try_clone()
            .with_context(|| format!("open {} twice", log_path.display()))?;
        command
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log_for_stderr);
        let started = Instant::now();
        let mut child = GroupChild::spawn(command, &format!("smoketest {name}"))?;
        let status = match child.wait_timeout(TEST_TIMEOUT)? {
            Some(status) => Some(status),
            None => {
                child.stop(STOP_GRACE)?;
                None
            }
        };
        let wall = started.elapsed();
        process::check_interrupted()?;
        let records = TestRecord::read_all(&results)
            .with_context(|| format!("read the result record in {}", results.display()))?;
        let (raw, unwritten) = profraws(&profiles)?;
        let shown_log = log_path
            .strip_prefix(self.root)
            .unwrap_or(&log_path)
            .display()
            .to_string();
        let outcome = judge(name, status, &records, raw.len(), unwritten)
            .map(|()| Profiles {
                dir: profiles,
                raw,
                log: log_path.clone(),
            })
            .map_err(|reason| format!("{reason} (log: {shown_log})"));
        Ok(TestRun { outcome, wall })
    }
}

/// Whether test `name` can be mapped: it passed (its record says so and its process exited
/// successfully) and every process it started wrote its profile (`profile_count` did, `unwritten`
/// left an empty file: the runtime creates it at start and fills it at exit, so those were killed,
/// as a test's `crash_server()` does, and what they executed is unknown); else why not, in one
/// line. `status` is `None` after a timeout.
fn judge(
    name: &str,
    status: Option<ExitStatus>,
    records: &[TestRecord],
    profile_count: usize,
    unwritten: usize,
) -> Result<(), String> {
    let Some(status) = status else {
        return Err(format!(
            "timed out after {} s and was stopped",
            TEST_TIMEOUT.as_secs()
        ));
    };
    match records.iter().find(|it| it.name == name) {
        Some(record) => {
            if let Some(failure) = &record.failure {
                let first_line = failure.lines().next().unwrap_or_default();
                return Err(format!("failed under instrumentation: {first_line}"));
            }
            if !status.success() {
                return Err(format!("passed, but its process then exited with {status}"));
            }
        }
        None if status.success() => {
            return Err("did not run: the smoketests binary ran no test by this name".to_owned());
        }
        None => {
            return Err(format!(
                "its process exited with {status} before the test recorded a result"
            ));
        }
    }
    if unwritten > 0 {
        return Err(format!(
            "{unwritten} of its {} processes ended without writing a coverage profile (killed, or not stopped): what they executed is unknown",
            profile_count + unwritten
        ));
    }
    if profile_count == 0 {
        return Err(
            "no process wrote a coverage profile: are the binaries built with -C instrument-coverage?"
                .to_owned(),
        );
    }
    Ok(())
}

/// The test's directory name: `area::name` becomes `area--name` (`-` is in no Rust path).
pub(crate) fn dir_name(name: &str) -> String {
    name.chars()
        .map(|it| match it {
            ':' => '-',
            it if it.is_ascii_alphanumeric() || it == '_' => it,
            _ => '_',
        })
        .collect()
}

/// Removes `dir` with what it holds and creates it empty.
fn recreate_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() {
        fs::remove_dir_all(dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))
}

/// The `.profraw` files in `dir` that hold a profile, sorted, and how many are empty.
fn profraws(dir: &Path) -> anyhow::Result<(Vec<PathBuf>, usize)> {
    let mut found = Vec::new();
    let mut empty = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("list {}", dir.display()))? {
        let entry = entry?;
        let path = entry.path();
        if path.extension().is_some_and(|it| it == "profraw") {
            let size = entry
                .metadata()
                .with_context(|| format!("read the size of {}", path.display()))?
                .len();
            if size == 0 {
                empty += 1;
            } else {
                found.push(path);
            }
        }
    }
    found.sort();
    Ok((found, empty))
}

#[cfg(test)]
mod tests {
    use std::os::unix::process::ExitStatusExt;

    use super::*;

    fn record(name: &str, failure: Option<&str>) -> TestRecord {
        TestRecord {
            name: name.to_owned(),
            duration_ms: 1.0,
            failure: failure.map(str::to_owned),
            attempt: 1,
        }
    }

    fn ok() -> ExitStatus {
        ExitStatus::from_raw(0)
    }

    /// Exit code 101, as libtest-mimic exits when a test failed.
    fn failed() -> ExitStatus {
        ExitStatus::from_raw(101 << 8)
    }

    #[test]
    fn a_passing_test_with_profiles_is_mapped() {
        assert_eq!(
            judge("a::b", Some(ok()), &[record("a::b", None)], 3, 0),
            Ok(())
        );
    }

    #[test]
    fn every_other_ending_says_why_in_one_line() {
        let cases = [
            (
                judge(
                    "a::b",
                    Some(failed()),
                    &[record("a::b", Some("assertion failed\n  caused by: x"))],
                    2,
                    0,
                ),
                "failed under instrumentation: assertion failed",
            ),
            (
                judge("a::b", None, &[], 0, 0),
                "timed out after 300 s and was stopped",
            ),
            (
                judge("a::b", Some(ok()), &[record("a::c", None)], 1, 0),
                "did not run: the smoketests binary ran no test by this name",
            ),
            (
                judge("a::b", Some(ExitStatus::from_raw(9)), &[], 0, 0),
                "its process exited with signal: 9 (SIGKILL) before the test recorded a result",
            ),
            (
                judge("a::b", Some(failed()), &[record("a::b", None)], 1, 0),
                "passed, but its process then exited with exit status: 101",
            ),
            (
                judge("a::b", Some(ok()), &[record("a::b", None)], 2, 1),
                "1 of its 3 processes ended without writing a coverage profile (killed, or not stopped): what they executed is unknown",
            ),
            (
                judge("a::b", Some(ok()), &[record("a::b", None)], 0, 0),
                "no process wrote a coverage profile: are the binaries built with -C instrument-coverage?",
            ),
        ];
        for (outcome, expected) in cases {
            assert_eq!(outcome, Err(expected.to_owned()));
        }
    }

    #[test]
    fn test_names_become_distinct_directory_names() {
        assert_eq!(
            dir_name("basics::counter_increments"),
            "basics--counter_increments"
        );
        assert_ne!(dir_name("a::b_c"), dir_name("a_b::c"));
        assert_eq!(dir_name("odd name/../x"), "odd_name____x");
    }

    #[test]
    fn only_written_profraw_files_are_profiles_and_empty_ones_are_counted() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "12-abc.profraw",
            "3-def.profraw",
            "merged.profdata",
            "notes.txt",
        ] {
            fs::write(dir.path().join(name), "data").unwrap();
        }
        fs::write(dir.path().join("40-abc.profraw"), "").unwrap();
        let (found, empty) = profraws(dir.path()).unwrap();
        assert_eq!(
            found,
            [
                dir.path().join("12-abc.profraw"),
                dir.path().join("3-def.profraw")
            ]
        );
        assert_eq!(empty, 1);
    }
}
