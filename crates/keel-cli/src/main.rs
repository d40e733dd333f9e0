//! `keel`, the Keel command-line interface: manage identities, publish modules, call reducers,
//! run SQL and read logs on a Keel server. See the `keel_cli` crate docs for usage.
//!
//! `main` parses flags (`flags.rs`), runs one command (`commands/`), and turns a failure into
//! `error: ...` on stderr plus the exit code that [`keel_cli::CliError::exit_code`] assigns.

mod call_args;
mod commands;
mod flags;
mod output;
mod session;

use std::process::ExitCode;

use clap::Parser;
use keel_cli::{CliError, exit_code};

fn main() -> ExitCode {
    let cli = match flags::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            // Help and version go to stdout with success; real usage errors exit with USAGE.
            let _ = err.print();
            return ExitCode::from(if err.use_stderr() {
                exit_code::USAGE
            } else {
                exit_code::SUCCESS
            });
        }
    };
    match commands::run(cli) {
        Ok(()) => ExitCode::from(exit_code::SUCCESS),
        Err(err) => report(&err),
    }
}

/// Prints the error chain and its hint, and picks the exit code.
fn report(err: &anyhow::Error) -> ExitCode {
    let cli_error = err
        .chain()
        .find_map(|cause| cause.downcast_ref::<CliError>());
    let code = cli_error.map_or(exit_code::FAILURE, CliError::exit_code);
    if code != exit_code::SUCCESS {
        eprintln!("error: {err:#}");
        if let Some(hint) = cli_error.and_then(CliError::hint) {
            eprintln!("  (hint: {hint})");
        }
    }
    ExitCode::from(code)
}
