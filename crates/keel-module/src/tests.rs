//! Host-side tests of the generated code: the schema `module!` describes and its dispatch.

use keel_api::schema::{ArgSchema, ArgType, ModuleSchema, ReducerSchema};
use serde_json::json;

use crate::__private::Outcome;
use crate::prelude::*;

crate::module! {
    tables = [
        Table::public("counter")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("value").default(0)),
        Table::private("secret")
            .column(col::<String>("name").unique())
            .column(col::<Option<i64>>("age"))
            .index("secret_by_age", &["age"]),
    ];
    /// Doc comments are allowed.
    reducer none(_ctx) { Ok(()) }
    #[private]
    /// In any order with `#[private]`.
    reducer echo(_ctx, text: String, times: u8,) {
        Err(text.repeat(times.into()).into())
    }
    #[allow(clippy::needless_pass_by_value)]
    reducer many(_ctx, a: Option<i64>, b: Vec<bool>, c: serde_json::Value, d: f64) {
        bail!("{a:?} {b:?} {c} {d}")
    }
    reducer calls_another(ctx) { echo(ctx, "x".to_owned(), 2) }
}

fn call(name: &str, args: serde_json::Value) -> Outcome {
    __keel_dispatch(&Ctx::new(), name, args.to_string().as_bytes())
}

fn integer(min: i64, max: u64) -> ArgType {
    ArgType::Integer { min, max }
}

fn arg(name: &str, ty: ArgType) -> ArgSchema {
    ArgSchema {
        name: name.to_owned(),
        ty,
    }
}

#[test]
fn schema_lists_tables_and_reducers_in_order() {
    let schema: ModuleSchema = __keel_schema();
    let table_names: Vec<&str> = schema
        .tables
        .iter()
        .map(|table| table.name.as_str())
        .collect();
    assert_eq!(table_names, ["counter", "secret"]);
    assert!(schema.tables[0].public && !schema.tables[1].public);
    assert_eq!(schema.tables[1].indexes[0].columns, ["age"]);
    let reducer = |name: &str, public, args| ReducerSchema {
        name: name.to_owned(),
        public,
        args,
    };
    assert_eq!(
        schema.reducers,
        [
            reducer("none", true, vec![]),
            reducer(
                "echo",
                false,
                vec![arg("text", ArgType::Text), arg("times", integer(0, 255))]
            ),
            reducer(
                "many",
                true,
                vec![
                    arg(
                        "a",
                        ArgType::Optional(Box::new(integer(i64::MIN, i64::MAX as u64)))
                    ),
                    arg("b", ArgType::List(Box::new(ArgType::Boolean))),
                    arg("c", ArgType::Any),
                    arg("d", ArgType::Real),
                ],
            ),
            reducer("calls_another", true, vec![]),
        ]
    );
}

#[test]
fn dispatch_decodes_arguments_and_reports_results() {
    assert_eq!(call("none", json!([])), Outcome::Ok);
    assert_eq!(
        call("echo", json!(["ab", 3])),
        Outcome::ReducerError("ababab".to_owned())
    );
    assert_eq!(
        call("many", json!([null, [true], {"k": 1}, 1.5])),
        Outcome::ReducerError(r#"None [true] {"k":1} 1.5"#.to_owned())
    );
    assert_eq!(
        call("calls_another", json!([])),
        Outcome::ReducerError("xx".to_owned())
    );
}

#[test]
fn unknown_reducers_are_reported() {
    assert_eq!(
        call("nope", json!([])),
        Outcome::NoSuchReducer("nope".to_owned())
    );
}

#[test]
fn bad_arguments_name_the_signature() {
    let invalid = |name, args| match call(name, args) {
        Outcome::InvalidArguments(message) => message,
        other => panic!("expected invalid arguments, got {other:?}"),
    };
    assert_eq!(
        invalid("echo", json!(["a", "b"])),
        "reducer `echo` expects (text: String, times: u8): argument `times`: invalid type: string \"b\", expected u8"
    );
    assert_eq!(
        invalid("echo", json!(["a", 256])),
        "reducer `echo` expects (text: String, times: u8): argument `times`: invalid value: integer `256`, expected u8"
    );
    assert_eq!(
        invalid("echo", json!(["a"])),
        "reducer `echo` expects (text: String, times: u8): expected 2 arguments, got 1"
    );
    assert_eq!(
        invalid("none", json!([1])),
        "reducer `none` expects (): expected 0 arguments, got 1"
    );
    assert_eq!(
        invalid("none", json!({})),
        "reducer `none` expects (): arguments must be a JSON array, got {}"
    );
    assert!(invalid("many", json!([1, [], null, "x"])).starts_with("reducer `many` expects (a: Option<i64>, b: Vec<bool>, c: serde_json::Value, d: f64): argument `d`: invalid type: string"));
    let not_json = __keel_dispatch(&Ctx::new(), "none", b"[1,");
    assert!(
        matches!(not_json, Outcome::InvalidArguments(message) if message.contains("arguments are not valid JSON"))
    );
}

#[test]
fn host_functions_panic_outside_the_host() {
    let panic = std::panic::catch_unwind(|| Ctx::new().timestamp_micros()).unwrap_err();
    assert_eq!(
        panic.downcast_ref::<String>().map(String::as_str),
        Some("keel-module only runs inside the Keel host")
    );
}
