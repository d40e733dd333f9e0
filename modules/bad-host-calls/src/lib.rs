//! Fixture `bad-host-calls`: reducers that call the host's functions the way no SDK would
//! (hand-written extern block): parameters that are not a JSON array or not JSON, SQL that is
//! not UTF-8, buffers outside the module's memory or of a negative length. Each call must fail
//! with the host's message, and the module keep working (`ok`).

use keel_module::prelude::*;

#[link(wasm_import_module = "keel")]
unsafe extern "C" {
    /// The host's `sql`: `(sql_ptr, sql_len, params_ptr, params_len) -> result length`, negative
    /// (`-len - 1`) for an error message.
    #[link_name = "sql"]
    fn raw_sql(sql_ptr: *const u8, sql_len: i32, params_ptr: *const u8, params_len: i32) -> i64;
    /// Copies the last result into guest memory at `ptr`.
    #[link_name = "read_result"]
    fn raw_read_result(ptr: *mut u8);
    /// The host's `log`: `(level, ptr, len)`.
    #[link_name = "log"]
    fn raw_log(level: i32, ptr: *const u8, len: i32);
}

/// Runs `sql` with raw `params` bytes; the host's answer as text, `Err` for an error message.
fn sql_with_raw_params(sql: &[u8], params: &[u8]) -> Result<String, String> {
    // SAFETY: the pointers and lengths describe live slices; the buffer has the length the
    // host reported for the result it copies into it.
    unsafe {
        let code = raw_sql(
            sql.as_ptr(),
            sql.len() as i32,
            params.as_ptr(),
            params.len() as i32,
        );
        let len = if code < 0 { -code - 1 } else { code } as usize;
        let mut buffer = vec![0u8; len];
        raw_read_result(buffer.as_mut_ptr());
        let text = String::from_utf8_lossy(&buffer).into_owned();
        if code < 0 { Err(text) } else { Ok(text) }
    }
}

keel_module::module! {
    tables = [];
    /// Succeeds: the module still works after the failures.
    reducer ok(_ctx) { Ok(()) }
    /// Parameters `{}`: a JSON object, not an array.
    reducer params_not_array(_ctx) {
        sql_with_raw_params(b"SELECT 1", b"{}").map(drop).map_err(Error::new)
    }
    /// Parameters `[1,`: not JSON.
    reducer params_not_json(_ctx) {
        sql_with_raw_params(b"SELECT ?1", b"[1,").map(drop).map_err(Error::new)
    }
    /// SQL text that is not UTF-8.
    reducer sql_not_utf8(_ctx) {
        sql_with_raw_params(b"SELECT \xff", b"[]").map(drop).map_err(Error::new)
    }
    /// Parameters `null`: no parameters at all.
    reducer params_null(_ctx) {
        let answer = sql_with_raw_params(b"SELECT 7 AS seven", b"null").map_err(Error::new)?;
        info!("{answer}");
        Ok(())
    }
    /// Logs from an address past the end of memory.
    reducer log_outside_memory(_ctx) {
        // SAFETY: the host checks the buffer against the module's memory and traps.
        unsafe { raw_log(2, (usize::MAX - 16) as *const u8, 8) };
        Ok(())
    }
    /// Logs a buffer of negative length.
    reducer log_negative_length(_ctx) {
        // SAFETY: as above.
        unsafe { raw_log(2, b"x".as_ptr(), -1) };
        Ok(())
    }
}
