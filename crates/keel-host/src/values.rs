//! Conversions between JSON values and SQLite values.

use rusqlite::types::{Value as SqlValue, ValueRef};
use serde_json::Value;

/// Turns a JSON parameter into a SQLite value: numbers, strings, booleans (0/1), `null`, and
/// arrays of bytes (blobs). Anything else is refused with a message.
pub(crate) fn json_to_sql(value: &Value) -> Result<SqlValue, String> {
    Ok(match value {
        Value::Null => SqlValue::Null,
        Value::Bool(flag) => SqlValue::Integer(i64::from(*flag)),
        Value::Number(number) => match (number.as_i64(), number.as_f64()) {
            (Some(integer), _) => SqlValue::Integer(integer),
            (None, Some(_)) if number.is_u64() => return Err(format!("integer {number} does not fit in 64 signed bits")),
            (None, Some(real)) => SqlValue::Real(real),
            (None, None) => return Err(format!("number {number} is not representable")),
        },
        Value::String(text) => SqlValue::Text(text.clone()),
        Value::Array(items) => {
            let bytes: Option<Vec<u8>> = items.iter().map(|item| item.as_u64().and_then(|byte| u8::try_from(byte).ok())).collect();
            SqlValue::Blob(bytes.ok_or_else(|| "array parameters must be bytes (integers 0..=255)".to_owned())?)
        }
        Value::Object(_) => return Err("object parameters are not supported: pass numbers, strings, booleans, null or byte arrays".to_owned()),
    })
}

/// Turns a SQLite value into JSON; blobs become arrays of bytes, non-UTF-8 text is replaced.
pub(crate) fn sql_to_json(value: ValueRef<'_>) -> Value {
    match value {
        ValueRef::Null => Value::Null,
        ValueRef::Integer(integer) => Value::from(integer),
        ValueRef::Real(real) => {
            serde_json::Number::from_f64(real).map_or(Value::Null, Value::Number)
        }
        ValueRef::Text(text) => Value::String(String::from_utf8_lossy(text).into_owned()),
        ValueRef::Blob(bytes) => {
            Value::Array(bytes.iter().map(|byte| Value::from(*byte)).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn parameters_convert() {
        assert_eq!(json_to_sql(&json!(true)).unwrap(), SqlValue::Integer(1));
        assert_eq!(json_to_sql(&json!(-3)).unwrap(), SqlValue::Integer(-3));
        assert_eq!(json_to_sql(&json!(1.5)).unwrap(), SqlValue::Real(1.5));
        assert_eq!(
            json_to_sql(&json!([1, 255])).unwrap(),
            SqlValue::Blob(vec![1, 255])
        );
        assert!(json_to_sql(&json!([256])).is_err());
        assert!(json_to_sql(&json!({"a": 1})).is_err());
        assert!(json_to_sql(&json!(u64::MAX)).is_err());
    }

    #[test]
    fn results_convert() {
        assert_eq!(sql_to_json(ValueRef::Blob(&[0, 7])), json!([0, 7]));
        assert_eq!(sql_to_json(ValueRef::Real(2.5)), json!(2.5));
        assert_eq!(sql_to_json(ValueRef::Text(b"hi")), json!("hi"));
    }
}
