//! Keel's module runtime and storage: runs wasm modules with wasmi against one SQLite file per
//! database.
//!
//! - [`Runtime`] compiles modules (cached by content hash), checks their imports and exports,
//!   and reads their schema through `keel_describe`.
//! - [`Database`] is one SQLite file: it installs a module's schema (creating tables, or
//!   migrating them automatically), runs reducers each in one transaction, and runs guarded SQL.
//!
//! Every statement, from a module or from a client, runs under an authorizer ([`guard`]) that
//! refuses `ATTACH`, extension loading, state-changing `PRAGMA`s, DDL and transaction control;
//! readers who are not the owner only see public tables. Reducers run with a fuel limit and a
//! memory limit, and SQL with a time limit, so no module can hang or exhaust the server.

mod config;
mod errors;
pub mod guard;
mod invoke;
pub mod migration;
mod runtime;
mod storage;
mod validate;
mod values;

pub use config::HostConfig;
pub use errors::{CallError, ModuleError, PublishError, SqlError, StorageError};
pub use guard::Access;
pub use runtime::{CompiledModule, Runtime};
pub use storage::{Database, Installed};
