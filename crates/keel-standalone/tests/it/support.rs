//! Test support: the real server process on an ephemeral port (started, read and stopped by
//! `keel_process`), and the fixture modules built to wasm32 (installing the target with rustup
//! when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use keel_client::Client;
use keel_process::{ServerCommand, ServerProcess};

/// A `keel-standalone` process on `127.0.0.1:0` with its own data dir.
pub(crate) struct Server {
    process: Option<ServerProcess>,
    command: ServerCommand,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) url: String,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let command = ServerCommand::new(
            env!("CARGO_BIN_EXE_keel-standalone"),
            dir.path().join("data"),
        )
        .args(["--log-level", "warn"])
        .args(args.iter().copied());
        let mut server = Server {
            process: None,
            command,
            dir,
            url: String::new(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let process = self
            .command
            .start()
            .unwrap_or_else(|error| panic!("start keel-standalone: {error}"));
        self.url = process.url();
        self.process = Some(process);
    }

    /// SIGKILL: the server gets no chance to flush or checkpoint anything.
    pub(crate) fn kill_9_and_restart(&mut self) {
        self.kill_9_change_and_restart(|_| {});
    }

    /// SIGKILL, then `change` on the data dir (to leave it as a crash at another moment
    /// would), then a restart on it.
    pub(crate) fn kill_9_change_and_restart(&mut self, change: impl FnOnce(&Path)) {
        let mut process = self.process.take().expect("running");
        process.kill().expect("kill the server");
        change(&self.data_dir());
        self.spawn();
    }

    /// SIGTERM, then SIGKILL if it has not exited after `grace`: how it exited.
    pub(crate) fn stop(&mut self, grace: std::time::Duration) -> std::process::ExitStatus {
        let mut process = self.process.take().expect("running");
        process.stop(grace).expect("stop the server")
    }

    /// A client with a fresh identity.
    pub(crate) fn identity(&self) -> Client {
        let client = Client::new(&self.url).unwrap();
        let created = client.create_identity().unwrap();
        client.with_token(&created.token)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.process.as_ref().expect("running").pid()
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

/// The wasm of fixture `name` from `modules/`, built once per test process.
pub(crate) fn module(name: &str) -> Vec<u8> {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    let out_dir = BUILT.get_or_init(build_modules);
    let path = out_dir.join(format!("smoketest_module_{}.wasm", name.replace('-', "_")));
    std::fs::read(&path).unwrap_or_else(|error| panic!("read {}: {error}", path.display()))
}

fn build_modules() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("the workspace root exists");
    let installed = Command::new("rustup")
        .args(["target", "list", "--installed"])
        .output()
        .map(|out| String::from_utf8_lossy(&out.stdout).into_owned());
    if !installed
        .as_deref()
        .unwrap_or_default()
        .lines()
        .any(|line| line.trim() == "wasm32-unknown-unknown")
    {
        let status = Command::new("rustup")
            .args(["target", "add", "wasm32-unknown-unknown"])
            .status()
            .expect("run rustup");
        assert!(
            status.success(),
            "rustup target add wasm32-unknown-unknown failed"
        );
    }
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command.current_dir(root.join("modules")).args([
        "build",
        "--release",
        "--target",
        "wasm32-unknown-unknown",
        "--workspace",
        "--quiet",
    ]);
    keel_process::strip_cargo_run_variables(&mut command, &root);
    let status = command.status().expect("run cargo build in modules/");
    assert!(status.success(), "building the fixture modules failed");
    root.join("target/smoketest-modules/wasm32-unknown-unknown/release")
}
