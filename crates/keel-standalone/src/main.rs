//! `keel-standalone`: the Keel server. Hosts wasm modules, each database one SQLite file under
//! the data dir, behind the `/v1` HTTP API of `keel_api::http`.
//!
//! Start-up: lock the data dir, bind, print the ready line (and write `--ready-file`), serve
//! until SIGTERM, SIGINT or (with `--exit-on-stdin-close`) the end of standard input.

mod api_error;
mod auth;
mod control;
mod flags;
mod logs;
mod routes;
mod shutdown;
mod state;

use std::io::Write;
use std::process::ExitCode;

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

fn run(flags: flags::Flags) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("start the async runtime")?;
    runtime.block_on(serve(flags))
}

/// Raises the soft limit of open files to the hard limit: every open database holds three.
fn raise_open_file_limit() {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit and setrlimit only read and write the struct passed to them.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) == 0 && limit.rlim_cur < limit.rlim_max
        {
            limit.rlim_cur = limit.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &limit);
        }
    }
}

async fn serve(flags: flags::Flags) -> anyhow::Result<()> {
    raise_open_file_limit();
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
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown::signal(flags.exit_on_stdin_close))
        .await
        .context("serve HTTP")?;
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
