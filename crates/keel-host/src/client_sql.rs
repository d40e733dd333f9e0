//! Clients' SQL: the owner reads and writes in a transaction of its own; everyone else runs
//! read-only queries of public tables, with a fifth of the owner's time.

use std::time::Duration;

use serde_json::Value;

use crate::database::Database;
use crate::errors::SqlError;
use crate::guard::Access;
use crate::sql::{Rows, run_statement};

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
            // The authorizer refuses every private table the statement names, also one it reads
            // no column of (`SELECT count(*)`, `EXISTS (SELECT 1 ...)`): SQLite reports such a
            // table as a read of the column "" (see `guard`).
            let result = run_statement(self.session(), query, params);
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
}
