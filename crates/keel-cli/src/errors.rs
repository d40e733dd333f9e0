//! The errors `keel` reports to its user, and their exit codes.

use std::path::PathBuf;
use std::process::ExitStatus;

use keel_client::ClientError;

use crate::exit_code;

/// Every failure `keel` reports; [`CliError::exit_code`] maps each to an [`exit_code`].
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A request to the server failed.
    #[error(transparent)]
    Client(#[from] ClientError),
    /// Neither `--server` nor the config file names a server.
    #[error("no server configured")]
    NoServer,
    /// The command needs a token and the config file has none.
    #[error("no identity configured: run `keel identity new`")]
    NoIdentity,
    /// The config file's identity belongs to another server than the one addressed.
    #[error(
        "no identity configured for {server} (the config file's identity belongs to {configured_server})"
    )]
    IdentityForOtherServer {
        /// The server the command addresses.
        server: String,
        /// The server the configured identity was created on.
        configured_server: String,
    },
    /// Reading or writing the config file failed.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A reducer argument looks like JSON but is not.
    #[error("invalid JSON argument `{arg}`")]
    InvalidJsonArg {
        /// The argument as given.
        arg: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The module file could not be read.
    #[error("cannot read wasm file {}", path.display())]
    ReadWasm {
        /// The path as given.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// A database name the server would refuse.
    #[error(transparent)]
    InvalidName(#[from] keel_api::NameError),
    /// `keel build` was given something that is not a directory.
    #[error("module directory {} does not exist", path.display())]
    MissingModuleDir {
        /// The path as given.
        path: PathBuf,
    },
    /// `keel build` failed.
    #[error(transparent)]
    Build(#[from] BuildError),
    /// Writing to stdout failed.
    #[error("cannot write output")]
    Output(#[source] std::io::Error),
}

/// Reading or writing the config file failed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// No `--config-path`, no `$KEEL_CONFIG` and no `$HOME`.
    #[error("cannot locate the config file: pass --config-path FILE or set $KEEL_CONFIG")]
    NoPath,
    /// The file exists but could not be read.
    #[error("cannot read config file {}", path.display())]
    Read {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML of the expected shape.
    #[error("invalid config file {}", path.display())]
    Parse {
        /// The config file.
        path: PathBuf,
        /// The TOML error.
        #[source]
        source: toml::de::Error,
    },
    /// The file or its directory could not be written.
    #[error("cannot write config file {}", path.display())]
    Write {
        /// The config file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
}

/// `keel build` failed.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// Cargo could not be started.
    #[error("cannot run `{program}`")]
    Spawn {
        /// The cargo program (`$CARGO` or `cargo`).
        program: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// Reading cargo's JSON messages failed.
    #[error("cannot read cargo's output")]
    ReadOutput(#[source] std::io::Error),
    /// Cargo exited unsuccessfully; its diagnostics are on stderr.
    #[error("cargo build failed ({status})")]
    Failed {
        /// Cargo's exit status.
        status: ExitStatus,
    },
    /// The build succeeded without producing a cdylib `.wasm`.
    #[error("cargo built no cdylib .wasm artifact")]
    NoArtifact,
    /// The build produced several cdylib `.wasm` files and none belongs to the directory's package.
    #[error("cargo built several .wasm artifacts: {}", paths.iter().map(|path| path.display().to_string()).collect::<Vec<_>>().join(", "))]
    Ambiguous {
        /// The artifacts.
        paths: Vec<PathBuf>,
    },
}

impl CliError {
    /// The process exit code for this error: the single place that assigns [`exit_code`]s.
    pub fn exit_code(&self) -> u8 {
        use ClientError::{
            Api, CaCert, Certificate, Decode, InvalidUrl, Transport, UnexpectedStatus, Unreachable,
        };
        match self {
            CliError::Client(Unreachable { .. }) => exit_code::UNREACHABLE,
            CliError::Client(Api { status: 404, .. } | UnexpectedStatus { status: 404, .. }) => {
                exit_code::NOT_FOUND
            }
            CliError::Client(
                Api {
                    status: 401 | 403, ..
                }
                | UnexpectedStatus {
                    status: 401 | 403, ..
                },
            ) => exit_code::PERMISSION_DENIED,
            CliError::Client(
                Api {
                    status: 400 | 413, ..
                }
                | UnexpectedStatus {
                    status: 400 | 413, ..
                },
            ) => exit_code::INVALID_INPUT,
            CliError::Client(Api { status: 409, .. } | UnexpectedStatus { status: 409, .. }) => {
                exit_code::CONFLICT
            }
            CliError::Client(Api { status: 422, .. } | UnexpectedStatus { status: 422, .. }) => {
                exit_code::REDUCER_FAILED
            }
            CliError::Client(InvalidUrl { .. } | CaCert { .. }) => exit_code::INVALID_INPUT,
            CliError::Client(
                Api { .. }
                | UnexpectedStatus { .. }
                | Transport { .. }
                | Decode { .. }
                | Certificate { .. },
            ) => exit_code::FAILURE,
            CliError::NoServer => exit_code::INVALID_INPUT,
            CliError::NoIdentity | CliError::IdentityForOtherServer { .. } => {
                exit_code::PERMISSION_DENIED
            }
            CliError::Config(ConfigError::NoPath | ConfigError::Parse { .. }) => {
                exit_code::INVALID_INPUT
            }
            CliError::Config(ConfigError::Read { .. } | ConfigError::Write { .. }) => {
                exit_code::FAILURE
            }
            CliError::InvalidJsonArg { .. }
            | CliError::ReadWasm { .. }
            | CliError::InvalidName(_)
            | CliError::MissingModuleDir { .. } => exit_code::INVALID_INPUT,
            CliError::Build(_) => exit_code::BUILD_FAILED,
            // A closed pipe (`keel list | head -1`) is the reader's choice, not a failure.
            CliError::Output(err) if err.kind() == std::io::ErrorKind::BrokenPipe => {
                exit_code::SUCCESS
            }
            CliError::Output(_) => exit_code::FAILURE,
        }
    }

    /// What the user can do about it, printed on its own line after the error; `None` when the
    /// message already says it.
    pub fn hint(&self) -> Option<String> {
        match self {
            CliError::NoServer => Some("pass --server URL or run `keel identity new --server URL`".to_owned()),
            CliError::IdentityForOtherServer { server, .. } => {
                Some(format!("run `keel identity new --server {server}`, or use another --config-path"))
            }
            CliError::InvalidJsonArg { .. } => Some(
                "arguments are JSON values; quote them for the shell, e.g. '[1, 2]' or '\"text\"'; bare words are strings"
                    .to_owned(),
            ),
            CliError::ReadWasm { .. } => Some("`keel build MODULE_DIR` prints the path of the built .wasm".to_owned()),
            CliError::Build(BuildError::Failed { .. }) => Some("cargo's diagnostics are printed above".to_owned()),
            CliError::Build(BuildError::NoArtifact) => {
                Some("the module's Cargo.toml needs `[lib] crate-type = [\"cdylib\"]`".to_owned())
            }
            CliError::Client(ClientError::Api { status: 401, .. }) => {
                Some("the configured token is not valid on this server: run `keel identity new`".to_owned())
            }
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use keel_api::http::{ApiError, ErrorKind};

    use super::*;

    fn api(kind: ErrorKind) -> CliError {
        let body = ApiError {
            error: "no".into(),
            kind,
            hint: None,
        };
        CliError::Client(ClientError::Api {
            method: "GET",
            url: "u".into(),
            status: kind.status(),
            body,
        })
    }

    fn unexpected(status: u16) -> CliError {
        CliError::Client(ClientError::UnexpectedStatus {
            method: "GET",
            url: "u".into(),
            status,
            body: String::new(),
        })
    }

    fn io_error(kind: std::io::ErrorKind) -> std::io::Error {
        std::io::Error::from(kind)
    }

    #[test]
    fn server_errors_map_by_status() {
        let cases = [
            (ErrorKind::NotFound, exit_code::NOT_FOUND),
            (ErrorKind::Unauthorized, exit_code::PERMISSION_DENIED),
            (ErrorKind::Forbidden, exit_code::PERMISSION_DENIED),
            (ErrorKind::SqlDenied, exit_code::PERMISSION_DENIED),
            (ErrorKind::BadRequest, exit_code::INVALID_INPUT),
            (ErrorKind::InvalidModule, exit_code::INVALID_INPUT),
            (ErrorKind::InvalidArguments, exit_code::INVALID_INPUT),
            (ErrorKind::SqlError, exit_code::INVALID_INPUT),
            (ErrorKind::PayloadTooLarge, exit_code::INVALID_INPUT),
            (ErrorKind::Conflict, exit_code::CONFLICT),
            (ErrorKind::ReducerError, exit_code::REDUCER_FAILED),
            (ErrorKind::ReducerPanic, exit_code::REDUCER_FAILED),
            (ErrorKind::OutOfFuel, exit_code::REDUCER_FAILED),
            (ErrorKind::TimeLimit, exit_code::REDUCER_FAILED),
            (ErrorKind::TooManyRequests, exit_code::FAILURE),
            (ErrorKind::Unavailable, exit_code::FAILURE),
            (ErrorKind::StorageFull, exit_code::FAILURE),
            (ErrorKind::Internal, exit_code::FAILURE),
        ];
        for (kind, expected) in cases {
            assert_eq!(api(kind).exit_code(), expected, "{kind:?}");
        }
        assert_eq!(unexpected(404).exit_code(), exit_code::NOT_FOUND);
        assert_eq!(unexpected(413).exit_code(), exit_code::INVALID_INPUT);
        assert_eq!(unexpected(502).exit_code(), exit_code::FAILURE);
    }

    #[test]
    fn local_errors_map_to_their_codes() {
        let invalid_url = CliError::Client(ClientError::InvalidUrl { url: "x".into() });
        let bad_json = CliError::InvalidJsonArg {
            arg: "[1,".into(),
            source: serde_json::from_str::<serde_json::Value>("[1,").unwrap_err(),
        };
        let missing_wasm = CliError::ReadWasm {
            path: "/missing".into(),
            source: io_error(std::io::ErrorKind::NotFound),
        };
        let cases = [
            (invalid_url, exit_code::INVALID_INPUT),
            (bad_json, exit_code::INVALID_INPUT),
            (missing_wasm, exit_code::INVALID_INPUT),
            (
                CliError::InvalidName(keel_api::DatabaseName::parse("A").unwrap_err()),
                exit_code::INVALID_INPUT,
            ),
            (
                CliError::MissingModuleDir {
                    path: "/nope".into(),
                },
                exit_code::INVALID_INPUT,
            ),
            (CliError::NoServer, exit_code::INVALID_INPUT),
            (CliError::NoIdentity, exit_code::PERMISSION_DENIED),
            (
                CliError::Config(ConfigError::NoPath),
                exit_code::INVALID_INPUT,
            ),
            (
                CliError::Config(ConfigError::Write {
                    path: "/c".into(),
                    source: io_error(std::io::ErrorKind::Other),
                }),
                exit_code::FAILURE,
            ),
            (
                CliError::Build(BuildError::NoArtifact),
                exit_code::BUILD_FAILED,
            ),
            (
                CliError::Output(io_error(std::io::ErrorKind::BrokenPipe)),
                exit_code::SUCCESS,
            ),
            (
                CliError::Output(io_error(std::io::ErrorKind::Other)),
                exit_code::FAILURE,
            ),
        ];
        for (err, expected) in cases {
            assert_eq!(err.exit_code(), expected, "{err:?}");
        }
    }

    #[test]
    fn messages_name_the_fix() {
        assert_eq!(
            CliError::NoIdentity.to_string(),
            "no identity configured: run `keel identity new`"
        );
        assert!(CliError::NoServer.hint().unwrap().contains("--server"));
        assert_eq!(CliError::NoIdentity.hint(), None);
    }
}
