//! Command-line flags.

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

/// How commits reach the disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub(crate) enum Sync {
    /// Commits wait for the disk (`synchronous=FULL`).
    Full,
    /// Commits wait for the OS (`synchronous=NORMAL`).
    Normal,
}

/// The Keel server: hosts wasm modules, one SQLite file per database.
#[derive(Debug, Parser)]
#[command(name = "keel-standalone", version)]
pub(crate) struct Flags {
    /// Directory for databases, modules, logs and bookkeeping (created if missing).
    #[arg(long)]
    pub(crate) data_dir: PathBuf,
    /// Address to listen on; port 0 picks a free port, printed in the ready line.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub(crate) listen: String,
    /// Serve https:// with this PEM certificate chain (with --tls-key).
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE")]
    pub(crate) tls_key: Option<PathBuf>,
    /// Also write the ready JSON line to this file (atomically) once listening.
    #[arg(long)]
    pub(crate) ready_file: Option<PathBuf>,
    /// Shut down when standard input closes: a parent that dies takes the server with it.
    #[arg(long)]
    pub(crate) exit_on_stdin_close: bool,
    /// Fuel (roughly, wasm instructions) one reducer call may use.
    #[arg(long, default_value_t = 1_000_000_000)]
    pub(crate) fuel_per_call: u64,
    /// Largest linear memory of a module instance, in MiB.
    #[arg(long, default_value_t = 64)]
    pub(crate) max_memory_mib: usize,
    /// Longest a SQL statement (or a reducer's SQL) may run, in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub(crate) sql_time_limit_ms: u64,
    /// `full`: commits wait for the disk; `normal`: commits survive a server crash but maybe
    /// not a power loss, and are faster.
    #[arg(long, value_enum, default_value_t = Sync::Full)]
    pub(crate) sync: Sync,
    /// Largest request body (module upload), in MiB.
    #[arg(long, default_value_t = 16)]
    pub(crate) max_body_mib: usize,
    /// Most database files open at once; the least recently used idle ones are closed beyond
    /// it (each open database holds three file descriptors).
    #[arg(long, default_value_t = 256)]
    pub(crate) max_open_databases: usize,
    /// Most databases one identity may own (created or received).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) max_databases_per_identity: usize,
    /// Most identities one client address may create per minute (a burst of this many, then
    /// refilled evenly).
    #[arg(long, default_value_t = 1_000)]
    pub(crate) max_new_identities_per_minute: u32,
    /// Most connections open at once; 0 picks the open-file limit less what databases need.
    /// Beyond it, the connection idle the longest (never one with a request running) is
    /// closed to admit a new one.
    #[arg(long, default_value_t = 0)]
    pub(crate) max_connections: usize,
    /// Seconds a client has to send a request's headers (also how long a connection may sit
    /// idle before its first request).
    #[arg(long, default_value_t = 10)]
    pub(crate) header_timeout_secs: u64,
    /// Seconds a client has to send a request's body.
    #[arg(long, default_value_t = 30)]
    pub(crate) body_timeout_secs: u64,
    /// MiB of request bodies the server holds in memory at once, over all requests; an
    /// upload beyond it waits for room (up to the body timeout), then gets a 503.
    #[arg(long, default_value_t = 128)]
    pub(crate) max_buffered_body_mib: usize,
    /// Log level on stderr: error, warn, info, debug, trace.
    #[arg(long, default_value = "info")]
    pub(crate) log_level: tracing::Level,
}
