//! Clients' SQL: the owner reads and writes in a transaction of its own; everyone else runs
//! read-only queries of public tables, with a fifth of the owner's time.

use std::time::Duration;

use rusqlite::params_from_iter;
use serde_json::Value;

use crate::database::Database;
use crate::errors::SqlError;
use crate::guard::Access;
use crate::sql::{self, Rows, classify_sql_error, run_statement};

/// The shortest time limit a reader's statement gets.
const MIN_READER_TIME: Duration = Duration::from_millis(100);

impl Database {
    /// Runs one SQL statement for a client. Owners may read and write (in a transaction of its
    /// own); readers may only query public tables.
    pub fn sql(&mut self, query: &str, params: &[Value], access: Access) -> Result<Rows, SqlError> {
        if access == Access::Reader {
            self.guard.set_access(Access::Reader);
            // Readers hold the database's lock too: they get a fifth of the owner's time.
            self.deadline
                .set((self.sql_time_limit / 5).max(MIN_READER_TIME));
            let result = self
                .check_no_private_tables(query)
                .and_then(|()| run_statement(self.session(), query, params));
            self.deadline.clear();
            return result;
        }
        self.begin()?;
        self.guard.set_access(Access::Owner);
        self.deadline.set(self.sql_time_limit);
        let result = run_statement(self.session(), query, params);
        self.deadline.clear();
        self.finish(result.is_ok())?;
        result
    }

    /// Refuses statements that touch private tables without reading a column of them
    /// (`SELECT count(*)` opens a table but reads no column, so the authorizer never sees it):
    /// the statement's program is inspected for the tables it opens.
    fn check_no_private_tables(&self, query: &str) -> Result<(), SqlError> {
        let schema = self.module.as_ref().map(|module| module.schema());
        if !schema.is_some_and(|schema| schema.tables.iter().any(|table| !table.public)) {
            return Ok(());
        }
        // The statement itself first, so that its errors are about its own text.
        drop(sql::prepare(self.session(), query)?);
        let connection = self.connection();
        let mut explain = connection
            .prepare(&format!("EXPLAIN {query}"))
            .map_err(|error| classify_sql_error(self.session(), error))?;
        let parameter_count = explain.parameter_count();
        let nulls = vec![rusqlite::types::Value::Null; parameter_count];
        let root_pages: Vec<i64> = explain
            .query_map(params_from_iter(nulls), |row| {
                Ok((row.get::<_, String>(1)?, row.get::<_, i64>(3)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|error| classify_sql_error(self.session(), error))?
            .into_iter()
            .filter(|(opcode, _)| matches!(opcode.as_str(), "OpenRead" | "OpenWrite" | "ReopenIdx"))
            .map(|(_, page)| page)
            .collect();
        self.guard.set_access(Access::System);
        let objects: Result<Vec<(String, i64)>, _> = connection
            .prepare("SELECT tbl_name, rootpage FROM sqlite_schema")
            .and_then(|mut statement| {
                statement
                    .query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?
                    .collect()
            });
        self.guard.set_access(Access::Reader);
        let objects = objects.map_err(|source| SqlError::Storage(self.storage_error(source)))?;
        for (table, page) in objects {
            if root_pages.contains(&page) && self.guard.is_private(&table) {
                return Err(SqlError::Denied(format!(
                    "table `{table}` is private: only the database owner may read it"
                )));
            }
        }
        Ok(())
    }
}
