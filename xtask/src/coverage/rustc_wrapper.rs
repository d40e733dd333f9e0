//! The xtask as cargo's `RUSTC_WORKSPACE_WRAPPER` in the instrumented build: it runs rustc with
//! [`INSTRUMENT_FLAGS`] added for the workspace's own crates, and leaves dependencies alone.
//!
//! Instrumenting everything (RUSTFLAGS) breaks the server: wasmi runs wasm by handlers that
//! tail-call one another, the coverage counters keep those calls from becoming jumps, and a
//! reducer of a few thousand instructions overflows any thread stack (seen: the runaway and
//! full-disk smoketests crash such a server). Only workspace files go into the map anyway, and
//! uninstrumented dependencies make the build, the runs and the exports faster.
//!
//! Cargo runs a workspace wrapper for workspace members only, as `WRAPPER RUSTC ARGS...`; the
//! flags are added when ARGS name a `--target` (the build passes the host triple), so build
//! scripts and proc macros, which cargo builds without one, stay uninstrumented and write no
//! profiles. The wrapper replaces itself with rustc (exec), so no process is left to manage.
//!
//! Cargo does not see what a wrapper adds, so the build's rustflags carry a `--cfg` naming
//! [`INSTRUMENT_FLAGS`]: when they change, cargo's fingerprints change and it rebuilds.

use std::{ffi::OsString, os::unix::process::CommandExt, process::Command, process::ExitCode};

use anyhow::Context;
use keel_artifacts::env;

/// What the workspace's crates are compiled with on top of the build's flags.
///
/// Runtime counter relocation lets a profile be written continuously (`%c` in
/// `LLVM_PROFILE_FILE`, which Linux supports only with it): a process killed with SIGKILL, as a
/// test's `crash_server()` does, keeps what it executed until then.
pub(crate) const INSTRUMENT_FLAGS: &[&str] = &[
    "-C",
    "instrument-coverage",
    "-C",
    "llvm-args=-runtime-counter-relocation",
];

/// The value of [`env::COVERAGE_RUSTC_WRAPPER`] that makes the xtask act as the wrapper.
const ON: &str = "1";

/// The environment that makes a cargo build call this binary as its workspace wrapper, with the
/// user's rustflags (`CARGO_ENCODED_RUSTFLAGS`, else `RUSTFLAGS`) kept.
pub(crate) fn cargo_env() -> anyhow::Result<Vec<(&'static str, OsString)>> {
    let exe = std::env::current_exe().context("find the running xtask's binary")?;
    let rustflags = rustflags_with_marker(
        std::env::var("CARGO_ENCODED_RUSTFLAGS").ok().as_deref(),
        std::env::var("RUSTFLAGS").ok().as_deref(),
    );
    Ok(vec![
        ("RUSTC_WORKSPACE_WRAPPER", exe.into_os_string()),
        (env::COVERAGE_RUSTC_WRAPPER, OsString::from(ON)),
        ("CARGO_ENCODED_RUSTFLAGS", OsString::from(rustflags)),
    ])
}

/// When cargo called this binary as the wrapper, runs rustc in its place (returning only if
/// that fails); otherwise `None`, and the xtask goes on as usual.
pub(crate) fn run_if_called() -> Option<ExitCode> {
    if std::env::var_os(env::COVERAGE_RUSTC_WRAPPER).is_none_or(|it| it != ON) {
        return None;
    }
    let args: Vec<OsString> = std::env::args_os().skip(1).collect();
    let Some((rustc, rustc_args)) = args.split_first() else {
        eprintln!(
            "error: {} is set, so the xtask expected to be called as `xtask RUSTC ARGS...` by cargo",
            env::COVERAGE_RUSTC_WRAPPER
        );
        return Some(ExitCode::FAILURE);
    };
    let error = Command::new(rustc).args(with_coverage(rustc_args)).exec();
    eprintln!("error: run {}: {error}", rustc.display());
    Some(ExitCode::FAILURE)
}

/// `args` with [`INSTRUMENT_FLAGS`] added when they compile for a `--target`.
fn with_coverage(args: &[OsString]) -> Vec<OsString> {
    let mut args = args.to_vec();
    let for_target = args.iter().any(|arg| {
        arg.to_str()
            .is_some_and(|arg| arg == "--target" || arg.starts_with("--target="))
    });
    if for_target {
        args.extend(INSTRUMENT_FLAGS.iter().map(OsString::from));
    }
    args
}

/// The user's rustflags (the encoded form first, as cargo reads them) and then
/// `--cfg keel_instrument="<INSTRUMENT_FLAGS>"`, encoded for `CARGO_ENCODED_RUSTFLAGS`.
fn rustflags_with_marker(encoded: Option<&str>, plain: Option<&str>) -> String {
    let mut flags: Vec<String> = match (encoded, plain) {
        (Some(encoded), _) => encoded.split('\x1f').map(str::to_owned).collect(),
        (None, Some(plain)) => plain.split_whitespace().map(str::to_owned).collect(),
        (None, None) => Vec::new(),
    };
    flags.retain(|it| !it.is_empty());
    flags.push("--cfg".to_owned());
    flags.push(format!(
        "keel_instrument=\"{}\"",
        INSTRUMENT_FLAGS.join(" ")
    ));
    flags.join("\x1f")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(args: &[&str]) -> Vec<OsString> {
        args.iter().map(OsString::from).collect()
    }

    #[test]
    fn only_compilations_for_the_target_are_instrumented() {
        let library = os(&[
            "--crate-name",
            "keel_host",
            "--edition=2024",
            "crates/keel-host/src/lib.rs",
            "--target",
            "x86_64-unknown-linux-gnu",
        ]);
        let mut instrumented = library.clone();
        instrumented.extend(os(INSTRUMENT_FLAGS));
        assert_eq!(with_coverage(&library), instrumented);
        let joined = os(&["a.rs", "--target=x86_64-unknown-linux-gnu"]);
        assert_eq!(with_coverage(&joined).len(), 2 + INSTRUMENT_FLAGS.len());
        // A build script or a proc macro (no --target), and cargo's `rustc -vV` probe.
        let build_script = os(&["--crate-name", "build_script_build", "build.rs"]);
        assert_eq!(with_coverage(&build_script), build_script);
        assert_eq!(with_coverage(&os(&["-vV"])), os(&["-vV"]));
    }

    #[test]
    fn the_users_rustflags_come_first_then_the_fingerprint_marker() {
        let marker = format!(
            "--cfg\x1fkeel_instrument=\"{}\"",
            INSTRUMENT_FLAGS.join(" ")
        );
        assert!(marker.contains("instrument-coverage"), "{marker}");
        assert_eq!(rustflags_with_marker(None, None), marker);
        assert_eq!(
            rustflags_with_marker(None, Some(" -C target-cpu=native  --cfg x ")),
            format!("-C\x1ftarget-cpu=native\x1f--cfg\x1fx\x1f{marker}")
        );
        // cargo reads the encoded form first, so the plain one is ignored when both are set.
        assert_eq!(
            rustflags_with_marker(Some("--cfg\x1fa b"), Some("--cfg other")),
            format!("--cfg\x1fa b\x1f{marker}")
        );
        assert_eq!(rustflags_with_marker(Some(""), Some("--cfg other")), marker);
    }
}
