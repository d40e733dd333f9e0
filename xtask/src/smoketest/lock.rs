//! One suite run per checkout: `smoketest`, `bench` and `qa` clear and fill `target/smoketest/{servers,
//! pool,results,failed,tmp}`, so each holds an exclusive lock on `target/smoketest/run.lock` for the
//! run, and a second one fails at once instead of wiping the first one's files.
//!
//! The lock is `flock(2)` through [`std::fs::File::try_lock`]: the kernel drops it when the process
//! exits, however it exits, so a crashed run never leaves a stale lock behind.

use std::{
    fs::{self, File, TryLockError},
    path::Path,
};

use anyhow::{Context, bail};

/// The lock file, relative to `target/smoketest/`.
const LOCK_FILE: &str = "run.lock";

/// The held lock; dropping it releases the lock.
#[derive(Debug)]
pub(crate) struct RunLock {
    _file: File,
}

impl RunLock {
    /// Takes the lock in `out_dir` (`target/smoketest`), failing at once if another run holds it.
    pub(crate) fn acquire(out_dir: &Path) -> anyhow::Result<RunLock> {
        fs::create_dir_all(out_dir).with_context(|| format!("create {}", out_dir.display()))?;
        let path = out_dir.join(LOCK_FILE);
        let file = File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .with_context(|| format!("open the lock file {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => Ok(RunLock { _file: file }),
            Err(TryLockError::WouldBlock) => bail!(
                "another `cargo xtask smoketest` is running in this checkout (lock target/smoketest/{LOCK_FILE}); wait for it or stop it"
            ),
            Err(TryLockError::Error(err)) => {
                Err(err).with_context(|| format!("lock {}", path.display()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_run_is_refused_until_the_first_ends() {
        let dir = tempfile::tempdir().unwrap();
        let out_dir = dir.path().join("target/smoketest");
        let first = RunLock::acquire(&out_dir).unwrap();
        let err = RunLock::acquire(&out_dir).unwrap_err();
        assert_eq!(
            err.to_string(),
            "another `cargo xtask smoketest` is running in this checkout (lock target/smoketest/run.lock); wait for it or stop it"
        );
        drop(first);
        RunLock::acquire(&out_dir).unwrap();
    }
}
