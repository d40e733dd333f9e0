//! Running the real `keel` binary with a test's own config file, and `keel-standalone` on its own.

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

/// Runs `keel --config-path CONFIG ARGS...`, trusting `ca_cert` (a private https server's CA)
/// through `KEEL_CA_CERT`.
pub(crate) fn run(
    config: &Path,
    args: &[String],
    ca_cert: Option<&Path>,
) -> Result<CliOutput, SmoketestError> {
    let mut full = vec!["--config-path".to_owned(), config.display().to_string()];
    full.extend_from_slice(args);
    let env: Vec<(&str, &Path)> = ca_cert
        .map(|ca| (keel_client::CA_CERT_ENV, ca))
        .into_iter()
        .collect();
    run_binary(&binaries::cli()?, "keel", &full, args, &env)
}

/// Runs `keel-standalone ARGS... --exit-on-stdin-close` with stdin closed: a server that starts
/// prints its ready line and exits at once; one that cannot start says why.
pub(crate) fn run_server(args: &[String]) -> Result<CliOutput, SmoketestError> {
    let mut full = args.to_vec();
    full.push("--exit-on-stdin-close".to_owned());
    run_binary(
        &binaries::standalone()?,
        "keel-standalone",
        &full,
        args,
        &[],
    )
}

/// Runs `binary` with `args` and `env` and collects its output; `shown` are the arguments the
/// output's command line names (`name shown...`).
fn run_binary(
    binary: &Path,
    name: &str,
    args: &[String],
    shown: &[String],
    env: &[(&str, &Path)],
) -> Result<CliOutput, SmoketestError> {
    let mut command = Command::new(binary);
    command.envs(env.iter().copied());
    // `keel build` runs cargo on the test's module as a user's shell would: without the variables
    // cargo set for this test binary (they change fingerprints, so the modules' compiled
    // dependencies would be rebuilt) and without linting what is not the workspace's code.
    keel_process::strip_cargo_run_variables(&mut command, &crate::env::workspace_root()?);
    keel_process::strip_lint_wrapper(&mut command);
    keel_process::strip_profile_overrides(&mut command);
    command
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
        command: format!("{name} {}", shown.join(" ")),
        code: status.and_then(|status| status.code()),
        stdout,
        stderr,
    })
}
