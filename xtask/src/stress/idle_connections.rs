//! Scenario `idle-connections`: many idle TCP connections and one half-sent header.
//!
//! With the connections open, `ping` from a new client and a reducer call on an existing keep-alive
//! connection must be answered without a 5xx. Figures: handles the server holds (information), whether
//! ping and the call were answered, and how long the server kept the half-sent header open (goal 30 s).

use std::{
    io::{ErrorKind, Read, Write},
    net::{SocketAddr, TcpStream},
    time::{Duration, Instant},
};

use anyhow::Context;
use serde_json::json;

use crate::{
    process,
    stress::{Findings, StressContext, os, report::Figure, timed::timed},
};

/// Handles this process keeps for itself beyond the idle connections.
const RESERVED_HANDLES: u64 = 200;
/// Consecutive failed connects after which no more are tried.
const MAX_CONSECUTIVE_FAILURES: usize = 50;
/// Time one connect may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Time ping and the call may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The half-sent header must be closed by the server within this time.
const HEADER_BOUND: Duration = Duration::from_secs(30);

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let open_file_limit = os::raise_open_file_limit();
    let wasm = ctx.module("counter")?;
    let mut server = ctx.start_server("idle-connections", &[])?;
    let addr: SocketAddr = server
        .addr()
        .parse()
        .with_context(|| format!("parse the server address {}", server.addr()))?;
    let caller = server.new_identity()?.with_timeout(REQUEST_TIMEOUT);
    caller.publish("busy", &wasm, false)?;
    // The caller's connection is now open and kept alive in its pool.
    caller.call("busy", "increment", &json!([1]))?;
    let handles_before = os::open_handles(server.pid()).context("count the server's handles")?;

    let mut half_sent = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)
        .context("connect for the half-sent header")?;
    half_sent
        .write_all(format!("GET /v1/ping HTTP/1.1\r\nHost: {addr}\r\n").as_bytes())
        .context("send half a header")?;
    let half_sent_at = Instant::now();

    let wanted = ctx.idle_connections as usize;
    let room = usize::try_from(open_file_limit.saturating_sub(RESERVED_HANDLES)).unwrap_or(0);
    if wanted > room {
        findings.note(format!(
            "this process may open {open_file_limit} files, so only {room} idle connections are tried"
        ));
    }
    let mut idle = Vec::with_capacity(wanted.min(room));
    let mut n_failed = 0;
    let mut consecutive_failures = 0;
    while idle.len() + n_failed < wanted.min(room)
        && consecutive_failures < MAX_CONSECUTIVE_FAILURES
    {
        process::check_interrupted()?;
        match TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT) {
            Ok(stream) => {
                idle.push(stream);
                consecutive_failures = 0;
            }
            Err(_) => {
                n_failed += 1;
                consecutive_failures += 1;
            }
        }
    }
    let handles = os::open_handles(server.pid()).context("count the server's handles")?;
    findings.note(format!(
        "{} idle connections open, {n_failed} failed to connect; the server held {handles_before} handles before",
        idle.len()
    ));
    findings.figure(Figure::info(
        "handles the server holds",
        handles as f64,
        "count",
    ));
    if let Ok(server_limit) = os::open_file_limit(server.pid()) {
        findings.note(format!(
            "the server may open {server_limit} files; one client process reaches that only if the server's limit is below its own"
        ));
    }

    let pinger = server.client()?.with_timeout(REQUEST_TIMEOUT);
    let ping = timed(REQUEST_TIMEOUT, || pinger.ping());
    findings.note(format!("ping from a new client answered {}", ping.answer));
    findings.figure(Figure::goal(
        "ping unanswered",
        f64::from(u8::from(ping.answer != "200")),
        "count",
        0.0,
    ));
    let call = timed(REQUEST_TIMEOUT, || {
        caller.call("busy", "increment", &json!([1]))
    });
    findings.note(format!(
        "the keep-alive caller's call answered {}",
        call.answer
    ));
    findings.figure(Figure::goal(
        "keep-alive call unanswered or 5xx",
        f64::from(u8::from(call.answer != "200")),
        "count",
        0.0,
    ));

    server.ensure_running()?;
    let held = wait_for_close(&mut half_sent, half_sent_at, HEADER_BOUND);
    drop(idle);
    findings.figure(
        Figure::goal(
            "half-sent header held open",
            held.elapsed.as_secs_f64(),
            "s",
            HEADER_BOUND.as_secs_f64(),
        )
        .cut_off(!held.closed),
    );
    Ok(())
}

/// How long the server kept a connection open.
struct Held {
    elapsed: Duration,
    /// The server closed it (else the bound ran out).
    closed: bool,
}

/// Reads until the server closes `stream` (EOF or reset) or `bound` since `since` runs out.
fn wait_for_close(stream: &mut TcpStream, since: Instant, bound: Duration) -> Held {
    let mut buffer = [0u8; 4096];
    loop {
        let left = bound.saturating_sub(since.elapsed());
        if left.is_zero() || process::was_interrupted() {
            return Held {
                elapsed: since.elapsed(),
                closed: false,
            };
        }
        if stream.set_read_timeout(Some(left)).is_err() {
            return Held {
                elapsed: since.elapsed(),
                closed: true,
            };
        }
        match stream.read(&mut buffer) {
            // An answer (a 408, say) is fine; the close that follows is what counts.
            Ok(n) if n > 0 => continue,
            Err(err)
                if matches!(
                    err.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                continue;
            }
            Ok(_) | Err(_) => {
                return Held {
                    elapsed: since.elapsed(),
                    closed: true,
                };
            }
        }
    }
}
