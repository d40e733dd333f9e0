//! Local servers spawned by the harness: started with a ready file, in their own process group,
//! stdin piped so they exit with us, stderr to a log file; stopped on drop.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc::channel;
use std::time::Duration;

use crate::binaries;
use crate::errors::SmoketestError;
use crate::process::ChildProcess;

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(30);

/// A server process this harness controls.
pub(crate) struct LocalServer {
    binary: PathBuf,
    data_dir: PathBuf,
    log_path: PathBuf,
    extra_args: Vec<String>,
    url: String,
    /// Kept open: the server exits when it closes (`--exit-on-stdin-close`).
    _stdin: Option<std::process::ChildStdin>,
    process: Option<ChildProcess>,
}

impl LocalServer {
    /// Starts a server with its data and log under `dir`.
    pub(crate) fn start(dir: &Path, extra_args: &[String]) -> Result<LocalServer, SmoketestError> {
        let binary = binaries::standalone()?;
        let mut server = LocalServer {
            binary,
            data_dir: dir.join("data"),
            log_path: dir.join("server.log"),
            extra_args: extra_args.to_vec(),
            url: String::new(),
            _stdin: None,
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
        self.stop(Duration::from_secs(10));
        self.spawn()
    }

    /// Kills the server with SIGKILL (no chance to flush anything) and starts it again.
    pub(crate) fn crash_and_restart(&mut self) -> Result<(), SmoketestError> {
        if let Some(mut process) = self.process.take() {
            process.kill();
        }
        self._stdin = None;
        self.spawn()
    }

    fn stop(&mut self, grace: Duration) {
        if let Some(mut process) = self.process.take() {
            process.terminate(grace);
        }
        self._stdin = None;
    }

    fn spawn(&mut self) -> Result<(), SmoketestError> {
        let fail = |reason: String| SmoketestError::ServerStart {
            binary: self.binary.clone(),
            reason,
        };
        std::fs::create_dir_all(&self.data_dir).map_err(SmoketestError::io(format!(
            "create {}",
            self.data_dir.display()
        )))?;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log_path)
            .map_err(SmoketestError::io(format!(
                "open {}",
                self.log_path.display()
            )))?;
        let mut command = Command::new(&self.binary);
        command
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen", "127.0.0.1:0", "--exit-on-stdin-close"])
            .args(&self.extra_args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(log);
        let (mut process, pipes) =
            ChildProcess::spawn(&mut command).map_err(|error| fail(error.to_string()))?;
        let stdout = pipes.stdout.expect("stdout is piped");
        let (sender, ready) = channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = sender.send(line);
        });
        let line = match ready.recv_timeout(READY_TIMEOUT) {
            Ok(line) if !line.is_empty() => line,
            Ok(_) => {
                process.terminate(Duration::from_secs(1));
                return Err(fail(format!(
                    "it exited before it was ready; its log:\n{}",
                    tail(&self.log_path)
                )));
            }
            Err(_) => {
                process.kill();
                return Err(fail(format!(
                    "it did not print its ready line within {READY_TIMEOUT:?}; its log:\n{}",
                    tail(&self.log_path)
                )));
            }
        };
        let addr = parse_ready_line(&line)
            .ok_or_else(|| fail(format!("unexpected ready line {line:?}")))?;
        self.url = format!("http://{addr}");
        self._stdin = pipes.stdin;
        self.process = Some(process);
        Ok(())
    }
}

impl Drop for LocalServer {
    fn drop(&mut self) {
        self.stop(Duration::from_secs(5));
    }
}

/// The address in `{"event":"ready","addr":"127.0.0.1:PORT"}`.
pub(crate) fn parse_ready_line(line: &str) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(line.trim()).ok()?;
    (value.get("event")?.as_str()? == "ready").then_some(())?;
    Some(value.get("addr")?.as_str()?.to_owned())
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_lines_are_parsed() {
        assert_eq!(
            parse_ready_line(r#"{"event":"ready","addr":"127.0.0.1:4000"}"#).as_deref(),
            Some("127.0.0.1:4000")
        );
        assert_eq!(parse_ready_line(r#"{"event":"other","addr":"x"}"#), None);
        assert_eq!(parse_ready_line("listening"), None);
    }
}
