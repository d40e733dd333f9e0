//! Starting `keel-standalone` and reading its ready line: the one place that does it, for the
//! xtask's shared servers, the harness's own servers and the server's integration tests.
//!
//! The server listens on `127.0.0.1:0` in its own process group with `--exit-on-stdin-close`
//! (its stdin is a pipe this handle keeps, so a parent that dies takes it along), and is ready
//! when its first stdout line is a [`ReadyEvent`]; nobody sleeps or scrapes logs.

use std::ffi::OsString;
use std::fs;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{ChildStdin, Command, ExitStatus, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread;
use std::time::Duration;

use keel_api::ReadyEvent;

use crate::errors::{ServerStartError, WaitError};
use crate::group::GroupChild;

/// How long a server may take to print its ready line, unless told otherwise.
pub const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// Lines of the log quoted in start-up errors.
const LOG_TAIL_LINES: usize = 20;

/// How to start a `keel-standalone`: binary, data dir, extra flags, where its log goes.
#[derive(Debug, Clone)]
#[must_use]
pub struct ServerCommand {
    binary: PathBuf,
    data_dir: PathBuf,
    args: Vec<OsString>,
    log_file: Option<PathBuf>,
    ready_file: Option<PathBuf>,
    ready_timeout: Duration,
    name: String,
}

/// A server that was started and has not printed its ready line yet.
#[derive(Debug)]
pub struct StartingServer {
    command: ServerCommand,
    child: GroupChild,
    stdin: Option<ChildStdin>,
    first_line: Receiver<Option<String>>,
}

/// A running server that printed its ready line. Dropping it stops it (SIGTERM, grace, SIGKILL).
#[derive(Debug)]
pub struct ServerProcess {
    // Declared first, so it is stopped before its stdin closes.
    child: GroupChild,
    stdin: Option<ChildStdin>,
    ready: ReadyEvent,
    log_file: Option<PathBuf>,
}

impl ServerCommand {
    /// `binary --data-dir DATA_DIR --listen 127.0.0.1:0 --exit-on-stdin-close`, stderr inherited.
    pub fn new(binary: impl Into<PathBuf>, data_dir: impl Into<PathBuf>) -> ServerCommand {
        let binary = binary.into();
        ServerCommand {
            name: binary.display().to_string(),
            binary,
            data_dir: data_dir.into(),
            args: Vec::new(),
            log_file: None,
            ready_file: None,
            ready_timeout: READY_TIMEOUT,
        }
    }

    /// Extra server flags.
    pub fn args<I, S>(mut self, args: I) -> ServerCommand
    where
        I: IntoIterator<Item = S>,
        S: Into<OsString>,
    {
        self.args.extend(args.into_iter().map(Into::into));
        self
    }

    /// Appends the server's stderr (its log) to this file instead of inheriting it.
    pub fn log_file(mut self, path: impl Into<PathBuf>) -> ServerCommand {
        self.log_file = Some(path.into());
        self
    }

    /// Passes `--ready-file PATH`; start-up then also checks that the file holds the ready line.
    pub fn ready_file(mut self, path: impl Into<PathBuf>) -> ServerCommand {
        self.ready_file = Some(path.into());
        self
    }

    /// How long to wait for the ready line (default [`READY_TIMEOUT`]).
    pub fn ready_timeout(mut self, timeout: Duration) -> ServerCommand {
        self.ready_timeout = timeout;
        self
    }

    /// How the server is named in errors (default: the binary's path).
    pub fn name(mut self, name: impl Into<String>) -> ServerCommand {
        self.name = name.into();
        self
    }

    /// The server binary.
    pub fn binary(&self) -> &Path {
        &self.binary
    }

    /// Starts the server and waits for its ready line.
    pub fn start(&self) -> Result<ServerProcess, ServerStartError> {
        self.spawn()?.wait_ready()
    }

    /// Starts the server without waiting; several can then start at once.
    pub fn spawn(&self) -> Result<StartingServer, ServerStartError> {
        fs::create_dir_all(&self.data_dir).map_err(|source| ServerStartError::Prepare {
            action: format!("create {}", self.data_dir.display()),
            source,
        })?;
        let stderr = match &self.log_file {
            Some(path) => Stdio::from(
                fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(path)
                    .map_err(|source| ServerStartError::Prepare {
                        action: format!("open {}", path.display()),
                        source,
                    })?,
            ),
            None => Stdio::inherit(),
        };
        let mut command = Command::new(&self.binary);
        command.arg("--data-dir").arg(&self.data_dir).args([
            "--listen",
            "127.0.0.1:0",
            "--exit-on-stdin-close",
        ]);
        if let Some(ready_file) = &self.ready_file {
            command.arg("--ready-file").arg(ready_file);
        }
        command
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr);
        let mut child = GroupChild::spawn(command, &self.name)?;
        let stdin = child.take_stdin();
        let stdout = child.take_stdout().expect("stdout is piped");
        Ok(StartingServer {
            command: self.clone(),
            child,
            stdin,
            first_line: first_line_then_drain(stdout),
        })
    }
}

impl StartingServer {
    /// Waits for the ready line; a server that exits first, prints something else or takes too
    /// long is stopped and reported with its log tail.
    pub fn wait_ready(mut self) -> Result<ServerProcess, ServerStartError> {
        let command = &self.command;
        let line = match self.first_line.recv_timeout(command.ready_timeout) {
            Ok(Some(line)) => line,
            Ok(None) | Err(RecvTimeoutError::Disconnected) => {
                let status = self.child.stop(Duration::from_secs(1)).ok();
                return Err(ServerStartError::ExitedBeforeReady {
                    binary: command.binary.clone(),
                    status,
                    log_tail: command.log_file.as_deref().map(log_tail),
                });
            }
            Err(RecvTimeoutError::Timeout) => {
                let _ = self.child.kill();
                return Err(ServerStartError::NotReady {
                    binary: command.binary.clone(),
                    timeout: command.ready_timeout,
                    log_tail: command.log_file.as_deref().map(log_tail),
                });
            }
        };
        let ready = ReadyEvent::parse(&line).map_err(|source| ServerStartError::BadReadyLine {
            binary: command.binary.clone(),
            line: line.clone(),
            source,
        })?;
        if let Some(path) = &command.ready_file {
            check_ready_file(path, &line, ready)?;
        }
        Ok(ServerProcess {
            child: self.child,
            stdin: self.stdin.take(),
            ready,
            log_file: command.log_file.clone(),
        })
    }
}

impl ServerProcess {
    /// What the server printed when it was ready.
    pub fn ready(&self) -> ReadyEvent {
        self.ready
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        self.ready.url()
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The log file, when its stderr goes to one.
    pub fn log_file(&self) -> Option<&Path> {
        self.log_file.as_deref()
    }

    /// The exit status if the server has exited, without waiting.
    pub fn try_wait(&mut self) -> Result<Option<ExitStatus>, WaitError> {
        self.child.try_wait()
    }

    /// Stops the server: SIGTERM, up to `grace`, then SIGKILL; reaps it and closes its stdin.
    pub fn stop(&mut self, grace: Duration) -> Result<ExitStatus, WaitError> {
        let status = self.child.stop(grace);
        self.stdin = None;
        status
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and reaps it.
    pub fn kill(&mut self) -> Result<ExitStatus, WaitError> {
        let status = self.child.kill();
        self.stdin = None;
        status
    }
}

/// The last lines of the log at `path`, for error messages.
pub fn log_tail(path: &Path) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    format!(
        "{}:\n{}",
        path.display(),
        lines[lines.len().saturating_sub(LOG_TAIL_LINES)..].join("\n")
    )
}

/// The server writes the ready file before it prints the line, so the file must hold it now.
fn check_ready_file(path: &Path, line: &str, ready: ReadyEvent) -> Result<(), ServerStartError> {
    let problem = match fs::read_to_string(path) {
        Err(error) => error.to_string(),
        Ok(text) => match ReadyEvent::parse(&text) {
            Ok(from_file) if from_file == ready => return Ok(()),
            Ok(from_file) => format!("it says {}", from_file.to_line()),
            Err(error) => format!("{error} in {text:?}"),
        },
    };
    Err(ServerStartError::ReadyFile {
        path: path.to_owned(),
        line: line.trim().to_owned(),
        problem,
    })
}

/// Reads the first line of `pipe` on a thread and sends it (`None` at end of file); later lines
/// are read and dropped, so the server never blocks on a full pipe.
fn first_line_then_drain(pipe: impl std::io::Read + Send + 'static) -> Receiver<Option<String>> {
    let (sender, receiver) = mpsc::channel();
    thread::spawn(move || {
        let mut reader = BufReader::new(pipe);
        let mut line = String::new();
        let first = match reader.read_line(&mut line) {
            Ok(n) if n > 0 => Some(line),
            _ => None,
        };
        let _ = sender.send(first);
        let _ = std::io::copy(&mut reader, &mut std::io::sink());
    });
    receiver
}
