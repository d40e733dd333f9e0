//! Errors as HTTP responses: every failure becomes an `ApiError` body with its status.

use axum::Json;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use keel_api::http::{ApiError, ErrorKind};
use keel_host::{CallError, ModuleError, PublishError, SqlError, StorageError};

/// A failed request.
#[derive(Debug)]
pub(crate) struct AppError {
    kind: ErrorKind,
    message: String,
    hint: Option<String>,
}

/// Result of a handler.
pub(crate) type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> AppError {
        AppError {
            kind,
            message: message.into(),
            hint: None,
        }
    }

    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> AppError {
        self.hint = Some(hint.into());
        self
    }

    /// A failure of the server itself. The details (paths, say) go to the server's log, not
    /// to the client.
    pub(crate) fn internal(error: impl std::fmt::Display) -> AppError {
        tracing::error!(%error, "internal error");
        AppError::new(
            ErrorKind::Internal,
            "internal server error; the server log has the details",
        )
    }

    /// A failed file operation: a full disk is said as such, anything else is internal.
    pub(crate) fn io(error: std::io::Error) -> AppError {
        let full = error.kind() == std::io::ErrorKind::StorageFull
            || error.kind() == std::io::ErrorKind::FileTooLarge
            || error.raw_os_error() == Some(libc::ENOSPC);
        if full {
            tracing::error!(%error, "the disk is full");
            AppError::storage_full()
        } else {
            AppError::internal(error)
        }
    }

    /// A failure of the database files: a full disk is said as such, anything else is internal
    /// (the cause goes to the server's log).
    pub(crate) fn storage(error: &StorageError) -> AppError {
        let chain = error_chain(error);
        if error.is_disk_full() {
            tracing::error!(error = %chain, "the disk is full");
            AppError::storage_full()
        } else {
            AppError::internal(chain)
        }
    }

    fn storage_full() -> AppError {
        AppError::new(
            ErrorKind::StorageFull,
            "the server's disk is full: nothing was changed",
        )
        .with_hint("free space on the server, then try again")
    }

    pub(crate) fn not_found(database: &str) -> AppError {
        AppError::new(
            ErrorKind::NotFound,
            format!("no database named `{database}`"),
        )
        .with_hint("list your databases with `keel list`, or publish a module to create one")
    }

    pub(crate) fn not_owner(database: &str, action: &str) -> AppError {
        AppError::new(
            ErrorKind::Forbidden,
            format!("only the owner of `{database}` may {action} it"),
        )
    }
}

impl IntoResponse for AppError {
    fn into_response(self) -> Response {
        let status =
            StatusCode::from_u16(self.kind.status()).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        let close = self.kind == ErrorKind::PayloadTooLarge;
        let mut response = (
            status,
            Json(ApiError {
                error: self.message,
                kind: self.kind,
                hint: self.hint,
            }),
        )
            .into_response();
        if close {
            // The rest of the oversized body was never read: the connection cannot be reused.
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                axum::http::HeaderValue::from_static("close"),
            );
        }
        response
    }
}

impl From<ModuleError> for AppError {
    fn from(error: ModuleError) -> AppError {
        AppError::new(ErrorKind::InvalidModule, error.to_string())
    }
}

impl From<StorageError> for AppError {
    fn from(error: StorageError) -> AppError {
        AppError::storage(&error)
    }
}

/// An error and its causes, as one line.
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut chain = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        chain.push_str(": ");
        chain.push_str(&cause.to_string());
        source = cause.source();
    }
    chain
}

impl From<PublishError> for AppError {
    fn from(error: PublishError) -> AppError {
        match error {
            PublishError::MigrationRefused { .. } => AppError::new(ErrorKind::Conflict, error.to_string())
                .with_hint("publish with clear (`keel publish --clear`) to wipe the data and start from the new schema"),
            PublishError::Init(call_error) => {
                let message = format!("the module was not installed: init failed: {call_error}");
                AppError::new(AppError::from(call_error).kind, message)
            }
            PublishError::Storage(error) => AppError::storage(&error),
        }
    }
}

impl From<CallError> for AppError {
    fn from(error: CallError) -> AppError {
        let kind = match &error {
            CallError::NoModule | CallError::NoSuchReducer(_) => ErrorKind::NotFound,
            CallError::Private(_) => ErrorKind::Forbidden,
            CallError::Lifecycle(_) => ErrorKind::BadRequest,
            CallError::InvalidArguments(_) => ErrorKind::InvalidArguments,
            CallError::Reducer { .. } => ErrorKind::ReducerError,
            CallError::Panic { .. } => ErrorKind::ReducerPanic,
            CallError::OutOfFuel { .. } => ErrorKind::OutOfFuel,
            CallError::TimeLimit { .. } => ErrorKind::TimeLimit,
            CallError::ShuttingDown { .. } => ErrorKind::Unavailable,
            CallError::Storage(storage) => return AppError::storage(storage),
        };
        AppError::new(kind, error.to_string())
    }
}

impl From<SqlError> for AppError {
    fn from(error: SqlError) -> AppError {
        match error {
            SqlError::Denied(reason) => AppError::new(ErrorKind::SqlDenied, reason),
            SqlError::Invalid(reason) => AppError::new(ErrorKind::SqlError, reason),
            SqlError::Storage(error) => AppError::storage(&error),
        }
    }
}
