//! Test support: the real server process on an ephemeral port, and the fixture modules built
//! to wasm32 (installing the target with rustup when it is missing).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;

use keel_client::Client;

/// A `keel-standalone` process on `127.0.0.1:0` with its own data dir.
pub(crate) struct Server {
    child: Option<Child>,
    pub(crate) dir: tempfile::TempDir,
    pub(crate) url: String,
    args: Vec<String>,
}

impl Server {
    pub(crate) fn start(args: &[&str]) -> Server {
        let mut server = Server {
            child: None,
            dir: tempfile::tempdir().unwrap(),
            url: String::new(),
            args: args.iter().map(|arg| arg.to_string()).collect(),
        };
        server.spawn();
        server
    }

    fn spawn(&mut self) {
        let mut child = Command::new(env!("CARGO_BIN_EXE_keel-standalone"))
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
            .args([
                "--listen",
                "127.0.0.1:0",
                "--exit-on-stdin-close",
                "--log-level",
                "warn",
            ])
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .process_group(0)
            .spawn()
            .expect("start keel-standalone");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: serde_json::Value =
            serde_json::from_str(&line).unwrap_or_else(|_| panic!("bad ready line {line:?}"));
        assert_eq!(ready["event"], "ready");
        self.url = format!("http://{}", ready["addr"].as_str().unwrap());
        self.child = Some(child);
    }

    /// SIGKILL: the server gets no chance to flush or checkpoint anything.
    pub(crate) fn kill_9_and_restart(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
        self.spawn();
    }

    /// A client with a fresh identity.
    pub(crate) fn identity(&self) -> Client {
        let client = Client::new(&self.url).unwrap();
        let created = client.create_identity().unwrap();
        client.with_token(&created.token)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub(crate) fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // SAFETY: signals the server's own process group.
            unsafe { libc::kill(-(child.id() as i32), libc::SIGTERM) };
            let _ = child.wait();
        }
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
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
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
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("CARGO_") && name != "CARGO_HOME" {
            command.env_remove(name);
        }
    }
    let status = command.status().expect("run cargo build in modules/");
    assert!(status.success(), "building the fixture modules failed");
    root.join("target/smoketest-modules/wasm32-unknown-unknown/release")
}
