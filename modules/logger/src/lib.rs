//! Fixture `logger`: no tables; `log_all(message)` logs at every level, `log_many(n)`, `log_and_fail(message)`, `log_unicode`, `log_long(len)`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [];
    /// Logs `message` once per level: error, warn, info, debug (in that order).
    reducer log_all(_ctx, message: String) {
        error!("error: {message}");
        warn!("warn: {message}");
        info!("info: {message}");
        debug!("debug: {message}");
        Ok(())
    }
    /// Logs "message 0" .. "message n-1" at info level.
    reducer log_many(_ctx, n: u32) {
        for i in 0..n {
            info!("message {i}");
        }
        Ok(())
    }
    /// Logs `message`, then fails with "failed after logging: {message}".
    reducer log_and_fail(_ctx, message: String) {
        info!("{message}");
        bail!("failed after logging: {message}")
    }
    /// Logs non-ASCII text.
    reducer log_unicode(_ctx) {
        info!("héllo wörld ✓ 日本語");
        Ok(())
    }
    /// Logs one record of `len` times "x".
    reducer log_long(_ctx, len: u32) {
        info!("{}", "x".repeat(len as usize));
        Ok(())
    }
}
