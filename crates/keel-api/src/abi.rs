//! The contract between a module (wasm32, built with `keel-module`) and the host runtime.
//!
//! A module is a `cdylib` compiled to `wasm32-unknown-unknown`. All strings are UTF-8, all
//! structured data is JSON, pointers and lengths are `i32` offsets into the module's exported
//! `memory`.
//!
//! # Exports the host calls
//! - `memory`: the linear memory.
//! - `keel_abi_version() -> i32`: returns [`ABI_VERSION`].
//! - `keel_alloc(len: i32) -> i32`: allocates `len` bytes (alignment 1) the host then fills.
//! - `keel_describe() -> i32`: hands the [`crate::schema::ModuleSchema`] as JSON to
//!   `keel.return_bytes`, returns [`STATUS_OK`].
//! - `keel_call(name_ptr, name_len, args_ptr, args_len: i32) -> i32`: runs the reducer named by
//!   the first buffer with the JSON array of arguments in the second (both from `keel_alloc`;
//!   the module frees them). Returns one of the `STATUS_*` codes; for any code but
//!   [`STATUS_OK`] the module first hands the error message to `keel.return_bytes`.
//!
//! # Imports the host provides (module [`IMPORT_MODULE`])
//! - `return_bytes(ptr, len: i32)`: the module hands bytes to the host.
//! - `sql(sql_ptr, sql_len, params_ptr, params_len: i32) -> i64`: runs one SQL statement with
//!   a JSON array of parameters inside the reducer's transaction. The result, a JSON
//!   [`crate::http::SqlResult`] on success or an error message on failure, is placed in the
//!   host's result buffer. Returns its length `n >= 0` on success, `-(n + 1)` on failure.
//! - `read_result(ptr: i32)`: copies the result buffer to `ptr` (the module allocates it).
//! - `caller_identity() -> i32`: places the caller's identity (hex) in the result buffer and
//!   returns its length.
//! - `timestamp_micros() -> i64`: microseconds since the Unix epoch at the start of the call.
//! - `log(level, ptr, len: i32)`: appends a record to the database's log (levels: `LOG_*`).
//! - `panic(ptr, len: i32)`: records a panic message just before the module traps.
//!
//! A trap (panic, `unreachable`, out of fuel, out of memory) aborts the call and rolls back its
//! transaction, like an error status does.

/// The ABI version this crate describes.
pub const ABI_VERSION: i32 = 1;
/// Name of the import module of host functions.
pub const IMPORT_MODULE: &str = "keel";

/// The reducer succeeded.
pub const STATUS_OK: i32 = 0;
/// The reducer returned an error; the message says why.
pub const STATUS_REDUCER_ERROR: i32 = 1;
/// The arguments did not deserialize into the reducer's parameter types.
pub const STATUS_INVALID_ARGUMENTS: i32 = 2;
/// The module has no reducer of that name.
pub const STATUS_NO_SUCH_REDUCER: i32 = 3;

/// Log level of `log`: error.
pub const LOG_ERROR: i32 = 1;
/// Log level of `log`: warning.
pub const LOG_WARN: i32 = 2;
/// Log level of `log`: information.
pub const LOG_INFO: i32 = 3;
/// Log level of `log`: debugging detail.
pub const LOG_DEBUG: i32 = 4;
