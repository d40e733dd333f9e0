//! Installing a module in a database: creating its tables (or migrating them automatically),
//! running `init`, recording the module's hash; and wiping a database.

use std::sync::Arc;

use keel_api::log::LogRecord;
use rusqlite::ErrorCode;

use crate::database::{Database, MODULE_TABLE};
use crate::errors::{PublishError, StorageError};
use crate::guard::Access;
use crate::migration::{self, Step};
use crate::runtime::{CompiledModule, Runtime};

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Whether the database got its first module.
    pub created: bool,
    /// The automatic migration steps of an update, described; empty when the tables were
    /// created from scratch (first module, or `clear`).
    pub steps: Vec<String>,
}

impl Database {
    /// Installs `module`: creates its tables on a database without a module (or when `clear`
    /// is set, after dropping everything) and runs `init`; otherwise migrates automatically.
    /// Everything happens in one transaction: on any error nothing changes.
    pub fn install(
        &mut self,
        runtime: &Runtime,
        module: Arc<CompiledModule>,
        clear: bool,
        caller: &str,
        logs: &mut Vec<LogRecord>,
    ) -> Result<Installed, PublishError> {
        let created = self.module.is_none();
        // A fresh start: the tables are created from scratch (after dropping any) and `init` runs.
        let fresh = created || clear;
        let steps: Vec<Step> = if fresh {
            module
                .schema()
                .tables
                .iter()
                .cloned()
                .map(Step::CreateTable)
                .collect()
        } else {
            let plan = migration::plan(
                self.module.as_ref().expect("checked above").schema(),
                module.schema(),
            );
            if !plan.breaking.is_empty() {
                return Err(PublishError::MigrationRefused {
                    changes: plan.breaking,
                });
            }
            plan.steps
        };
        self.begin()?;
        let result = self.apply_install(runtime, &module, fresh, &steps, caller, logs);
        match result {
            Ok(()) => {
                self.finish(true)?;
                self.set_module(Some(module));
                Ok(Installed {
                    created,
                    steps: if fresh {
                        Vec::new()
                    } else {
                        steps.iter().map(Step::describe).collect()
                    },
                })
            }
            Err(error) => {
                self.finish(false)?;
                self.set_module(self.module.clone());
                Err(error)
            }
        }
    }

    fn apply_install(
        &mut self,
        runtime: &Runtime,
        module: &Arc<CompiledModule>,
        fresh: bool,
        steps: &[Step],
        caller: &str,
        logs: &mut Vec<LogRecord>,
    ) -> Result<(), PublishError> {
        if fresh {
            self.drop_everything()?;
        }
        for step in steps {
            for statement in step.sql() {
                match self.connection().execute_batch(&statement) {
                    Ok(()) => {}
                    // A new unique index over duplicate rows, say: the data refuses the change.
                    Err(rusqlite::Error::SqliteFailure(failure, message))
                        if failure.code == ErrorCode::ConstraintViolation =>
                    {
                        let reason = message.unwrap_or_else(|| failure.to_string());
                        return Err(PublishError::MigrationRefused {
                            changes: vec![format!(
                                "{}: the existing rows violate it ({reason})",
                                step.describe()
                            )],
                        });
                    }
                    Err(source) => return Err(self.storage_error(source).into()),
                }
            }
        }
        self.guard.set_tables(Some(module.schema()));
        self.guard.set_access(Access::System);
        self.connection()
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS {MODULE_TABLE} (hash TEXT NOT NULL); DELETE FROM {MODULE_TABLE}; INSERT INTO {MODULE_TABLE} (hash) VALUES ('{}')",
                module.hash()
            ))
            .map_err(|source| self.storage_error(source))?;
        if fresh && module.schema().reducer("init").is_some() {
            self.invoke(runtime, module, "init", b"[]", caller, logs)
                .map_err(PublishError::Init)?;
        }
        Ok(())
    }

    /// Drops every table and forgets the module: the database is empty, its name kept.
    pub fn wipe(&mut self) -> Result<(), StorageError> {
        self.begin()?;
        let result = self.drop_everything();
        self.finish(result.is_ok())?;
        result?;
        self.set_module(None);
        Ok(())
    }

    fn drop_everything(&mut self) -> Result<(), StorageError> {
        self.guard.set_access(Access::System);
        let connection = self.connection();
        let tables: Vec<String> = connection
            .prepare(
                "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            )
            .and_then(|mut statement| statement.query_map([], |row| row.get(0))?.collect())
            .map_err(|source| self.storage_error(source))?;
        for table in tables {
            connection
                .execute_batch(&format!("DROP TABLE {}", migration::quote(&table)))
                .map_err(|source| self.storage_error(source))?;
        }
        Ok(())
    }
}
