//! Running one SQL statement under the guard, with time and size limits, and collecting its
//! result. Used by clients' SQL (through `Database::sql`) and modules' SQL (the host's `sql`
//! function) alike.

pub(crate) mod connection;
pub(crate) mod deadline;
mod functions;

use rusqlite::{Connection, ErrorCode, params_from_iter};
use serde_json::Value;

use crate::errors::SqlError;
use crate::guard::{Access, Guard};
use crate::values::{json_to_sql, sql_to_json};
use connection::Limits;
use deadline::Deadline;

/// The most rows one statement may return.
const MAX_RESULT_ROWS: usize = 100_000;
/// The most memory the JSON values of one result may take (estimated by [`json_size`]).
const MAX_RESULT_BYTES: usize = 64 << 20;

/// The result of one statement: rows for queries, a change count for writes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rows {
    /// Column names.
    pub columns: Vec<String>,
    /// Rows of JSON values: numbers, strings, `null`, and arrays of bytes for blobs.
    pub rows: Vec<Vec<Value>>,
    /// Rows changed by an INSERT, UPDATE or DELETE.
    pub changes: u64,
}

/// What a statement runs against: the connection with its guard, limits and deadline.
#[derive(Clone, Copy)]
pub(crate) struct Session<'a> {
    pub(crate) connection: &'a Connection,
    pub(crate) guard: &'a Guard,
    pub(crate) limits: &'a Limits,
    pub(crate) deadline: &'a Deadline,
}

/// Whether `sql` is only whitespace and comments.
pub(crate) fn is_blank_sql(sql: &str) -> bool {
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
    let value_size = std::mem::size_of::<Value>();
    match value {
        ValueRef::Text(bytes) => bytes.len() + value_size,
        ValueRef::Blob(bytes) => (bytes.len() + 1) * value_size,
        ValueRef::Null | ValueRef::Integer(_) | ValueRef::Real(_) => value_size,
    }
}

/// Prepares `sql` under the guard's current access, with the limits of that access: the
/// checks every statement passes before it runs.
pub(crate) fn prepare<'c>(
    session: Session<'c>,
    sql: &str,
) -> Result<rusqlite::Statement<'c>, SqlError> {
    if is_blank_sql(sql) {
        return Err(SqlError::Invalid(
            "the query contains no SQL statement".to_owned(),
        ));
    }
    let access = session.guard.access();
    session
        .limits
        .apply(session.connection, access)
        .map_err(|error| classify_sql_error(session, error))?;
    let statement = session
        .connection
        .prepare(sql)
        .map_err(|error| classify_sql_error(session, error))?;
    // Other identities may only ask questions: a statement that could write, or that returns
    // no rows (REINDEX, ANALYZE of nothing), is not a question.
    if access == Access::Reader && (!statement.readonly() || statement.column_count() == 0) {
        return Err(SqlError::Denied(
            "only the database owner may modify data; other identities may only run queries"
                .to_owned(),
        ));
    }
    Ok(statement)
}

/// Runs one statement under the guard's current access and collects its result.
pub(crate) fn run_statement(
    session: Session<'_>,
    sql: &str,
    params: &[Value],
) -> Result<Rows, SqlError> {
    if session.deadline.passed() {
        return Err(time_limit_error(session.deadline));
    }
    let mut statement = prepare(session, sql)?;
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
    let mut result = Rows {
        columns,
        rows: Vec::new(),
        changes: 0,
    };
    let column_count = result.columns.len();
    let mut rows = statement
        .query(params_from_iter(values))
        .map_err(|error| classify_sql_error(session, error))?;
    let mut result_bytes = 0usize;
    let too_large = || {
        SqlError::Invalid(format!(
            "the result is too large (more than {MAX_RESULT_ROWS} rows or about {} MiB as JSON): add a LIMIT or select fewer columns",
            MAX_RESULT_BYTES >> 20
        ))
    };
    while let Some(row) = rows
        .next()
        .map_err(|error| classify_sql_error(session, error))?
    {
        if result.rows.len() >= MAX_RESULT_ROWS {
            return Err(too_large());
        }
        let mut values = Vec::with_capacity(column_count);
        for index in 0..column_count {
            let value = row
                .get_ref(index)
                .map_err(|error| classify_sql_error(session, error))?;
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
        result.changes = session.connection.changes();
    }
    Ok(result)
}

/// The error for work stopped at the deadline.
pub(crate) fn time_limit_error(deadline: &Deadline) -> SqlError {
    if deadline.stopping() {
        SqlError::Invalid("the server is shutting down; the statement was stopped".to_owned())
    } else {
        SqlError::Invalid("the statement ran past the SQL time limit and was stopped".to_owned())
    }
}

/// Turns SQLite's error into what the caller is told: the guard's reason for a refusal, plain
/// words for the time limit, sizes and syntax.
pub(crate) fn classify_sql_error(session: Session<'_>, error: rusqlite::Error) -> SqlError {
    if let Some(reason) = session.guard.take_refusal() {
        return SqlError::Denied(reason);
    }
    match &error {
        rusqlite::Error::SqliteFailure(failure, _)
            if failure.code == ErrorCode::OperationInterrupted =>
        {
            time_limit_error(session.deadline)
        }
        rusqlite::Error::SqliteFailure(failure, _) if failure.code == ErrorCode::TooBig => {
            let limit = if session.guard.access() == Access::Reader {
                connection::READER_MAX_VALUE_BYTES
            } else {
                connection::OWNER_MAX_VALUE_BYTES
            };
            SqlError::Invalid(format!(
                "a string or blob is too big: at most {} MiB{}",
                limit >> 20,
                if session.guard.access() == Access::Reader {
                    " for identities other than the owner"
                } else {
                    ""
                }
            ))
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
