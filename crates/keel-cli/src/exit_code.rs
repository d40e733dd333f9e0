//! Exit codes of `keel`. Scripts and smoketests compare against these names, never against
//! numbers; [`crate::CliError::exit_code`] is the one place that assigns them.

/// The command did what was asked.
pub const SUCCESS: u8 = 0;

/// Something failed that has no more specific code (I/O, a server bug, an undecodable answer).
pub const FAILURE: u8 = 1;

/// The command line could not be parsed; clap prints the usage and exits with this code.
pub const USAGE: u8 = 2;

/// The server could not be reached: connection refused, unknown host, or timeout.
pub const UNREACHABLE: u8 = 3;

/// The database, reducer or table does not exist (HTTP 404).
pub const NOT_FOUND: u8 = 4;

/// The identity is missing, invalid (HTTP 401) or not allowed to do this (HTTP 403).
pub const PERMISSION_DENIED: u8 = 5;

/// Malformed input: bad arguments, an unreadable wasm file, a bad server URL or config file,
/// or a request the server refused as malformed or too large (HTTP 400, 413).
pub const INVALID_INPUT: u8 = 6;

/// The request conflicts with the database's state: a migration the server refused (publish
/// again with `--clear`), or a name that is taken (HTTP 409).
pub const CONFLICT: u8 = 7;

/// The reducer failed, panicked or ran out of fuel; its transaction rolled back (HTTP 422).
pub const REDUCER_FAILED: u8 = 8;

/// `keel build` failed: cargo could not start, reported errors, or produced no `.wasm`.
pub const BUILD_FAILED: u8 = 9;
