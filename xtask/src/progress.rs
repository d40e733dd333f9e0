//! Progress reporting: an indicatif spinner on a terminal, plain lines in CI or when piped.

use std::{
    io::IsTerminal,
    time::{Duration, Instant},
};

use indicatif::{ProgressBar, ProgressStyle};

/// Reports one step; `finish` prints its outcome line.
pub(crate) struct Progress {
    spinner: Option<ProgressBar>,
    label: String,
    started: Instant,
}

/// Cargo status lines (`Compiling foo`) feed the spinner instead of filling the terminal.
const CARGO_STATUS_WORDS: &[&str] = &[
    "Compiling",
    "Checking",
    "Fresh",
    "Finished",
    "Blocking",
    "Updating",
    "Locking",
    "Downloading",
    "Downloaded",
    "Adding",
    "Building",
    "Running",
    "Executable",
    "Waiting",
];

impl Progress {
    /// Starts reporting the step `label`.
    pub(crate) fn start(label: &str) -> Progress {
        let spinner = fancy_output().then(|| {
            let spinner = ProgressBar::new_spinner();
            spinner.set_style(
                ProgressStyle::with_template("{spinner} {prefix:.bold} {elapsed} {wide_msg}")
                    .expect("valid progress template"),
            );
            spinner.set_prefix(label.to_owned());
            spinner.enable_steady_tick(Duration::from_millis(100));
            spinner
        });
        if spinner.is_none() {
            eprintln!("==> {label}");
        }
        Progress {
            spinner,
            label: label.to_owned(),
            started: Instant::now(),
        }
    }

    /// Whether cargo should be asked for colours (only when a spinner draws on a terminal).
    pub(crate) fn is_fancy(&self) -> bool {
        self.spinner.is_some()
    }

    /// Updates the spinner's message; nothing in plain mode.
    pub(crate) fn message(&self, message: &str) {
        if let Some(spinner) = &self.spinner {
            spinner.set_message(message.to_owned());
        }
    }

    /// Prints a line without tearing the spinner.
    pub(crate) fn println(&self, line: &str) {
        match &self.spinner {
            Some(spinner) => spinner.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Handles one line of cargo's stderr: status lines feed the spinner, everything else is printed.
    pub(crate) fn cargo_stderr(&self, line: &str) {
        let plain = strip_ansi(line);
        let first_word = plain.split_whitespace().next().unwrap_or("");
        if self.spinner.is_some() && CARGO_STATUS_WORDS.contains(&first_word) {
            self.message(plain.trim());
        } else {
            self.println(line);
        }
    }

    /// Ends the step with a one-line outcome such as `3 crates compiled`.
    pub(crate) fn finish(self, outcome: &str) -> Duration {
        let elapsed = self.started.elapsed();
        let line = format!(
            "    {} ({:.1}s): {outcome}",
            self.label,
            elapsed.as_secs_f64()
        );
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
        eprintln!("{line}");
        elapsed
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        if let Some(spinner) = &self.spinner {
            spinner.finish_and_clear();
        }
    }
}

/// Removes colour escape sequences (`ESC [ ... letter`) so status words can be recognised.
fn strip_ansi(line: &str) -> String {
    let mut plain = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(it) = chars.next() {
        if it == '\x1b' {
            for code in chars.by_ref() {
                if code.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            plain.push(it);
        }
    }
    plain
}

/// A spinner only on a terminal and outside CI.
fn fancy_output() -> bool {
    let in_ci = std::env::var("CI").is_ok_and(|it| !it.is_empty() && it != "false" && it != "0");
    !in_ci && std::io::stderr().is_terminal()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn colour_codes_are_stripped() {
        assert_eq!(
            strip_ansi("\x1b[1m\x1b[92m    Finished\x1b[0m `test`"),
            "    Finished `test`"
        );
    }
}
