//! Bodies of the `/v1` HTTP API. Routes (all JSON unless noted; `auth` means a bearer token):
//!
//! | method and path | auth | body | response |
//! |---|---|---|---|
//! | `GET /v1/ping` | | | [`ServerInfo`] |
//! | `GET /v1/openapi.json` | | | the OpenAPI 3.1 description of all of these (feature `openapi`) |
//! | `POST /v1/identity` | | | [`IdentityCreated`] |
//! | `GET /v1/identity` | yes | | [`WhoAmI`] |
//! | `DELETE /v1/identity` | yes | | [`IdentityDeleted`] (its databases deleted too) |
//! | `GET /v1/databases` | yes | | [`DatabaseList`] |
//! | `POST /v1/databases/{name}?clear=BOOL` | owner | wasm bytes | [`PublishResult`] |
//! | `DELETE /v1/databases/{name}` | owner | | [`Deleted`] |
//! | `POST /v1/databases/{name}/reset` | owner | | [`Deleted`] (data and module gone, name kept) |
//! | `POST /v1/databases/{name}/rename` | owner | [`RenameRequest`] | [`DatabaseSummary`] (optionally to a new owner) |
//! | `POST /v1/databases/{name}/call/{reducer}` | yes | JSON array of arguments | [`CallResult`] |
//! | `POST /v1/databases/{name}/sql` | yes | [`SqlRequest`] | [`SqlResult`] |
//! | `GET /v1/databases/{name}/logs?n=N` | owner | | [`LogList`] |
//! | `GET /v1/databases/{name}/schema` | yes | | [`DatabaseInfo`] |
//!
//! Every error is an [`ApiError`] with a 4xx or 5xx status.

use serde::{Deserialize, Serialize};

pub use crate::log::{LogLevel, LogRecord};
use crate::schema::ModuleSchema;

/// Answer to `GET /v1/ping`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ServerInfo {
    /// Server version.
    pub version: String,
    /// Module ABI version the server speaks.
    pub abi_version: i32,
}

/// A new identity. The token is shown once; the server keeps only its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityCreated {
    /// Identity id (hex).
    pub identity: String,
    /// Bearer token.
    pub token: String,
}

/// Answer to `GET /v1/identity`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct WhoAmI {
    /// The caller's identity id.
    pub identity: String,
}

/// Answer to `DELETE /v1/identity`: the identity is gone, and so is every database it owned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct IdentityDeleted {
    /// The deleted identity.
    pub identity: String,
    /// The databases deleted with it, by name.
    pub databases: Vec<String>,
}

/// Answer to a publish.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PublishResult {
    /// Database name.
    pub database: String,
    /// Whether the database got its first module (it was created, or empty after a reset).
    pub created: bool,
    /// Whether existing data was wiped (`clear=true`).
    pub cleared: bool,
    /// blake3 hash of the module bytes (hex).
    pub module_hash: String,
    /// The automatic migration steps of an update, in order ("add table x", ...); empty when
    /// the tables were created from scratch (first module, or `clear`).
    pub migration: Vec<String>,
}

/// Answer to a delete or reset.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Deleted {
    /// Database name.
    pub database: String,
}

/// Body of a rename.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct RenameRequest {
    /// The name the database gets; must not be taken.
    // The literals are `names::DATABASE_NAME_PATTERN` and `MAX_DATABASE_NAME_LEN`, as a test of
    // the description checks.
    #[cfg_attr(
        feature = "openapi",
        schema(pattern = "^[a-z0-9][a-z0-9_-]*$", min_length = 1, max_length = 64)
    )]
    pub new_name: String,
    /// An identity to give the database to; the caller loses it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_owner: Option<String>,
}

/// Answer to a reducer call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CallResult {
    /// Fuel (wasm instructions, roughly) the call consumed.
    pub fuel_used: u64,
    /// Wall time of the call inside the server, in microseconds.
    pub duration_micros: u64,
}

/// Body of `POST /v1/databases/{name}/sql`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SqlRequest {
    /// One SQL statement.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub query: String,
    /// Positional parameters (`?1`, `?2`, ...).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub params: Vec<serde_json::Value>,
}

/// Result of one SQL statement: rows for queries, a change count for DML.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SqlResult {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of JSON values: numbers, strings, `null`, and arrays of bytes for blobs.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows changed by an INSERT, UPDATE or DELETE.
    pub changes: u64,
}

/// Answer to `GET /v1/databases/{name}/logs`, oldest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogList {
    /// The last records.
    pub records: Vec<LogRecord>,
}

/// One database in a listing.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseSummary {
    /// Database name.
    pub name: String,
    /// Hash of its module, if it has one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_hash: Option<String>,
}

/// Answer to `GET /v1/databases`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseList {
    /// The caller's databases, by name.
    pub databases: Vec<DatabaseSummary>,
}

/// Answer to `GET /v1/databases/{name}/schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DatabaseInfo {
    /// Database name.
    pub name: String,
    /// Owner identity.
    pub owner: String,
    /// Hash of the module, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub module_hash: Option<String>,
    /// The module's schema, if it has a module. Private tables are listed for everyone, their
    /// rows are not.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<ModuleSchema>,
}

/// The body of every error response.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ApiError {
    /// What went wrong, for people.
    pub error: String,
    /// What went wrong, for programs.
    pub kind: ErrorKind,
    /// What to do about it, when there is something to do.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
}

/// Machine-readable error classes. Each maps to one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Malformed request (400).
    BadRequest,
    /// Missing or invalid token (401).
    Unauthorized,
    /// The caller may not do this (403).
    Forbidden,
    /// No such database, reducer or table (404).
    NotFound,
    /// The name is taken, or an update needs `clear` (409).
    Conflict,
    /// The body is larger than the server accepts (413).
    PayloadTooLarge,
    /// The wasm bytes are not a valid Keel module (400).
    InvalidModule,
    /// Reducer arguments do not match its parameters (400).
    InvalidArguments,
    /// The SQL could not be prepared or run (400).
    SqlError,
    /// The SQL touches something it may not (403).
    SqlDenied,
    /// The reducer returned an error; its transaction rolled back (422).
    ReducerError,
    /// The reducer panicked or trapped; its transaction rolled back (422).
    ReducerPanic,
    /// The reducer ran out of fuel; its transaction rolled back (422).
    OutOfFuel,
    /// The reducer ran past its time limit; its transaction rolled back (422).
    TimeLimit,
    /// The caller sent too many requests of this kind; try again later (429).
    TooManyRequests,
    /// The server is busy or shutting down; try again later (503).
    Unavailable,
    /// The server's disk is full; nothing was changed (507).
    StorageFull,
    /// A bug or an I/O failure in the server (500).
    Internal,
}

impl ErrorKind {
    /// The HTTP status code the server answers with.
    pub fn status(self) -> u16 {
        match self {
            ErrorKind::BadRequest
            | ErrorKind::InvalidModule
            | ErrorKind::InvalidArguments
            | ErrorKind::SqlError => 400,
            ErrorKind::Unauthorized => 401,
            ErrorKind::Forbidden | ErrorKind::SqlDenied => 403,
            ErrorKind::NotFound => 404,
            ErrorKind::Conflict => 409,
            ErrorKind::PayloadTooLarge => 413,
            ErrorKind::ReducerError
            | ErrorKind::ReducerPanic
            | ErrorKind::OutOfFuel
            | ErrorKind::TimeLimit => 422,
            ErrorKind::TooManyRequests => 429,
            ErrorKind::Unavailable => 503,
            ErrorKind::StorageFull => 507,
            ErrorKind::Internal => 500,
        }
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.error)?;
        if let Some(hint) = &self.hint {
            write!(f, "\n  (hint: {hint})")?;
        }
        Ok(())
    }
}
