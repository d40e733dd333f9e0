//! Module log records: what a module (and the server, for the owner's failed calls) writes to a
//! database's log. The host produces them, the server stores them as JSON lines and serves them.

use serde::{Deserialize, Serialize};

/// Log levels of module log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something looks wrong.
    Warn,
    /// Normal operation.
    Info,
    /// Detail for debugging.
    Debug,
}

/// One record of a module's log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LogRecord {
    /// Microseconds since the Unix epoch.
    pub ts_micros: i64,
    /// Level.
    pub level: LogLevel,
    /// Text.
    pub message: String,
    /// The reducer that wrote it, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reducer: Option<String>,
}
