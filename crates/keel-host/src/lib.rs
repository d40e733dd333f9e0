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

//!
//! The layers, each using only those before it: `guard` (the authorizer's policy) → `sql`
//! (connections, limits, deadlines, running one statement) → `invoke` (host functions and one
//! wasm call) → `runtime` (compiling and caching modules) → the database (`database.rs`, with
//! `install.rs`, `reducer.rs` and `client_sql.rs`). Nothing here knows of HTTP.

mod client_sql;
mod config;
mod database;
mod errors;
pub mod guard;
mod install;
mod invoke;
pub mod migration;
mod reducer;
mod runtime;
mod sql;
mod validate;
mod values;

pub use config::HostConfig;
pub use database::Database;
pub use errors::{CallError, ModuleError, PublishError, SqlError, StorageError};
pub use guard::Access;
pub use install::Installed;
pub use reducer::CallStats;
pub use runtime::{CompiledModule, Runtime};
pub use sql::Rows;
