//! Integration tests of the `keel` binary that need no server: argument and config handling,
//! error messages and exit codes. Each test gets its own temp directory and config file
//! (`$KEEL_CONFIG`), so nothing reads or writes the user's real config.
//! A tiny canned-response HTTP stub (`Stub`) pins the happy paths' output and requests;
//! scenarios against the real server live in the smoketests.

use std::fmt;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use keel_cli::exit_code;

/// One `keel` invocation's result; `Debug` shows everything a failing assertion needs.
struct Run {
    args: Vec<String>,
    code: Option<i32>,
    stdout: String,
    stderr: String,
}

impl fmt::Debug for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "keel {:?}\nexit code: {:?}\n--- stdout\n{}--- stderr\n{}",
            self.args, self.code, self.stdout, self.stderr
        )
    }
}

impl Run {
    #[track_caller]
    fn assert_exit(&self, expected: u8) -> &Run {
        assert_eq!(self.code, Some(i32::from(expected)), "{self:?}");
        self
    }

    #[track_caller]
    fn assert_stderr_contains(&self, needle: &str) -> &Run {
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}\n{self:?}"
        );
        self
    }
}

/// A temp directory with a config path in it.
struct TestDir {
    dir: tempfile::TempDir,
}

impl TestDir {
    fn new() -> TestDir {
        TestDir {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    fn config_path(&self) -> PathBuf {
        self.dir.path().join("keel").join("config.toml")
    }

    fn write_config(&self, text: &str) {
        std::fs::create_dir_all(self.config_path().parent().unwrap()).unwrap();
        std::fs::write(self.config_path(), text).unwrap();
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn keel(&self, args: &[&str]) -> Run {
        let output = Command::new(env!("CARGO_BIN_EXE_keel"))
            .args(args)
            .env("KEEL_CONFIG", self.config_path())
            .current_dir(self.path())
            .output()
            .unwrap();
        Run {
            args: args.iter().map(|arg| arg.to_string()).collect(),
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        }
    }
}

/// A loopback URL nothing listens on.
fn closed_port_url() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    format!("http://127.0.0.1:{port}")
}

#[test]
fn ping_of_a_closed_port_is_unreachable_with_a_hint() {
    let test = TestDir::new();
    let run = test.keel(&["--server", &closed_port_url(), "server", "ping"]);
    run.assert_exit(exit_code::UNREACHABLE)
        .assert_stderr_contains(
            "error: ping the server: could not reach the Keel server at http://127.0.0.1:",
        )
        .assert_stderr_contains("is the server running?")
        .assert_stderr_contains("--server");
    assert!(run.stdout.is_empty(), "{run:?}");
}

#[test]
fn publish_of_a_missing_wasm_file_is_invalid_input() {
    let test = TestDir::new();
    test.keel(&["publish", "x", "--wasm", "/missing"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("error: cannot read wasm file /missing")
        .assert_stderr_contains("keel build");
}

#[test]
fn malformed_json_arguments_are_invalid_input() {
    let test = TestDir::new();
    test.keel(&["--server", &closed_port_url(), "call", "db", "r", "[1,"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("invalid JSON argument `[1,`");
}

#[test]
fn invalid_database_names_are_invalid_input() {
    let test = TestDir::new();
    test.keel(&["sql", "../etc", "SELECT 1"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("invalid database name `../etc`");
}

#[test]
fn invalid_server_urls_are_invalid_input() {
    let test = TestDir::new();
    test.keel(&["--server", "localhost:3000", "server", "ping"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("invalid server URL `localhost:3000`");
}

#[test]
fn no_server_anywhere_says_how_to_configure_one() {
    let test = TestDir::new();
    test.keel(&["server", "ping"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("error: no server configured")
        .assert_stderr_contains("keel identity new --server URL");
}

#[test]
fn commands_needing_a_token_say_to_create_an_identity() {
    let test = TestDir::new();
    test.keel(&["--server", &closed_port_url(), "list"])
        .assert_exit(exit_code::PERMISSION_DENIED)
        .assert_stderr_contains("no identity configured: run `keel identity new`");
}

#[test]
fn the_token_is_not_sent_to_another_server() {
    let test = TestDir::new();
    test.write_config(
        "server = \"http://127.0.0.1:9\"\nidentity = \"abc\"\ntoken = \"secret-token\"\n",
    );
    let run = test.keel(&["--server", &closed_port_url(), "list"]);
    run.assert_exit(exit_code::PERMISSION_DENIED)
        .assert_stderr_contains("belongs to http://127.0.0.1:9");
    assert!(
        !run.stderr.contains("secret-token") && !run.stdout.contains("secret-token"),
        "{run:?}"
    );
}

#[test]
fn the_configured_server_is_used_without_flag() {
    let test = TestDir::new();
    test.write_config(&format!(
        "server = \"{}/\"\ntoken = \"t\"\n",
        closed_port_url()
    ));
    test.keel(&["describe", "db"])
        .assert_exit(exit_code::UNREACHABLE)
        .assert_stderr_contains("describe database `db`");
}

#[test]
fn malformed_config_files_are_invalid_input() {
    let test = TestDir::new();
    test.write_config("server = ");
    test.keel(&["server", "ping"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("invalid config file");
}

#[test]
fn identity_new_against_a_closed_port_writes_no_config() {
    let test = TestDir::new();
    test.keel(&["--server", &closed_port_url(), "identity", "new"])
        .assert_exit(exit_code::UNREACHABLE);
    assert!(!test.config_path().exists());
}

#[test]
fn usage_errors_exit_with_usage_and_help_succeeds() {
    let test = TestDir::new();
    test.keel(&["frobnicate"]).assert_exit(exit_code::USAGE);
    test.keel(&["publish", "x"])
        .assert_exit(exit_code::USAGE)
        .assert_stderr_contains("--wasm");
    let run = test.keel(&["--help"]);
    run.assert_exit(exit_code::SUCCESS);
    assert!(
        run.stdout.contains("publish") && run.stdout.contains("--server"),
        "{run:?}"
    );
}

#[test]
fn build_of_a_missing_directory_is_invalid_input() {
    let test = TestDir::new();
    test.keel(&["build", "no-such-module"])
        .assert_exit(exit_code::INVALID_INPUT)
        .assert_stderr_contains("module directory no-such-module does not exist");
}

#[test]
fn build_of_a_directory_without_a_package_fails_the_build() {
    let test = TestDir::new();
    let module_dir = test.path().join("empty-module");
    std::fs::create_dir(&module_dir).unwrap();
    test.keel(&["build", module_dir.to_str().unwrap()])
        .assert_exit(exit_code::BUILD_FAILED)
        .assert_stderr_contains("cargo build failed");
}

/// A dependency-free cdylib package in `dir/name`, with `source` as its `src/lib.rs`.
fn write_tiny_module(dir: &Path, name: &str, source: &str) -> PathBuf {
    let module_dir = dir.join(name);
    std::fs::create_dir_all(module_dir.join("src")).unwrap();
    let manifest = format!(
        "[package]\nname = \"{name}\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[lib]\ncrate-type = [\"cdylib\"]\n\n[workspace]\n"
    );
    std::fs::write(module_dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::write(module_dir.join("src").join("lib.rs"), source).unwrap();
    module_dir
}

#[test]
fn build_prints_the_absolute_path_of_the_wasm() {
    let test = TestDir::new();
    write_tiny_module(
        test.path(),
        "tiny-mod",
        "#[no_mangle]\npub extern \"C\" fn answer() -> i32 { 42 }\n",
    );
    let run = test.keel(&["build", "tiny-mod"]);
    run.assert_exit(exit_code::SUCCESS);
    let wasm = PathBuf::from(run.stdout.trim_end());
    assert!(
        wasm.is_absolute() && wasm.ends_with("tiny_mod.wasm") && wasm.is_file(),
        "{run:?}"
    );

    let run = test.keel(&["--json", "build", "tiny-mod"]);
    run.assert_exit(exit_code::SUCCESS);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["wasm"].as_str(), wasm.to_str(), "{run:?}");
}

#[test]
fn build_errors_exit_with_build_failed_and_show_diagnostics() {
    let test = TestDir::new();
    write_tiny_module(test.path(), "broken-mod", "pub fn broken( {\n");
    let run = test.keel(&["build", "broken-mod"]);
    run.assert_exit(exit_code::BUILD_FAILED)
        .assert_stderr_contains("unclosed delimiter")
        .assert_stderr_contains("error: build module broken-mod: cargo build failed");
    assert!(run.stdout.is_empty(), "{run:?}");
}

/// Answers one canned JSON response per connection, in order, and records request line,
/// authorization header and body of each request.
struct Stub {
    url: String,
    requests: mpsc::Receiver<(String, Option<String>, String)>,
    thread: Option<JoinHandle<()>>,
}

impl Stub {
    fn new(responses: Vec<(u16, &'static str)>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (sender, requests) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for (status, body) in responses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let mut request_line = String::new();
                reader.read_line(&mut request_line).unwrap();
                let (mut authorization, mut length) = (None, 0);
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    let Some((name, value)) = line.trim_end().split_once(':') else {
                        break;
                    };
                    match name.to_ascii_lowercase().as_str() {
                        "authorization" => authorization = Some(value.trim().to_owned()),
                        "content-length" => length = value.trim().parse().unwrap(),
                        _ => {}
                    }
                }
                let mut request_body = vec![0; length];
                reader.read_exact(&mut request_body).unwrap();
                let recorded = String::from_utf8_lossy(&request_body).into_owned();
                sender
                    .send((request_line.trim_end().to_owned(), authorization, recorded))
                    .unwrap();
                let response = format!(
                    "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                reader.get_mut().write_all(response.as_bytes()).unwrap();
            }
        });
        Stub {
            url,
            requests,
            thread: Some(thread),
        }
    }

    fn request(&self) -> (String, Option<String>, String) {
        self.requests
            .recv_timeout(Duration::from_secs(10))
            .expect("the stub received a request")
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take()
            && !std::thread::panicking()
        {
            thread.join().unwrap();
        }
    }
}

#[test]
fn identity_new_saves_a_private_config_that_later_commands_use() {
    let test = TestDir::new();
    let stub = Stub::new(vec![
        (200, r#"{"identity":"id-1","token":"secret-token"}"#),
        (
            200,
            r#"{"columns":["id","name"],"rows":[[1,"alice"],[22,null]],"changes":0}"#,
        ),
        (200, r#"{"fuel_used":7,"duration_micros":3}"#),
        (
            422,
            r#"{"error":"reducer panicked: boom","kind":"reducer_panic"}"#,
        ),
    ]);

    let run = test.keel(&["--server", &format!("{}/", stub.url), "identity", "new"]);
    run.assert_exit(exit_code::SUCCESS);
    assert!(
        run.stdout.contains("created identity id-1") && !run.stdout.contains("secret-token"),
        "{run:?}"
    );
    assert_eq!(
        stub.request(),
        ("POST /v1/identity HTTP/1.1".to_owned(), None, String::new())
    );
    let config = keel_cli::Config::load(&test.config_path()).unwrap();
    assert_eq!(config.server.as_deref(), Some(stub.url.as_str()));
    assert_eq!(
        (config.identity.as_deref(), config.token.as_deref()),
        (Some("id-1"), Some("secret-token"))
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(test.config_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }

    let run = test.keel(&["sql", "db", "SELECT id, name FROM person"]);
    run.assert_exit(exit_code::SUCCESS);
    assert_eq!(
        run.stdout, "id | name\n---+------\n1  | alice\n22 | NULL\n",
        "{run:?}"
    );
    let (request_line, authorization, body) = stub.request();
    assert_eq!(request_line, "POST /v1/databases/db/sql HTTP/1.1");
    assert_eq!(authorization.as_deref(), Some("Bearer secret-token"));
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap()["query"],
        "SELECT id, name FROM person"
    );

    let run = test.keel(&["--json", "call", "db", "greet", "alice", "-3", "[1, 2]"]);
    run.assert_exit(exit_code::SUCCESS);
    let printed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(printed["fuel_used"], 7, "{run:?}");
    let (request_line, _, body) = stub.request();
    assert_eq!(request_line, "POST /v1/databases/db/call/greet HTTP/1.1");
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&body).unwrap(),
        serde_json::json!(["alice", -3, [1, 2]])
    );

    test.keel(&["call", "db", "explode"])
        .assert_exit(exit_code::REDUCER_FAILED)
        .assert_stderr_contains("error: call reducer `explode` on database `db`: POST ")
        .assert_stderr_contains("failed with 422 (reducer_panic): reducer panicked: boom");
    stub.request();
}
