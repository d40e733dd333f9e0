//! The one place that spawns long-lived children (servers, CLI commands, cargo builds): each
//! runs in its own process group, is registered so an interrupted run can kill it, and is
//! killed and reaped (TERM, grace period, KILL) when its handle drops.

use std::collections::HashSet;
use std::os::unix::process::CommandExt;
use std::process::{ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::Mutex;
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::Duration;

static LIVE_GROUPS: Mutex<Option<HashSet<i32>>> = Mutex::new(None);

/// A running child in its own process group.
#[derive(Debug)]
pub(crate) struct ChildProcess {
    pid: i32,
    exited: Receiver<ExitStatus>,
    status: Option<ExitStatus>,
}

/// The pipes of a spawned child that were asked for.
pub(crate) struct ChildPipes {
    pub(crate) stdin: Option<ChildStdin>,
    pub(crate) stdout: Option<ChildStdout>,
    pub(crate) stderr: Option<ChildStderr>,
}

impl ChildProcess {
    /// Spawns `command` in a new process group.
    pub(crate) fn spawn(command: &mut Command) -> std::io::Result<(ChildProcess, ChildPipes)> {
        let mut child = command.process_group(0).spawn()?;
        let pid = child.id() as i32;
        register(pid);
        let pipes = ChildPipes {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            stderr: child.stderr.take(),
        };
        let (sender, exited) = channel();
        std::thread::spawn(move || {
            if let Ok(status) = child.wait() {
                let _ = sender.send(status);
            }
        });
        Ok((
            ChildProcess {
                pid,
                exited,
                status: None,
            },
            pipes,
        ))
    }

    /// Waits up to `timeout` for the child to exit.
    pub(crate) fn wait_timeout(&mut self, timeout: Duration) -> Option<ExitStatus> {
        if self.status.is_none() {
            match self.exited.recv_timeout(timeout) {
                Ok(status) => self.record_exit(status),
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => self.record_exit(ExitStatus::default()),
            }
        }
        self.status
    }

    /// Whether the child has exited, without waiting.
    pub(crate) fn try_status(&mut self) -> Option<ExitStatus> {
        if self.status.is_none()
            && let Ok(status) = self.exited.try_recv()
        {
            self.record_exit(status);
        }
        self.status
    }

    /// Sends SIGTERM to the group, waits `grace`, then SIGKILL; always reaps.
    pub(crate) fn terminate(&mut self, grace: Duration) -> Option<ExitStatus> {
        if self.try_status().is_none() {
            signal_group(self.pid, libc::SIGTERM);
            if self.wait_timeout(grace).is_none() {
                self.kill();
            }
        }
        self.status
    }

    /// Sends SIGKILL to the group and reaps the child.
    pub(crate) fn kill(&mut self) -> Option<ExitStatus> {
        if self.try_status().is_none() {
            signal_group(self.pid, libc::SIGKILL);
            self.wait_timeout(Duration::from_secs(10));
        }
        self.status
    }

    fn record_exit(&mut self, status: ExitStatus) {
        self.status = Some(status);
        // The leader is gone; make sure nothing it started in its group outlives it.
        signal_group(self.pid, libc::SIGKILL);
        unregister(self.pid);
    }
}

impl Drop for ChildProcess {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(5));
    }
}

/// Kills every registered process group (on interrupt).
pub(crate) fn kill_all() {
    let groups: Vec<i32> = lock()
        .as_mut()
        .map(|groups| groups.drain().collect())
        .unwrap_or_default();
    for pid in groups {
        signal_group(pid, libc::SIGKILL);
    }
}

fn signal_group(pid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory effects.
    unsafe {
        libc::kill(-pid, signal);
    }
}

fn register(pid: i32) {
    lock().get_or_insert_with(HashSet::new).insert(pid);
}

fn unregister(pid: i32) {
    if let Some(groups) = lock().as_mut() {
        groups.remove(&pid);
    }
}

fn lock() -> std::sync::MutexGuard<'static, Option<HashSet<i32>>> {
    LIVE_GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
