//! Stand-ins for the host functions on targets other than wasm32, so the SDK (and modules)
//! compile and their pure parts can be unit-tested on the build machine. Calling any of them
//! panics: there is no host outside the Keel runtime.

const NO_HOST: &str = "keel-module only runs inside the Keel host";

/// See the wasm32 version: hands bytes to the host.
pub(crate) fn return_bytes(_bytes: &[u8]) {
    panic!("{NO_HOST}")
}

/// See the wasm32 version: runs one SQL statement.
pub(crate) fn sql(_sql: &str, _params_json: &[u8]) -> Result<Vec<u8>, Vec<u8>> {
    panic!("{NO_HOST}")
}

/// See the wasm32 version: the caller's identity.
pub(crate) fn caller_identity() -> Vec<u8> {
    panic!("{NO_HOST}")
}

/// See the wasm32 version: the call's timestamp.
pub(crate) fn timestamp_micros() -> i64 {
    panic!("{NO_HOST}")
}

/// See the wasm32 version: appends a log record.
pub(crate) fn log(_level: i32, _message: &str) {
    panic!("{NO_HOST}")
}

/// Keeps the default hook: on the build machine panics should print as usual.
pub(crate) fn install_panic_hook() {}
