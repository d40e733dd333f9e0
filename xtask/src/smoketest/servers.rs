//! The shared local servers: started before the suite, stopped on every exit path.
//!
//! Each server leads its own process group, its stdin is a pipe whose write end the xtask keeps
//! (`--exit-on-stdin-close`: if the xtask dies, even by SIGKILL, the server follows), its stderr goes to
//! `target/smoketest/servers/<i>/server.log`, and readiness is the JSON line on its stdout, never a sleep.

use std::{
    fs,
    path::{Path, PathBuf},
    process::{ChildStdin, Command, Stdio},
    sync::mpsc::RecvTimeoutError,
    time::Duration,
};

use anyhow::{Context, bail};

use crate::process::{self, GroupChild, STOP_GRACE};

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Running shared servers; dropping them stops them.
pub(crate) struct SharedServers {
    servers: Vec<Server>,
}

struct Server {
    child: GroupChild,
    stdin: Option<ChildStdin>,
    url: String,
    log: PathBuf,
}

impl SharedServers {
    /// Starts `count` servers from `binary`, each with a fresh directory under `servers_dir`.
    pub(crate) fn start(
        binary: &Path,
        servers_dir: &Path,
        count: u32,
    ) -> anyhow::Result<SharedServers> {
        if servers_dir.exists() {
            fs::remove_dir_all(servers_dir)
                .with_context(|| format!("clear {}", servers_dir.display()))?;
        }
        let mut pending = Vec::new();
        for index in 0..count {
            pending.push(spawn(binary, &servers_dir.join(index.to_string()), index)?);
        }
        let mut servers = Vec::new();
        for (mut child, stdin, log, ready) in pending {
            let url = match ready.recv_timeout(READY_TIMEOUT) {
                Ok(Some(line)) => parse_ready_line(&line).with_context(|| {
                    format!(
                        "server {} printed an unexpected ready line: {line}",
                        binary.display()
                    )
                })?,
                Ok(None) => {
                    let status = child
                        .stop(STOP_GRACE)
                        .map_or_else(|| "unknown status".to_owned(), |it| it.to_string());
                    bail!(
                        "server exited before it was ready ({status}); {}",
                        log_tail(&log)
                    );
                }
                Err(RecvTimeoutError::Timeout | RecvTimeoutError::Disconnected) => {
                    bail!(
                        "server was not ready after {}s; {}",
                        READY_TIMEOUT.as_secs(),
                        log_tail(&log)
                    );
                }
            };
            servers.push(Server {
                child,
                stdin: Some(stdin),
                url,
                log,
            });
        }
        Ok(SharedServers { servers })
    }

    /// Server URLs, comma-separated, for `KEEL_SMOKETEST_SERVERS`.
    pub(crate) fn urls(&self) -> String {
        self.servers
            .iter()
            .map(|it| it.url.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Log paths, comma-separated, for `KEEL_SMOKETEST_SERVER_LOGS`.
    pub(crate) fn logs(&self) -> String {
        self.servers
            .iter()
            .map(|it| it.log.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Fails if a server exited during the run.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        for server in &mut self.servers {
            if let Some(status) = server.child.try_wait()? {
                bail!(
                    "server {} exited during the run ({status}); {}",
                    server.url,
                    log_tail(&server.log)
                );
            }
        }
        Ok(())
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.child.stop(STOP_GRACE);
        self.stdin.take();
    }
}

type Pending = (
    GroupChild,
    ChildStdin,
    PathBuf,
    std::sync::mpsc::Receiver<Option<String>>,
);

fn spawn(binary: &Path, dir: &Path, index: u32) -> anyhow::Result<Pending> {
    let data_dir = dir.join("data");
    fs::create_dir_all(&data_dir).with_context(|| format!("create {}", data_dir.display()))?;
    let log = dir.join("server.log");
    let log_file = fs::File::create(&log).with_context(|| format!("create {}", log.display()))?;
    let mut command = Command::new(binary);
    command
        .arg("--data-dir")
        .arg(&data_dir)
        .args(["--listen", "127.0.0.1:0", "--ready-file"])
        .arg(dir.join("ready.json"))
        .arg("--exit-on-stdin-close")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(log_file);
    let mut child = GroupChild::spawn(command, &format!("server {index} ({})", binary.display()))?;
    let stdin = child.child_mut().stdin.take().expect("stdin is piped");
    let stdout = child.child_mut().stdout.take().expect("stdout is piped");
    let ready = process::first_line_then_drain(stdout, |_| {});
    Ok((child, stdin, log, ready))
}

/// `{"event":"ready","addr":"127.0.0.1:PORT"}` becomes `http://127.0.0.1:PORT`.
pub(crate) fn parse_ready_line(line: &str) -> anyhow::Result<String> {
    let ready: serde_json::Value =
        serde_json::from_str(line).context("parse the ready line as JSON")?;
    if ready["event"] != "ready" {
        bail!("expected \"event\": \"ready\"");
    }
    let Some(addr) = ready["addr"].as_str() else {
        bail!("the ready line has no \"addr\"")
    };
    Ok(format!("http://{addr}"))
}

/// The last lines of a server log, for error messages.
pub(crate) fn log_tail(log: &Path) -> String {
    let text = fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    format!("log {}:\n{tail}", log.display())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ready_line_becomes_url() {
        assert_eq!(
            parse_ready_line(r#"{"event":"ready","addr":"127.0.0.1:4321"}"#).unwrap(),
            "http://127.0.0.1:4321"
        );
        assert!(parse_ready_line(r#"{"event":"starting"}"#).is_err());
        assert!(parse_ready_line("listening on 4321").is_err());
    }

    #[test]
    fn missing_binary_fails_to_start() {
        let dir = tempfile::tempdir().unwrap();
        let err = SharedServers::start(
            &dir.path().join("no-such-server"),
            &dir.path().join("servers"),
            1,
        )
        .err()
        .unwrap();
        assert!(format!("{err:#}").contains("start server 0"), "{err:#}");
    }
}
