//! The environment a test runs in: which servers to use, where results go.

use std::path::PathBuf;

use crate::errors::SmoketestError;

/// Remote mode: the URL of a server the run does not control.
pub(crate) const REMOTE_SERVER: &str = "KEEL_REMOTE_SERVER";
/// Shared local servers started by the xtask (comma-separated URLs).
pub(crate) const SHARED_SERVERS: &str = "KEEL_SMOKETEST_SERVERS";
/// Their log files, same order.
pub(crate) const SHARED_SERVER_LOGS: &str = "KEEL_SMOKETEST_SERVER_LOGS";
/// The cross-process database pool of the shared servers.
pub(crate) const POOL_DIR: &str = "KEEL_SMOKETEST_POOL_DIR";
/// Where each test writes its result record.
pub(crate) const RESULTS_DIR: &str = "KEEL_SMOKETEST_RESULTS_DIR";
/// Every test gets a fresh server process (the peer baseline of the benchmark).
pub(crate) const FRESH_SERVER: &str = "KEEL_SMOKETEST_FRESH_SERVER";
/// Shared (`true`, default) or isolated (`false`) target dir for `module_code()` builds.
pub(crate) const USE_SHARED_TARGET_DIR: &str = "USE_SHARED_TARGET_DIR";

/// The remote server, when the run is in remote mode.
pub(crate) fn remote_server() -> Option<String> {
    non_empty(REMOTE_SERVER)
}

/// Whether the run is in remote mode.
pub fn is_remote() -> bool {
    remote_server().is_some()
}

/// Shared servers handed over by the xtask, with their log files.
pub(crate) fn shared_servers() -> Vec<(String, Option<PathBuf>)> {
    let Some(urls) = non_empty(SHARED_SERVERS) else {
        return Vec::new();
    };
    let logs: Vec<String> = non_empty(SHARED_SERVER_LOGS)
        .map(|logs| logs.split(',').map(str::to_owned).collect())
        .unwrap_or_default();
    urls.split(',')
        .enumerate()
        .map(|(index, url)| (url.trim().to_owned(), logs.get(index).map(PathBuf::from)))
        .collect()
}

pub(crate) fn pool_dir() -> Option<PathBuf> {
    non_empty(POOL_DIR).map(PathBuf::from)
}

pub(crate) fn results_dir() -> Option<PathBuf> {
    non_empty(RESULTS_DIR).map(PathBuf::from)
}

pub(crate) fn fresh_server() -> bool {
    flag(FRESH_SERVER, false)
}

pub(crate) fn use_shared_target_dir() -> bool {
    flag(USE_SHARED_TARGET_DIR, true)
}

/// The workspace root.
pub(crate) fn workspace_root() -> Result<PathBuf, SmoketestError> {
    keel_artifacts::workspace_root().ok_or(SmoketestError::NoWorkspace)
}

fn non_empty(name: &str) -> Option<String> {
    std::env::var(name)
        .ok()
        .filter(|value| !value.trim().is_empty())
}

fn flag(name: &str, default: bool) -> bool {
    match non_empty(name).map(|value| value.to_ascii_lowercase()) {
        Some(value) => matches!(value.as_str(), "1" | "true" | "yes" | "on"),
        None => default,
    }
}
