//! Guest SDK for Keel modules: declare tables and reducers in ordinary Rust, build the crate as
//! a `cdylib` for `wasm32-unknown-unknown`, publish the `.wasm`.
//!
//! ```no_run
//! use keel_module::prelude::*;
//!
//! keel_module::module! {
//!     tables = [
//!         Table::public("counter")
//!             .column(col::<i64>("id").primary_key().auto_increment())
//!             .column(col::<i64>("value").default(0)),
//!     ];
//!     reducer init(ctx) {
//!         ctx.execute("INSERT INTO counter (value) VALUES (0)", ())?;
//!         Ok(())
//!     }
//!     /// Adds `by` to the counter.
//!     reducer increment(ctx, by: i64) {
//!         let value: i64 = ctx.query_one("SELECT value FROM counter", ())?;
//!         if value.checked_add(by).is_none() {
//!             bail!("counter would overflow");
//!         }
//!         ctx.execute("UPDATE counter SET value = value + ?1", (by,))?;
//!         info!("{} added {by}", ctx.sender());
//!         Ok(())
//!     }
//!     #[private]
//!     reducer reset(ctx) {
//!         ctx.execute("DELETE FROM counter", ())?;
//!         Ok(())
//!     }
//! }
//! # fn main() {}
//! ```
//!
//! - [`module!`] declares everything and generates the ABI exports (`keel_api::abi`).
//! - [`Table`], [`col`] and [`Column`] declare tables; [`ColumnValue`] maps Rust types to
//!   column types.
//! - [`Ctx`] is what a reducer can do: caller, time, SQL. [`ReducerArg`] maps parameter types to
//!   the JSON shapes the host checks.
//! - [`Error`] (with [`bail!`]) is what a reducer returns; [`SqlError`] what SQL returns.
//! - [`info!`], [`warn!`], [`error!`], [`debug!`] write the database's log.
//!
//! A panic in a reducer reaches the host with its message and location, then the module traps
//! and the call's transaction rolls back. The SDK uses no `wasm-bindgen`: the only imports are
//! the host functions of module `keel`. Outside wasm32 the crate compiles, but every host
//! function panics with "keel-module only runs inside the Keel host".
#![warn(missing_docs)]

mod args;
mod ctx;
mod errors;
pub mod log;
mod macros;
mod runtime;
mod table;

#[cfg_attr(target_arch = "wasm32", path = "sys/wasm.rs")]
#[cfg_attr(not(target_arch = "wasm32"), path = "sys/native.rs")]
mod sys;

pub use args::ReducerArg;
pub use ctx::Ctx;
pub use errors::{Error, Result, SqlError};
pub use keel_api;
pub use keel_api::http::SqlResult;
pub use keel_api::schema::{ArgType, ColumnType};
pub use serde;
pub use serde_json;
pub use table::{Column, ColumnValue, Table, col};

/// Everything a module usually needs: `use keel_module::prelude::*;`.
pub mod prelude {
    pub use crate::{Ctx, Error, Result, SqlError, Table, bail, col, debug, error, info, warn};
}

/// Used by the code [`module!`] generates; not a stable API.
#[doc(hidden)]
pub mod __private {
    pub use crate::runtime::*;
    pub use keel_api::schema::{ModuleSchema, TableSchema};
}

#[cfg(test)]
mod tests;
