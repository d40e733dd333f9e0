//! [`Ctx`]: what a reducer can ask the host for (caller, time, SQL), and row decoding.

use keel_api::http::SqlResult;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::errors::{Result, SqlError};
use crate::sys;

/// The context of one reducer call. Every statement runs inside the call's transaction, which
/// commits when the reducer returns `Ok` and rolls back on `Err` or a panic.
///
/// SQL parameters are positional (`?1`, `?2`, ...) and given as anything that serializes to a
/// JSON array: a tuple `(a, b)`, `()` for none, a `Vec<serde_json::Value>`, or a single value
/// (sent as a one-element list). Blobs go as `Vec<u8>` (a JSON array of bytes) inside a
/// tuple: `(bytes,)`, since a bare `Vec` is the parameter list itself.
#[derive(Debug)]
pub struct Ctx {
    _private: (),
}

impl Ctx {
    /// Only the SDK's runtime creates contexts.
    pub(crate) fn new() -> Ctx {
        Ctx { _private: () }
    }

    /// The caller's identity (hex).
    pub fn sender(&self) -> String {
        String::from_utf8_lossy(&sys::caller_identity()).into_owned()
    }

    /// Microseconds since the Unix epoch at the start of the call.
    pub fn timestamp_micros(&self) -> i64 {
        sys::timestamp_micros()
    }

    /// Runs an INSERT, UPDATE or DELETE and returns the number of changed rows.
    pub fn execute(&self, sql: &str, params: impl Serialize) -> Result<u64, SqlError> {
        Ok(self.query_raw(sql, params)?.changes)
    }

    /// Runs a query and decodes each row (a JSON array) into `T`, usually a tuple:
    /// `ctx.query::<(i64, String)>("SELECT id, name FROM person", ())`. A one-column row also
    /// decodes into the bare value: `ctx.query::<i64>("SELECT id FROM person", ())`.
    pub fn query<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl Serialize,
    ) -> Result<Vec<T>, SqlError> {
        decode_rows(sql, self.query_raw(sql, params)?)
    }

    /// Like [`Ctx::query`], for exactly one row; zero or several rows are an error.
    pub fn query_one<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl Serialize,
    ) -> Result<T, SqlError> {
        let mut rows = self.query::<T>(sql, params)?;
        match rows.len() {
            1 => Ok(rows.remove(0)),
            n_rows => Err(SqlError::new(format!(
                "expected exactly one row from `{sql}`, got {n_rows}"
            ))),
        }
    }

    /// Like [`Ctx::query`], for at most one row; several rows are an error.
    pub fn query_opt<T: DeserializeOwned>(
        &self,
        sql: &str,
        params: impl Serialize,
    ) -> Result<Option<T>, SqlError> {
        let mut rows = self.query::<T>(sql, params)?;
        match rows.len() {
            0 => Ok(None),
            1 => Ok(Some(rows.remove(0))),
            n_rows => Err(SqlError::new(format!(
                "expected at most one row from `{sql}`, got {n_rows}"
            ))),
        }
    }

    /// Runs any statement and returns the host's answer as is.
    pub fn query_raw(&self, sql: &str, params: impl Serialize) -> Result<SqlResult, SqlError> {
        let params = params_json(params)?;
        match sys::sql(sql, &params) {
            Ok(bytes) => serde_json::from_slice(&bytes).map_err(|error| {
                SqlError::new(format!("the host sent an unreadable SQL result: {error}"))
            }),
            Err(message) => Err(SqlError::new(
                String::from_utf8_lossy(&message).into_owned(),
            )),
        }
    }
}

/// Serializes SQL parameters to a JSON array: `null` (from `()`) is no parameters, an array is
/// the list itself, anything else one parameter.
pub(crate) fn params_json(params: impl Serialize) -> Result<Vec<u8>, SqlError> {
    let value = serde_json::to_value(params)
        .map_err(|error| SqlError::new(format!("cannot serialize SQL parameters: {error}")))?;
    let list = match value {
        Value::Null => Value::Array(Vec::new()),
        Value::Array(items) => Value::Array(items),
        other => Value::Array(vec![other]),
    };
    Ok(serde_json::to_vec(&list).expect("a JSON value always serializes"))
}

/// Decodes every row of `result` into `T`; a one-column row may also decode as its value.
pub(crate) fn decode_rows<T: DeserializeOwned>(
    sql: &str,
    result: SqlResult,
) -> Result<Vec<T>, SqlError> {
    result
        .rows
        .into_iter()
        .enumerate()
        .map(|(row_idx, row)| {
            decode_row(row).map_err(|error| {
                SqlError::new(format!(
                    "cannot decode row {row_idx} of `{sql}` as {}: {error}",
                    std::any::type_name::<T>()
                ))
            })
        })
        .collect()
}

fn decode_row<T: DeserializeOwned>(mut row: Vec<Value>) -> Result<T, serde_json::Error> {
    if row.len() != 1 {
        return serde_json::from_value(Value::Array(row));
    }
    match T::deserialize(Value::Array(vec![row[0].clone()])) {
        Ok(value) => Ok(value),
        Err(as_row) => serde_json::from_value(row.remove(0)).map_err(|_| as_row),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn result(rows: Value) -> SqlResult {
        SqlResult {
            columns: vec![],
            rows: serde_json::from_value(rows).unwrap(),
            changes: 0,
        }
    }

    #[test]
    fn rows_decode_into_tuples() {
        let rows: Vec<(i64, String, Option<f64>)> =
            decode_rows("q", result(json!([[1, "a", null], [2, "b", 1.5]]))).unwrap();
        assert_eq!(
            rows,
            vec![(1, "a".to_owned(), None), (2, "b".to_owned(), Some(1.5))]
        );
    }

    #[test]
    fn one_column_rows_decode_into_bare_values_or_tuples() {
        assert_eq!(
            decode_rows::<i64>("q", result(json!([[7], [8]]))).unwrap(),
            vec![7, 8]
        );
        assert_eq!(
            decode_rows::<(i64,)>("q", result(json!([[7]]))).unwrap(),
            vec![(7,)]
        );
        assert_eq!(
            decode_rows::<Option<String>>("q", result(json!([[null], ["x"]]))).unwrap(),
            vec![None, Some("x".to_owned())]
        );
        assert_eq!(
            decode_rows::<Vec<u8>>("q", result(json!([[[1, 2]]]))).unwrap(),
            vec![vec![1, 2]]
        );
    }

    #[test]
    fn undecodable_rows_name_the_row_and_the_query() {
        let error = decode_rows::<(i64, i64)>("SELECT a FROM t", result(json!([[1, 2], ["x", 2]])))
            .unwrap_err();
        assert!(
            error.message().starts_with(
                "cannot decode row 1 of `SELECT a FROM t` as (i64, i64): invalid type: string \"x\""
            ),
            "{error}"
        );
        let error = decode_rows::<i64>("q", result(json!([["x"]]))).unwrap_err();
        assert!(error.message().contains("invalid type"), "{error}");
    }

    #[test]
    fn params_become_a_json_array() {
        let text = |params| String::from_utf8(params).unwrap();
        assert_eq!(text(params_json(()).unwrap()), "[]");
        assert_eq!(
            text(params_json((1, "a", None::<i64>)).unwrap()),
            r#"[1,"a",null]"#
        );
        assert_eq!(text(params_json((5,)).unwrap()), "[5]");
        assert_eq!(text(params_json(5).unwrap()), "[5]");
        assert_eq!(
            text(params_json(vec![json!(true), json!([1, 2])]).unwrap()),
            "[true,[1,2]]"
        );
        assert_eq!(text(params_json((vec![1u8, 2],)).unwrap()), "[[1,2]]");
    }
}
