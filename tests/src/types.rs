//! Column types: every type round-trips through reducers and SQL; booleans are 0/1, blobs are
//! bytes, defaults apply, extremes survive.

use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::{Value, json};

use crate::support::{expect_contains, expect_error};

const TYPED: &str = "SELECT int_value, real_value, text_value, bool_value, blob_value, opt_int, opt_real, opt_text, opt_bool, opt_blob FROM typed ORDER BY id";

smoketest! {
    /// Every column type round-trips: values set and values null, blobs as byte arrays, booleans as 0/1.
    fn every_column_type_round_trips() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        t.call("insert", json!([-5, 2.25, "text ✓", true, [0, 1, 255], 7, -0.5, "opt", false, [9]]))?;
        t.call("insert", json!([0, 0.0, "", false, [], null, null, null, null, null]))?;
        let rows = t.sql(TYPED)?.rows;
        let expected: Vec<Vec<Value>> = vec![
            vec![json!(-5), json!(2.25), json!("text ✓"), json!(1), json!([0, 1, 255]), json!(7), json!(-0.5), json!("opt"), json!(0), json!([9])],
            vec![json!(0), json!(0.0), json!(""), json!(0), json!([]), Value::Null, Value::Null, Value::Null, Value::Null, Value::Null],
        ];
        assert_eq!(rows, expected);
        Ok(())
    }
}

smoketest! {
    /// The table format shows booleans as 0/1 and blobs as hex.
    fn booleans_and_blobs_in_tables() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        t.call("insert", json!([1, 1.0, "a", true, [222, 173, 190, 239], null, null, null, true, null]))?;
        t.assert_sql(
            "SELECT bool_value, blob_value, opt_bool, opt_blob FROM typed",
            "bool_value | blob_value | opt_bool | opt_blob\n-----------+------------+----------+---------\n1          | 0xdeadbeef | 1        | NULL",
        )?;
        Ok(())
    }
}

smoketest! {
    /// A row inserted with defaults reads each column's declared default.
    fn defaults_apply_per_type() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        t.call("insert_defaults", json!([]))?;
        t.assert_sql(
            "SELECT int_value, real_value, text_value, bool_value, opt_text FROM defaults",
            "int_value | real_value | text_value | bool_value | opt_text\n----------+------------+------------+------------+---------\n42        | 1.5        | hello      | 1          | NULL",
        )?;
        let schema = t.describe()?.schema.expect("schema");
        let defaults = schema.table("defaults").expect("defaults");
        assert_eq!(defaults.column("text_value").and_then(|column| column.default.clone()), Some(json!("hello")));
        Ok(())
    }
}

smoketest! {
    /// i64::MIN/MAX, f64::MAX, unicode and empty blobs survive the guest's own round trip and
    /// read the same through SQL.
    fn extremes_survive() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        t.call("check_extremes", json!([]))?;
        let rows = t.sql("SELECT int_value, real_value, text_value, blob_value FROM typed ORDER BY id")?.rows;
        assert_eq!(
            rows,
            vec![
                vec![json!(i64::MIN), json!(f64::MAX), json!("ünïcødé \"quoted\""), json!([0, 1, 127, 128, 255])],
                vec![json!(i64::MAX), json!(-0.25), json!(""), json!([])],
            ]
        );
        Ok(())
    }
}

smoketest! {
    /// A reducer reading a row gets the same JSON the SQL endpoint returns.
    fn guest_reads_match_sql_reads() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        t.call("insert", json!([3, 0.5, "z", false, [1, 2], null, 1.0, null, null, []]))?;
        t.call("roundtrip", json!([1]))?;
        let logged: Value = serde_json::from_str(&t.logs(1)?[0])?;
        let sql = t.sql("SELECT * FROM typed WHERE id = 1")?;
        assert_eq!(logged["columns"], json!(sql.columns));
        assert_eq!(logged["rows"], json!(sql.rows));
        Ok(())
    }
}

smoketest! {
    /// Booleans are stored as 0 or 1 only: other integers are refused by the column's check.
    fn booleans_only_hold_zero_or_one() {
        let t = Smoketest::builder().precompiled_module("types").build()?;
        let message = expect_error(t.sql("INSERT INTO defaults (bool_value) VALUES (2)"), ErrorKind::SqlError)?;
        expect_contains(&message, "CHECK constraint failed")?;
        expect_error(t.call("insert", json!([1, 1.0, "a", 1, [], null, null, null, null, null])), ErrorKind::InvalidArguments)?;
        t.assert_sql("SELECT count(*) AS n FROM defaults", "n\n-\n0")?;
        Ok(())
    }
}
