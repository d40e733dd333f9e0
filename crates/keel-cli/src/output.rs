//! Everything `keel` prints on stdout goes through [`Output`], which knows whether `--json` is on.

use std::io::Write;

use keel_cli::CliError;
use serde::Serialize;

/// Where command results go: text for people, or JSON with `--json`.
pub(crate) struct Output {
    json: bool,
}

impl Output {
    pub(crate) fn new(json: bool) -> Output {
        Output { json }
    }

    /// Whether to print JSON.
    pub(crate) fn is_json(&self) -> bool {
        self.json
    }

    /// Prints `value` as pretty JSON followed by a newline.
    pub(crate) fn json<T: Serialize + ?Sized>(&self, value: &T) -> Result<(), CliError> {
        let text = serde_json::to_string_pretty(value).expect("output values serialize to JSON");
        self.line(&text)
    }

    /// Prints `text` followed by a newline.
    pub(crate) fn line(&self, text: &str) -> Result<(), CliError> {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{text}")
            .and_then(|()| stdout.flush())
            .map_err(CliError::Output)
    }

    /// Prints `value` as JSON with `--json`, else the text `render` makes.
    pub(crate) fn either<T: Serialize + ?Sized>(
        &self,
        value: &T,
        render: impl FnOnce(&T) -> String,
    ) -> Result<(), CliError> {
        if self.json {
            self.json(value)
        } else {
            self.line(&render(value))
        }
    }
}
