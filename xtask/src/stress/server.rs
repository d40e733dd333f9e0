//! [`StressServer`]: one fresh `keel-standalone` per scenario, started and reaped by `keel_process`
//! (own process group, Ctrl-C forwarding, `--exit-on-stdin-close`, SIGTERM then SIGKILL), with the
//! process id, data dir and log a scenario needs.

use std::{
    os::unix::process::ExitStatusExt,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::Context;
use keel_client::Client;
use keel_process::{ServerCommand, ServerProcess};

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);
/// Grace between SIGTERM and SIGKILL when a scenario is done with its server.
const DROP_GRACE: Duration = Duration::from_secs(3);

/// A running server; dropping it stops and reaps it.
pub(crate) struct StressServer {
    process: ServerProcess,
    url: String,
    data_dir: PathBuf,
    log: PathBuf,
}

/// How a SIGTERM ended the server.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Termination {
    /// From SIGTERM until the server exited (or was killed at the bound).
    pub(crate) elapsed: Duration,
    /// The server did not exit within the bound and got SIGKILL.
    pub(crate) killed: bool,
}

impl StressServer {
    /// Starts `binary` with its data dir and log under `dir`, plus `extra_args`, and waits for the ready line.
    pub(crate) fn start(
        binary: &Path,
        dir: &Path,
        extra_args: &[String],
    ) -> anyhow::Result<StressServer> {
        std::fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let data_dir = dir.join("data");
        let log = dir.join("server.log");
        let process = ServerCommand::new(binary, &data_dir)
            .args(extra_args)
            .log_file(&log)
            .ready_timeout(READY_TIMEOUT)
            .name(format!("stress server {}", dir.display()))
            .start()
            .context("start the server")?;
        Ok(StressServer {
            url: process.url(),
            process,
            data_dir,
            log,
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:PORT`, for raw TCP.
    pub(crate) fn addr(&self) -> &str {
        self.url.trim_start_matches("http://")
    }

    /// The server's process id, for `/proc`.
    pub(crate) fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The server's `--data-dir`.
    pub(crate) fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// An anonymous client.
    pub(crate) fn client(&self) -> anyhow::Result<Client> {
        Client::new(&self.url).with_context(|| format!("client for {}", self.url))
    }

    /// A client acting as a new identity.
    pub(crate) fn new_identity(&self) -> anyhow::Result<Client> {
        let client = self.client()?;
        let identity = client.create_identity().context("create an identity")?;
        Ok(client.with_token(&identity.token))
    }

    /// How the server ended, if it is no longer running (a crash, say), with the end of its log.
    pub(crate) fn exited(&mut self) -> Option<String> {
        match self.process.try_wait() {
            Ok(None) => None,
            Ok(Some(status)) => Some(format!("{status}; {}", last_log_line(&self.log))),
            Err(err) => Some(format!("{err}")),
        }
    }

    /// Fails if the server is no longer running.
    pub(crate) fn ensure_running(&mut self) -> anyhow::Result<()> {
        match self.exited() {
            None => Ok(()),
            Some(how) => anyhow::bail!("the server exited during the scenario ({how})"),
        }
    }

    /// Sends SIGTERM and waits up to `bound` for the server to exit, then kills it; measures the time.
    pub(crate) fn terminate(&mut self, bound: Duration) -> Termination {
        let started = Instant::now();
        let status = self.process.stop(bound);
        let elapsed = started.elapsed();
        let killed = status.is_ok_and(|it| it.signal() == Some(libc::SIGKILL));
        Termination { elapsed, killed }
    }
}

impl Drop for StressServer {
    fn drop(&mut self) {
        let _ = self.process.stop(DROP_GRACE);
    }
}

/// The last non-empty line of the server's log (a panic or abort message, after a crash), and where the log is.
fn last_log_line(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let last = text
        .lines()
        .rev()
        .find(|it| !it.trim().is_empty())
        .unwrap_or("(empty)");
    format!("last log line: {last} (log {})", log.display())
}
