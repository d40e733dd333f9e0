//! Scenario `anonymous-bodies`: connections without a token, each sending most of a large publish body, then holding.
//!
//! Figure: the server's peak RSS growth in MiB; goal under 256 MiB. The scenario stops sending once the
//! growth passes a safety cap, so a server that buffers everything cannot exhaust the machine.

use std::{
    io::Write,
    net::{SocketAddr, TcpStream},
    sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering},
    thread,
    time::{Duration, Instant},
};

use anyhow::Context;

use crate::{
    process,
    stress::{Findings, StressContext, os, report::Figure},
};

/// The body size each request declares: the server's default `--max-body-mib`.
const DECLARED_BYTES: usize = 16 << 20;
/// What each connection sends of it before holding.
const SENT_BYTES: usize = 15 << 20;
/// One write.
const CHUNK_BYTES: usize = 256 << 10;
/// Threads that write; each serves a share of the connections, round robin.
const SENDER_THREADS: usize = 8;
/// A write the server does not take within this time means it stopped reading (which is fine).
const WRITE_TIMEOUT: Duration = Duration::from_secs(1);
/// How long the connections hold after sending, while RSS is watched.
const HOLD: Duration = Duration::from_secs(2);
/// Growth at which the scenario stops sending (four times the goal).
const SAFETY_CAP_MIB: f64 = 1024.0;
/// The goal.
const GOAL_MIB: f64 = 256.0;
/// Bound on the whole sending phase.
const SEND_BOUND: Duration = Duration::from_secs(90);

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let open_file_limit = os::raise_open_file_limit();
    let mut server = ctx.start_server("anonymous-bodies", &[])?;
    let addr: SocketAddr = server
        .addr()
        .parse()
        .with_context(|| format!("parse the server address {}", server.addr()))?;
    let pid = server.pid();
    let baseline_kib = os::rss_kib(pid).context("read the server's RSS")?;
    let n_connections = ctx.connections as usize;
    let limit = usize::try_from(open_file_limit).unwrap_or(usize::MAX);
    if n_connections + 100 > limit {
        findings.note(format!(
            "this process may open only {open_file_limit} files; connections beyond that fail"
        ));
    }
    let peak_kib = AtomicU64::new(baseline_kib);
    let stop = AtomicBool::new(false);
    let capped = AtomicBool::new(false);
    let n_refused = AtomicUsize::new(0);
    let n_stopped_reading = AtomicUsize::new(0);
    let bytes_sent = AtomicU64::new(0);
    let request_head = |idx: usize| {
        format!(
            "POST /v1/databases/anonymous-{idx}?clear=false HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/wasm\r\nContent-Length: {DECLARED_BYTES}\r\n\r\n"
        )
    };
    let started = Instant::now();
    let sampling_done = AtomicBool::new(false);
    thread::scope(|scope| {
        let sampler = scope.spawn(|| {
            while !sampling_done.load(Ordering::Relaxed) {
                if let Ok(rss) = os::rss_kib(pid) {
                    peak_kib.fetch_max(rss, Ordering::Relaxed);
                    if mib(rss.saturating_sub(baseline_kib)) > SAFETY_CAP_MIB {
                        capped.store(true, Ordering::Relaxed);
                        stop.store(true, Ordering::Relaxed);
                    }
                }
                thread::sleep(Duration::from_millis(50));
            }
        });
        let senders: Vec<_> = (0..SENDER_THREADS)
            .map(|sender_idx| {
                let (stop, n_refused, n_stopped_reading, bytes_sent) =
                    (&stop, &n_refused, &n_stopped_reading, &bytes_sent);
                let request_head = &request_head;
                scope.spawn(move || {
                    let mut streams = Vec::new();
                    for idx in (sender_idx..n_connections).step_by(SENDER_THREADS) {
                        if stop.load(Ordering::Relaxed) || process::was_interrupted() {
                            break;
                        }
                        match open(addr, &request_head(idx)) {
                            Ok(stream) => streams.push((stream, 0usize, true)),
                            Err(_) => {
                                n_refused.fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    let chunk = vec![0u8; CHUNK_BYTES];
                    loop {
                        let mut wrote = false;
                        for (stream, sent, open) in &mut streams {
                            if !*open || *sent >= SENT_BYTES || stop.load(Ordering::Relaxed) {
                                continue;
                            }
                            let size = CHUNK_BYTES.min(SENT_BYTES - *sent);
                            match stream.write_all(&chunk[..size]) {
                                Ok(()) => {
                                    *sent += size;
                                    bytes_sent.fetch_add(size as u64, Ordering::Relaxed);
                                    wrote = true;
                                }
                                Err(_) => {
                                    *open = false;
                                    n_stopped_reading.fetch_add(1, Ordering::Relaxed);
                                }
                            }
                        }
                        if !wrote || started.elapsed() > SEND_BOUND || process::was_interrupted() {
                            break;
                        }
                    }
                    streams
                })
            })
            .collect();
        let streams: Vec<_> = senders
            .into_iter()
            .filter_map(|it| it.join().ok())
            .collect();
        let held = Instant::now();
        while held.elapsed() < HOLD && !process::was_interrupted() {
            thread::sleep(Duration::from_millis(50));
        }
        drop(streams);
        sampling_done.store(true, Ordering::Relaxed);
        let _ = sampler.join();
    });
    process::check_interrupted()?;
    server.ensure_running()?;
    let growth = mib(peak_kib
        .load(Ordering::Relaxed)
        .saturating_sub(baseline_kib));
    findings.note(format!(
        "{n_connections} connections: {} not opened, {} stopped being read; {:.0} MiB sent in {:.1}s; baseline RSS {:.0} MiB",
        n_refused.load(Ordering::Relaxed),
        n_stopped_reading.load(Ordering::Relaxed),
        mib(bytes_sent.load(Ordering::Relaxed) / 1024),
        started.elapsed().as_secs_f64(),
        mib(baseline_kib),
    ));
    let capped = capped.load(Ordering::Relaxed);
    if capped {
        findings.note(format!(
            "sending stopped when RSS grew past the safety cap of {SAFETY_CAP_MIB:.0} MiB"
        ));
    }
    findings.figure(Figure::goal("server RSS growth", growth, "MiB", GOAL_MIB).cut_off(capped));
    Ok(())
}

/// Connects and sends the request head; the body follows in chunks.
fn open(addr: SocketAddr, head: &str) -> std::io::Result<TcpStream> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    stream.set_write_timeout(Some(WRITE_TIMEOUT))?;
    stream.write_all(head.as_bytes())?;
    Ok(stream)
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}
