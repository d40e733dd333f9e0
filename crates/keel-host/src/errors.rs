//! Errors of the runtime, one type per failing operation.

use std::path::PathBuf;

/// Loading a module (validation, compilation, describe) failed.
#[derive(Debug, thiserror::Error)]
pub enum ModuleError {
    /// The bytes are not valid WebAssembly.
    #[error("invalid wasm: {0}")]
    InvalidWasm(String),
    /// The module imports something the host does not provide.
    #[error("the module imports `{module}.{name}`, which the Keel host does not provide")]
    UnknownImport {
        /// Import module.
        module: String,
        /// Import name.
        name: String,
    },
    /// The module was built with wasm-bindgen.
    #[error(
        "the module uses wasm-bindgen (import `{import}`), which Keel does not support: remove the wasm-bindgen dependency and use keel-module"
    )]
    WasmBindgen {
        /// The give-away import.
        import: String,
    },
    /// A required export is missing or has the wrong type.
    #[error("the module does not export `{name}` as {expected}: is it built with keel-module?")]
    MissingExport {
        /// Export name.
        name: String,
        /// Expected kind and signature.
        expected: String,
    },
    /// The module speaks another ABI version.
    #[error(
        "the module speaks Keel ABI version {found}, the host speaks {expected}: rebuild it against this keel-module"
    )]
    AbiVersion {
        /// The module's version.
        found: i32,
        /// The host's version.
        expected: i32,
    },
    /// Running `keel_describe` failed.
    #[error("the module's describe function failed: {0}")]
    Describe(String),
    /// The described schema is not acceptable.
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
}

/// Installing a module into a database (create or migrate) failed.
#[derive(Debug, thiserror::Error)]
pub enum PublishError {
    /// The update needs changes automatic migration does not make.
    #[error("the update is not compatible with the existing data: {}", changes.join("; "))]
    MigrationRefused {
        /// The breaking changes.
        changes: Vec<String>,
    },
    /// The `init` reducer failed; nothing was installed.
    #[error("init failed: {0}")]
    Init(#[source] CallError),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A reducer call failed; its transaction was rolled back.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The database has no module yet.
    #[error("the database has no module: publish one first")]
    NoModule,
    /// The module has no reducer of that name.
    #[error("no reducer `{0}` in this module")]
    NoSuchReducer(String),
    /// The reducer is private and the caller is not the owner.
    #[error("reducer `{0}` is private: only the database owner may call it")]
    Private(String),
    /// The reducer is called by the host only.
    #[error("reducer `{0}` is a lifecycle reducer and cannot be called by clients")]
    Lifecycle(String),
    /// The arguments do not match the parameters.
    #[error("{0}")]
    InvalidArguments(String),
    /// The reducer returned an error.
    #[error("reducer `{reducer}` failed: {message}")]
    Reducer {
        /// Reducer name.
        reducer: String,
        /// Its message.
        message: String,
    },
    /// The reducer panicked or trapped.
    #[error("reducer `{reducer}` panicked: {message}")]
    Panic {
        /// Reducer name.
        reducer: String,
        /// Panic message or trap description.
        message: String,
    },
    /// The reducer ran past its time limit (in wasm or in SQL, across all its statements).
    #[error("reducer `{reducer}` ran past its time limit of {} ms and was stopped", limit.as_millis())]
    TimeLimit {
        /// Reducer name.
        reducer: String,
        /// The limit.
        limit: std::time::Duration,
    },
    /// The server is shutting down and stopped the reducer.
    #[error("reducer `{reducer}` was stopped: the server is shutting down")]
    ShuttingDown {
        /// Reducer name.
        reducer: String,
    },
    /// The reducer used all its fuel.
    #[error("reducer `{reducer}` ran out of fuel after {fuel} units and was stopped")]
    OutOfFuel {
        /// Reducer name.
        reducer: String,
        /// The limit.
        fuel: u64,
    },
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// A SQL statement from a client failed or was refused.
#[derive(Debug, thiserror::Error)]
pub enum SqlError {
    /// The statement is not allowed for this caller.
    #[error("not allowed: {0}")]
    Denied(String),
    /// The statement is malformed or failed.
    #[error("{0}")]
    Invalid(String),
    /// Storage failed.
    #[error(transparent)]
    Storage(#[from] StorageError),
}

/// The SQLite file could not be opened or written.
#[derive(Debug, thiserror::Error)]
#[error("storage error in {}", path.display())]
pub struct StorageError {
    pub(crate) path: PathBuf,
    #[source]
    pub(crate) source: rusqlite::Error,
}

impl StorageError {
    /// Whether the write failed because the disk (or the file size limit) is full.
    pub fn is_disk_full(&self) -> bool {
        matches!(
            &self.source,
            rusqlite::Error::SqliteFailure(failure, _)
                if failure.code == rusqlite::ErrorCode::DiskFull
        )
    }
}
