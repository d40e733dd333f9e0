//! Server state: the runtime, the identity table, and the directory of databases.
//!
//! Each database has its own mutex, so calls to one database are serialised while databases
//! run in parallel. Database files are opened on first use.

use std::collections::HashMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use anyhow::Context;
use keel_api::http::ErrorKind;
use keel_host::{Database, HostConfig, Runtime};

use crate::api_error::{AppError, AppResult};
use crate::control::{Control, DatabaseRow};
use crate::flags::Flags;
use crate::logs::LogStore;

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) data_dir: PathBuf,
    pub(crate) runtime: Runtime,
    pub(crate) control: Mutex<Control>,
    identities: RwLock<HashMap<String, blake3::Hash>>,
    databases: RwLock<HashMap<String, Arc<DatabaseEntry>>>,
    pub(crate) max_body_bytes: usize,
    max_open_databases: usize,
    open_databases: AtomicUsize,
    /// Ticks on every database use; orders databases by recency.
    clock: AtomicU64,
    /// Held for the server's lifetime: one server per data dir.
    _lock: File,
}

/// One database of the directory.
pub(crate) struct DatabaseEntry {
    pub(crate) id: String,
    /// Changes only when the owner gives the database away (see `rename_database`).
    owner: RwLock<String>,
    /// Tick of the server clock at the last use, for closing idle databases.
    last_used: AtomicU64,
    slot: Mutex<Slot>,
}

/// The mutable part of a database, behind its mutex.
pub(crate) struct Slot {
    database: Option<Database>,
    pub(crate) logs: LogStore,
    /// Set when the database is deleted while a request still holds the entry.
    pub(crate) deleted: bool,
}

impl AppState {
    pub(crate) fn open(flags: &Flags) -> anyhow::Result<AppState> {
        let data_dir = &flags.data_dir;
        for dir in ["databases", "modules", "logs"] {
            std::fs::create_dir_all(data_dir.join(dir))
                .with_context(|| format!("create {}", data_dir.join(dir).display()))?;
        }
        let lock = File::create(data_dir.join("LOCK")).context("create the lock file")?;
        lock.try_lock().map_err(|_| {
            anyhow::anyhow!(
                "the data dir is in use by another keel-standalone (its LOCK file is held)"
            )
        })?;
        let control =
            Control::open(&data_dir.join("control.sqlite")).context("open control.sqlite")?;
        let identities = control
            .identities()
            .context("read identities")?
            .into_iter()
            .filter_map(|(id, hash)| blake3::Hash::from_hex(&hash).ok().map(|hash| (id, hash)))
            .collect();
        let databases = control
            .databases()
            .context("read the database directory")?
            .into_iter()
            .map(|row| {
                (
                    row.name.clone(),
                    Arc::new(DatabaseEntry::new(data_dir, row)),
                )
            })
            .collect();
        let config = HostConfig {
            fuel_per_call: flags.fuel_per_call,
            max_memory_bytes: flags.max_memory_mib << 20,
            sql_time_limit: std::time::Duration::from_millis(flags.sql_time_limit_ms),
            sync_full: flags.sync == "full",
        };
        Ok(AppState(Arc::new(Inner {
            data_dir: data_dir.clone(),
            runtime: Runtime::new(config),
            control: Mutex::new(control),
            identities: RwLock::new(identities),
            databases: RwLock::new(databases),
            max_body_bytes: flags.max_body_mib << 20,
            max_open_databases: flags.max_open_databases.max(1),
            open_databases: AtomicUsize::new(0),
            clock: AtomicU64::new(1),
            _lock: lock,
        })))
    }

    /// Checks a bearer token and returns its identity.
    pub(crate) fn authenticate(
        &self,
        identity: &str,
        secret_hash: &blake3::Hash,
    ) -> AppResult<String> {
        let identities = self
            .0
            .identities
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match identities.get(identity) {
            Some(stored) if stored == secret_hash => Ok(identity.to_owned()),
            _ => Err(
                AppError::new(ErrorKind::Unauthorized, "unknown identity or wrong token")
                    .with_hint("create an identity with `keel identity new`"),
            ),
        }
    }

    /// Records a new identity.
    pub(crate) fn add_identity(&self, identity: &str, secret_hash: blake3::Hash) -> AppResult<()> {
        self.lock_control()
            .insert_identity(identity, &secret_hash.to_hex())
            .map_err(AppError::internal)?;
        self.0
            .identities
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(identity.to_owned(), secret_hash);
        Ok(())
    }

    /// The database called `name`.
    pub(crate) fn database(&self, name: &str) -> AppResult<Arc<DatabaseEntry>> {
        self.read_databases()
            .get(name)
            .cloned()
            .ok_or_else(|| AppError::not_found(name))
    }

    /// The database called `name`, created for `owner` if it does not exist.
    pub(crate) fn database_or_create(
        &self,
        name: &str,
        owner: &str,
    ) -> AppResult<(Arc<DatabaseEntry>, bool)> {
        let mut databases = self
            .0
            .databases
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(entry) = databases.get(name) {
            return Ok((entry.clone(), false));
        }
        let row = DatabaseRow {
            name: name.to_owned(),
            id: crate::auth::random_hex(12),
            owner: owner.to_owned(),
        };
        self.lock_control()
            .insert_database(&row)
            .map_err(AppError::internal)?;
        let entry = Arc::new(DatabaseEntry::new(&self.0.data_dir, row));
        databases.insert(name.to_owned(), entry.clone());
        Ok((entry, true))
    }

    /// Removes `name` from the directory (the caller deletes the files).
    pub(crate) fn forget_database(&self, name: &str) -> AppResult<()> {
        let mut databases = self
            .0
            .databases
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.lock_control()
            .delete_database(name)
            .map_err(AppError::internal)?;
        databases.remove(name);
        Ok(())
    }

    /// Gives database `old` the name `new` and, when asked, to the identity `new_owner`.
    pub(crate) fn rename_database(
        &self,
        old: &str,
        new: &str,
        new_owner: Option<&str>,
    ) -> AppResult<()> {
        if let Some(owner) = new_owner
            && !self
                .0
                .identities
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .contains_key(owner)
        {
            return Err(AppError::new(
                ErrorKind::BadRequest,
                format!("no identity `{owner}` to give the database to"),
            ));
        }
        let mut databases = self
            .0
            .databases
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if old != new && databases.contains_key(new) {
            return Err(AppError::new(
                ErrorKind::Conflict,
                format!("a database named `{new}` already exists"),
            ));
        }
        let entry = databases
            .get(old)
            .cloned()
            .ok_or_else(|| AppError::not_found(old))?;
        let owner = new_owner.map_or_else(|| entry.owner(), str::to_owned);
        self.lock_control()
            .rename_database(old, new, &owner)
            .map_err(AppError::internal)?;
        *entry
            .owner
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner()) = owner;
        databases.remove(old);
        databases.insert(new.to_owned(), entry);
        Ok(())
    }

    /// Names and entries of the databases `owner` owns, sorted by name.
    pub(crate) fn databases_of(&self, owner: &str) -> Vec<(String, Arc<DatabaseEntry>)> {
        let mut owned: Vec<_> = self
            .read_databases()
            .iter()
            .filter(|(_, entry)| entry.is_owned_by(owner))
            .map(|(name, entry)| (name.clone(), entry.clone()))
            .collect();
        owned.sort_by(|a, b| a.0.cmp(&b.0));
        owned
    }

    pub(crate) fn runtime(&self) -> &Runtime {
        &self.0.runtime
    }

    pub(crate) fn max_body_bytes(&self) -> usize {
        self.0.max_body_bytes
    }

    /// Stores module bytes under their hash, so databases can reload them after a restart.
    pub(crate) fn store_module(&self, hash: &str, wasm: &[u8]) -> AppResult<()> {
        let path = self.module_path(hash);
        if path.exists() {
            return Ok(());
        }
        let tmp = path.with_extension(format!("tmp-{}", crate::auth::random_hex(4)));
        std::fs::write(&tmp, wasm)
            .and_then(|()| File::open(&tmp)?.sync_all())
            .and_then(|()| std::fs::rename(&tmp, &path))
            .map_err(AppError::internal)
    }

    fn module_path(&self, hash: &str) -> PathBuf {
        self.0.data_dir.join("modules").join(format!("{hash}.wasm"))
    }

    /// Locks a database and opens its file (and reloads its module) on first use.
    pub(crate) fn lock<'a>(
        &self,
        name: &str,
        entry: &'a DatabaseEntry,
    ) -> AppResult<MutexGuard<'a, Slot>> {
        let mut slot = entry
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if slot.deleted {
            return Err(AppError::not_found(name));
        }
        entry.last_used.store(
            self.0.clock.fetch_add(1, Ordering::Relaxed),
            Ordering::Relaxed,
        );
        if slot.database.is_none() {
            if self.0.open_databases.load(Ordering::Relaxed) >= self.0.max_open_databases {
                self.close_idle_databases(entry);
            }
            let mut database =
                Database::open(&entry.database_path(&self.0.data_dir), self.runtime())?;
            if let Some(hash) = database.installed_hash()? {
                let wasm = std::fs::read(self.module_path(&hash)).map_err(AppError::internal)?;
                database.set_module(Some(self.runtime().load(&wasm)?));
            }
            slot.database = Some(database);
            self.0.open_databases.fetch_add(1, Ordering::Relaxed);
        }
        Ok(slot)
    }

    /// Deletes database `name`: out of the directory, its file closed and removed, its log
    /// cleared. A request still holding the entry then finds it deleted.
    pub(crate) fn remove_database(&self, name: &str, entry: &DatabaseEntry) -> AppResult<()> {
        let mut slot = entry
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        self.forget_database(name)?;
        slot.deleted = true;
        self.close(&mut slot);
        slot.logs.clear().map_err(AppError::internal)?;
        let path = entry.database_path(&self.0.data_dir);
        for suffix in ["", "-wal", "-shm"] {
            let file = PathBuf::from(format!("{}{suffix}", path.display()));
            if let Err(error) = std::fs::remove_file(&file)
                && error.kind() != std::io::ErrorKind::NotFound
            {
                tracing::warn!(file = %file.display(), %error, "could not remove a database file");
            }
        }
        Ok(())
    }

    /// Closes the database of `slot` (before deleting its files, say).
    pub(crate) fn close(&self, slot: &mut Slot) {
        if slot.database.take().is_some() {
            self.0.open_databases.fetch_sub(1, Ordering::Relaxed);
        }
    }

    /// Closes the least recently used open databases that nobody is using, so that open files
    /// stay bounded however many databases exist. Busy ones are skipped.
    fn close_idle_databases(&self, opening: &DatabaseEntry) {
        let mut candidates: Vec<Arc<DatabaseEntry>> = self
            .read_databases()
            .values()
            .filter(|entry| !std::ptr::eq(entry.as_ref(), opening))
            .cloned()
            .collect();
        candidates.sort_by_key(|entry| entry.last_used.load(Ordering::Relaxed));
        // Close a batch at a time, so the scan is paid once per batch of opens.
        let mut to_close = (self.0.max_open_databases / 8).max(1);
        for entry in candidates {
            if to_close == 0 {
                break;
            }
            if let Ok(mut slot) = entry.slot.try_lock()
                && slot.database.is_some()
            {
                self.close(&mut slot);
                to_close -= 1;
            }
        }
    }

    fn read_databases(
        &self,
    ) -> std::sync::RwLockReadGuard<'_, HashMap<String, Arc<DatabaseEntry>>> {
        self.0
            .databases
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn lock_control(&self) -> MutexGuard<'_, Control> {
        self.0
            .control
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl DatabaseEntry {
    fn new(data_dir: &Path, row: DatabaseRow) -> DatabaseEntry {
        let logs = LogStore::new(data_dir.join("logs").join(format!("{}.jsonl", row.id)));
        DatabaseEntry {
            id: row.id,
            owner: RwLock::new(row.owner),
            last_used: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                database: None,
                logs,
                deleted: false,
            }),
        }
    }

    /// The owner's identity.
    pub(crate) fn owner(&self) -> String {
        self.owner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone()
    }

    /// Whether `identity` owns the database.
    pub(crate) fn is_owned_by(&self, identity: &str) -> bool {
        *self
            .owner
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            == identity
    }

    pub(crate) fn database_path(&self, data_dir: &Path) -> PathBuf {
        data_dir
            .join("databases")
            .join(format!("{}.sqlite", self.id))
    }
}

impl Slot {
    /// The open database (the lock opened it).
    pub(crate) fn database(&mut self) -> &mut Database {
        self.database.as_mut().expect("opened when locked")
    }
}
