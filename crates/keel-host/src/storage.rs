//! One database: a SQLite file, the module installed in it, reducer calls and guarded SQL.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use keel_api::abi::{
    STATUS_INVALID_ARGUMENTS, STATUS_NO_SUCH_REDUCER, STATUS_OK, STATUS_REDUCER_ERROR,
};
use keel_api::http::{CallResult, LogRecord, SqlResult};
use keel_api::schema::{LIFECYCLE_REDUCERS, ModuleSchema};
use rusqlite::{Connection, ErrorCode, params_from_iter};
use serde_json::Value;
use wasmi::TrapCode;

use crate::config::HostConfig;
use crate::errors::{CallError, PublishError, SqlError, StorageError};
use crate::guard::{Access, Guard};
use crate::invoke::{Call, HostState};
use crate::migration::{self, Step};
use crate::runtime::{CompiledModule, Runtime};
use crate::values::{json_to_sql, sql_to_json};

/// The table, inside each database file, that records the installed module's hash.
const MODULE_TABLE: &str = "_keel_module";

/// A database: one SQLite file and the module that defines its tables and reducers.
pub struct Database {
    path: PathBuf,
    /// `None` only while lent to a running reducer.
    connection: Option<Connection>,
    guard: Guard,
    deadline: Deadline,
    module: Option<Arc<CompiledModule>>,
    sql_time_limit: Duration,
}

/// What a publish did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Whether the database got its first module.
    pub created: bool,
    /// The automatic migration steps of an update, described; empty when the tables were
    /// created from scratch (first module, or `clear`).
    pub steps: Vec<String>,
}

/// The point in time after which SQL is interrupted, shared with the progress handler.
#[derive(Clone)]
struct Deadline {
    base: Instant,
    /// Nanoseconds after `base`; 0 means no deadline.
    nanos: Arc<AtomicU64>,
}

impl Deadline {
    fn new() -> Deadline {
        Deadline {
            base: Instant::now(),
            nanos: Arc::new(AtomicU64::new(0)),
        }
    }

    fn set(&self, limit: Duration) {
        let nanos = (self.base.elapsed() + limit).as_nanos() as u64;
        self.nanos.store(nanos.max(1), Ordering::Relaxed);
    }

    fn clear(&self) {
        self.nanos.store(0, Ordering::Relaxed);
    }

    fn passed(&self) -> bool {
        let nanos = self.nanos.load(Ordering::Relaxed);
        nanos != 0 && self.base.elapsed().as_nanos() as u64 > nanos
    }
}

impl Database {
    /// Opens (or creates) the SQLite file at `path`, with the guard installed.
    pub fn open(path: &Path, config: &HostConfig) -> Result<Database, StorageError> {
        let storage_error = |source| StorageError {
            path: path.to_owned(),
            source,
        };
        let mut connection = Connection::open(path).map_err(storage_error)?;
        connection
            .pragma_update(None, "journal_mode", "WAL")
            .map_err(storage_error)?;
        connection
            .pragma_update(
                None,
                "synchronous",
                if config.sync_full { "FULL" } else { "NORMAL" },
            )
            .map_err(storage_error)?;
        connection
            .pragma_update(None, "trusted_schema", "OFF")
            .map_err(storage_error)?;
        connection
            .busy_timeout(Duration::from_secs(5))
            .map_err(storage_error)?;
        connection
            .set_limit(rusqlite::limits::Limit::SQLITE_LIMIT_ATTACHED, 0)
            .map_err(storage_error)?;
        connection
            .set_limit(
                rusqlite::limits::Limit::SQLITE_LIMIT_LENGTH,
                MAX_VALUE_BYTES,
            )
            .map_err(storage_error)?;
        let guard = Guard::new();
        connection
            .authorizer(Some(guard.authorizer()))
            .map_err(storage_error)?;
        let deadline = Deadline::new();
        let handler_deadline = deadline.clone();
        connection
            .progress_handler(1_000, Some(move || handler_deadline.passed()))
            .map_err(storage_error)?;
        Ok(Database {
            path: path.to_owned(),
            connection: Some(connection),
            guard,
            deadline,
            module: None,
            sql_time_limit: config.sql_time_limit,
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

    /// Calls `reducer` with `args` (a JSON array) as `caller` in one transaction.
    pub fn call(
        &mut self,
        runtime: &Runtime,
        reducer: &str,
        args: &Value,
        caller: &str,
        caller_is_owner: bool,
        logs: &mut Vec<LogRecord>,
    ) -> Result<CallResult, CallError> {
        let module = self.module.clone().ok_or(CallError::NoModule)?;
        check_call(module.schema(), reducer, args, caller_is_owner)?;
        let args = serde_json::to_vec(args).expect("JSON serializes");
        self.begin()?;
        let result = self.invoke(runtime, &module, reducer, &args, caller, logs);
        self.finish(result.is_ok())?;
        result
    }

    /// Runs the reducer inside the open transaction.
    fn invoke(
        &mut self,
        runtime: &Runtime,
        module: &CompiledModule,
        reducer: &str,
        args: &[u8],
        caller: &str,
        logs: &mut Vec<LogRecord>,
    ) -> Result<CallResult, CallError> {
        let started = Instant::now();
        let fuel_limit = runtime.config().fuel_per_call;
        let connection = self
            .connection
            .take()
            .expect("connection is home between calls");
        self.guard.set_access(Access::Owner);
        self.deadline.set(self.sql_time_limit);
        let state = HostState::new(runtime.config().max_memory_bytes).with_database(
            connection,
            self.guard.clone(),
            caller,
            reducer,
        );
        let outcome = match Call::start(runtime.linker(), module.module(), state, fuel_limit) {
            Ok(call) => call.reducer(reducer, args),
            Err(failed) => {
                let (mut state, error) = *failed;
                self.connection = state.connection.take();
                self.deadline.clear();
                return Err(CallError::Panic {
                    reducer: reducer.to_owned(),
                    message: format!("instantiation failed: {error}"),
                });
            }
        };
        let mut state = outcome.state;
        self.connection = state.connection.take();
        self.deadline.clear();
        logs.append(&mut state.logs);
        let message = || {
            outcome
                .returned
                .as_deref()
                .map(|bytes| String::from_utf8_lossy(bytes).into_owned())
                .unwrap_or_default()
        };
        let reducer_name = reducer.to_owned();
        match outcome.result {
            Ok(STATUS_OK) => Ok(CallResult {
                fuel_used: outcome.fuel_used,
                duration_micros: started.elapsed().as_micros() as u64,
            }),
            Ok(STATUS_REDUCER_ERROR) => Err(CallError::Reducer {
                reducer: reducer_name,
                message: message(),
            }),
            Ok(STATUS_INVALID_ARGUMENTS) => Err(CallError::InvalidArguments(message())),
            Ok(STATUS_NO_SUCH_REDUCER) => Err(CallError::NoSuchReducer(reducer_name)),
            Ok(status) => Err(CallError::Panic {
                reducer: reducer_name,
                message: format!("the module returned unknown status {status}"),
            }),
            Err(trap) if trap.as_trap_code() == Some(TrapCode::OutOfFuel) => {
                Err(CallError::OutOfFuel {
                    reducer: reducer_name,
                    fuel: fuel_limit,
                })
            }
            Err(trap) => {
                let message = match state.panic_message.take() {
                    Some(message) => message,
                    None if outcome.memory_bytes + (1 << 20)
                        >= runtime.config().max_memory_bytes =>
                    {
                        format!(
                            "{trap} (the module reached its memory limit of {} MiB)",
                            runtime.config().max_memory_bytes >> 20
                        )
                    }
                    None => format!("wasm trap: {trap}"),
                };
                Err(CallError::Panic {
                    reducer: reducer_name,
                    message,
                })
            }
        }
    }

    /// Runs one SQL statement for a client. Owners may read and write (in a transaction of its
    /// own); readers may only read public tables.
    pub fn sql(
        &mut self,
        query: &str,
        params: &[Value],
        access: Access,
    ) -> Result<SqlResult, SqlError> {
        if access == Access::Reader {
            self.guard.set_access(Access::Reader);
            self.check_no_private_tables(query)?;
            // Readers hold the database's lock too: they get a fifth of the owner's time.
            self.deadline
                .set((self.sql_time_limit / 5).max(Duration::from_millis(100)));
            let result = run_statement(self.connection(), &self.guard, query, params);
            self.deadline.clear();
            return result;
        }
        self.begin()?;
        self.guard.set_access(Access::Owner);
        self.deadline.set(self.sql_time_limit);
        let result = run_statement(self.connection(), &self.guard, query, params);
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
        let connection = self.connection();
        let mut explain = connection
            .prepare(&format!("EXPLAIN {query}"))
            .map_err(|error| self.sql_error(error))?;
        let parameter_count = explain.parameter_count();
        let nulls = vec![rusqlite::types::Value::Null; parameter_count];
        let root_pages: Vec<i64> = explain
            .query_map(params_from_iter(nulls), |row| {
                Ok((row.get::<_, String>(1)?, row.get::<_, i64>(3)?))
            })
            .and_then(|rows| rows.collect::<Result<Vec<_>, _>>())
            .map_err(|error| self.sql_error(error))?
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

    fn begin(&mut self) -> Result<(), StorageError> {
        self.guard.set_access(Access::System);
        self.connection()
            .execute_batch("BEGIN IMMEDIATE")
            .map_err(|source| self.storage_error(source))
    }

    fn finish(&mut self, commit: bool) -> Result<(), StorageError> {
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

    fn connection(&self) -> &Connection {
        self.connection
            .as_ref()
            .expect("connection is home between calls")
    }

    fn storage_error(&self, source: rusqlite::Error) -> StorageError {
        StorageError {
            path: self.path.clone(),
            source,
        }
    }

    fn sql_error(&self, error: rusqlite::Error) -> SqlError {
        classify_sql_error(&self.guard, error)
    }
}

/// The largest string or blob SQLite will make (`zeroblob(1e9)` fails instead of allocating).
const MAX_VALUE_BYTES: i32 = 16 << 20;
/// The most rows one statement may return.
const MAX_RESULT_ROWS: usize = 100_000;
/// The most memory the JSON values of one result may take (estimated by [`json_size`]).
const MAX_RESULT_BYTES: usize = 64 << 20;

/// Whether `sql` is only whitespace and comments.
fn is_blank_sql(sql: &str) -> bool {
    let mut rest = sql.trim_start();
    loop {
        if let Some(comment) = rest.strip_prefix("--") {
            rest = comment
                .split_once('\n')
                .map_or("", |(_, after)| after)
                .trim_start();
        } else if let Some(comment) = rest.strip_prefix("/*") {
            rest = comment
                .split_once("*/")
                .map_or("", |(_, after)| after)
                .trim_start();
        } else {
            return rest.is_empty() || rest.chars().all(|c| c == ';' || c.is_whitespace());
        }
    }
}

/// Roughly the memory `value` takes as a `serde_json::Value`: a blob becomes an array with one
/// JSON number per byte.
fn json_size(value: rusqlite::types::ValueRef<'_>) -> usize {
    use rusqlite::types::ValueRef;
    let value_size = std::mem::size_of::<serde_json::Value>();
    match value {
        ValueRef::Text(bytes) => bytes.len() + value_size,
        ValueRef::Blob(bytes) => (bytes.len() + 1) * value_size,
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => value_size,
    }
}

/// Runs one statement under the guard's current access and collects its result.
pub(crate) fn run_statement(
    connection: &Connection,
    guard: &Guard,
    sql: &str,
    params: &[Value],
) -> Result<SqlResult, SqlError> {
    if is_blank_sql(sql) {
        return Err(SqlError::Invalid(
            "the query contains no SQL statement".to_owned(),
        ));
    }
    let mut statement = connection
        .prepare(sql)
        .map_err(|error| classify_sql_error(guard, error))?;
    if guard_is_reader(guard) && !statement.readonly() {
        return Err(SqlError::Denied(
            "only the database owner may modify data".to_owned(),
        ));
    }
    let expected = statement.parameter_count();
    if expected != params.len() {
        return Err(SqlError::Invalid(format!(
            "the statement takes {expected} parameter(s), {} given",
            params.len()
        )));
    }
    let values = params
        .iter()
        .enumerate()
        .map(|(index, value)| {
            json_to_sql(value)
                .map_err(|message| SqlError::Invalid(format!("parameter {}: {message}", index + 1)))
        })
        .collect::<Result<Vec<_>, _>>()?;
    let columns: Vec<String> = statement.column_names().map(str::to_owned).collect();
    let mut result = SqlResult {
        columns,
        rows: Vec::new(),
        changes: 0,
    };
    let column_count = result.columns.len();
    let mut rows = statement
        .query(params_from_iter(values))
        .map_err(|error| classify_sql_error(guard, error))?;
    let mut result_bytes = 0usize;
    let too_large = || {
        SqlError::Invalid(format!(
            "the result is too large (more than {MAX_RESULT_ROWS} rows or about {} MiB as JSON): add a LIMIT or select fewer columns",
            MAX_RESULT_BYTES >> 20
        ))
    };
    while let Some(row) = rows
        .next()
        .map_err(|error| classify_sql_error(guard, error))?
    {
        if result.rows.len() >= MAX_RESULT_ROWS {
            return Err(too_large());
        }
        let mut values = Vec::with_capacity(column_count);
        for index in 0..column_count {
            let value = row
                .get_ref(index)
                .map_err(|error| classify_sql_error(guard, error))?;
            // The size is checked before the value is turned into JSON, which for a blob
            // takes far more memory than the blob itself.
            result_bytes += json_size(value);
            if result_bytes > MAX_RESULT_BYTES {
                return Err(too_large());
            }
            values.push(sql_to_json(value));
        }
        result.rows.push(values);
    }
    drop(rows);
    if !statement.readonly() {
        result.changes = connection.changes();
    }
    Ok(result)
}

fn guard_is_reader(guard: &Guard) -> bool {
    guard.access() == Access::Reader
}

fn classify_sql_error(guard: &Guard, error: rusqlite::Error) -> SqlError {
    if let Some(reason) = guard.take_refusal() {
        return SqlError::Denied(reason);
    }
    match &error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::OperationInterrupted =>
        {
            SqlError::Invalid(
                "the statement ran past the SQL time limit and was stopped".to_owned(),
            )
        }
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::AuthorizationForStatementDenied =>
        {
            SqlError::Denied(error.to_string())
        }
        rusqlite::Error::MultipleStatement => {
            SqlError::Invalid("only one statement per request is supported".to_owned())
        }
        _ => SqlError::Invalid(error.to_string()),
    }
}

/// Checks that `reducer` exists, may be called by this caller, and gets well-shaped arguments.
fn check_call(
    schema: &ModuleSchema,
    reducer: &str,
    args: &Value,
    caller_is_owner: bool,
) -> Result<(), CallError> {
    let definition = schema
        .reducer(reducer)
        .ok_or_else(|| CallError::NoSuchReducer(reducer.to_owned()))?;
    if LIFECYCLE_REDUCERS.contains(&reducer) {
        return Err(CallError::Lifecycle(reducer.to_owned()));
    }
    if !definition.public && !caller_is_owner {
        return Err(CallError::Private(reducer.to_owned()));
    }
    let signature = || {
        let params: Vec<String> = definition
            .args
            .iter()
            .map(|arg| format!("{}: {}", arg.name, arg.ty.describe()))
            .collect();
        format!("reducer `{reducer}` takes ({})", params.join(", "))
    };
    let Value::Array(values) = args else {
        return Err(CallError::InvalidArguments(format!(
            "arguments must be a JSON array; {}",
            signature()
        )));
    };
    if values.len() != definition.args.len() {
        return Err(CallError::InvalidArguments(format!(
            "{}, but {} argument(s) were given",
            signature(),
            values.len()
        )));
    }
    for (index, (value, arg)) in values.iter().zip(&definition.args).enumerate() {
        if !arg.ty.accepts(value) {
            return Err(CallError::InvalidArguments(format!(
                "argument {} (`{}`) of reducer `{reducer}` must be {}, got {value}",
                index + 1,
                arg.name,
                arg.ty.describe()
            )));
        }
    }
    Ok(())
}
