//! Local servers spawned by the harness: a `keel_process::ServerProcess` (own process group,
//! stdin kept so they exit with us, ready line read) with its log in a file; stopped on drop.
//!
//! A private server can be killed and started again on the same data dir, and can be asked
//! whether it is still there: a failed call then says the server is gone, how it ended and what
//! its log said. Its data dir can be size-limited, for disk-full tests: a tmpfs of that size when
//! this process may mount one (root in CI), else a file-size limit (`RLIMIT_FSIZE`) on the
//! server process, so that writes past the limit fail there too.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::Duration;

use keel_process::{GroupChild, ServerCommand, ServerProcess};

use crate::binaries;
use crate::errors::SmoketestError;

/// How long a one-shot tool (`mount`, `umount`, `prlimit`) may take.
const TOOL_TIMEOUT: Duration = Duration::from_secs(10);

/// A server process this harness controls.
pub(crate) struct LocalServer {
    command: ServerCommand,
    log_path: PathBuf,
    data_dir: PathBuf,
    /// The test certificates of an https server.
    certificates: Option<keel_artifacts::TestCertificates>,
    url: String,
    /// In a mutex so that a failed call, which holds `&self`, can ask whether it is still there.
    state: Mutex<State>,
    limit: Option<DataDirLimit>,
}

enum State {
    Running(ServerProcess),
    /// Killed, or found exited; reaped.
    Gone(Gone),
    /// Not started (yet, or again).
    Stopped,
}

/// A server that is no longer there: its pid and how it ended.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Gone {
    pub(crate) pid: u32,
    pub(crate) status: ExitStatus,
}

/// How the data dir's size is limited.
#[derive(Debug)]
enum DataDirLimit {
    /// The data dir is a tmpfs mount point (unmounted on drop).
    Tmpfs,
    /// The server process may not write files larger than this (`RLIMIT_FSIZE`, soft limit).
    FileSize { bytes: u64 },
}

impl LocalServer {
    /// Starts a server with its data and log under `dir`.
    pub(crate) fn start(dir: &Path, extra_args: &[String]) -> Result<LocalServer, SmoketestError> {
        LocalServer::start_limited(dir, extra_args, None, false, &|_| {})
    }

    /// [`LocalServer::start`]; with `data_dir_limit`, the data dir holds at most that many bytes
    /// (see the module doc); with `https`, it serves `https://localhost:PORT` with a certificate
    /// signed by a CA made in `dir` ([`LocalServer::ca_cert`]). `note` hears how the limit is made.
    pub(crate) fn start_limited(
        dir: &Path,
        extra_args: &[String],
        data_dir_limit: Option<u64>,
        https: bool,
        note: &dyn Fn(String),
    ) -> Result<LocalServer, SmoketestError> {
        let log_path = dir.join("server.log");
        let data_dir = dir.join("data");
        let mut command = ServerCommand::new(binaries::standalone()?, &data_dir)
            .args(extra_args)
            .log_file(&log_path);
        let certificates = if https {
            std::fs::create_dir_all(dir)
                .map_err(SmoketestError::io(format!("create {}", dir.display())))?;
            let certificates = keel_artifacts::TestCertificates::make(dir)
                .map_err(SmoketestError::io("make the server's test certificates"))?;
            command = command
                .args(["--tls-cert", &certificates.cert.display().to_string()])
                .args(["--tls-key", &certificates.key.display().to_string()]);
            Some(certificates)
        } else {
            None
        };
        let limit = match data_dir_limit {
            None => None,
            Some(bytes) => Some(limit_data_dir(&data_dir, bytes, note)?),
        };
        let mut server = LocalServer {
            command,
            log_path,
            data_dir,
            certificates,
            url: String::new(),
            state: Mutex::new(State::Stopped),
            limit,
        };
        server.spawn()?;
        Ok(server)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// The CA that signed an https server's certificate.
    pub(crate) fn ca_cert(&self) -> Option<&Path> {
        self.certificates.as_ref().map(|it| it.ca.as_path())
    }

    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Stops the server gracefully (SIGTERM) if it runs, and starts it again on the same data dir.
    pub(crate) fn restart(&mut self) -> Result<(), SmoketestError> {
        if let State::Running(mut process) = self.take_state() {
            process.stop(Duration::from_secs(10))?;
        }
        self.spawn()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again.
    pub(crate) fn crash_and_restart(&mut self) -> Result<(), SmoketestError> {
        self.kill()?;
        self.spawn()
    }

    /// Kills the server with SIGKILL and reaps it; it stays gone until [`LocalServer::restart`].
    pub(crate) fn kill(&mut self) -> Result<Option<Gone>, SmoketestError> {
        let state = self.take_state();
        let gone = match state {
            State::Running(mut process) => Some(Gone {
                pid: process.pid(),
                status: process.kill()?,
            }),
            State::Gone(gone) => Some(gone),
            State::Stopped => None,
        };
        *self.state() = gone.map_or(State::Stopped, State::Gone);
        Ok(gone)
    }

    /// How the server ended, if it is no longer running (it is then reaped).
    pub(crate) fn gone(&self) -> Option<Gone> {
        let mut state = self.state();
        if let State::Running(process) = &mut *state
            && let Ok(Some(status)) = process.try_wait()
        {
            let pid = process.pid();
            *state = State::Gone(Gone { pid, status });
        }
        match &*state {
            State::Gone(gone) => Some(*gone),
            State::Running(_) | State::Stopped => None,
        }
    }

    /// Changes the data dir's limit (made by the builder's `data_dir_limit`) to `bytes`.
    pub(crate) fn set_data_dir_limit(&mut self, bytes: u64) -> Result<(), SmoketestError> {
        let changed = match self.limit {
            None => return Err(SmoketestError::NoDataDirLimit),
            Some(DataDirLimit::Tmpfs) => run_tool(
                "mount",
                &[
                    "-o",
                    &format!("remount,size={bytes}"),
                    &self.data_dir.display().to_string(),
                ],
            )
            .map(|()| DataDirLimit::Tmpfs),
            Some(DataDirLimit::FileSize { .. }) => match &*self.state() {
                State::Running(process) => limit_file_size(process.pid(), bytes),
                State::Gone(_) | State::Stopped => Ok(()),
            }
            .map(|()| DataDirLimit::FileSize { bytes }),
        };
        self.limit = Some(changed.map_err(|reason| SmoketestError::DataDirLimit { reason })?);
        Ok(())
    }

    fn spawn(&mut self) -> Result<(), SmoketestError> {
        let process = self
            .command
            .start()
            .map_err(|source| SmoketestError::ServerStart {
                binary: self.command.binary().to_owned(),
                source: Box::new(source),
            })?;
        self.url = match &self.certificates {
            // The certificate names localhost.
            Some(_) => format!("https://localhost:{}", process.ready().addr.port()),
            None => process.url(),
        };
        let pid = process.pid();
        *self.state() = State::Running(process);
        if let Some(DataDirLimit::FileSize { bytes }) = self.limit {
            limit_file_size(pid, bytes)
                .map_err(|reason| SmoketestError::DataDirLimit { reason })?;
        }
        Ok(())
    }

    fn take_state(&mut self) -> State {
        std::mem::replace(&mut *self.state(), State::Stopped)
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        // The server goes first (dropping its process stops it), then the mount it used.
        drop(self.take_state());
        if let Some(DataDirLimit::Tmpfs) = self.limit {
            let _ = run_tool("umount", &[&self.data_dir.display().to_string()]);
        }
    }
}

/// Mounts a tmpfs of `bytes` on `data_dir` if this process may; else the server will run with a
/// file-size limit of `bytes`.
fn limit_data_dir(
    data_dir: &Path,
    bytes: u64,
    note: &dyn Fn(String),
) -> Result<DataDirLimit, SmoketestError> {
    std::fs::create_dir_all(data_dir)
        .map_err(SmoketestError::io(format!("create {}", data_dir.display())))?;
    let shown = data_dir.display().to_string();
    match run_tool(
        "mount",
        &[
            "-t",
            "tmpfs",
            "-o",
            &format!("size={bytes}"),
            "tmpfs",
            &shown,
        ],
    ) {
        Ok(()) => {
            note(format!("data dir on a tmpfs of {bytes} bytes: {shown}"));
            Ok(DataDirLimit::Tmpfs)
        }
        Err(reason) => {
            note(format!(
                "cannot mount a tmpfs ({reason}); the server's files are limited to {bytes} bytes (RLIMIT_FSIZE) instead"
            ));
            Ok(DataDirLimit::FileSize { bytes })
        }
    }
}

/// Sets the soft `RLIMIT_FSIZE` of process `pid` (the hard limit stays, so it can be raised again).
fn limit_file_size(pid: u32, bytes: u64) -> Result<(), String> {
    run_tool(
        "prlimit",
        &["--pid", &pid.to_string(), &format!("--fsize={bytes}:")],
    )
}

/// Runs a short system tool; an error says what failed and what it printed.
fn run_tool(program: &str, args: &[&str]) -> Result<(), String> {
    let line = format!("{program} {}", args.join(" "));
    let mut command = Command::new(program);
    command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let mut child =
        GroupChild::spawn(command, program).map_err(|error| format!("{line}: {error}"))?;
    let mut stderr = child.take_stderr();
    let reader = std::thread::spawn(move || {
        let mut text = String::new();
        if let Some(pipe) = stderr.as_mut() {
            let _ = pipe.read_to_string(&mut text);
        }
        text
    });
    let status = match child.wait_timeout(TOOL_TIMEOUT) {
        Ok(Some(status)) => status,
        Ok(None) => {
            let _ = child.kill();
            return Err(format!("{line}: did not finish within {TOOL_TIMEOUT:?}"));
        }
        Err(error) => return Err(format!("{line}: {error}")),
    };
    let stderr = reader.join().unwrap_or_default();
    if status.success() {
        Ok(())
    } else {
        Err(format!("`{line}` exited with {status}: {}", stderr.trim()))
    }
}
