//! The server's bookkeeping: identities and the database directory, in `control.sqlite`.
//! No client or module SQL ever reaches this file.

use std::path::Path;

use rusqlite::{Connection, params};

/// One database in the directory.
#[derive(Debug, Clone)]
pub(crate) struct DatabaseRow {
    pub(crate) name: String,
    /// File stem of the database's SQLite file; stays the same across renames.
    pub(crate) id: String,
    pub(crate) owner: String,
    /// The hash of its module, which names a file under `modules/`; `None` without a module
    /// (or, in a data dir from before this column, not yet known).
    pub(crate) module_hash: Option<String>,
    /// A module being installed: recorded before the install commits in the database's own
    /// file, cleared once `module_hash` says what happened. Set at start-up means the server
    /// stopped in between, and the file says which module won.
    pub(crate) pending_hash: Option<String>,
}

/// The bookkeeping store.
pub(crate) struct Control {
    connection: Connection,
}

impl Control {
    pub(crate) fn open(path: &Path) -> rusqlite::Result<Control> {
        let connection = Connection::open(path)?;
        connection.pragma_update(None, "journal_mode", "WAL")?;
        connection.pragma_update(None, "synchronous", "FULL")?;
        connection.execute_batch(
            "CREATE TABLE IF NOT EXISTS identities (id TEXT PRIMARY KEY, secret_hash TEXT NOT NULL, created_micros INTEGER NOT NULL);
             CREATE TABLE IF NOT EXISTS databases (name TEXT PRIMARY KEY, id TEXT NOT NULL UNIQUE, owner TEXT NOT NULL, created_micros INTEGER NOT NULL, module_hash TEXT);",
        )?;
        for column in ["module_hash", "pending_hash"] {
            let exists: bool = connection.query_row(
                "SELECT count(*) > 0 FROM pragma_table_info('databases') WHERE name = ?1",
                [column],
                |row| row.get(0),
            )?;
            if !exists {
                connection
                    .execute_batch(&format!("ALTER TABLE databases ADD COLUMN {column} TEXT"))?;
            }
        }
        Ok(Control { connection })
    }

    pub(crate) fn identities(&self) -> rusqlite::Result<Vec<(String, String)>> {
        let mut statement = self
            .connection
            .prepare("SELECT id, secret_hash FROM identities")?;
        statement
            .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
            .collect()
    }

    pub(crate) fn insert_identity(&self, id: &str, secret_hash: &str) -> rusqlite::Result<()> {
        self.connection.execute(
            "INSERT INTO identities (id, secret_hash, created_micros) VALUES (?1, ?2, ?3)",
            params![id, secret_hash, now_micros()],
        )?;
        Ok(())
    }

    /// Forgets an identity (its databases are removed by the caller, one by one).
    pub(crate) fn delete_identity(&self, id: &str) -> rusqlite::Result<()> {
        self.connection
            .execute("DELETE FROM identities WHERE id = ?1", [id])?;
        Ok(())
    }

    pub(crate) fn databases(&self) -> rusqlite::Result<Vec<DatabaseRow>> {
        let mut statement = self
            .connection
            .prepare("SELECT name, id, owner, module_hash, pending_hash FROM databases")?;
        statement
            .query_map([], |row| {
                Ok(DatabaseRow {
                    name: row.get(0)?,
                    id: row.get(1)?,
                    owner: row.get(2)?,
                    module_hash: row.get(3)?,
                    pending_hash: row.get(4)?,
                })
            })?
            .collect()
    }

    pub(crate) fn insert_database(&self, row: &DatabaseRow) -> rusqlite::Result<()> {
        self.connection.execute(
            "INSERT INTO databases (name, id, owner, created_micros, module_hash) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![row.name, row.id, row.owner, now_micros(), row.module_hash],
        )?;
        Ok(())
    }

    /// Records which module the database with this id has now, and that no install is pending.
    pub(crate) fn set_module_hash(&self, id: &str, hash: Option<&str>) -> rusqlite::Result<()> {
        self.connection.execute(
            "UPDATE databases SET module_hash = ?2, pending_hash = NULL WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    /// Records that the module `hash` is about to be installed in the database with this id.
    pub(crate) fn set_pending_hash(&self, id: &str, hash: &str) -> rusqlite::Result<()> {
        self.connection.execute(
            "UPDATE databases SET pending_hash = ?2 WHERE id = ?1",
            params![id, hash],
        )?;
        Ok(())
    }

    /// The module hash recorded for the database with this id.
    pub(crate) fn module_hash_of(&self, id: &str) -> rusqlite::Result<Option<String>> {
        self.connection
            .query_row(
                "SELECT module_hash FROM databases WHERE id = ?1",
                [id],
                |row| row.get(0),
            )
            .or_else(|error| match error {
                rusqlite::Error::QueryReturnedNoRows => Ok(None),
                error => Err(error),
            })
    }

    /// Whether any database has the module with this hash, or is being given it.
    pub(crate) fn is_module_used(&self, hash: &str) -> rusqlite::Result<bool> {
        self.connection.query_row(
            "SELECT EXISTS (SELECT 1 FROM databases WHERE module_hash = ?1 OR pending_hash = ?1)",
            [hash],
            |row| row.get(0),
        )
    }

    /// Removes the database with this id (never whichever database has a name now).
    pub(crate) fn delete_database(&self, id: &str) -> rusqlite::Result<()> {
        self.connection
            .execute("DELETE FROM databases WHERE id = ?1", [id])?;
        Ok(())
    }

    /// Renames the database with this id and sets its owner.
    pub(crate) fn rename_database(&self, id: &str, new: &str, owner: &str) -> rusqlite::Result<()> {
        let changed = self.connection.execute(
            "UPDATE databases SET name = ?2, owner = ?3 WHERE id = ?1",
            [id, new, owner],
        )?;
        if changed != 1 {
            return Err(rusqlite::Error::QueryReturnedNoRows);
        }
        Ok(())
    }
}

fn now_micros() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64)
}
