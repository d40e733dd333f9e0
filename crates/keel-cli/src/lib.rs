//! Library half of the `keel` CLI: documented exit codes, the config file, and the
//! user-facing error type that maps to those codes. The binary (`src/main.rs`) parses
//! arguments and runs commands on top of it.
//!
//! Usage:
//!
//! ```text
//! keel [--server URL] [--config-path FILE] [--json] <command>
//!
//! keel identity new --server http://127.0.0.1:3000   # create an identity, save server + token
//! keel identity show                                 # who am I on the configured server
//! keel server ping
//! keel build modules/counter                         # prints the path of the .wasm
//! keel publish counter --wasm PATH.wasm [--clear]
//! keel call counter increment 5                      # arguments are JSON, bare words are strings
//! keel sql counter "SELECT * FROM counter"           # aligned table; --json for SqlResult JSON
//! keel logs counter -n 20
//! keel describe counter
//! keel list
//! keel delete counter
//! ```
//!
//! The config file (TOML: `server`, `identity`, `token`) is `--config-path`, else `$KEEL_CONFIG`,
//! else `$HOME/.config/keel/config.toml`. Errors go to stderr as `error: ...` with a hint, and the
//! process exits with one of the [`exit_code`] constants.

#![warn(missing_docs)]

pub mod config;
pub mod errors;
pub mod exit_code;

pub use config::Config;
pub use errors::{BuildError, CliError, ConfigError};
