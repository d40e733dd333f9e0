//! Local servers spawned by the harness: a `keel_process::ServerProcess` (own process group,
//! stdin kept so they exit with us, ready line read) with its log in a file; stopped on drop.

use std::path::{Path, PathBuf};
use std::time::Duration;

use keel_process::{ServerCommand, ServerProcess};

use crate::binaries;
use crate::errors::SmoketestError;

/// A server process this harness controls.
pub(crate) struct LocalServer {
    command: ServerCommand,
    log_path: PathBuf,
    url: String,
    process: Option<ServerProcess>,
}

impl LocalServer {
    /// Starts a server with its data and log under `dir`.
    pub(crate) fn start(dir: &Path, extra_args: &[String]) -> Result<LocalServer, SmoketestError> {
        let log_path = dir.join("server.log");
        let command = ServerCommand::new(binaries::standalone()?, dir.join("data"))
            .args(extra_args)
            .log_file(&log_path);
        let mut server = LocalServer {
            command,
            log_path,
            url: String::new(),
            process: None,
        };
        server.spawn()?;
        Ok(server)
    }

    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn log_path(&self) -> &Path {
        &self.log_path
    }

    /// Stops the server gracefully (SIGTERM) and starts it again on the same data dir.
    pub(crate) fn restart(&mut self) -> Result<(), SmoketestError> {
        if let Some(mut process) = self.process.take() {
            process.stop(Duration::from_secs(10))?;
        }
        self.spawn()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again.
    pub(crate) fn crash_and_restart(&mut self) -> Result<(), SmoketestError> {
        if let Some(mut process) = self.process.take() {
            process.kill()?;
        }
        self.spawn()
    }

    fn spawn(&mut self) -> Result<(), SmoketestError> {
        let process = self
            .command
            .start()
            .map_err(|source| SmoketestError::ServerStart {
                binary: self.command.binary().to_owned(),
                source: Box::new(source),
            })?;
        self.url = process.url();
        self.process = Some(process);
        Ok(())
    }
}
