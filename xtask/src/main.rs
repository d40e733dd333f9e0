//! `cargo xtask`: Keel's orchestrator, reached through the alias in `.cargo/config.toml`.
//!
//! `warmup` builds the server, the CLI, the precompiled modules and the smoketests binary and records them
//! in `target/smoketest/manifest.json`; `smoketest` starts shared servers and runs the suite; `qa` is what
//! CI runs; `bench` measures the machinery; `stress` runs the reliability scenarios; `openapi-check` fuzzes a server against its OpenAPI description; `coverage-map` records the lines each smoketest executes in the server and the CLI; `strength` measures how much of them the suite executes (and, with `--mutants`, its mutation score); `affected-recall` measures `--affected` by mutation; `tidy` checks the tree. Each task lives in its own module,
//! next to nothing but its flags (`flags.rs`); `main` only dispatches.

mod affected;
mod archive;
mod bench;
mod builds;
mod coverage;
mod dep_info;
mod flags;
mod mutants;
mod openapi_check;
mod process;
mod progress;
mod qa;
mod report;
mod smoketest;
mod strength;
mod stress;
mod tidy;
mod warmup;
mod workspace_graph;

use std::{path::PathBuf, process::ExitCode};

use clap::{CommandFactory, Parser};
use xshell::Shell;

use crate::flags::Command;

/// The exit code of a run stopped by Ctrl-C or SIGTERM (128 + SIGINT), as shells expect.
const EXIT_INTERRUPTED: u8 = 130;

fn main() -> ExitCode {
    // Called by cargo as the rustc wrapper of `coverage-map`'s instrumented build.
    if let Some(exit) = coverage::rustc_wrapper::run_if_called() {
        return exit;
    }
    let flags = flags::Xtask::parse();
    let result = run(flags);
    if let Err(err) = &result {
        eprintln!("error: {err:#}");
    }
    exit_code(result.is_ok(), process::was_interrupted())
}

/// 130 after an interrupt whatever else happened, else 0 or 1.
fn exit_code(ok: bool, interrupted: bool) -> ExitCode {
    match (ok, interrupted) {
        (_, true) => ExitCode::from(EXIT_INTERRUPTED),
        (true, false) => ExitCode::SUCCESS,
        (false, false) => ExitCode::FAILURE,
    }
}

fn run(flags: flags::Xtask) -> anyhow::Result<()> {
    let Some(command) = flags.command else {
        flags::Xtask::command().print_help()?;
        return Ok(());
    };
    if keel_artifacts::workspace_root().is_none() {
        anyhow::bail!(
            "run the xtask inside a Keel checkout (no ancestor of the current directory or of the xtask binary is the workspace root)"
        );
    }
    process::install_signal_handler()?;
    let sh = Shell::new()?;
    sh.change_dir(project_root());
    match command {
        Command::Warmup(it) => it.run(&sh),
        Command::Smoketest(it) => it.run(&sh),
        Command::Qa(it) => it.run(&sh),
        Command::Bench(it) => it.run(&sh),
        Command::Tidy(it) => it.run(&sh),
        Command::Stress(it) => it.run(&sh),
        Command::Report(it) => it.run(&sh),
        Command::Archive(it) => it.run(&sh),
        Command::Extract(it) => it.run(&sh),
        Command::OpenapiCheck(it) => it.run(&sh),
        Command::AffectedRecall(_) => affected::recall::run(&sh, affected::recall::MUTATIONS),
        Command::CoverageMap(it) => it.run(&sh),
        Command::Strength(it) => it.run(&sh),
    }
}

/// The workspace root, found at run time from the current directory (then the xtask binary), never
/// from where the xtask was compiled: an archived runner works in any checkout. `main` checks that
/// there is one before any task runs.
pub(crate) fn project_root() -> PathBuf {
    keel_artifacts::workspace_root().expect("main checked that the workspace root exists")
}

/// The Cargo that runs us (`$CARGO`), so nested builds use the same toolchain.
pub(crate) fn cargo() -> PathBuf {
    std::env::var_os("CARGO").map_or_else(|| PathBuf::from("cargo"), PathBuf::from)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interrupted_runs_exit_with_130() {
        assert_eq!(exit_code(false, true), ExitCode::from(130));
        assert_eq!(exit_code(true, true), ExitCode::from(130));
        assert_eq!(exit_code(false, false), ExitCode::FAILURE);
        assert_eq!(exit_code(true, false), ExitCode::SUCCESS);
    }
}
