//! Fixture `args`: table `received(reducer, value)`: each `take_*` reducer stores the JSON of what it got (i8/u8/i32/i64/u64/f64/bool/String/Option/Vec/bytes/Value/several/none).

use keel_module::prelude::*;
use keel_module::serde::Serialize;
use keel_module::serde_json::{self, Value};

/// Stores `value` as JSON text under the reducer's name.
fn record(ctx: &Ctx, reducer: &str, value: impl Serialize) -> Result<()> {
    let json = serde_json::to_string(&value)?;
    ctx.execute(
        "INSERT INTO received (reducer, value) VALUES (?1, ?2)",
        (reducer, json),
    )?;
    Ok(())
}

keel_module::module! {
    tables = [
        Table::public("received")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("reducer"))
            .column(col::<String>("value")),
    ];
    reducer take_i8(ctx, value: i8) { record(ctx, "take_i8", value) }
    reducer take_u8(ctx, value: u8) { record(ctx, "take_u8", value) }
    reducer take_i32(ctx, value: i32) { record(ctx, "take_i32", value) }
    reducer take_i64(ctx, value: i64) { record(ctx, "take_i64", value) }
    reducer take_u64(ctx, value: u64) { record(ctx, "take_u64", value) }
    reducer take_f64(ctx, value: f64) { record(ctx, "take_f64", value) }
    reducer take_bool(ctx, value: bool) { record(ctx, "take_bool", value) }
    reducer take_string(ctx, value: String) { record(ctx, "take_string", value) }
    reducer take_opt_string(ctx, value: Option<String>) { record(ctx, "take_opt_string", value) }
    reducer take_vec_i64(ctx, value: Vec<i64>) { record(ctx, "take_vec_i64", value) }
    reducer take_bytes(ctx, value: Vec<u8>) { record(ctx, "take_bytes", value) }
    reducer take_nested(ctx, value: Vec<Option<String>>) { record(ctx, "take_nested", value) }
    reducer take_json(ctx, value: Value) { record(ctx, "take_json", value) }
    /// Several arguments: stored as one JSON array.
    reducer take_many(ctx, a: i64, b: String, c: bool, d: Option<f64>) {
        record(ctx, "take_many", (a, b, c, d))
    }
    /// No arguments: stores `null`.
    reducer take_nothing(ctx) { record(ctx, "take_nothing", ()) }
}
