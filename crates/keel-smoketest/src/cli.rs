//! Running the real `keel` binary with a test's own config file.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use keel_process::GroupChild;

use crate::binaries;
use crate::cli_output::CliOutput;
use crate::errors::SmoketestError;

/// The longest one CLI command may run (builds excepted).
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// Runs `keel --config-path CONFIG ARGS...`.
pub(crate) fn run(config: &Path, args: &[String]) -> Result<CliOutput, SmoketestError> {
    let binary = binaries::cli()?;
    let mut command = Command::new(&binary);
    // `keel build` runs cargo on the test's module as a user's shell would: without the variables
    // cargo set for this test binary (they change fingerprints, so the modules' compiled
    // dependencies would be rebuilt) and without linting what is not the workspace's code.
    keel_process::strip_cargo_run_variables(&mut command, &crate::env::workspace_root()?);
    keel_process::strip_lint_wrapper(&mut command);
    command
        .arg("--config-path")
        .arg(config)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = GroupChild::spawn(command, &binary.display().to_string())?;
    let readers = [
        child
            .take_stdout()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
        child
            .take_stderr()
            .map(|pipe| Box::new(pipe) as Box<dyn Read + Send>),
    ]
    .map(|pipe| {
        std::thread::spawn(move || {
            let mut text = String::new();
            if let Some(mut pipe) = pipe {
                let _ = pipe.read_to_string(&mut text);
            }
            text
        })
    });
    // A command that outlives the timeout is killed; it then has no exit code.
    let status = match child.wait_timeout(CLI_TIMEOUT)? {
        Some(status) => Some(status),
        None => child.kill().map(|_| None)?,
    };
    let [stdout, stderr] = readers.map(|reader| reader.join().unwrap_or_default());
    Ok(CliOutput {
        command: format!("keel {}", args.join(" ")),
        code: status.and_then(|status| status.code()),
        stdout,
        stderr,
    })
}
