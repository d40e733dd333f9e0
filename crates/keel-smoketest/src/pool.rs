//! The database pool: databases that earlier tests used, wiped (`reset`) and handed back with
//! the credentials of their last owner. Taking one costs one request (rename it after the new
//! test and give it to the test's own fresh identity) instead of a database created from
//! scratch.
//!
//! For the xtask's shared servers the pool is a directory, so it works across processes
//! (nextest runs each test in its own): an entry is a file in `available/`, and taking it is an
//! atomic `rename` into `claimed/`, which exactly one process wins. For a server spawned by
//! this process the pool is a list in memory.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::{Deserialize, Serialize};

/// A wiped database and its owner's credentials.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct PooledDatabase {
    pub(crate) name: String,
    pub(crate) identity: String,
    pub(crate) token: String,
}

/// A pool of one server's databases.
#[derive(Debug)]
pub(crate) enum Pool {
    /// In this process only.
    Memory(Mutex<Vec<PooledDatabase>>),
    /// In a directory shared by every test process of the run.
    Directory(PathBuf),
}

impl Pool {
    /// The pool for the server at `url`: in `dir` when given, else in memory.
    pub(crate) fn for_server(url: &str, dir: Option<PathBuf>) -> Arc<Pool> {
        static POOLS: OnceLock<Mutex<HashMap<String, Arc<Pool>>>> = OnceLock::new();
        let mut pools = POOLS
            .get_or_init(Default::default)
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        pools
            .entry(url.to_owned())
            .or_insert_with(|| {
                Arc::new(match dir {
                    Some(dir) => {
                        Pool::Directory(dir.join(keel_api::DatabaseName::sanitize_prefix(url, 60)))
                    }
                    None => Pool::Memory(Mutex::new(Vec::new())),
                })
            })
            .clone()
    }

    /// Takes a database out of the pool, if there is one.
    pub(crate) fn take(&self) -> Option<PooledDatabase> {
        match self {
            Pool::Memory(entries) => entries
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop(),
            Pool::Directory(dir) => {
                let claimed = dir.join("claimed");
                std::fs::create_dir_all(&claimed).ok()?;
                for entry in std::fs::read_dir(dir.join("available")).ok()?.flatten() {
                    let mine = claimed.join(format!(
                        "{}.{}",
                        entry.file_name().to_string_lossy(),
                        std::process::id()
                    ));
                    // Whoever renames the file first owns the database.
                    if std::fs::rename(entry.path(), &mine).is_ok() {
                        let parsed = std::fs::read(&mine)
                            .ok()
                            .and_then(|bytes| serde_json::from_slice(&bytes).ok());
                        let _ = std::fs::remove_file(&mine);
                        if parsed.is_some() {
                            return parsed;
                        }
                    }
                }
                None
            }
        }
    }

    /// Returns a wiped database to the pool.
    pub(crate) fn give(&self, database: PooledDatabase) {
        match self {
            Pool::Memory(entries) => entries
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .push(database),
            Pool::Directory(dir) => {
                let available = dir.join("available");
                let json = serde_json::to_vec(&database).expect("pool entries serialize");
                // A database that cannot be pooled is only a little slower to replace.
                let _ = std::fs::create_dir_all(&available).and_then(|()| {
                    write_entry(
                        dir,
                        &available.join(format!("{}.json", database.name)),
                        &json,
                    )
                });
            }
        }
    }
}

/// Writes an entry so that takers see all of it or nothing: a temp file beside `available/`,
/// renamed into it. The entry holds a token, so it is readable by its owner only (`tempfile`
/// creates files with mode 0600), like the CLI's config.
fn write_entry(dir: &Path, path: &Path, json: &[u8]) -> std::io::Result<()> {
    let mut file = tempfile::Builder::new()
        .prefix(".entry")
        .suffix(".tmp")
        .tempfile_in(dir)?;
    file.write_all(json)?;
    file.persist(path).map_err(|error| error.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(name: &str) -> PooledDatabase {
        PooledDatabase {
            name: name.into(),
            identity: "id".into(),
            token: "token".into(),
        }
    }

    #[test]
    fn a_directory_pool_hands_each_entry_out_once() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::Directory(dir.path().to_owned());
        assert!(pool.take().is_none());
        pool.give(entry("a"));
        pool.give(entry("b"));
        let first = pool.take().unwrap();
        let second = pool.take().unwrap();
        assert_ne!(first.name, second.name);
        assert!(pool.take().is_none());
    }

    #[test]
    fn pool_entries_are_readable_by_their_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let pool = Pool::Directory(dir.path().to_owned());
        pool.give(entry("a"));
        let path = dir.path().join("available").join("a.json");
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::read_dir(dir.path()).unwrap().count(),
            1,
            "temp file left"
        );
    }

    #[test]
    fn a_directory_pool_is_shared_between_concurrent_takers() {
        let dir = tempfile::tempdir().unwrap();
        let pool = Arc::new(Pool::Directory(dir.path().to_owned()));
        for index in 0..50 {
            pool.give(entry(&format!("db{index}")));
        }
        let takers: Vec<_> = (0..8)
            .map(|_| {
                let pool = pool.clone();
                std::thread::spawn(move || {
                    std::iter::from_fn(|| pool.take())
                        .map(|entry| entry.name)
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        let mut names: Vec<String> = takers
            .into_iter()
            .flat_map(|taker| taker.join().unwrap())
            .collect();
        names.sort();
        names.dedup();
        assert_eq!(names.len(), 50, "every entry taken exactly once");
    }
}
