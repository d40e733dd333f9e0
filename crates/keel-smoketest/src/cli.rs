//! Running the real `keel` binary with a test's own config file.

use std::fmt;
use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use keel_process::GroupChild;

use crate::binaries;
use crate::errors::SmoketestError;

/// The longest one CLI command may run (builds excepted).
const CLI_TIMEOUT: Duration = Duration::from_secs(120);

/// What a CLI command did. `Debug` prints everything, so a failed assertion explains itself.
#[derive(Clone, PartialEq, Eq)]
pub struct CliOutput {
    /// The command line, for messages.
    pub command: String,
    /// Exit code; `None` when killed by a signal or timed out.
    pub code: Option<i32>,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl CliOutput {
    /// Whether the command exited with 0.
    pub fn success(&self) -> bool {
        self.code == Some(0)
    }
}

impl fmt::Debug for CliOutput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "$ {}", self.command)?;
        writeln!(
            f,
            "exit code: {}",
            self.code.map_or_else(
                || "none (killed or timed out)".to_owned(),
                |code| code.to_string()
            )
        )?;
        writeln!(f, "--- stdout\n{}", self.stdout.trim_end())?;
        write!(f, "--- stderr\n{}", self.stderr.trim_end())
    }
}

/// Runs `keel --config-path CONFIG ARGS...`.
pub(crate) fn run(config: &Path, args: &[String]) -> Result<CliOutput, SmoketestError> {
    let binary = binaries::cli()?;
    let mut command = Command::new(&binary);
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
