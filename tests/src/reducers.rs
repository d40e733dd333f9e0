//! Reducer calls: arguments of every type reach the module intact; wrong counts, types and
//! ranges are refused with 400 before the module runs; unknown and lifecycle reducers.

use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::{Value, json};

use crate::support::{expect_contains, expect_error};

/// What the `args` module stored, oldest first: (reducer, JSON text).
fn received(t: &Smoketest) -> anyhow::Result<Vec<(String, String)>> {
    let result = t.sql("SELECT reducer, value FROM received ORDER BY id")?;
    Ok(result
        .rows
        .into_iter()
        .map(|row| {
            (
                row[0].as_str().unwrap_or_default().to_owned(),
                row[1].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

fn pairs(expected: &[(&str, &str)]) -> Vec<(String, String)> {
    expected
        .iter()
        .map(|(reducer, value)| ((*reducer).to_owned(), (*value).to_owned()))
        .collect()
}

smoketest! {
    /// Scalar arguments arrive exactly, at the edges of their ranges.
    fn scalar_arguments_arrive_intact() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        t.call("take_i8", json!([-128]))?;
        t.call("take_u8", json!([255]))?;
        t.call("take_i32", json!([-2147483648i64]))?;
        t.call("take_i64", json!([i64::MAX]))?;
        t.call("take_u64", json!([u64::MAX]))?;
        t.call("take_f64", json!([-1.25]))?;
        t.call("take_bool", json!([true]))?;
        t.call("take_string", json!(["héllo \"wörld\" ✓"]))?;
        assert_eq!(
            received(&t)?,
            pairs(&[
                ("take_i8", "-128"),
                ("take_u8", "255"),
                ("take_i32", "-2147483648"),
                ("take_i64", "9223372036854775807"),
                ("take_u64", "18446744073709551615"),
                ("take_f64", "-1.25"),
                ("take_bool", "true"),
                ("take_string", "\"héllo \\\"wörld\\\" ✓\""),
            ])
        );
        Ok(())
    }
}

smoketest! {
    /// Options, lists, bytes, nested options and arbitrary JSON arrive as sent.
    fn compound_arguments_arrive_intact() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        t.call("take_opt_string", json!([null]))?;
        t.call("take_opt_string", json!(["some"]))?;
        t.call("take_vec_i64", json!([[1, -2, 3]]))?;
        t.call("take_vec_i64", json!([[]]))?;
        t.call("take_bytes", json!([[0, 127, 255]]))?;
        t.call("take_nested", json!([["a", null, "c"]]))?;
        t.call("take_json", json!([{"k": [1, {"x": null}], "b": true}]))?;
        assert_eq!(
            received(&t)?,
            pairs(&[
                ("take_opt_string", "null"),
                ("take_opt_string", "\"some\""),
                ("take_vec_i64", "[1,-2,3]"),
                ("take_vec_i64", "[]"),
                ("take_bytes", "[0,127,255]"),
                ("take_nested", "[\"a\",null,\"c\"]"),
                ("take_json", "{\"b\":true,\"k\":[1,{\"x\":null}]}"),
            ])
        );
        Ok(())
    }
}

smoketest! {
    /// Several arguments arrive in order; a reducer without arguments takes an empty array.
    fn several_and_no_arguments() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        t.call("take_many", json!([-7, "text", false, 0.5]))?;
        t.call("take_many", json!([1, "", true, null]))?;
        t.call("take_nothing", json!([]))?;
        assert_eq!(
            received(&t)?,
            pairs(&[("take_many", "[-7,\"text\",false,0.5]"), ("take_many", "[1,\"\",true,null]"), ("take_nothing", "null")])
        );
        Ok(())
    }
}

smoketest! {
    /// Too few or too many arguments are refused with 400 invalid_arguments, and nothing runs.
    fn wrong_argument_count_is_refused() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        for args in [json!([1, "text", true]), json!([1, "text", true, null, 5]), json!([])] {
            expect_error(t.call("take_many", args), ErrorKind::InvalidArguments)?;
        }
        expect_error(t.call("take_nothing", json!([1])), ErrorKind::InvalidArguments)?;
        assert_eq!(received(&t)?, Vec::new());
        Ok(())
    }
}

smoketest! {
    /// Arguments of the wrong JSON type are refused with 400 and the message names the expected type.
    fn wrong_argument_types_are_refused() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        let cases: [(&str, Value); 7] = [
            ("take_i64", json!(["five"])),
            ("take_i64", json!([1.5])),
            ("take_bool", json!([1])),
            ("take_string", json!([5])),
            ("take_vec_i64", json!([[1, "2"]])),
            ("take_bytes", json!([[1, 256]])),
            ("take_opt_string", json!([false])),
        ];
        for (reducer, args) in cases {
            expect_error(t.call(reducer, args), ErrorKind::InvalidArguments)?;
        }
        let message = expect_error(t.call("take_bool", json!(["yes"])), ErrorKind::InvalidArguments)?;
        expect_contains(&message, "boolean")?;
        assert_eq!(received(&t)?, Vec::new());
        Ok(())
    }
}

smoketest! {
    /// Integers outside the parameter's range are refused with 400 and the range in the message.
    fn integers_out_of_range_are_refused() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        let cases: [(&str, Value); 6] = [
            ("take_i8", json!([128])),
            ("take_i8", json!([-129])),
            ("take_u8", json!([-1])),
            ("take_u8", json!([256])),
            ("take_i32", json!([2147483648i64])),
            ("take_u64", json!([-1])),
        ];
        for (reducer, args) in cases {
            expect_error(t.call(reducer, args), ErrorKind::InvalidArguments)?;
        }
        let message = expect_error(t.call("take_u8", json!([300])), ErrorKind::InvalidArguments)?;
        expect_contains(&message, "0..=255")?;
        expect_error(t.call("take_i64", json!([u64::MAX])), ErrorKind::InvalidArguments)?;
        assert_eq!(received(&t)?, Vec::new());
        Ok(())
    }
}

smoketest! {
    /// Arguments that are not a JSON array are refused with 400 and never reach the module.
    fn arguments_must_be_an_array() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        let message = expect_error(t.call("take_i64", json!({"value": 1})), ErrorKind::InvalidArguments)?;
        expect_contains(&message, "array")?;
        expect_error(t.call("take_i64", json!(5)), ErrorKind::InvalidArguments)?;
        assert_eq!(received(&t)?, Vec::new());
        Ok(())
    }
}

smoketest! {
    /// An unknown reducer is 404 not_found, naming it.
    fn unknown_reducer_is_not_found() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let message = expect_error(t.call("incrementt", json!([1])), ErrorKind::NotFound)?;
        expect_contains(&message, "no reducer `incrementt`")?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n0")?;
        Ok(())
    }
}

smoketest! {
    /// `init` is a lifecycle reducer: clients calling it get 400 and it does not run.
    fn init_cannot_be_called_by_clients() {
        let t = Smoketest::builder().precompiled_module("lifecycle").build()?;
        let message = expect_error(t.call("init", json!([])), ErrorKind::BadRequest)?;
        expect_contains(&message, "lifecycle")?;
        t.assert_sql("SELECT count(*) AS n FROM event WHERE kind = 'init'", "n\n-\n1")?;
        Ok(())
    }
}

smoketest! {
    /// The schema lists each reducer's parameters with their types and ranges.
    fn schema_describes_reducer_parameters() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        let schema = t.describe()?.schema.expect("schema");
        let take_many = schema.reducer("take_many").expect("take_many");
        let described: Vec<String> = take_many.args.iter().map(|arg| format!("{}: {}", arg.name, arg.ty.describe())).collect();
        assert_eq!(described, ["a: integer", "b: string", "c: boolean", "d: number or null"]);
        let take_u8 = schema.reducer("take_u8").expect("take_u8");
        assert_eq!(take_u8.args[0].ty.describe(), "integer 0..=255");
        assert!(take_many.public);
        Ok(())
    }
}

smoketest! {
    /// A successful call reports the fuel it used and its duration.
    fn calls_report_fuel_used() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let result = t.call("increment", json!([1]))?;
        anyhow::ensure!(result.fuel_used > 0, "{result:?}");
        Ok(())
    }
}
