//! Temporary directories. They live under `target/smoketest/tmp` (so a failed test's directory
//! can be moved to `target/smoketest/failed` with a rename) and are registered, so that an
//! interrupted run removes them too.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::errors::SmoketestError;

static LIVE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A directory removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct TempDir {
    path: PathBuf,
    keep: bool,
}

impl TempDir {
    /// Creates `<base>/<prefix>-<pid>-<random>`.
    pub(crate) fn new(prefix: &str) -> Result<TempDir, SmoketestError> {
        let base = base_dir();
        std::fs::create_dir_all(&base)
            .map_err(SmoketestError::io(format!("create {}", base.display())))?;
        let name = format!("{prefix}-{}-{}", std::process::id(), random_suffix());
        let path = base.join(name);
        std::fs::create_dir(&path)
            .map_err(SmoketestError::io(format!("create {}", path.display())))?;
        lock().push(path.clone());
        Ok(TempDir { path, keep: false })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the directory to `target/smoketest/failed/<name>` and keeps it; returns the new path.
    pub(crate) fn keep_as_failed(&mut self, name: &str) -> PathBuf {
        let failed = base_dir().with_file_name("failed");
        let target = failed.join(name);
        let _ = std::fs::create_dir_all(&failed);
        let _ = std::fs::remove_dir_all(&target);
        let kept = match std::fs::rename(&self.path, &target) {
            Ok(()) => target,
            Err(_) => self.path.clone(),
        };
        self.keep = true;
        unregister(&self.path);
        kept
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if !self.keep {
            let _ = std::fs::remove_dir_all(&self.path);
            unregister(&self.path);
        }
    }
}

/// Removes every live temp dir (on interrupt).
pub(crate) fn remove_all() {
    for path in lock().drain(..) {
        let _ = std::fs::remove_dir_all(path);
    }
}

fn base_dir() -> PathBuf {
    match keel_artifacts::workspace_root() {
        Some(root) => keel_artifacts::smoketest_dir(&root).join("tmp"),
        None => std::env::temp_dir().join("keel-smoketest"),
    }
}

fn unregister(path: &Path) {
    lock().retain(|live| live != path);
}

fn lock() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    LIVE_DIRS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Eight random hex characters.
pub(crate) fn random_suffix() -> String {
    let mut bytes = [0u8; 4];
    getrandom::fill(&mut bytes).expect("the OS random source works");
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
