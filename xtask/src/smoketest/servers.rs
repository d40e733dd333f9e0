//! The shared local servers: started before the suite, stopped on every exit path.
//!
//! Each is a `keel_process::ServerProcess`: its own process group, `--exit-on-stdin-close` on a pipe the
//! xtask keeps (if the xtask dies, even by SIGKILL, the server follows), its stderr in
//! `target/smoketest/servers/<i>/server.log`, and readiness from the ready line on its stdout, checked
//! against the `--ready-file` beside the log; never a sleep.

use std::{fs, path::Path, time::Duration};

use anyhow::{Context, bail};
use keel_process::{STOP_GRACE, ServerCommand, ServerProcess, log_tail};

/// How long a server may take to print its ready line.
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Running shared servers; dropping them stops them.
pub(crate) struct SharedServers {
    servers: Vec<ServerProcess>,
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
        // All start at once; then each one's ready line is awaited.
        let mut starting = Vec::new();
        for index in 0..count {
            let dir = servers_dir.join(index.to_string());
            fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
            let command = ServerCommand::new(binary, dir.join("data"))
                .log_file(dir.join("server.log"))
                .ready_file(dir.join("ready.json"))
                .ready_timeout(READY_TIMEOUT)
                .name(format!("server {index} ({})", binary.display()));
            starting.push(
                command
                    .spawn()
                    .with_context(|| format!("start server {index}"))?,
            );
        }
        let servers = starting
            .into_iter()
            .enumerate()
            .map(|(index, server)| {
                server
                    .wait_ready()
                    .with_context(|| format!("start server {index}"))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(SharedServers { servers })
    }

    /// Server URLs, comma-separated, for `keel_artifacts::env::SHARED_SERVERS`.
    pub(crate) fn urls(&self) -> String {
        self.servers
            .iter()
            .map(ServerProcess::url)
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Log paths, comma-separated, for `keel_artifacts::env::SHARED_SERVER_LOGS`.
    pub(crate) fn logs(&self) -> String {
        self.servers
            .iter()
            .filter_map(|it| it.log_file())
            .map(|it| it.display().to_string())
            .collect::<Vec<_>>()
            .join(",")
    }

    /// Fails if a server exited during the run.
    pub(crate) fn check_alive(&mut self) -> anyhow::Result<()> {
        for server in &mut self.servers {
            if let Some(status) = server.try_wait()? {
                bail!(
                    "server {} exited during the run ({status}); log {}",
                    server.url(),
                    server.log_file().map(log_tail).unwrap_or_default()
                );
            }
        }
        Ok(())
    }
}

impl Drop for SharedServers {
    fn drop(&mut self) {
        for server in &mut self.servers {
            let _ = server.stop(STOP_GRACE);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
