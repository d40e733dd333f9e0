//! Helpers shared by the smoketest areas: asserting on server errors by kind, and on CLI exit codes.

use std::fmt::Debug;

use anyhow::{Context, bail, ensure};
use keel_client::{ClientError, ErrorKind};
use keel_smoketest::{CliOutput, SmoketestError};

/// Anything that can carry a [`ClientError`]: the harness's errors and the client's own.
pub(crate) trait HasClientError {
    /// The client error, if this is one.
    fn as_client_error(&self) -> Option<&ClientError>;
}

impl HasClientError for SmoketestError {
    fn as_client_error(&self) -> Option<&ClientError> {
        self.client_error()
    }
}

impl HasClientError for ClientError {
    fn as_client_error(&self) -> Option<&ClientError> {
        Some(self)
    }
}

/// Checks that `result` failed with an API error of `kind` (and its HTTP status), and returns
/// the server's message.
#[track_caller]
pub(crate) fn expect_error<
    T: Debug,
    E: HasClientError + std::error::Error + Send + Sync + 'static,
>(
    result: Result<T, E>,
    kind: ErrorKind,
) -> anyhow::Result<String> {
    let error = match result {
        Ok(value) => bail!(
            "expected a {kind:?} error ({}), got success: {value:?}",
            kind.status()
        ),
        Err(error) => error,
    };
    let client_error = error
        .as_client_error()
        .with_context(|| format!("expected a {kind:?} error, got: {error:#}"))?;
    ensure!(
        client_error.status() == Some(kind.status()),
        "expected HTTP {} ({kind:?}), got {:?}: {}",
        kind.status(),
        client_error.status(),
        chain(client_error)
    );
    ensure!(
        client_error.kind() == Some(kind),
        "expected kind {kind:?}, got {:?}: {client_error}",
        client_error.kind()
    );
    Ok(client_error
        .api_error()
        .map(|body| body.error.clone())
        .unwrap_or_default())
}

/// An error and its sources, one per line.
fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(&format!("\n  caused by: {cause}"));
        source = cause.source();
    }
    text
}

/// Checks that `message` contains `needle`.
#[track_caller]
pub(crate) fn expect_contains(message: &str, needle: &str) -> anyhow::Result<()> {
    ensure!(
        message.contains(needle),
        "expected {needle:?} in:\n{message}"
    );
    Ok(())
}

/// Checks that a CLI command exited with `code` (one of `keel_cli::exit_code`).
#[track_caller]
pub(crate) fn expect_exit(output: &CliOutput, code: u8) -> anyhow::Result<()> {
    ensure!(
        output.code == Some(i32::from(code)),
        "expected exit code {code}, got:\n{output:?}"
    );
    Ok(())
}

/// A valid database name that does not exist: the test's own name plus a suffix (still at most
/// 64 characters).
pub(crate) fn missing_database(t: &keel_smoketest::Smoketest) -> String {
    format!("{}-gone", t.db())
}
