//! [`GroupChild`]: a child that leads its own process group, dies with this process, and is
//! stopped (SIGTERM, grace, SIGKILL) and reaped on every path.

use std::io;
use std::os::unix::process::CommandExt;
use std::process::{Child, ChildStderr, ChildStdin, ChildStdout, Command, ExitStatus};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender, TryRecvError, channel};
use std::sync::{Mutex, OnceLock};
use std::thread;
use std::time::Duration;

use crate::errors::{SpawnError, WaitError};
use crate::interrupt;

/// How long [`GroupChild`]'s `Drop` gives a child between SIGTERM and SIGKILL.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

/// How long a child may take to exit after SIGKILL before waiting gives up.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);

/// A running child that leads its own process group.
///
/// The group is registered for the Ctrl-C handler from spawn until the leader is reaped.
/// Whenever the leader has exited, the rest of its group is sent SIGKILL *before* the leader is
/// reaped: while it is an unreaped zombie its pid cannot name anybody else's group.
/// Dropping the handle stops the group ([`STOP_GRACE`]) and reaps the leader.
#[derive(Debug)]
pub struct GroupChild {
    child: Child,
    pgid: i32,
    name: String,
    /// Reports once that the leader exited (it is then a zombie, not yet reaped). In a mutex
    /// only so that the handle is `Sync`; every use has `&mut self`.
    exited: Mutex<Receiver<io::Result<()>>>,
    leader_exited: bool,
    status: Option<ExitStatus>,
}

impl GroupChild {
    /// Starts `command` as the leader of a new process group and registers the group.
    ///
    /// On Linux the child gets SIGTERM when this process dies, even by SIGKILL. The death signal
    /// follows the thread that forks, so every child is forked by one thread that lives as long
    /// as the process. `name` names the child in errors.
    pub fn spawn(mut command: Command, name: &str) -> Result<GroupChild, SpawnError> {
        command.process_group(0);
        die_with_parent(&mut command);
        let spawned = on_spawner_thread(move || {
            interrupt::register_while(|| {
                let child = command.spawn()?;
                let pgid = i32::try_from(child.id()).map_err(io::Error::other)?;
                Ok((child, pgid))
            })
        });
        let child = match spawned {
            None => {
                return Err(SpawnError::Interrupted {
                    name: name.to_owned(),
                });
            }
            Some(Err(source)) => {
                return Err(SpawnError::Io {
                    name: name.to_owned(),
                    source,
                });
            }
            Some(Ok(child)) => child,
        };
        let pgid = child.id() as i32;
        let (sender, exited) = channel();
        thread::spawn(move || {
            let _ = sender.send(wait_for_exit(pgid));
        });
        Ok(GroupChild {
            child,
            pgid,
            name: name.to_owned(),
            exited: Mutex::new(exited),
            leader_exited: false,
            status: None,
        })
    }

    /// The leader's process id (also the group id).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// The name given at spawn.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Takes the child's stdin, if it was piped.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.child.stdin.take()
    }

    /// Takes the child's stdout, if it was piped.
    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.child.stdout.take()
    }

    /// Takes the child's stderr, if it was piped.
    pub fn take_stderr(&mut self) -> Option<ChildStderr> {
        self.child.stderr.take()
    }

    /// The exit status if the child has exited (then it is reaped), without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, WaitError> {
        if self.status.is_none() && !self.leader_exited {
            match self.receiver().try_recv() {
                Ok(result) => self.note_exit(result)?,
                Err(TryRecvError::Empty) => return Ok(None),
                Err(TryRecvError::Disconnected) => return Err(self.waiter_lost()),
            }
        }
        self.reap().map(Some)
    }

    /// Waits for the child to exit on its own, then reaps it.
    pub fn wait(&mut self) -> Result<ExitStatus, WaitError> {
        if self.status.is_none() && !self.leader_exited {
            match self.receiver().recv() {
                Ok(result) => self.note_exit(result)?,
                Err(_) => return Err(self.waiter_lost()),
            }
        }
        self.reap()
    }

    /// Waits up to `timeout` for the child to exit; reaps it if it did.
    pub fn wait_timeout(&mut self, timeout: Duration) -> Result<Option<ExitStatus>, WaitError> {
        if self.status.is_none() && !self.leader_exited {
            match self.receiver().recv_timeout(timeout) {
                Ok(result) => self.note_exit(result)?,
                Err(RecvTimeoutError::Timeout) => return Ok(None),
                Err(RecvTimeoutError::Disconnected) => return Err(self.waiter_lost()),
            }
        }
        self.reap().map(Some)
    }

    /// Stops the group: SIGTERM, up to `grace` for the leader to exit, then SIGKILL; reaps it.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus, WaitError> {
        if self.try_wait()?.is_none() {
            interrupt::signal_registered(self.pgid, libc::SIGTERM);
            if self.wait_timeout(grace)?.is_none() {
                return self.kill();
            }
        }
        self.reap()
    }

    /// Sends SIGKILL to the group and reaps the leader.
    pub fn kill(&mut self) -> Result<ExitStatus, WaitError> {
        if self.try_wait()?.is_none() {
            interrupt::signal_registered(self.pgid, libc::SIGKILL);
            if self.wait_timeout(KILL_TIMEOUT)?.is_none() {
                return Err(WaitError::NotKilled {
                    name: self.name.clone(),
                    timeout: KILL_TIMEOUT,
                });
            }
        }
        self.reap()
    }

    fn receiver(&mut self) -> &mut Receiver<io::Result<()>> {
        self.exited
            .get_mut()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn note_exit(&mut self, result: io::Result<()>) -> Result<(), WaitError> {
        result.map_err(|source| WaitError::Io {
            name: self.name.clone(),
            source,
        })?;
        self.leader_exited = true;
        Ok(())
    }

    /// Called once the leader has exited: kills what is left of its group, then reaps it.
    fn reap(&mut self) -> Result<ExitStatus, WaitError> {
        if let Some(status) = self.status {
            return Ok(status);
        }
        debug_assert!(self.leader_exited);
        // The leader is an unreaped zombie, so the group id is still ours to signal.
        interrupt::signal_and_unregister(self.pgid, libc::SIGKILL);
        let status = self.child.wait().map_err(|source| WaitError::Io {
            name: self.name.clone(),
            source,
        })?;
        self.status = Some(status);
        Ok(status)
    }

    fn waiter_lost(&self) -> WaitError {
        WaitError::Io {
            name: self.name.clone(),
            source: io::Error::other("the thread waiting for the child is gone"),
        }
    }
}

impl Drop for GroupChild {
    fn drop(&mut self) {
        let _ = self.stop(STOP_GRACE);
    }
}

/// Blocks until child `pid` has exited, leaving it unreaped (a zombie).
fn wait_for_exit(pid: i32) -> io::Result<()> {
    loop {
        // SAFETY: waitid writes only the siginfo_t passed to it; WNOWAIT leaves the child waitable.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(
                libc::P_PID,
                pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOWAIT,
            )
        };
        if rc == 0 {
            return Ok(());
        }
        let error = io::Error::last_os_error();
        if error.kind() != io::ErrorKind::Interrupted {
            return Err(error);
        }
    }
}

type Job = Box<dyn FnOnce() + Send>;

/// Runs `work` on the one thread that forks every child, and returns its result.
fn on_spawner_thread<T: Send + 'static>(work: impl FnOnce() -> T + Send + 'static) -> T {
    static SPAWNER: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();
    let spawner = SPAWNER.get_or_init(|| {
        let (sender, jobs) = channel::<Job>();
        thread::Builder::new()
            .name("keel-process-spawner".to_owned())
            .spawn(move || {
                for job in jobs {
                    job();
                }
            })
            .expect("start the thread that spawns children");
        Mutex::new(sender)
    });
    let (result_sender, result) = channel();
    let job: Job = Box::new(move || {
        let _ = result_sender.send(work());
    });
    spawner
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .send(job)
        .expect("the spawner thread lives as long as the process");
    result.recv().expect("the spawner thread answers every job")
}

/// On Linux, the child gets SIGTERM when this process dies, so no child outlives it.
#[cfg(target_os = "linux")]
fn die_with_parent(command: &mut Command) {
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    // SAFETY: the hook runs between fork and exec and calls only prctl(2) and getppid(2), which
    // are async-signal-safe, and builds errors without allocating.
    unsafe {
        command.pre_exec(move || {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(io::Error::last_os_error());
            }
            // The parent may have died before prctl; then the signal will never come.
            if libc::getppid() != parent {
                return Err(io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
}

/// Elsewhere a dying parent leaves the children to their own devices; servers started with
/// `--exit-on-stdin-close` still follow it.
#[cfg(not(target_os = "linux"))]
fn die_with_parent(_command: &mut Command) {}
