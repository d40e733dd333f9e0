//! Text rendering of SQL results, as the `keel` CLI prints them (smoketests assert on it).
//!
//! ```text
//! id | name
//! ---+------
//! 1  | alice
//! 2  | NULL
//! ```
//!
//! Every column is as wide as its widest cell (header included); cells are joined with `" | "`,
//! the separator line uses `-` per column joined with `"-+-"`, trailing whitespace is trimmed on
//! every line, lines are joined with `'\n'` and there is no trailing newline.
//! A statement without columns prints `OK, N row(s) changed`.

use keel_api::http::SqlResult;
use serde_json::Value;

/// Renders a SQL result as an aligned table, or a change count when it has no columns.
pub fn format_sql(result: &SqlResult) -> String {
    if result.columns.is_empty() {
        return format!("OK, {} row(s) changed", result.changes);
    }
    let n_columns = result.columns.len();
    let cells: Vec<Vec<String>> = result
        .rows
        .iter()
        .map(|row| {
            (0..n_columns)
                .map(|column_idx| row.get(column_idx).map(format_value).unwrap_or_default())
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..n_columns)
        .map(|column_idx| {
            let header_width = result.columns[column_idx].chars().count();
            cells
                .iter()
                .map(|row| row[column_idx].chars().count())
                .fold(header_width, usize::max)
        })
        .collect();

    let mut lines = Vec::with_capacity(cells.len() + 2);
    lines.push(format_line(&result.columns, &widths));
    lines.push(
        widths
            .iter()
            .map(|width| "-".repeat(*width))
            .collect::<Vec<_>>()
            .join("-+-"),
    );
    lines.extend(cells.iter().map(|row| format_line(row, &widths)));
    lines.join("\n")
}

/// Renders one SQL value: integers as is, reals through `f64`'s `Display` (`2.0` prints `2`),
/// strings raw, `null` as `NULL`, byte arrays (blobs) as `0x` plus lowercase hex, anything
/// else as compact JSON.
pub fn format_value(value: &Value) -> String {
    match value {
        Value::Null => "NULL".to_owned(),
        Value::String(text) => text.clone(),
        Value::Number(number) if number.is_i64() || number.is_u64() => number.to_string(),
        Value::Number(number) => match number.as_f64() {
            Some(real) => real.to_string(),
            None => number.to_string(),
        },
        Value::Array(items) => match blob_bytes(items) {
            Some(bytes) => {
                let mut hex = String::with_capacity(2 + 2 * bytes.len());
                hex.push_str("0x");
                for byte in bytes {
                    hex.push_str(&format!("{byte:02x}"));
                }
                hex
            }
            None => value.to_string(),
        },
        Value::Bool(_) | Value::Object(_) => value.to_string(),
    }
}

fn format_line<S: AsRef<str>>(cells: &[S], widths: &[usize]) -> String {
    let padded: Vec<String> = cells
        .iter()
        .zip(widths)
        .map(|(cell, width)| format!("{:<width$}", cell.as_ref()))
        .collect();
    padded.join(" | ").trim_end().to_owned()
}

/// The bytes of an array of integers 0..=255, the JSON form of a blob.
fn blob_bytes(items: &[Value]) -> Option<Vec<u8>> {
    items
        .iter()
        .map(|item| item.as_u64().and_then(|byte| u8::try_from(byte).ok()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(columns: &[&str], rows: Value, expected: &str) {
        let rows = serde_json::from_value(rows).unwrap();
        let result = SqlResult {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
            changes: 0,
        };
        assert_eq!(format_sql(&result), expected);
    }

    #[test]
    fn one_column_one_row() {
        check(&["value"], json!([[5]]), "value\n-----\n5");
    }

    #[test]
    fn columns_are_as_wide_as_their_widest_cell() {
        check(
            &["id", "name"],
            json!([[1, "alice"], [22, null], [333, "bo"]]),
            "id  | name\n----+------\n1   | alice\n22  | NULL\n333 | bo",
        );
    }

    #[test]
    fn headers_can_be_wider_than_values() {
        check(
            &["n", "long_header"],
            json!([[1, 2]]),
            "n | long_header\n--+------------\n1 | 2",
        );
    }

    #[test]
    fn no_rows_prints_header_and_separator() {
        check(&["a", "bb"], json!([]), "a | bb\n--+---");
    }

    #[test]
    fn trailing_whitespace_is_trimmed_and_no_final_newline() {
        let table = {
            let rows = serde_json::from_value(json!([["x", ""], ["yyyy", "z"]])).unwrap();
            format_sql(&SqlResult {
                columns: vec!["a".into(), "b".into()],
                rows,
                changes: 0,
            })
        };
        assert_eq!(table, "a    | b\n-----+--\nx    |\nyyyy | z");
        assert!(table.lines().all(|line| line == line.trim_end()));
        assert!(!table.ends_with('\n'));
    }

    #[test]
    fn width_counts_characters_not_bytes() {
        check(
            &["name"],
            json!([["héllo"], ["ab"]]),
            "name\n-----\nhéllo\nab",
        );
    }

    #[test]
    fn short_rows_get_empty_cells() {
        check(&["a", "b"], json!([[1]]), "a | b\n--+--\n1 |");
    }

    #[test]
    fn statements_without_columns_print_the_change_count() {
        let result = SqlResult {
            columns: vec![],
            rows: vec![],
            changes: 3,
        };
        assert_eq!(format_sql(&result), "OK, 3 row(s) changed");
        assert_eq!(format_sql(&SqlResult::default()), "OK, 0 row(s) changed");
    }

    #[test]
    fn values_render_by_type() {
        let cases = [
            (json!(5), "5"),
            (json!(-7), "-7"),
            (json!(u64::MAX), "18446744073709551615"),
            (json!(1.5), "1.5"),
            (json!(2.0), "2"),
            (json!(-0.25), "-0.25"),
            (json!(1e21), "1000000000000000000000"),
            (json!("text with  spaces"), "text with  spaces"),
            (json!(""), ""),
            (json!(null), "NULL"),
            (json!(true), "true"),
            (json!([0, 1, 171, 255]), "0x0001abff"),
            (json!([]), "0x"),
            (json!([1, 256]), "[1,256]"),
            (json!(["a", 1]), "[\"a\",1]"),
            (json!({"k": [1, 2]}), "{\"k\":[1,2]}"),
        ];
        for (value, expected) in cases {
            assert_eq!(format_value(&value), expected, "for {value}");
        }
    }

    #[test]
    fn reals_parsed_from_server_json_keep_rust_display() {
        let value: Value = serde_json::from_str("2.0").unwrap();
        assert_eq!(format_value(&value), "2");
        let value: Value = serde_json::from_str("0.1").unwrap();
        assert_eq!(format_value(&value), "0.1");
    }
}
