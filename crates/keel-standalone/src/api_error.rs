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

    /// What kind of failure it is.
    pub(crate) fn kind(&self) -> ErrorKind {
        self.kind
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
        AppError::internal(error)
    }
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
            PublishError::Storage(error) => AppError::internal(error),
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
            CallError::Storage(_) => return AppError::internal(error),
        };
        AppError::new(kind, error.to_string())
    }
}

impl From<SqlError> for AppError {
    fn from(error: SqlError) -> AppError {
        match error {
            SqlError::Denied(reason) => AppError::new(ErrorKind::SqlDenied, reason),
            SqlError::Invalid(reason) => AppError::new(ErrorKind::SqlError, reason),
            SqlError::Storage(error) => AppError::internal(error),
        }
    }
}
