//! The environment a test runs in: which servers to use, where results go. The variable names
//! live in `keel_artifacts::env`, shared with the xtask that sets them.

use std::path::PathBuf;

use keel_artifacts::env::{
    FRESH_SERVER, POOL_DIR, REMOTE_SERVER, RESULTS_DIR, SHARED_SERVER_LOGS, SHARED_SERVERS,
    USE_SHARED_TARGET_DIR,
};

use crate::errors::SmoketestError;

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

/// This try of the running test, from 1: nextest's attempt number, else the xtask's.
pub(crate) fn attempt() -> u32 {
    [
        keel_artifacts::env::NEXTEST_ATTEMPT,
        keel_artifacts::env::ATTEMPT,
    ]
    .into_iter()
    .find_map(|name| non_empty(name).and_then(|value| value.trim().parse().ok()))
    .unwrap_or(1)
}

pub(crate) fn fresh_server() -> bool {
    flag(FRESH_SERVER, false)
}

pub(crate) fn use_shared_target_dir() -> bool {
    flag(USE_SHARED_TARGET_DIR, true)
}

/// Whether cargo can be run here: `$CARGO` when it names an existing file, else `cargo` on `PATH`.
/// Without it, the tests that build a module at run time are skipped (decided at listing time).
pub(crate) fn cargo_available() -> bool {
    if let Some(cargo) = std::env::var_os("CARGO").filter(|it| !it.is_empty()) {
        let cargo = PathBuf::from(cargo);
        if cargo.components().count() > 1 {
            return cargo.is_file();
        }
    }
    std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join("cargo").is_file()))
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
