//! The xtask as cargo's `RUSTC_WORKSPACE_WRAPPER` in the instrumented build: it runs rustc with
//! `-C instrument-coverage` added for the workspace's own crates, and leaves dependencies alone.
//!
//! Instrumenting everything (RUSTFLAGS) breaks the server: wasmi runs wasm by handlers that
//! tail-call one another, the coverage counters keep those calls from becoming jumps, and a
//! reducer of a few thousand instructions overflows any thread stack (seen: the runaway and
//! full-disk smoketests crash such a server). Only workspace files go into the map anyway, and
//! uninstrumented dependencies make the build, the runs and the exports faster.
//!
//! Cargo runs a workspace wrapper for workspace members only, as `WRAPPER RUSTC ARGS...`; the
//! flag is added when ARGS name a `--target` (the build passes the host triple), so build scripts
//! and proc macros, which cargo builds without one, stay uninstrumented and write no profiles.
//! The wrapper replaces itself with rustc (exec), so no process is left to manage.

use std::{ffi::OsString, os::unix::process::CommandExt, process::Command, process::ExitCode};

use anyhow::Context;
use keel_artifacts::env;

/// The value of [`env::COVERAGE_RUSTC_WRAPPER`] that makes the xtask act as the wrapper.
const ON: &str = "1";

/// The environment that makes a cargo build call this binary as its workspace wrapper.
pub(crate) fn cargo_env() -> anyhow::Result<[(&'static str, OsString); 2]> {
    let exe = std::env::current_exe().context("find the running xtask's binary")?;
    Ok([
        ("RUSTC_WORKSPACE_WRAPPER", exe.into_os_string()),
        (env::COVERAGE_RUSTC_WRAPPER, OsString::from(ON)),
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

/// `args` with `-C instrument-coverage` added when they compile for a `--target`.
fn with_coverage(args: &[OsString]) -> Vec<OsString> {
    let mut args = args.to_vec();
    let for_target = args.iter().any(|arg| {
        arg.to_str()
            .is_some_and(|arg| arg == "--target" || arg.starts_with("--target="))
    });
    if for_target {
        args.extend(["-C".into(), "instrument-coverage".into()]);
    }
    args
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
        instrumented.extend(os(&["-C", "instrument-coverage"]));
        assert_eq!(with_coverage(&library), instrumented);
        let joined = os(&["a.rs", "--target=x86_64-unknown-linux-gnu"]);
        assert_eq!(with_coverage(&joined).len(), 4);
        // A build script or a proc macro (no --target), and cargo's `rustc -vV` probe.
        let build_script = os(&["--crate-name", "build_script_build", "build.rs"]);
        assert_eq!(with_coverage(&build_script), build_script);
        assert_eq!(with_coverage(&os(&["-vV"])), os(&["-vV"]));
    }
}
