//! `keel-standalone`: the Keel server. Hosts wasm modules, each database one SQLite file under
//! the data dir, behind the `/v1` HTTP API of `keel_api::http`.
//!
//! Start-up: lock the data dir, bind, print the ready line (and write `--ready-file`), serve
//! until SIGTERM, SIGINT or (with `--exit-on-stdin-close`) the end of standard input.

mod api_error;
mod auth;
mod connections;
mod control;
mod flags;
mod limits;
mod logs;
mod routes;
mod shutdown;
mod state;
mod tls;

use std::io::Write;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;

fn main() -> ExitCode {
    let flags = flags::Flags::parse();
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_max_level(flags.log_level)
        .with_ansi(false)
        .init();
    match run(flags) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Stack of every thread that compiles or runs modules and SQL: wasmi's compiler and
/// SQLite's parser recurse, and an overflow aborts every database at once (an instrumented
/// build overflows tokio's default 2 MiB on a plain publish).
const THREAD_STACK_BYTES: usize = 16 << 20;
/// File handles kept for the server itself (logs, modules, control.sqlite, the listener)
/// beyond the three each open database holds.
const RESERVED_FILE_HANDLES: usize = 128;
/// How long blocking work may still run when the server has stopped serving.
const RUNTIME_SHUTDOWN: Duration = Duration::from_millis(200);

fn run(flags: flags::Flags) -> anyhow::Result<()> {
    // Past a file size limit (`ulimit -f`), a write fails with EFBIG, which SQLite reports as
    // a full disk, instead of SIGXFSZ killing every database at once.
    // SAFETY: setting a signal's disposition to ignore runs no code of ours.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_stack_size(THREAD_STACK_BYTES)
        .build()
        .context("start the async runtime")?;
    let result = runtime.block_on(serve(flags));
    // A statement stopped at shutdown may still be unwinding on a blocking thread: its
    // transaction rolls back whether or not the process waits for it.
    runtime.shutdown_timeout(RUNTIME_SHUTDOWN);
    result
}

/// Raises the soft limit of open files to the hard limit, and returns the limit.
fn raise_open_file_limit() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return 1024;
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit);
            }
        }
    }
    usize::try_from(limit.rlim_cur).unwrap_or(usize::MAX)
}

/// The connection cap: what `--max-connections` says, or the open-file limit less what the
/// databases and the server itself need.
fn max_connections(flags: &flags::Flags, open_file_limit: usize) -> usize {
    if flags.max_connections > 0 {
        return flags.max_connections;
    }
    let reserved = 3 * flags.max_open_databases + RESERVED_FILE_HANDLES;
    open_file_limit.saturating_sub(reserved).max(16)
}

async fn serve(flags: flags::Flags) -> anyhow::Result<()> {
    let open_file_limit = raise_open_file_limit();
    let tls = match (&flags.tls_cert, &flags.tls_key) {
        (Some(cert), Some(key)) => Some(tls::acceptor(cert, key)?),
        (None, None) => None,
        _ => anyhow::bail!("--tls-cert and --tls-key go together"),
    };
    let state = state::AppState::open(&flags)
        .with_context(|| format!("open data dir {}", flags.data_dir.display()))?;
    let listener = tokio::net::TcpListener::bind(&flags.listen)
        .await
        .with_context(|| format!("bind {}", flags.listen))?;
    let addr = listener.local_addr().context("read the bound address")?;
    let ready = keel_api::ReadyEvent { addr }.to_line();
    if let Some(ready_file) = &flags.ready_file {
        write_atomically(ready_file, &ready)
            .with_context(|| format!("write ready file {}", ready_file.display()))?;
    }
    {
        let mut stdout = std::io::stdout().lock();
        writeln!(stdout, "{ready}").context("print the ready line")?;
        stdout.flush().context("print the ready line")?;
    }
    tracing::info!(%addr, data_dir = %flags.data_dir.display(), "keel-standalone ready");
    let app = routes::router(state.clone());
    let limits = connections::ConnectionLimits {
        max_connections: max_connections(&flags, open_file_limit),
        header_timeout: Duration::from_secs(flags.header_timeout_secs.max(1)),
        tls,
    };
    connections::serve(
        listener,
        app,
        limits,
        shutdown::signal(flags.exit_on_stdin_close),
        || state.runtime().stop_everything(),
    )
    .await;
    tracing::info!("shut down");
    Ok(())
}

/// Writes `contents` to `path` through a temp file in the same directory, so a reader sees
/// either no file or the whole line.
fn write_atomically(path: &std::path::Path, contents: &str) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => std::path::Path::new("."),
    };
    let mut file = tempfile::Builder::new()
        .prefix(".ready")
        .permissions(std::fs::Permissions::from_mode(0o644))
        .tempfile_in(dir)?;
    file.write_all(contents.as_bytes())?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}
