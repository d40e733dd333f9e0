//! [`CliOutput`]: what one run of the `keel` binary did. A leaf module, so the error type can
//! carry it without depending on the code that runs the CLI.

use std::fmt;

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
