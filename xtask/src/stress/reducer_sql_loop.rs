//! Scenario `reducer-sql-loop`: a reducer that runs millions of cheap statements through the host's SQL call.
//!
//! Each statement ends far inside the limit, so only a deadline kept per call, across statements, stops it.
//! Figure: seconds the call ran, against `--sql-time-limit-ms` plus a second.

use std::time::Duration;

use serde_json::json;

use crate::stress::{Findings, StressContext, report::Figure, timed::timed};

/// Statements the reducer runs: several seconds' worth, in one call.
const STATEMENTS: u64 = 6_000_000;
/// Fuel of the scenario's server: far more than the statements need.
const FUEL_PER_CALL: u64 = 100_000_000_000;
/// How long the scenario waits for the call.
const CALL_BOUND: Duration = Duration::from_secs(60);

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let wasm = ctx.module("sql-loop")?;
    // Fuel enough for every statement: only the time limit may end the call.
    let mut args = ctx.sql_time_limit_args();
    args.extend(["--fuel-per-call".to_owned(), FUEL_PER_CALL.to_string()]);
    let mut server = ctx.start_server("reducer-sql-loop", &args)?;
    let owner = server.new_identity()?.with_timeout(CALL_BOUND);
    owner.publish("looper", &wasm, false)?;
    let goal = (ctx.sql_time_limit + Duration::from_secs(1)).as_secs_f64();
    let call = timed(CALL_BOUND, || {
        owner.call("looper", "select_many", &json!([STATEMENTS]))
    });
    findings.note(format!(
        "select_many({STATEMENTS}) answered {} after {:.2}s",
        call.answer,
        call.elapsed.as_secs_f64()
    ));
    findings.figure(
        Figure::goal(
            "seconds the call ran",
            call.elapsed.as_secs_f64(),
            "s",
            goal,
        )
        .cut_off(call.cut_off),
    );
    server.ensure_running()?;
    let after = timed(CALL_BOUND, || owner.call("looper", "ok", &json!([])));
    findings.note(format!(
        "a normal call afterwards answered {}",
        after.answer
    ));
    Ok(())
}
