//! Running one smoketest for the coverage map: its own smoketests process (`--exact NAME`), so
//! the harness starts a server of its own for it, from the instrumented binaries, with
//! `LLVM_PROFILE_FILE` naming the test's profile directory; the servers and `keel` runs the test
//! starts inherit it, and each process writes `<pid>.profraw`.
//!
//! The name is `%c%p.profraw`: `%p` gives every process its own file, and `%c` (continuous
//! mode, which needs the runtime counter relocation the build adds) maps the counters onto that
//! file as the process starts, so what a process executed is on disk even when it is killed with
//! SIGKILL, as a test's `crash_server()` does. A test is mapped only when none of its instrumented
//! processes is still running once the test process has ended (its profile could still grow),
//! and every profile holds data. (LLVM's `%m`, a binary signature for merging the files of one
//! binary, is not used: a pid is not reused within one test unless the pid counter wraps.)
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
    /// The `.profraw` files that hold data, one per instrumented process.
    pub(crate) raw: Vec<PathBuf>,
    /// The test's log, where the LLVM tools' messages go too.
    pub(crate) log: PathBuf,
}

impl TestRunner<'_> {
    /// Runs test `name` in a process of its own; fails only when the test could not be run
    /// (spawning, files, an interrupt), not when the test fails.
    pub(crate) fn run(&self, name: &str) -> anyhow::Result<TestRun> {
        let dir_name = dir_name(name);
        let profiles = profile_dir(self.work_dir, name);
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
            .env(keel_env::LLVM_PROFILE_FILE, profiles.join("%c%p.profraw"));
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
        let census = ProfileCensus::of(&profiles, self.binaries)?;
        let shown_log = log_path
            .strip_prefix(self.root)
            .unwrap_or(&log_path)
            .display()
            .to_string();
        let outcome = judge(name, status, &records, &census)
            .map(|()| Profiles {
                dir: profiles,
                raw: census.written,
                log: log_path.clone(),
            })
            .map_err(|reason| format!("{reason} (log: {shown_log})"));
        Ok(TestRun { outcome, wall })
    }
}

/// What a test's processes left in its profile directory.
#[derive(Debug, Default, PartialEq, Eq)]
struct ProfileCensus {
    /// Profiles that hold data, sorted.
    written: Vec<PathBuf>,
    /// Empty profiles: processes that ended before the runtime set up their file.
    empty: usize,
    /// Processes that still run an instrumented binary, by pid.
    running: Vec<u32>,
}

impl ProfileCensus {
    /// Looks at every `<pid>.profraw` in `dir` and at whether its process still runs one of
    /// `binaries` (a pid that was reused since runs another program).
    fn of(dir: &Path, binaries: &InstrumentedBinaries) -> anyhow::Result<ProfileCensus> {
        let mut census = ProfileCensus::default();
        for entry in fs::read_dir(dir).with_context(|| format!("list {}", dir.display()))? {
            let entry = entry?;
            let path = entry.path();
            if path.extension().is_none_or(|it| it != "profraw") {
                continue;
            }
            let pid = path
                .file_stem()
                .and_then(|it| it.to_str())
                .and_then(|it| it.parse::<u32>().ok());
            if let Some(pid) = pid
                && runs_one_of(pid, &[&binaries.server, &binaries.cli])
            {
                census.running.push(pid);
            }
            let size = entry
                .metadata()
                .with_context(|| format!("read the size of {}", path.display()))?
                .len();
            if size == 0 {
                census.empty += 1;
            } else {
                census.written.push(path);
            }
        }
        census.written.sort();
        census.running.sort_unstable();
        Ok(census)
    }
}

/// Whether process `pid` exists and runs one of `binaries`.
fn runs_one_of(pid: u32, binaries: &[&Path]) -> bool {
    let Ok(exe) = fs::read_link(format!("/proc/{pid}/exe")) else {
        return false;
    };
    binaries
        .iter()
        .any(|binary| binary.canonicalize().is_ok_and(|binary| binary == exe))
}

/// Whether test `name` can be mapped: it passed (its record says so and its process exited
/// successfully), and its processes all ended and left profiles with data; else why not, in one
/// line. `status` is `None` after a timeout.
fn judge(
    name: &str,
    status: Option<ExitStatus>,
    records: &[TestRecord],
    census: &ProfileCensus,
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
    if !census.running.is_empty() {
        let pids: Vec<String> = census.running.iter().map(u32::to_string).collect();
        return Err(format!(
            "its instrumented process(es) {} still ran after the test ended (the harness did not stop them), so their profiles are not final",
            pids.join(", ")
        ));
    }
    if census.empty > 0 {
        return Err(format!(
            "{} of its {} processes left an empty coverage profile: what they executed is unknown",
            census.empty,
            census.empty + census.written.len()
        ));
    }
    if census.written.is_empty() {
        return Err(
            "no process wrote a coverage profile: are the binaries built with -C instrument-coverage?"
                .to_owned(),
        );
    }
    Ok(())
}

/// Where test `name`'s profiles go under `work_dir` (`target/coverage`).
pub(crate) fn profile_dir(work_dir: &Path, name: &str) -> PathBuf {
    work_dir.join("profiles").join(dir_name(name))
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
            usage: keel_artifacts::TestUsage::default(),
        }
    }

    fn ok() -> ExitStatus {
        ExitStatus::from_raw(0)
    }

    /// Exit code 101, as libtest-mimic exits when a test failed.
    fn failed() -> ExitStatus {
        ExitStatus::from_raw(101 << 8)
    }

    fn census(written: usize, empty: usize, running: &[u32]) -> ProfileCensus {
        ProfileCensus {
            written: (0..written)
                .map(|it| PathBuf::from(format!("{it}.profraw")))
                .collect(),
            empty,
            running: running.to_vec(),
        }
    }

    #[test]
    fn a_passing_test_with_profiles_is_mapped() {
        assert_eq!(
            judge(
                "a::b",
                Some(ok()),
                &[record("a::b", None)],
                &census(3, 0, &[])
            ),
            Ok(())
        );
    }

    #[test]
    fn every_other_ending_says_why_in_one_line() {
        let passed = [record("a::b", None)];
        let cases = [
            (
                judge(
                    "a::b",
                    Some(failed()),
                    &[record("a::b", Some("assertion failed\n  caused by: x"))],
                    &census(2, 0, &[]),
                ),
                "failed under instrumentation: assertion failed",
            ),
            (
                judge("a::b", None, &[], &census(0, 0, &[])),
                "timed out after 300 s and was stopped",
            ),
            (
                judge(
                    "a::b",
                    Some(ok()),
                    &[record("a::c", None)],
                    &census(1, 0, &[]),
                ),
                "did not run: the smoketests binary ran no test by this name",
            ),
            (
                judge(
                    "a::b",
                    Some(ExitStatus::from_raw(9)),
                    &[],
                    &census(0, 0, &[]),
                ),
                "its process exited with signal: 9 (SIGKILL) before the test recorded a result",
            ),
            (
                judge("a::b", Some(failed()), &passed, &census(1, 0, &[])),
                "passed, but its process then exited with exit status: 101",
            ),
            (
                judge("a::b", Some(ok()), &passed, &census(2, 0, &[41, 57])),
                "its instrumented process(es) 41, 57 still ran after the test ended (the harness did not stop them), so their profiles are not final",
            ),
            (
                judge("a::b", Some(ok()), &passed, &census(2, 1, &[])),
                "1 of its 3 processes left an empty coverage profile: what they executed is unknown",
            ),
            (
                judge("a::b", Some(ok()), &passed, &census(0, 0, &[])),
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
    fn the_census_counts_profiles_and_finds_processes_that_still_run() {
        let dir = tempfile::tempdir().unwrap();
        // This test process stands for an instrumented server that still runs.
        let running = std::process::id();
        let this_binary = std::env::current_exe().unwrap();
        let binaries = InstrumentedBinaries {
            server: this_binary,
            cli: dir.path().join("keel"),
            server_main: PathBuf::from("crates/keel-standalone/src/main.rs"),
        };
        for name in [
            format!("{running}.profraw"),
            "3.profraw".to_owned(),
            "merged.profdata".to_owned(),
            "notes.txt".to_owned(),
        ] {
            fs::write(dir.path().join(name), "data").unwrap();
        }
        fs::write(dir.path().join("40.profraw"), "").unwrap();
        let found = ProfileCensus::of(dir.path(), &binaries).unwrap();
        let mut written = vec![
            dir.path().join("3.profraw"),
            dir.path().join(format!("{running}.profraw")),
        ];
        written.sort();
        assert_eq!(
            found,
            ProfileCensus {
                written,
                empty: 1,
                running: vec![running],
            }
        );
        // Pid 1 exists but runs another program.
        assert!(!runs_one_of(1, &[&binaries.server]));
    }
}
