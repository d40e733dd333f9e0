//! Scenario `sigterm-under-load`: 64 clients call reducers in a loop, then the server gets SIGTERM.
//!
//! Figure: seconds from SIGTERM until the server exits; goal 2 s.

use std::{
    sync::atomic::{AtomicBool, AtomicU64, Ordering},
    thread,
    time::{Duration, Instant},
};

use serde_json::json;

use crate::{
    process,
    stress::{Findings, StressContext, report::Figure},
};

/// Concurrent callers, each with its own connection.
const CLIENTS: usize = 64;
/// How long the load runs before SIGTERM (at most; `--seconds` may shorten it).
const LOAD_BEFORE_SIGTERM: Duration = Duration::from_secs(3);
/// How long the server gets to exit before it is killed.
const SIGTERM_BOUND: Duration = Duration::from_secs(10);
/// Time one call may take.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let wasm = ctx.module("counter")?;
    let mut server = ctx.start_server("sigterm-under-load", &[])?;
    let owner = server.new_identity()?;
    owner.publish("loaded", &wasm, false)?;
    let callers: Vec<_> = (0..CLIENTS)
        .map(|_| {
            // A client of its own per caller: its own connection pool, so 64 connections.
            let client = keel_client::Client::new(server.url())?
                .with_token(owner.token().unwrap_or_default())
                .with_timeout(CALL_TIMEOUT);
            anyhow::Ok(client)
        })
        .collect::<anyhow::Result<_>>()?;
    let stop = AtomicBool::new(false);
    let n_calls = AtomicU64::new(0);
    let n_failed = AtomicU64::new(0);
    let load = LOAD_BEFORE_SIGTERM.min(Duration::from_secs(ctx.seconds.max(1)));
    let bound = Instant::now() + load + SIGTERM_BOUND + CALL_TIMEOUT;
    let termination = thread::scope(|scope| {
        for caller in &callers {
            let (stop, n_calls, n_failed) = (&stop, &n_calls, &n_failed);
            scope.spawn(move || {
                while !stop.load(Ordering::Relaxed) && Instant::now() < bound {
                    match caller.call("loaded", "increment", &json!([1])) {
                        Ok(_) => n_calls.fetch_add(1, Ordering::Relaxed),
                        Err(_) => n_failed.fetch_add(1, Ordering::Relaxed),
                    };
                }
            });
        }
        let started = Instant::now();
        while started.elapsed() < load && !process::was_interrupted() {
            thread::sleep(Duration::from_millis(50));
        }
        let calls_before = n_calls.load(Ordering::Relaxed);
        let failed_before = n_failed.load(Ordering::Relaxed);
        let termination = server.terminate(SIGTERM_BOUND);
        stop.store(true, Ordering::Relaxed);
        (termination, calls_before, failed_before)
    });
    let (termination, calls_before, failed_before) = termination;
    process::check_interrupted()?;
    findings.note(format!(
        "{calls_before} calls answered and {failed_before} failed in {:.1}s of load before SIGTERM",
        load.as_secs_f64()
    ));
    findings.figure(
        Figure::goal(
            "SIGTERM to exit under load",
            termination.elapsed.as_secs_f64(),
            "s",
            2.0,
        )
        .cut_off(termination.killed),
    );
    Ok(())
}
