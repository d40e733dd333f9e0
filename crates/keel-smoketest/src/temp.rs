//! Temporary directories (`tempfile`). They live under `target/smoketest/tmp`, so a failed test's
//! directory can be moved to `target/smoketest/failed` with a rename, and are registered, so that
//! an interrupted run removes them too. Outside a workspace both live under the system temp dir,
//! in `keel-smoketest/`.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::errors::SmoketestError;

static LIVE_DIRS: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// A directory removed on drop unless kept.
#[derive(Debug)]
pub(crate) struct TempDir {
    dir: Option<tempfile::TempDir>,
    path: PathBuf,
}

impl TempDir {
    /// Creates `<tmp>/<prefix>-<pid>-<random>`.
    pub(crate) fn new(prefix: &str) -> Result<TempDir, SmoketestError> {
        let base = scratch_dir().join("tmp");
        std::fs::create_dir_all(&base)
            .map_err(SmoketestError::io(format!("create {}", base.display())))?;
        let dir = tempfile::Builder::new()
            .prefix(&format!("{prefix}-{}-", std::process::id()))
            .tempdir_in(&base)
            .map_err(SmoketestError::io(format!(
                "create a directory in {}",
                base.display()
            )))?;
        let path = dir.path().to_owned();
        lock().push(path.clone());
        Ok(TempDir {
            dir: Some(dir),
            path,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Moves the directory to `<failed>/<name>` and keeps it; returns where it now is.
    pub(crate) fn keep_as_failed(&mut self, name: &str) -> PathBuf {
        let Some(dir) = self.dir.take() else {
            return self.path.clone();
        };
        let path = dir.keep();
        unregister(&path);
        let failed = scratch_dir().join("failed");
        let target = failed.join(name);
        let _ = std::fs::create_dir_all(&failed);
        let _ = std::fs::remove_dir_all(&target);
        self.path = match std::fs::rename(&path, &target) {
            Ok(()) => target,
            Err(_) => path,
        };
        self.path.clone()
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take() {
            unregister(dir.path());
        }
    }
}

/// Removes every live temp dir (on interrupt).
pub(crate) fn remove_all() {
    for path in lock().drain(..) {
        let _ = std::fs::remove_dir_all(path);
    }
}

/// `target/smoketest` of the workspace, else `keel-smoketest/` in the system temp dir.
fn scratch_dir() -> PathBuf {
    match keel_artifacts::workspace_root() {
        Some(root) => keel_artifacts::smoketest_dir(&root),
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dropped_dir_is_removed_and_a_failed_one_is_kept_beside_tmp() {
        let dir = TempDir::new("temp-test").unwrap();
        let path = dir.path().to_owned();
        assert!(path.is_dir());
        assert_eq!(path.parent().unwrap().file_name().unwrap(), "tmp");
        drop(dir);
        assert!(!path.exists());

        let mut dir = TempDir::new("temp-test").unwrap();
        std::fs::write(dir.path().join("evidence"), "x").unwrap();
        let name = format!("temp-test-{}", random_suffix());
        let kept = dir.keep_as_failed(&name);
        drop(dir);
        assert_eq!(kept, scratch_dir().join("failed").join(&name));
        assert!(kept.join("evidence").is_file());
        std::fs::remove_dir_all(kept).unwrap();
    }
}
