//! Scenario `log-flood`: another identity calls a made-up reducer on the owner's database 1,100 times.
//!
//! The owner's module log must hold what the module and its owner did, so the figure is the number of
//! records in it that are the other identity's failures; goal 0.

use std::time::Duration;

use serde_json::json;

use crate::{
    process,
    stress::{Findings, StressContext, report::Figure},
};

/// Calls by the other identity: more than the 1,000 records a log keeps.
const CALLS: usize = 1_100;
/// The made-up reducer; the other identity chose the name, so it marks its records.
const MADE_UP_REDUCER: &str = "flood_by_another_identity";
/// Records the owner reads back.
const RECORDS_READ: usize = 1_000;

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let wasm = ctx.module("counter")?;
    let mut server = ctx.start_server("log-flood", &[])?;
    let owner = server.new_identity()?;
    let other = server.new_identity()?.with_timeout(Duration::from_secs(10));
    owner.publish("owned", &wasm, false)?;
    owner.call("owned", "get", &json!([]))?;
    let mut n_refused = 0;
    for _ in 0..CALLS {
        process::check_interrupted()?;
        if other.call("owned", MADE_UP_REDUCER, &json!([])).is_err() {
            n_refused += 1;
        }
    }
    findings.note(format!(
        "{n_refused} of {CALLS} calls of `{MADE_UP_REDUCER}` were refused"
    ));
    server.ensure_running()?;
    let records = owner.logs("owned", RECORDS_READ)?;
    let n_foreign = records
        .iter()
        .filter(|it| {
            it.reducer.as_deref() == Some(MADE_UP_REDUCER) || it.message.contains(MADE_UP_REDUCER)
        })
        .count();
    let owner_record_kept = records.iter().any(|it| it.message.contains("counter = "));
    findings.note(format!(
        "the owner's log holds {} records; its own `get` record {}",
        records.len(),
        if owner_record_kept {
            "is still there"
        } else {
            "was pushed out"
        }
    ));
    findings.figure(Figure::goal(
        "owner's log records that are another's failures",
        n_foreign as f64,
        "count",
        0.0,
    ));
    Ok(())
}
