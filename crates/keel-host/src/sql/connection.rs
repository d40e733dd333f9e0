//! Opening a database connection with SQLite's defences for untrusted SQL in place (its
//! "defense against the dark arts" guidance): the guard as authorizer, defensive mode, no
//! attached databases, a progress handler that stops work at the deadline, size limits per
//! caller, and the linear-time function replacements.

use std::path::Path;
use std::time::Duration;

use rusqlite::Connection;
use rusqlite::config::DbConfig;
use rusqlite::limits::Limit;

use crate::guard::{Access, Guard};
use crate::sql::deadline::Deadline;
use crate::sql::functions;

/// The largest string or blob the owner's SQL and reducers may make or read.
pub(crate) const OWNER_MAX_VALUE_BYTES: i32 = 4 << 20;
/// The largest string or blob other identities' SQL may make or read.
pub(crate) const READER_MAX_VALUE_BYTES: i32 = 1 << 20;
/// The longest LIKE or GLOB pattern: matching costs up to the value length times this.
const MAX_LIKE_PATTERN_BYTES: i32 = 64;
/// How many VM steps run between two looks at the deadline. One step does at most linear
/// work on a value of at most [`OWNER_MAX_VALUE_BYTES`], so this bounds the overrun.
const STEPS_PER_DEADLINE_CHECK: i32 = 100;

/// The most arguments a function call of the owner's SQL may have.
const OWNER_MAX_FUNCTION_ARGS: i32 = 127;

/// Limits of SQL from identities other than the owner, beyond the value size.
const READER_LIMITS: &[(Limit, i32)] = &[
    (Limit::SQLITE_LIMIT_SQL_LENGTH, 100_000),
    (Limit::SQLITE_LIMIT_EXPR_DEPTH, 100),
    (Limit::SQLITE_LIMIT_COMPOUND_SELECT, 20),
    (Limit::SQLITE_LIMIT_VDBE_OP, 100_000),
    (Limit::SQLITE_LIMIT_FUNCTION_ARG, 32),
];

/// The limits of the owner's SQL and reducers, to restore after a reader's statement.
#[derive(Debug, Clone)]
pub(crate) struct Limits {
    defaults: Vec<(Limit, i32)>,
}

/// Opens `path` with every defence installed.
pub(crate) fn open(
    path: &Path,
    sync_full: bool,
    guard: &Guard,
    deadline: &Deadline,
) -> rusqlite::Result<(Connection, Limits)> {
    let mut connection = Connection::open(path)?;
    connection.pragma_update(None, "journal_mode", "WAL")?;
    connection.pragma_update(
        None,
        "synchronous",
        if sync_full { "FULL" } else { "NORMAL" },
    )?;
    connection.pragma_update(None, "trusted_schema", "OFF")?;
    connection.set_db_config(DbConfig::SQLITE_DBCONFIG_DEFENSIVE, true)?;
    connection.busy_timeout(Duration::from_secs(5))?;
    connection.set_limit(Limit::SQLITE_LIMIT_ATTACHED, 0)?;
    connection.set_limit(
        Limit::SQLITE_LIMIT_LIKE_PATTERN_LENGTH,
        MAX_LIKE_PATTERN_BYTES,
    )?;
    let limits = Limits {
        defaults: READER_LIMITS
            .iter()
            .map(|(limit, _)| {
                let value = match limit {
                    // Functions that scan a value once per argument (`json_set` and friends)
                    // stay within this many scans for owners too.
                    Limit::SQLITE_LIMIT_FUNCTION_ARG => OWNER_MAX_FUNCTION_ARGS,
                    _ => connection.limit(*limit)?,
                };
                Ok((*limit, value))
            })
            .collect::<rusqlite::Result<_>>()?,
    };
    functions::install(&connection)?;
    connection.authorizer(Some(guard.authorizer()))?;
    let handler_deadline = deadline.clone();
    connection.progress_handler(
        STEPS_PER_DEADLINE_CHECK,
        Some(move || handler_deadline.passed()),
    )?;
    limits.apply(&connection, Access::Owner)?;
    Ok((connection, limits))
}

impl Limits {
    /// Sets the limits for statements run with `access`.
    pub(crate) fn apply(&self, connection: &Connection, access: Access) -> rusqlite::Result<()> {
        let reader = access == Access::Reader;
        connection.set_limit(
            Limit::SQLITE_LIMIT_LENGTH,
            if reader {
                READER_MAX_VALUE_BYTES
            } else {
                OWNER_MAX_VALUE_BYTES
            },
        )?;
        let values = if reader {
            READER_LIMITS
        } else {
            &self.defaults
        };
        for (limit, value) in values {
            connection.set_limit(*limit, *value)?;
        }
        Ok(())
    }
}
