//! Child processes: each in its own process group, registered for signal forwarding, reaped on every path.
//!
//! Every program the xtask starts goes through this module.
//! [`GroupChild`] owns a child that leads its own process group and stops the whole group in `Drop`
//! (SIGTERM, a grace period, SIGKILL); the Ctrl-C/SIGTERM handler forwards the signal to every live group,
//! so the waiting code returns, the guards run and nothing outlives the xtask.
//! [`sanitized_command`] also strips the variables `cargo run` sets for the xtask itself, which would
//! otherwise make nested cargo invocations see a different environment and rebuild.

use std::{
    ffi::OsString,
    io::{BufRead, BufReader},
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, ExitStatus, Stdio},
    sync::{
        Mutex,
        atomic::{AtomicBool, AtomicU32, Ordering},
        mpsc,
    },
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use xshell::Cmd;

use crate::{progress::Progress, project_root};

/// How long a stopped child gets between SIGTERM and SIGKILL.
pub(crate) const STOP_GRACE: Duration = Duration::from_secs(5);

/// Process group ids of live children.
static CHILD_GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Set once the user interrupted the run.
static INTERRUPTED: AtomicBool = AtomicBool::new(false);
/// Signals received so far; the second one escalates to SIGKILL.
static SIGNALS: AtomicU32 = AtomicU32::new(0);

/// Forwards Ctrl-C and SIGTERM to every child group; a second signal kills them.
pub(crate) fn install_signal_handler() -> anyhow::Result<()> {
    ctrlc::set_handler(|| {
        INTERRUPTED.store(true, Ordering::SeqCst);
        let signal = if SIGNALS.fetch_add(1, Ordering::SeqCst) == 0 {
            libc::SIGTERM
        } else {
            libc::SIGKILL
        };
        let groups = CHILD_GROUPS.lock().map(|it| it.clone()).unwrap_or_default();
        for pgid in groups {
            signal_group(pgid, signal);
        }
    })
    .context("install the Ctrl-C handler")
}

/// Whether the user interrupted the run (Ctrl-C or SIGTERM reached the xtask).
pub(crate) fn was_interrupted() -> bool {
    INTERRUPTED.load(Ordering::SeqCst)
}

/// Fails when the user interrupted the run, so callers stop instead of starting the next step.
pub(crate) fn check_interrupted() -> anyhow::Result<()> {
    if was_interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// Turns an xshell command into a [`Command`] without the variables `cargo run` set for the xtask.
///
/// Those (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, the target dirs added to `LD_LIBRARY_PATH`, ...) belong to
/// the xtask's own crate; passing them to a nested cargo changes what build scripts and `env!` see and
/// makes a second warmup rebuild. `CARGO_TARGET_DIR` is removed because the artifact paths are fixed under `target/`.
pub(crate) fn sanitized_command(cmd: Cmd<'_>) -> Command {
    let mut command = Command::from(cmd);
    for (key, value) in std::env::vars_os() {
        let Some(key_str) = key.to_str() else {
            continue;
        };
        if is_cargo_run_variable(key_str) {
            command.env_remove(&key);
        } else if key_str == "LD_LIBRARY_PATH" {
            match strip_target_paths(&value, &project_root()) {
                Some(cleaned) => command.env(&key, cleaned),
                None => command.env_remove(&key),
            };
        }
    }
    command
}

fn is_cargo_run_variable(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_TARGET_DIR"
                | "CARGO_BUILD_TARGET_DIR"
                | "OUT_DIR"
        )
}

/// Removes the entries `cargo run` prepends (the workspace target dir and the toolchain's libraries).
fn strip_target_paths(value: &std::ffi::OsStr, root: &Path) -> Option<OsString> {
    let target = root.join("target");
    let kept: Vec<PathBuf> = std::env::split_paths(value)
        .filter(|path| {
            !path.starts_with(&target)
                && !path.components().any(|it| it.as_os_str() == "toolchains")
        })
        .filter(|path| !path.as_os_str().is_empty())
        .collect();
    if kept.is_empty() {
        None
    } else {
        std::env::join_paths(kept).ok()
    }
}

/// A child leading its own process group; dropping it stops and reaps the group.
pub(crate) struct GroupChild {
    child: Option<Child>,
    pgid: i32,
    name: String,
}

impl GroupChild {
    /// Starts `command` as the leader of a new process group and registers the group.
    pub(crate) fn spawn(mut command: Command, name: &str) -> anyhow::Result<GroupChild> {
        check_interrupted()?;
        command.process_group(0);
        die_with_parent(&mut command);
        let child = command.spawn().with_context(|| format!("start {name}"))?;
        let pgid = i32::try_from(child.id()).context("process id out of range")?;
        CHILD_GROUPS
            .lock()
            .expect("child group registry")
            .push(pgid);
        Ok(GroupChild {
            child: Some(child),
            pgid,
            name: name.to_owned(),
        })
    }

    /// The child, to take its pipes.
    pub(crate) fn child_mut(&mut self) -> &mut Child {
        self.child.as_mut().expect("child is present until stopped")
    }

    /// The exit status if the child already exited.
    pub(crate) fn try_wait(&mut self) -> anyhow::Result<Option<ExitStatus>> {
        let name = self.name.clone();
        self.child_mut()
            .try_wait()
            .with_context(|| format!("check on {name}"))
    }

    /// Waits for the child to exit on its own.
    pub(crate) fn wait(mut self) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().expect("child is present until stopped");
        let status = child
            .wait()
            .with_context(|| format!("wait for {}", self.name));
        unregister(self.pgid);
        status
    }

    /// Stops the group: SIGTERM, up to `grace` for the leader to exit, then SIGKILL; always reaps the leader.
    pub(crate) fn stop(&mut self, grace: Duration) -> Option<ExitStatus> {
        let mut child = self.child.take()?;
        let status = match child.try_wait() {
            Ok(Some(status)) => Some(status),
            _ => {
                signal_group(self.pgid, libc::SIGTERM);
                let (sender, receiver) = mpsc::channel();
                let waiter = thread::spawn(move || {
                    let status = child.wait().ok();
                    let _ = sender.send(());
                    status
                });
                if receiver.recv_timeout(grace).is_err() {
                    signal_group(self.pgid, libc::SIGKILL);
                }
                waiter.join().ok().flatten()
            }
        };
        unregister(self.pgid);
        status
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        self.stop(STOP_GRACE);
    }
}

/// On Linux, the child gets SIGTERM when the xtask dies, even by SIGKILL, so no runner outlives it.
///
/// The signal follows the thread that spawned the child; every child is spawned from the main thread.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: the hook runs between fork and exec and only calls prctl(2), which is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// Elsewhere a dying xtask leaves the children to their own devices; servers still exit when stdin closes.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}

fn unregister(pgid: i32) {
    if let Ok(mut groups) = CHILD_GROUPS.lock() {
        groups.retain(|it| *it != pgid);
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory-safety preconditions.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Runs a command with inherited stdio in its own process group and returns its exit status.
pub(crate) fn run_status(cmd: Cmd<'_>) -> anyhow::Result<ExitStatus> {
    let description = cmd.to_string();
    let child = GroupChild::spawn(sanitized_command(cmd), &format!("`{description}`"))?;
    let status = child.wait()?;
    check_interrupted()?;
    Ok(status)
}

/// Runs a command with inherited stdio and fails unless it succeeds.
pub(crate) fn run(cmd: Cmd<'_>) -> anyhow::Result<()> {
    let description = cmd.to_string();
    let status = run_status(cmd)?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    Ok(())
}

/// Runs a command, captures its stdout (stderr is inherited) and fails unless it succeeds.
pub(crate) fn read(cmd: Cmd<'_>) -> anyhow::Result<String> {
    let description = cmd.to_string();
    let mut command = sanitized_command(cmd);
    command.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut child = GroupChild::spawn(command, &format!("`{description}`"))?;
    let mut stdout = child.child_mut().stdout.take().expect("stdout is piped");
    let mut output = Vec::new();
    std::io::Read::read_to_end(&mut stdout, &mut output)
        .with_context(|| format!("read the output of `{description}`"))?;
    let status = child.wait()?;
    check_interrupted()?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    String::from_utf8(output).with_context(|| format!("`{description}` printed invalid UTF-8"))
}

/// What a cargo invocation with `--message-format=json-render-diagnostics` built.
#[derive(Debug, Default)]
pub(crate) struct CargoBuild {
    /// Wall time.
    pub(crate) wall: Duration,
    /// `compiler-artifact` messages with `"fresh": false`.
    pub(crate) crates_compiled: u32,
    /// Test executables of integration-test targets (`[[test]]`), by target name.
    pub(crate) test_executables: Vec<(String, PathBuf)>,
}

/// Runs cargo with JSON messages, counting compiled crates and forwarding diagnostics to stderr.
///
/// `cmd` must carry `--message-format=json-render-diagnostics`.
/// On a terminal, cargo's status lines feed the spinner; elsewhere they are printed as they come.
pub(crate) fn run_cargo_json(cmd: Cmd<'_>, progress: &Progress) -> anyhow::Result<CargoBuild> {
    let started = Instant::now();
    let description = cmd.to_string();
    let mut command = sanitized_command(cmd);
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = GroupChild::spawn(command, &format!("`{description}`"))?;
    let stdout = child.child_mut().stdout.take().expect("stdout is piped");
    let stderr = child.child_mut().stderr.take().expect("stderr is piped");
    let mut build = CargoBuild::default();
    thread::scope(|scope| {
        scope.spawn(|| {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                progress.cargo_stderr(&line);
            }
        });
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            match serde_json::from_str::<serde_json::Value>(&line) {
                Ok(message) => record_message(&message, &mut build, progress),
                Err(_) => progress.println(&line),
            }
        }
    });
    let status = child.wait()?;
    check_interrupted()?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    build.wall = started.elapsed();
    Ok(build)
}

fn record_message(message: &serde_json::Value, build: &mut CargoBuild, progress: &Progress) {
    if message["reason"] != "compiler-artifact" {
        return;
    }
    let target_name = message["target"]["name"].as_str().unwrap_or_default();
    if message["fresh"] == false {
        build.crates_compiled += 1;
        progress.message(&format!("compiled {target_name}"));
    }
    let is_test_target = message["target"]["kind"]
        .as_array()
        .is_some_and(|kinds| kinds.iter().any(|it| it == "test"));
    if is_test_target && let Some(executable) = message["executable"].as_str() {
        build
            .test_executables
            .push((target_name.to_owned(), PathBuf::from(executable)));
    }
}

/// Reads lines from a child's pipe on a thread; the first line arrives through the returned channel.
///
/// Later lines go to `sink`, so the child never blocks on a full pipe.
pub(crate) fn first_line_then_drain(
    pipe: impl std::io::Read + Send + 'static,
    mut sink: impl FnMut(&str) + Send + 'static,
) -> mpsc::Receiver<Option<String>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut lines = BufReader::new(pipe).lines().map_while(Result::ok);
        let _ = sender.send(lines.next());
        for line in lines {
            sink(&line);
        }
    });
    receiver
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_run_variables_are_recognised() {
        assert!(is_cargo_run_variable("CARGO_PKG_NAME"));
        assert!(is_cargo_run_variable("CARGO_MANIFEST_DIR"));
        assert!(!is_cargo_run_variable("CARGO_HOME"));
        assert!(!is_cargo_run_variable("CARGO"));
    }

    #[test]
    fn ld_library_path_loses_only_cargo_run_entries() {
        let root = Path::new("/repo");
        let value = std::env::join_paths([
            "/repo/target/debug/deps",
            "/home/u/.rustup/toolchains/x/lib",
            "/opt/lib",
        ])
        .unwrap();
        assert_eq!(
            strip_target_paths(&value, root),
            Some(OsString::from("/opt/lib"))
        );
        let only_cargo = std::env::join_paths(["/repo/target/debug"]).unwrap();
        assert_eq!(strip_target_paths(&only_cargo, root), None);
    }

    #[test]
    fn stopped_child_and_its_group_are_reaped() {
        let sh = xshell::Shell::new().unwrap();
        let mut command = sanitized_command(xshell::cmd!(sh, "sleep 60"));
        command.stdin(Stdio::null());
        let mut child = GroupChild::spawn(command, "sleep").unwrap();
        let pid = child.pgid;
        let started = Instant::now();
        let status = child.stop(STOP_GRACE).unwrap();
        assert!(!status.success());
        assert!(
            started.elapsed() < STOP_GRACE,
            "SIGTERM should end sleep at once"
        );
        // SAFETY: signal 0 only checks for existence.
        assert_eq!(
            unsafe { libc::kill(pid, 0) },
            -1,
            "process {pid} still exists"
        );
    }
}
