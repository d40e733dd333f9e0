//! Errors of the harness, one variant per failing operation.

use std::path::PathBuf;
use std::time::Duration;

use crate::cli_output::CliOutput;

/// Something the harness could not do.
#[derive(Debug, thiserror::Error)]
pub enum SmoketestError {
    /// The workspace root could not be found.
    #[error(
        "cannot find the Keel workspace root: set {} or run from inside the workspace",
        keel_artifacts::env::WORKSPACE_ROOT
    )]
    NoWorkspace,
    /// A built artifact is missing or stale.
    #[error("{what}: {reason}")]
    Artifact {
        /// What was looked up.
        what: String,
        /// Why it cannot be used (says to run `cargo xtask warmup`).
        reason: String,
    },
    /// No precompiled module has that name.
    #[error("no precompiled module named `{name}`; known modules: {}", known.join(", "))]
    UnknownModule {
        /// The requested name.
        name: String,
        /// The names in `modules/`.
        known: Vec<String>,
    },
    /// A `module_code()` build failed.
    #[error("building the module failed:\n{diagnostics}")]
    ModuleBuild {
        /// Cargo's diagnostics.
        diagnostics: String,
    },
    /// A server could not be started.
    #[error("could not start {}", binary.display())]
    ServerStart {
        /// The server binary.
        binary: PathBuf,
        /// What went wrong, with the log tail when there is one.
        #[source]
        source: Box<keel_process::ServerStartError>,
    },
    /// The test's CLI config could not be written.
    #[error(transparent)]
    CliConfig(#[from] keel_cli::ConfigError),
    /// A child process (CLI, cargo) could not be started.
    #[error(transparent)]
    Spawn(#[from] keel_process::SpawnError),
    /// Waiting for a child process failed; its outcome is unknown.
    #[error(transparent)]
    Wait(#[from] keel_process::WaitError),
    /// A call failed because the test's private server is no longer running.
    #[error(
        "{action}: the test's server is gone (pid {pid} exited, {status}); the last lines of its log, {log_tail}"
    )]
    ServerGone {
        /// What the test did.
        action: String,
        /// The server's process id.
        pid: u32,
        /// How it ended (`signal: 9 (SIGKILL)`, say).
        status: std::process::ExitStatus,
        /// The path and last lines of its log.
        log_tail: String,
        /// The client error the call got.
        #[source]
        source: Box<keel_client::ClientError>,
    },
    /// The private server's data dir has no size limit to change.
    #[error("the server's data dir has no limit to change: build with .data_dir_limit(bytes)")]
    NoDataDirLimit,
    /// The data dir's size limit could not be set.
    #[error("cannot limit the size of the server's data dir: {reason}")]
    DataDirLimit {
        /// What failed.
        reason: String,
    },
    /// The test needs a local server but runs in remote mode.
    #[error(
        "this test needs a local server ({0}), but the run targets a remote server: declare it with #[local_only = \"...\"]"
    )]
    NeedsLocalServer(&'static str),
    /// The test has no module to publish.
    #[error(
        "no module to publish: use precompiled_module(), module_code() or use_precompiled_module()"
    )]
    NoModule,
    /// A client call failed.
    #[error("{action}")]
    Client {
        /// What the test did.
        action: String,
        /// The client error.
        #[source]
        source: Box<keel_client::ClientError>,
    },
    /// A CLI command exited with an error.
    #[error("`{}` exited with {}:\n{:?}", .0.command, exit_text(.0.code), .0)]
    Cli(Box<CliOutput>),
    /// A SQL result did not match.
    #[error(
        "SQL result of `{query}` did not match\n--- expected\n{expected}\n--- actual\n{actual}"
    )]
    SqlMismatch {
        /// The query.
        query: String,
        /// The expected table.
        expected: String,
        /// The actual table.
        actual: String,
    },
    /// A waited-for condition did not become true in time.
    #[error("timed out after {timeout:?} waiting for {what}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The limit.
        timeout: Duration,
    },
    /// A file-system or process operation failed.
    #[error("{action}")]
    Io {
        /// What the harness was doing.
        action: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

impl SmoketestError {
    pub(crate) fn io(action: impl Into<String>) -> impl FnOnce(std::io::Error) -> SmoketestError {
        let action = action.into();
        move |source| SmoketestError::Io { action, source }
    }

    /// The client error behind this one, if any (to check statuses and error kinds).
    pub fn client_error(&self) -> Option<&keel_client::ClientError> {
        match self {
            SmoketestError::Client { source, .. } | SmoketestError::ServerGone { source, .. } => {
                Some(source.as_ref())
            }
            _ => None,
        }
    }
}

fn exit_text(code: Option<i32>) -> String {
    code.map_or_else(
        || "no exit code (killed or timed out)".to_owned(),
        |code| code.to_string(),
    )
}
