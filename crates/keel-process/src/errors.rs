//! Errors of this crate, one type per failing operation.

use std::path::PathBuf;
use std::process::ExitStatus;
use std::time::Duration;

/// Starting a child failed.
#[derive(Debug, thiserror::Error)]
pub enum SpawnError {
    /// The operating system refused to start the program.
    #[error("failed to start {name}")]
    Io {
        /// What was started, as the caller named it.
        name: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The run was interrupted (Ctrl-C or SIGTERM), so no new child starts.
    #[error("not starting {name}: the run was interrupted")]
    Interrupted {
        /// What would have been started.
        name: String,
    },
}

/// Waiting for a child, or reaping it, failed; its exit status is unknown (never assumed to be success).
#[derive(Debug, thiserror::Error)]
pub enum WaitError {
    /// `waitid` or `waitpid` failed.
    #[error("failed to wait for {name}")]
    Io {
        /// The child.
        name: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The child was sent SIGKILL and still did not exit.
    #[error("{name} did not exit within {timeout:?} of SIGKILL")]
    NotKilled {
        /// The child.
        name: String,
        /// How long it was given.
        timeout: Duration,
    },
}

/// Installing the Ctrl-C/SIGTERM handler failed.
#[derive(Debug, thiserror::Error)]
#[error("failed to install the Ctrl-C handler")]
pub struct InterruptHandlerError(#[source] pub(crate) ctrlc::Error);

/// Starting `keel-standalone` and reading its ready line failed.
#[derive(Debug, thiserror::Error)]
pub enum ServerStartError {
    /// Preparing its data dir or log file failed.
    #[error("{action}")]
    Prepare {
        /// What was being prepared.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The process did not start.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The server exited before it printed its ready line.
    #[error("{} exited before it was ready ({}){}", binary.display(), status_text(status), log_text(log_tail))]
    ExitedBeforeReady {
        /// The server binary.
        binary: PathBuf,
        /// Its exit status, when it could be reaped.
        status: Option<ExitStatus>,
        /// The last lines of its log, when it logs to a file.
        log_tail: Option<String>,
    },
    /// The server printed no ready line in time; it was killed.
    #[error("{} printed no ready line within {timeout:?}{}", binary.display(), log_text(log_tail))]
    NotReady {
        /// The server binary.
        binary: PathBuf,
        /// How long it was given.
        timeout: Duration,
        /// The last lines of its log, when it logs to a file.
        log_tail: Option<String>,
    },
    /// The first line on its stdout is not a ready event.
    #[error("{} printed an unexpected ready line {line:?}", binary.display())]
    BadReadyLine {
        /// The server binary.
        binary: PathBuf,
        /// What it printed.
        line: String,
        /// Why it is not a ready event.
        #[source]
        source: serde_json::Error,
    },
    /// The `--ready-file` is missing, unreadable, or says something else than the ready line.
    #[error("ready file {} does not hold the ready line {line:?}: {problem}", path.display())]
    ReadyFile {
        /// The ready file.
        path: PathBuf,
        /// The ready line from stdout.
        line: String,
        /// What is wrong with the file.
        problem: String,
    },
}

fn status_text(status: &Option<ExitStatus>) -> String {
    status.map_or_else(
        || "exit status unknown".to_owned(),
        |status| status.to_string(),
    )
}

fn log_text(log_tail: &Option<String>) -> String {
    log_tail
        .as_ref()
        .map_or_else(String::new, |tail| format!("; its log:\n{tail}"))
}
