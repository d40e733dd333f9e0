//! Errors a module sees: [`Error`], what a reducer returns, and [`SqlError`], what the host
//! answers to a refused or failed SQL statement.

use std::fmt;

/// `Result` with [`Error`] as the default error type; reducers return `Result<()>`.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Why a reducer failed. The message reaches the caller and the transaction rolls back.
///
/// Build one from a `&str` or `String` (`Err("no such account".into())`), with [`bail!`], or
/// let `?` convert a [`SqlError`] or a `serde_json::Error`.
///
/// [`bail!`]: crate::bail
#[derive(Clone, PartialEq, Eq)]
pub struct Error {
    message: String,
}

/// A SQL statement failed or was refused by the host, or its rows did not decode. The message
/// is the host's text (or the decoding error) verbatim.
#[derive(Clone, PartialEq, Eq)]
pub struct SqlError {
    message: String,
}

impl Error {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> Error {
        Error {
            message: message.into(),
        }
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl SqlError {
    /// An error with this message.
    pub fn new(message: impl Into<String>) -> SqlError {
        SqlError {
            message: message.into(),
        }
    }

    /// The message: the host's text for refused or failed statements.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

impl std::error::Error for Error {}

impl fmt::Display for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl fmt::Debug for SqlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(&self.message, f)
    }
}

impl std::error::Error for SqlError {}

impl From<&str> for Error {
    fn from(message: &str) -> Error {
        Error::new(message)
    }
}

impl From<String> for Error {
    fn from(message: String) -> Error {
        Error::new(message)
    }
}

impl From<SqlError> for Error {
    fn from(error: SqlError) -> Error {
        Error {
            message: error.message,
        }
    }
}

impl From<serde_json::Error> for Error {
    fn from(error: serde_json::Error) -> Error {
        Error::new(error.to_string())
    }
}
