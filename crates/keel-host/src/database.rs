//! One database: a SQLite file with its guard, limits and deadline, and the module installed
//! in it. The operations live beside this file: `install.rs` (publish, wipe), `reducer.rs`
//! (reducer calls), `client_sql.rs` (clients' SQL).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rusqlite::Connection;

use crate::errors::StorageError;
use crate::guard::{Access, Guard};
use crate::runtime::{CompiledModule, Runtime};
use crate::sql::Session;
use crate::sql::connection::{self, Limits};
use crate::sql::deadline::Deadline;

/// The table, inside each database file, that records the installed module's hash.
pub(crate) const MODULE_TABLE: &str = "_keel_module";

/// A database: one SQLite file and the module that defines its tables and reducers.
pub struct Database {
    path: PathBuf,
    /// `None` only while lent to a running reducer.
    pub(crate) connection: Option<Connection>,
    pub(crate) guard: Guard,
    pub(crate) limits: Limits,
    pub(crate) deadline: Deadline,
    pub(crate) module: Option<Arc<CompiledModule>>,
    pub(crate) sql_time_limit: std::time::Duration,
}

impl Database {
    /// Opens (or creates) the SQLite file at `path`, with the guard and limits installed.
    pub fn open(path: &Path, runtime: &Runtime) -> Result<Database, StorageError> {
        let guard = Guard::new();
        let deadline = Deadline::new(runtime.stop_flag().clone());
        let (connection, limits) =
            connection::open(path, runtime.config().sync_full, &guard, &deadline).map_err(
                |source| StorageError {
                    path: path.to_owned(),
                    source,
                },
            )?;
        Ok(Database {
            path: path.to_owned(),
            connection: Some(connection),
            guard,
            limits,
            deadline,
            module: None,
            sql_time_limit: runtime.config().sql_time_limit,
        })
    }

    /// The SQLite file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The installed module, if any.
    pub fn module(&self) -> Option<&Arc<CompiledModule>> {
        self.module.as_ref()
    }

    /// Declares the module already installed in this file (when the server restarts).
    pub fn set_module(&mut self, module: Option<Arc<CompiledModule>>) {
        self.guard
            .set_tables(module.as_deref().map(CompiledModule::schema));
        self.module = module;
    }

    /// The hash of the module installed in this file, as recorded by [`Database::install`] in
    /// the same transaction as the schema, so the two cannot disagree after a crash.
    pub fn installed_hash(&self) -> Result<Option<String>, StorageError> {
        self.guard.set_access(Access::System);
        let connection = self.connection();
        let exists: bool = connection
            .query_row(
                "SELECT count(*) FROM sqlite_schema WHERE name = ?1",
                [MODULE_TABLE],
                |row| row.get::<_, i64>(0),
            )
            .map(|count| count > 0)
            .map_err(|source| self.storage_error(source))?;
        if !exists {
            return Ok(None);
        }
        connection
            .query_row(&format!("SELECT hash FROM {MODULE_TABLE}"), [], |row| {
                row.get(0)
            })
            .map(Some)
            .or_else(|error| {
                if error == rusqlite::Error::QueryReturnedNoRows {
                    Ok(None)
                } else {
                    Err(error)
                }
            })
            .map_err(|source| self.storage_error(source))
    }

    /// Opens a write transaction (`BEGIN IMMEDIATE`).
    pub(crate) fn begin(&mut self) -> Result<(), StorageError> {
        self.guard.set_access(Access::System);
        self.connection()
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|source| self.storage_error(source))
    }

    /// Commits or rolls back the open transaction; a failed commit rolls back.
    pub(crate) fn finish(&mut self, commit: bool) -> Result<(), StorageError> {
        self.guard.set_access(Access::System);
        let statement = if commit { "COMMIT" } else { "ROLLBACK" };
        let result = self
            .connection()
            .execute_batch(statement)
            .map_err(|source| self.storage_error(source));
        if result.is_err() && commit {
            let _ = self.connection().execute_batch("ROLLBACK");
        }
        result
    }

    pub(crate) fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("connection is home between calls")
    }

    /// The connection with its guard, limits and deadline, for running statements.
    pub(crate) fn session(&self) -> Session<'_> {
        Session {
            connection: self.connection(),
            guard: &self.guard,
            limits: &self.limits,
            deadline: &self.deadline,
        }
    }

    pub(crate) fn storage_error(&self, source: rusqlite::Error) -> StorageError {
        StorageError {
            path: self.path.clone(),
            source,
        }
    }
}
