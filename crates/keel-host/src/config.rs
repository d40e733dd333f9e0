//! Limits and settings of the runtime.

use std::time::Duration;

/// Limits applied to every module call and SQL statement.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Fuel (roughly, wasm instructions) one reducer call may use before it is stopped.
    pub fuel_per_call: u64,
    /// Largest linear memory a module instance may grow to, in bytes.
    pub max_memory_bytes: usize,
    /// Longest one SQL statement (or a reducer's SQL in total) may run.
    pub sql_time_limit: Duration,
    /// Whether commits wait for the disk (`synchronous=FULL`) rather than for the OS
    /// (`synchronous=NORMAL`, which survives a crash of the server but not of the machine).
    pub sync_full: bool,
}

impl Default for HostConfig {
    fn default() -> HostConfig {
        HostConfig {
            fuel_per_call: 1_000_000_000,
            max_memory_bytes: 64 << 20,
            sql_time_limit: Duration::from_secs(10),
            sync_full: true,
        }
    }
}
