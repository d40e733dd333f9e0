//! The host functions, imported from module `keel` (see `keel_api::abi`).
//!
//! Each function here wraps one raw import in a safe signature; this file and `native.rs`
//! expose the same functions.

mod raw {
    #[link(wasm_import_module = "keel")]
    unsafe extern "C" {
        pub(super) fn return_bytes(ptr: i32, len: i32);
        pub(super) fn sql(sql_ptr: i32, sql_len: i32, params_ptr: i32, params_len: i32) -> i64;
        pub(super) fn read_result(ptr: i32);
        pub(super) fn caller_identity() -> i32;
        pub(super) fn timestamp_micros() -> i64;
        pub(super) fn log(level: i32, ptr: i32, len: i32);
        pub(super) fn panic(ptr: i32, len: i32);
    }
}

/// Pointers and lengths cross the ABI as `i32`; on wasm32 `usize` is 32 bits wide.
fn ptr_len(bytes: &[u8]) -> (i32, i32) {
    (bytes.as_ptr() as usize as i32, bytes.len() as i32)
}

/// Copies the host's result buffer (`len` bytes) into a new vector.
fn read_result(len: usize) -> Vec<u8> {
    let mut buffer = Vec::<u8>::with_capacity(len);
    // SAFETY: the host writes exactly `len` bytes (the length it just reported) at the pointer,
    // which points to `len` bytes of spare capacity we own.
    unsafe {
        raw::read_result(buffer.as_mut_ptr() as usize as i32);
        buffer.set_len(len);
    }
    buffer
}

/// Hands `bytes` to the host, which copies them before returning.
pub(crate) fn return_bytes(bytes: &[u8]) {
    let (ptr, len) = ptr_len(bytes);
    // SAFETY: the host only reads `len` bytes at `ptr`, which stay alive during the call.
    unsafe { raw::return_bytes(ptr, len) }
}

/// Runs one statement; `Ok` holds the JSON `SqlResult`, `Err` the host's error message.
pub(crate) fn sql(sql: &str, params_json: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    let (sql_ptr, sql_len) = ptr_len(sql.as_bytes());
    let (params_ptr, params_len) = ptr_len(params_json);
    // SAFETY: the host only reads the two buffers, which stay alive during the call.
    let code = unsafe { raw::sql(sql_ptr, sql_len, params_ptr, params_len) };
    if code >= 0 {
        Ok(read_result(code as usize))
    } else {
        Err(read_result((-(code + 1)) as usize))
    }
}

/// The caller's identity, hex.
pub(crate) fn caller_identity() -> Vec<u8> {
    // SAFETY: no arguments; the host fills its result buffer.
    let len = unsafe { raw::caller_identity() };
    read_result(len.max(0) as usize)
}

/// Microseconds since the Unix epoch at the start of the call.
pub(crate) fn timestamp_micros() -> i64 {
    // SAFETY: no arguments.
    unsafe { raw::timestamp_micros() }
}

/// Appends a record to the database's log.
pub(crate) fn log(level: i32, message: &str) {
    let (ptr, len) = ptr_len(message.as_bytes());
    // SAFETY: the host only reads the buffer, which stays alive during the call.
    unsafe { raw::log(level, ptr, len) }
}

/// Records a panic message; the module traps right after.
pub(crate) fn panic(message: &str) {
    let (ptr, len) = ptr_len(message.as_bytes());
    // SAFETY: the host only reads the buffer, which stays alive during the call.
    unsafe { raw::panic(ptr, len) }
}

/// Sends every panic message, with its location, to the host before the module traps.
/// Installed once, at the first call into the module.
pub(crate) fn install_panic_hook() {
    static INSTALL: std::sync::Once = std::sync::Once::new();
    INSTALL.call_once(|| {
        std::panic::set_hook(Box::new(|info| panic(&info.to_string())));
    });
}
