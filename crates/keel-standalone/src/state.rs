//! Server state: the runtime, the identity table, and the directory of databases.
//!
//! Each database has its own mutex, so calls to one database are serialised while databases
//! run in parallel. Database files are opened on first use.
//!
//! Name → database transitions (create, delete, rename, give away) happen with the database's
//! slot locked, then the directory's map and `control.sqlite` changed together, by the entry's
//! id: whatever the interleaving, a request only ever changes the database it locked, and
//! every operation re-checks, under the lock, that the entry still has the name it was asked
//! for and is not deleted. Ownership is checked under the same lock.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use anyhow::Context;
use keel_api::http::ErrorKind;
use keel_host::{Database, HostConfig, Runtime};

use crate::api_error::{AppError, AppResult};
use crate::control::{Control, DatabaseRow};
use crate::flags::{self, Flags};
use crate::limits::{BodyBudget, IdentityRate, RateLimitedLog};
use crate::logs::LogStore;

/// Server-log lines a second for failures of identities other than a database's owner.
const OTHERS_FAILURES_PER_SECOND: u32 = 20;
/// How often a lookup by name is retried when the entry found lost the name meanwhile.
const LOOKUP_ATTEMPTS: usize = 8;

/// Shared server state; cheap to clone.
#[derive(Clone)]
pub(crate) struct AppState(Arc<Inner>);

pub(crate) struct Inner {
    pub(crate) data_dir: PathBuf,
    pub(crate) runtime: Runtime,
    pub(crate) control: Mutex<Control>,
    /// Module files being published right now, by hash, with how many publishes use each:
    /// no database refers to them yet, but they must not be removed. Also the lock under
    /// which module files are written and removed.
    modules_in_use: Mutex<HashMap<String, usize>>,
    identities: RwLock<HashMap<String, blake3::Hash>>,
    databases: RwLock<HashMap<String, Arc<DatabaseEntry>>>,
    pub(crate) max_body_bytes: usize,
    body_timeout: std::time::Duration,
    body_budget: BodyBudget,
    identity_rate: IdentityRate,
    others_failures: RateLimitedLog,
    max_open_databases: usize,
    max_databases_per_identity: usize,
    open_databases: AtomicUsize,
    /// Ticks on every database use; orders databases by recency.
    clock: AtomicU64,
    /// Held for the server's lifetime: one server per data dir.
    _lock: File,
}

/// One database of the directory.
pub(crate) struct DatabaseEntry {
    pub(crate) id: String,
    /// Its name in the directory; changes only under the slot lock (see `rename_database`).
    name: RwLock<String>,
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
        let config = HostConfig {
            fuel_per_call: flags.fuel_per_call,
            max_memory_bytes: flags.max_memory_mib << 20,
            sql_time_limit: std::time::Duration::from_millis(flags.sql_time_limit_ms),
            sync_full: flags.sync == flags::Sync::Full,
        };
        let runtime = Runtime::new(config);
        let mut rows = control.databases().context("read the database directory")?;
        let known_ids: HashSet<String> = rows.iter().map(|row| row.id.clone()).collect();
        remove_orphaned_files(data_dir, &known_ids).context("remove orphaned database files")?;
        learn_module_hashes(data_dir, &runtime, &control, &mut rows)
            .context("read the modules of the databases")?;
        let used: HashSet<&str> = rows
            .iter()
            .filter_map(|row| row.module_hash.as_deref())
            .collect();
        remove_unused_module_files(data_dir, &used).context("remove unused module files")?;
        let databases = rows
            .into_iter()
            .map(|row| {
                (
                    row.name.clone(),
                    Arc::new(DatabaseEntry::new(data_dir, row)),
                )
            })
            .collect();
        Ok(AppState(Arc::new(Inner {
            data_dir: data_dir.clone(),
            runtime,
            modules_in_use: Mutex::new(HashMap::new()),
            control: Mutex::new(control),
            identities: RwLock::new(identities),
            databases: RwLock::new(databases),
            max_body_bytes: flags.max_body_mib << 20,
            body_timeout: std::time::Duration::from_secs(flags.body_timeout_secs.max(1)),
            body_budget: BodyBudget::new(
                (flags.max_buffered_body_mib << 20).max(flags.max_body_mib << 20),
            ),
            identity_rate: IdentityRate::new(flags.max_new_identities_per_minute),
            others_failures: RateLimitedLog::new(OTHERS_FAILURES_PER_SECOND),
            max_open_databases: flags.max_open_databases.max(1),
            max_databases_per_identity: flags.max_databases_per_identity,
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

    /// The database called `name`, as the directory has it now.
    pub(crate) fn database(&self, name: &str) -> AppResult<Arc<DatabaseEntry>> {
        self.read_databases()
            .get(name)
            .cloned()
            .ok_or_else(|| AppError::not_found(name))
    }

    /// The database called `name`, if the directory is not being changed right now.
    pub(crate) fn try_database(&self, name: &str) -> Option<Arc<DatabaseEntry>> {
        self.0.databases.try_read().ok()?.get(name).cloned()
    }

    /// Runs `work` with the database called `name` locked and open.
    pub(crate) fn with_database<T>(
        &self,
        name: &str,
        work: impl FnOnce(&Arc<DatabaseEntry>, &mut Slot) -> AppResult<T>,
    ) -> AppResult<T> {
        // The entry found may lose its name (a rename, a delete) before its lock is held: then
        // the name is looked up again.
        for _ in 0..LOOKUP_ATTEMPTS {
            let entry = self.database(name)?;
            let mut slot = entry.lock_slot();
            if !entry.is_named(name, &slot) {
                continue;
            }
            self.open_database(&entry, &mut slot)?;
            return work(&entry, &mut slot);
        }
        Err(AppError::not_found(name))
    }

    /// Runs `work` with the database called `name` locked and open, created for `owner`
    /// first when the name is free; `work` learns whether this call created it.
    pub(crate) fn with_database_or_create<T>(
        &self,
        name: &str,
        owner: &str,
        work: impl FnOnce(&Arc<DatabaseEntry>, &mut Slot, bool) -> AppResult<T>,
    ) -> AppResult<T> {
        for _ in 0..LOOKUP_ATTEMPTS {
            let (entry, created) = self.database_or_create(name, owner)?;
            let mut slot = entry.lock_slot();
            if !entry.is_named(name, &slot) {
                continue;
            }
            self.open_database(&entry, &mut slot)?;
            return work(&entry, &mut slot, created);
        }
        Err(AppError::new(
            ErrorKind::Conflict,
            format!("database `{name}` is being created and deleted by other requests"),
        )
        .with_hint("try again"))
    }

    /// The database called `name`, created for `owner` if the name is free.
    fn database_or_create(&self, name: &str, owner: &str) -> AppResult<(Arc<DatabaseEntry>, bool)> {
        let mut databases = self.write_databases();
        if let Some(entry) = databases.get(name) {
            return Ok((entry.clone(), false));
        }
        if !read(&self.0.identities).contains_key(owner) {
            return Err(AppError::new(
                ErrorKind::Unauthorized,
                "the identity was deleted",
            ));
        }
        self.check_quota(&databases, owner)?;
        let row = DatabaseRow {
            name: name.to_owned(),
            id: crate::auth::random_hex(12),
            owner: owner.to_owned(),
            module_hash: None,
            pending_hash: None,
        };
        self.lock_control()
            .insert_database(&row)
            .map_err(AppError::internal)?;
        let entry = Arc::new(DatabaseEntry::new(&self.0.data_dir, row));
        databases.insert(name.to_owned(), entry.clone());
        Ok((entry, true))
    }

    /// Refuses a new database for `owner` past `--max-databases-per-identity`.
    fn check_quota(
        &self,
        databases: &HashMap<String, Arc<DatabaseEntry>>,
        owner: &str,
    ) -> AppResult<()> {
        let owned = databases
            .values()
            .filter(|entry| entry.is_owned_by(owner))
            .count();
        if owned >= self.0.max_databases_per_identity {
            return Err(AppError::new(
                ErrorKind::Forbidden,
                format!(
                    "identity `{owner}` already owns {owned} databases, the most this server allows"
                ),
            )
            .with_hint("delete a database first (the limit is keel-standalone's --max-databases-per-identity)"));
        }
        Ok(())
    }

    /// Deletes the database whose slot the caller holds: out of the directory (by id), its
    /// file closed and removed, its log cleared. Requests waiting for the slot then find it
    /// deleted.
    pub(crate) fn remove_database(&self, entry: &DatabaseEntry, slot: &mut Slot) -> AppResult<()> {
        let module_hash = self
            .lock_control()
            .module_hash_of(&entry.id)
            .map_err(AppError::internal)?;
        {
            let mut databases = self.write_databases();
            self.lock_control()
                .delete_database(&entry.id)
                .map_err(AppError::internal)?;
            let name = entry.name();
            if databases
                .get(&name)
                .is_some_and(|found| found.id == entry.id)
            {
                databases.remove(&name);
            }
        }
        slot.deleted = true;
        self.close(slot);
        slot.logs.clear().map_err(AppError::io)?;
        remove_database_files(&entry.database_path(&self.0.data_dir));
        if let Some(hash) = module_hash {
            self.remove_module_if_unused(&hash);
        }
        Ok(())
    }

    /// Deletes an identity and every database it still owns; the names of those databases.
    /// One database that cannot be removed does not stop the others (it is logged); the
    /// databases are not opened to be removed.
    pub(crate) fn remove_identity(&self, identity: &str) -> AppResult<Vec<String>> {
        // From here on no database can be created for it or given to it, and it can rename
        // none (`rename_database` checks that the owner still exists).
        write(&self.0.identities).remove(identity);
        self.lock_control()
            .delete_identity(identity)
            .map_err(AppError::internal)?;
        let mut deleted = Vec::new();
        // By entry, not by name: a rename in flight keeps the entry.
        for (_, entry) in self.databases_of(identity) {
            let mut slot = entry.lock_slot();
            if slot.deleted || !entry.is_owned_by(identity) {
                continue;
            }
            let name = entry.name();
            match self.remove_database(&entry, &mut slot) {
                Ok(()) => deleted.push(name),
                Err(error) => {
                    tracing::error!(database = %name, ?error, "could not delete a database of a deleted identity");
                }
            }
        }
        Ok(deleted)
    }

    /// Gives the database whose slot the caller holds the name `new` and, when asked, to the
    /// identity `new_owner` (within that identity's quota).
    pub(crate) fn rename_database(
        &self,
        entry: &DatabaseEntry,
        new: &str,
        new_owner: Option<&str>,
    ) -> AppResult<()> {
        let mut databases = self.write_databases();
        if let Some(owner) = new_owner
            && !read(&self.0.identities).contains_key(owner)
        {
            return Err(AppError::new(
                ErrorKind::BadRequest,
                format!("no identity `{owner}` to give the database to"),
            ));
        }
        if !read(&self.0.identities).contains_key(&entry.owner()) {
            return Err(AppError::new(
                ErrorKind::Unauthorized,
                "the identity was deleted",
            ));
        }
        let old = entry.name();
        if old != new && databases.contains_key(new) {
            return Err(AppError::new(
                ErrorKind::Conflict,
                format!("a database named `{new}` already exists"),
            ));
        }
        let owner = new_owner.map_or_else(|| entry.owner(), str::to_owned);
        if !entry.is_owned_by(&owner) {
            self.check_quota(&databases, &owner)?;
        }
        self.lock_control()
            .rename_database(&entry.id, new, &owner)
            .map_err(AppError::internal)?;
        let moved = databases
            .remove(&old)
            .filter(|found| found.id == entry.id)
            .ok_or_else(|| AppError::internal(format!("database {} lost its name", entry.id)))?;
        *write(&entry.owner) = owner;
        *write(&entry.name) = new.to_owned();
        databases.insert(new.to_owned(), moved);
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

    /// How long a client has to send a request body.
    pub(crate) fn body_timeout(&self) -> std::time::Duration {
        self.0.body_timeout
    }

    /// Memory for request bodies, over all requests.
    pub(crate) fn body_budget(&self) -> &BodyBudget {
        &self.0.body_budget
    }

    /// New identities per client address.
    pub(crate) fn identity_rate(&self) -> &IdentityRate {
        &self.0.identity_rate
    }

    /// The server-log lines for failures of identities other than a database's owner.
    pub(crate) fn others_failures(&self) -> &RateLimitedLog {
        &self.0.others_failures
    }

    /// Stores module bytes under their hash, so databases can reload them after a restart.
    /// The file is kept while the returned lease lives (the publish that stores it), and
    /// afterwards as long as a database refers to it.
    pub(crate) fn store_module(&self, hash: &str, wasm: &[u8]) -> AppResult<ModuleLease> {
        let mut in_use = lock(&self.0.modules_in_use);
        let path = self.module_path(hash);
        if !path.exists() {
            let dir = path.parent().expect("module files live in a directory");
            let mut file = tempfile::NamedTempFile::new_in(dir).map_err(AppError::io)?;
            file.write_all(wasm)
                .and_then(|()| file.as_file().sync_all())
                .map_err(AppError::io)?;
            file.persist(&path)
                .map_err(|error| AppError::io(error.error))?;
            // The rename itself must survive a power loss, as the commit that refers to it will.
            File::open(dir)
                .and_then(|dir| dir.sync_all())
                .map_err(AppError::io)?;
        }
        *in_use.entry(hash.to_owned()).or_default() += 1;
        Ok(ModuleLease {
            state: self.clone(),
            hash: hash.to_owned(),
        })
    }

    /// Records, before an install, that the database is being given the module `hash`, so its
    /// file is kept whatever happens next (a crash included).
    pub(crate) fn record_pending_module(&self, entry: &DatabaseEntry, hash: &str) -> AppResult<()> {
        self.lock_control()
            .set_pending_hash(&entry.id, hash)
            .map_err(AppError::internal)
    }

    /// Records that the database now has the module `hash` (or none), and removes the file of
    /// the module it had if nothing uses it any more.
    pub(crate) fn record_module(
        &self,
        entry: &DatabaseEntry,
        old: Option<&str>,
        new: Option<&str>,
    ) {
        if let Err(error) = self.lock_control().set_module_hash(&entry.id, new) {
            // The pending hash stays recorded, so the new module's file is kept; start-up
            // settles the row from the database file.
            tracing::error!(database = %entry.id, %error, "could not record the module of a database");
            return;
        }
        if let Some(old) = old
            && Some(old) != new
        {
            self.remove_module_if_unused(old);
        }
    }

    /// Removes the module file `hash` when no database refers to it and no publish holds it.
    fn remove_module_if_unused(&self, hash: &str) {
        let in_use = lock(&self.0.modules_in_use);
        if in_use.contains_key(hash) {
            return;
        }
        match self.lock_control().is_module_used(hash) {
            Ok(false) => {
                if let Err(error) = std::fs::remove_file(self.module_path(hash))
                    && error.kind() != std::io::ErrorKind::NotFound
                {
                    tracing::warn!(module = hash, %error, "could not remove an unused module file");
                }
            }
            Ok(true) => {}
            Err(error) => tracing::error!(module = hash, %error, "could not look up a module"),
        }
    }

    fn module_path(&self, hash: &str) -> PathBuf {
        self.0.data_dir.join("modules").join(format!("{hash}.wasm"))
    }

    /// Opens the database of a locked slot (and reloads its module) if it is not open.
    fn open_database(&self, entry: &DatabaseEntry, slot: &mut Slot) -> AppResult<()> {
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

    fn write_databases(
        &self,
    ) -> std::sync::RwLockWriteGuard<'_, HashMap<String, Arc<DatabaseEntry>>> {
        self.0
            .databases
            .write()
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
        let logs = LogStore::new(log_path(data_dir, &row.id));
        DatabaseEntry {
            id: row.id,
            name: RwLock::new(row.name),
            owner: RwLock::new(row.owner),
            last_used: AtomicU64::new(0),
            slot: Mutex::new(Slot {
                database: None,
                logs,
                deleted: false,
            }),
        }
    }

    /// Locks the database's slot.
    fn lock_slot(&self) -> MutexGuard<'_, Slot> {
        self.slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Whether the entry, whose `slot` the caller holds, still is the database called `name`.
    fn is_named(&self, name: &str, slot: &Slot) -> bool {
        !slot.deleted && *read(&self.name) == name
    }

    /// Its current name.
    pub(crate) fn name(&self) -> String {
        read(&self.name).clone()
    }

    /// The owner's identity.
    pub(crate) fn owner(&self) -> String {
        read(&self.owner).clone()
    }

    /// Whether `identity` owns the database.
    pub(crate) fn is_owned_by(&self, identity: &str) -> bool {
        *read(&self.owner) == identity
    }

    pub(crate) fn database_path(&self, data_dir: &Path) -> PathBuf {
        database_path(data_dir, &self.id)
    }
}

fn database_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("databases").join(format!("{id}.sqlite"))
}

fn log_path(data_dir: &Path, id: &str) -> PathBuf {
    data_dir.join("logs").join(format!("{id}.jsonl"))
}

/// Removes a database's SQLite file and its WAL and shared-memory files.
fn remove_database_files(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", path.display()));
        if let Err(error) = std::fs::remove_file(&file)
            && error.kind() != std::io::ErrorKind::NotFound
        {
            tracing::warn!(file = %file.display(), %error, "could not remove a database file");
        }
    }
}

/// Removes database and log files the directory does not know: what a crash in the middle of
/// a delete left behind. Afterwards the data dir holds one file per live database.
fn remove_orphaned_files(data_dir: &Path, known_ids: &HashSet<String>) -> std::io::Result<()> {
    for (dir, extension) in [("databases", ".sqlite"), ("logs", ".jsonl")] {
        for file in std::fs::read_dir(data_dir.join(dir))? {
            let path = file?.path();
            let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
                continue;
            };
            let id = file_name.split(extension).next().unwrap_or_default();
            if file_name.contains(extension) && !known_ids.contains(id) {
                tracing::info!(file = %path.display(), "removing a file no database refers to");
                std::fs::remove_file(&path)?;
            }
        }
    }
    Ok(())
}

/// Keeps a module file while a publish uses it; dropping it lets the file go if no database
/// refers to it.
pub(crate) struct ModuleLease {
    state: AppState,
    hash: String,
}

impl Drop for ModuleLease {
    fn drop(&mut self) {
        {
            let mut in_use = lock(&self.state.0.modules_in_use);
            if let Some(count) = in_use.get_mut(&self.hash) {
                *count -= 1;
                if *count == 0 {
                    in_use.remove(&self.hash);
                }
            }
        }
        self.state.remove_module_if_unused(&self.hash);
    }
}

/// Fills in the module hash of rows that have none recorded (a data dir from before the
/// directory recorded them), and settles rows whose install was pending when the server
/// stopped, by reading the hash from the database file, which says which module committed.
fn learn_module_hashes(
    data_dir: &Path,
    runtime: &Runtime,
    control: &Control,
    rows: &mut [DatabaseRow],
) -> anyhow::Result<()> {
    for row in rows
        .iter_mut()
        .filter(|row| row.module_hash.is_none() || row.pending_hash.is_some())
    {
        let path = database_path(data_dir, &row.id);
        let hash = if path.exists() {
            Database::open(&path, runtime)?.installed_hash()?
        } else {
            None
        };
        if hash != row.module_hash || row.pending_hash.is_some() {
            control.set_module_hash(&row.id, hash.as_deref())?;
            row.module_hash = hash;
            row.pending_hash = None;
        }
    }
    Ok(())
}

/// Removes module files no database refers to, and temp files of interrupted writes.
fn remove_unused_module_files(data_dir: &Path, used: &HashSet<&str>) -> std::io::Result<()> {
    for file in std::fs::read_dir(data_dir.join("modules"))? {
        let path = file?.path();
        let Some(file_name) = path.file_name().and_then(|name| name.to_str()) else {
            continue;
        };
        let hash = file_name.strip_suffix(".wasm");
        if hash.is_none_or(|hash| !used.contains(hash)) {
            tracing::info!(file = %path.display(), "removing a module file no database refers to");
            std::fs::remove_file(&path)?;
        }
    }
    Ok(())
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn read<T>(lock: &RwLock<T>) -> std::sync::RwLockReadGuard<'_, T> {
    lock.read().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn write<T>(lock: &RwLock<T>) -> std::sync::RwLockWriteGuard<'_, T> {
    lock.write()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

impl Slot {
    /// The open database (the lock opened it).
    pub(crate) fn database(&mut self) -> &mut Database {
        self.database.as_mut().expect("opened when locked")
    }
}
