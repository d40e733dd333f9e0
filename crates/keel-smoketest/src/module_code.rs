//! `module_code()`: modules compiled from Rust source at run time, for the few tests that need
//! it (build failures, bad imports, wasm-bindgen). Every other test uses precompiled modules.
//!
//! With `USE_SHARED_TARGET_DIR=true` (the default) builds share `target/smoketest-modules` and
//! the global `CARGO_HOME`, so dependencies compile once per machine; with `false` each build
//! gets its own target dir and `CARGO_HOME`, the isolated (and slow) way. Each build is
//! recorded (duration, crates compiled) for the xtask's timing report.

use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cargo_metadata::Message;
use keel_artifacts::ModuleBuildRecord;
use keel_process::GroupChild;

use crate::env;
use crate::errors::SmoketestError;
use crate::journal::Scope;

/// The longest a runtime module build may take.
const BUILD_TIMEOUT: Duration = Duration::from_secs(600);

/// A module source to build.
#[derive(Debug, Clone)]
pub(crate) struct ModuleCode {
    /// The body of `src/lib.rs`.
    pub(crate) source: String,
    /// Extra `[dependencies]` lines beside `keel-module`.
    pub(crate) dependencies: String,
}

/// The release profile of every build under `modules/` (`modules/.cargo/config.toml`), written into
/// each runtime-built crate's manifest so that it reuses the dependencies warmup compiled there.
const MODULE_PROFILE: &str = r#"[profile.release]
opt-level = "s"
debug = false
strip = true
codegen-units = 16
incremental = false
"#;

/// Builds `code` and returns the wasm bytes.
pub(crate) fn build(scope: &Scope, code: &ModuleCode) -> Result<Vec<u8>, SmoketestError> {
    scope.note_module_code();
    let root = env::workspace_root()?;
    let shared = env::use_shared_target_dir();
    let hash = blake3::hash(format!("{}\n{}", code.dependencies, code.source).as_bytes()).to_hex()
        [..12]
        .to_string();
    let package = format!("module-code-{hash}");
    let crate_dir = scope.temp_dir()?.join(&package);
    write_crate(&root, &crate_dir, &package, code)?;
    let target_dir = if shared {
        root.join("target").join("smoketest-modules")
    } else {
        crate_dir.join("target")
    };
    let mut command = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    // Variables cargo set for this test binary would change fingerprints of the child build.
    keel_process::strip_cargo_run_variables(&mut command, &root);
    keel_process::strip_lint_wrapper(&mut command);
    keel_process::strip_profile_overrides(&mut command);
    command
        .current_dir(&crate_dir)
        .args([
            "build",
            "--release",
            "--target",
            "wasm32-unknown-unknown",
            "--message-format=json-render-diagnostics",
        ])
        .env("CARGO_TARGET_DIR", &target_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !shared {
        command.env("CARGO_HOME", crate_dir.join("cargo-home"));
    }
    scope.record(format!(
        "module_code build {package} (shared target dir: {shared})"
    ));
    let started = Instant::now();
    let mut child = GroupChild::spawn(command, &format!("cargo build of {package}"))?;
    let mut stderr = child.take_stderr().expect("stderr is piped");
    let stderr_reader = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    // The messages are read on a thread, so the timeout below holds even if cargo hangs.
    let stdout = child.take_stdout().expect("stdout is piped");
    let package_target = package.replace('-', "_");
    let stdout_reader = std::thread::spawn(move || artifacts(stdout, &package_target));
    let status = match child.wait_timeout(BUILD_TIMEOUT)? {
        Some(status) => Some(status),
        None => child.kill().map(|_| None)?,
    };
    let (crates_compiled, wasm) = stdout_reader.join().unwrap_or_default();
    let diagnostics = stderr_reader.join().unwrap_or_default();
    let duration = started.elapsed();
    let success = status.is_some_and(|status| status.success());
    record(scope, &package, shared, duration, crates_compiled, success);
    scope.record(format!(
        "  -> {} in {:.1} s, {crates_compiled} crates compiled",
        if success { "built" } else { "FAILED" },
        duration.as_secs_f64()
    ));
    match (success, wasm) {
        (true, Some(path)) => {
            std::fs::read(&path).map_err(SmoketestError::io(format!("read {}", path.display())))
        }
        (true, None) => Err(SmoketestError::ModuleBuild {
            diagnostics: "cargo reported no .wasm artifact".to_owned(),
        }),
        (false, _) => Err(SmoketestError::ModuleBuild { diagnostics }),
    }
}

/// Reads cargo's JSON messages: the number of crates compiled (not fresh) and the `.wasm` of
/// the target named `package_target`.
fn artifacts(stdout: impl std::io::Read, package_target: &str) -> (u32, Option<PathBuf>) {
    let mut crates_compiled = 0;
    let mut wasm = None;
    for message in Message::parse_stream(BufReader::new(stdout)).map_while(Result::ok) {
        let Message::CompilerArtifact(artifact) = message else {
            continue;
        };
        if !artifact.fresh {
            crates_compiled += 1;
        }
        if artifact.target.name == package_target {
            wasm = artifact
                .filenames
                .into_iter()
                .find(|file| file.extension() == Some("wasm"))
                .map(|file| file.into_std_path_buf());
        }
    }
    (crates_compiled, wasm)
}

fn write_crate(
    root: &Path,
    crate_dir: &Path,
    package: &str,
    code: &ModuleCode,
) -> Result<(), SmoketestError> {
    let sdk = root.join("crates").join("keel-module");
    let manifest = format!(
        r#"[package]
name = "{package}"
version = "0.1.0"
edition = "2024"
publish = false

[lib]
crate-type = ["cdylib"]

[dependencies]
keel-module = {{ path = {sdk:?} }}
{dependencies}

{MODULE_PROFILE}
[workspace]
"#,
        sdk = sdk.display().to_string(),
        dependencies = code.dependencies,
    );
    let src = crate_dir.join("src");
    std::fs::create_dir_all(&src)
        .map_err(SmoketestError::io(format!("create {}", src.display())))?;
    std::fs::write(crate_dir.join("Cargo.toml"), manifest)
        .map_err(SmoketestError::io("write Cargo.toml"))?;
    std::fs::write(src.join("lib.rs"), &code.source)
        .map_err(SmoketestError::io("write src/lib.rs"))?;
    // Start from the fixtures' lock file: the same dependency versions, nothing to resolve.
    let lock = root.join("modules").join("Cargo.lock");
    if lock.is_file() {
        std::fs::copy(&lock, crate_dir.join("Cargo.lock"))
            .map_err(SmoketestError::io("copy modules/Cargo.lock"))?;
    }
    Ok(())
}

fn record(
    scope: &Scope,
    package: &str,
    shared: bool,
    duration: Duration,
    crates_compiled: u32,
    success: bool,
) {
    let Some(results) = env::results_dir() else {
        return;
    };
    let record = ModuleBuildRecord {
        test: scope.name().to_owned(),
        module: package.to_owned(),
        shared_target_dir: shared,
        duration_ms: duration.as_secs_f64() * 1000.0,
        crates_compiled,
        success,
    };
    let _ = record.write(&results);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runtime_builds_use_the_modules_profile() {
        let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../modules/.cargo/config.toml");
        let config: toml::Table = std::fs::read_to_string(&config).unwrap().parse().unwrap();
        let ours: toml::Table = MODULE_PROFILE.parse().unwrap();
        assert_eq!(
            ours["profile"]["release"], config["profile"]["release"],
            "MODULE_PROFILE must equal the release profile of modules/.cargo/config.toml, or every \
             runtime build recompiles the modules' dependencies"
        );
    }
}
