//! Scenario `hostile-sql`: a non-owner's SQL that does huge work inside a single VM step.
//!
//! For each query of the class (string search, LIKE/GLOB with huge patterns, `replace` on strings built
//! with printf widths, json functions on huge strings) a fresh server with `--sql-time-limit-ms` runs it
//! for another identity while the owner calls a reducer; figures: the hostile request's duration and
//! the owner's call latency (how long the database was held), both against the reader's limit (a fifth
//! of `--sql-time-limit-ms`) plus a second. Then SIGTERM while such a request runs: seconds to exit, goal 2 s.

use std::{thread, time::Duration};

use serde_json::json;

use crate::{
    process,
    stress::{Findings, StressContext, report::Figure, timed::timed},
};

/// The hostile queries, by label; each does its work inside one call of one SQL function.
pub(crate) const QUERIES: &[(&str, &str)] = &[
    (
        "instr",
        "SELECT instr(printf('%.*c', 2000000, 'a'), printf('%.*c', 1000000, 'a') || 'b')",
    ),
    (
        // Within a 1 MiB size limit, and still O(n·m) inside one step.
        "instr-1mb",
        "SELECT instr(printf('%.*c', 1000000, 'a'), printf('%.*c', 500000, 'a') || 'b')",
    ),
    (
        "like",
        "SELECT printf('%.*c', 1000000, 'a') LIKE replace(printf('%.*c', 20000, 'x'), 'x', '%a') || 'b'",
    ),
    (
        "glob",
        "SELECT printf('%.*c', 1000000, 'a') GLOB replace(printf('%.*c', 20000, 'x'), 'x', '*a') || 'b'",
    ),
    (
        "replace",
        "SELECT length(replace(printf('%.*c', 2000000, 'a'), printf('%.*c', 1000000, 'a') || 'b', 'c'))",
    ),
    (
        "json",
        r#"SELECT length(json_patch('{' || replace(printf('%.*c', 40000, 'x'), 'x', '"a":1,') || '"a":1}', '{' || replace(printf('%.*c', 40000, 'x'), 'x', '"b":1,') || '"b":1}'))"#,
    ),
];
/// How long the scenario waits for one request before it counts it as cut off.
const REQUEST_BOUND: Duration = Duration::from_secs(30);
/// The owner's call starts this long after the hostile request, so it finds the database busy.
const OWNER_DELAY: Duration = Duration::from_millis(300);
/// How long the server gets to exit after SIGTERM before it is killed.
const SIGTERM_BOUND: Duration = Duration::from_secs(10);
/// SIGTERM is sent this long after the hostile request.
const SIGTERM_DELAY: Duration = Duration::from_millis(500);

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let wasm = ctx.module("counter")?;
    // The server gives identities other than the owner a fifth of the limit (at least 100 ms).
    let reader_limit = (ctx.sql_time_limit / 5).max(Duration::from_millis(100));
    let goal = (reader_limit + Duration::from_secs(1)).as_secs_f64();
    findings.note(format!(
        "--sql-time-limit-ms {}: a reader's SQL gets {} ms, so the goal is {goal:.2} s",
        ctx.sql_time_limit.as_millis(),
        reader_limit.as_millis()
    ));
    let mut crashed = Vec::new();
    // The query that held its server longest, for the SIGTERM phase.
    let mut longest: Option<(&str, &str, Duration)> = None;
    for (label, query) in QUERIES {
        process::check_interrupted()?;
        let mut server =
            ctx.start_server(&format!("hostile-sql-{label}"), &ctx.sql_time_limit_args())?;
        let owner = server.new_identity()?.with_timeout(REQUEST_BOUND);
        let reader = server.new_identity()?.with_timeout(REQUEST_BOUND);
        owner.publish("victim", &wasm, false)?;
        owner.call("victim", "increment", &json!([1]))?;
        let (hostile, owner_call) = thread::scope(|scope| {
            let hostile =
                scope.spawn(|| timed(REQUEST_BOUND, || reader.sql("victim", query).map(drop)));
            thread::sleep(OWNER_DELAY);
            let owner_call = timed(REQUEST_BOUND, || {
                owner.call("victim", "increment", &json!([1])).map(drop)
            });
            (hostile.join(), owner_call)
        });
        let hostile =
            hostile.map_err(|_| anyhow::anyhow!("the hostile request's thread panicked"))?;
        if let Some(how) = server.exited() {
            // No timing: the requests ended because the server did.
            findings.note(format!("{label}: the server died: {how}"));
            crashed.push(*label);
            continue;
        }
        if longest.is_none_or(|(_, _, elapsed)| elapsed < hostile.elapsed) {
            longest = Some((label, query, hostile.elapsed));
        }
        findings.note(format!(
            "{label}: hostile request answered {}; owner's call answered {}",
            hostile.answer, owner_call.answer
        ));
        findings.figure(
            Figure::goal(
                &format!("{label}: hostile request duration"),
                hostile.elapsed.as_secs_f64(),
                "s",
                goal,
            )
            .cut_off(hostile.cut_off),
        );
        findings.figure(
            Figure::goal(
                &format!("{label}: owner's call latency (database held)"),
                owner_call.elapsed.as_secs_f64(),
                "s",
                goal,
            )
            .cut_off(owner_call.cut_off),
        );
        drop(server);
    }
    findings.figure(Figure::goal(
        "queries that crashed the server",
        crashed.len() as f64,
        "count",
        0.0,
    ));

    process::check_interrupted()?;
    let (label, query) = longest.map_or(QUERIES[0], |(label, query, _)| (label, query));
    findings.note(format!("SIGTERM while `{label}` runs"));
    let mut server = ctx.start_server("hostile-sql-sigterm", &ctx.sql_time_limit_args())?;
    let owner = server.new_identity()?;
    let reader = server.new_identity()?.with_timeout(REQUEST_BOUND);
    owner.publish("victim", &wasm, false)?;
    let termination = thread::scope(|scope| {
        let hostile =
            scope.spawn(|| timed(REQUEST_BOUND, || reader.sql("victim", query).map(drop)));
        thread::sleep(SIGTERM_DELAY);
        let termination = server.terminate(SIGTERM_BOUND);
        let _ = hostile.join();
        termination
    });
    findings.figure(
        Figure::goal(
            "SIGTERM to exit during the longest query",
            termination.elapsed.as_secs_f64(),
            "s",
            2.0,
        )
        .cut_off(termination.killed),
    );
    if termination.killed {
        findings.note(format!(
            "the server was killed {}s after SIGTERM",
            SIGTERM_BOUND.as_secs()
        ));
    }
    Ok(())
}
