//! Fixture `sql-loop`: table `tick`; `select_many(statements)` runs that many `SELECT 1` statements through the host's raw `sql` import (a few fuel units each, so a call's time is spent between statements, never inside one); `ok` inserts a row.

use keel_module::prelude::*;

#[link(wasm_import_module = "keel")]
unsafe extern "C" {
    /// The host's SQL call (`keel_api::abi`), called directly: the SDK's JSON round trip per
    /// statement would cost more fuel than the statement, and the fuel limit would end the loop
    /// long before any time limit.
    fn sql(sql_ptr: i32, sql_len: i32, params_ptr: i32, params_len: i32) -> i64;
}

const STATEMENT: &str = "SELECT 1";
const NO_PARAMS: &str = "[]";

keel_module::module! {
    tables = [
        Table::public("tick")
            .column(col::<i64>("id").primary_key().auto_increment()),
    ];
    /// Runs `statements` statements of `SELECT 1`, then inserts a row; a refused statement ends
    /// the call with the host's error.
    reducer select_many(ctx, statements: u64) {
        for _ in 0..statements {
            // SAFETY: the host only reads the two buffers, which are static.
            let code = unsafe {
                sql(
                    STATEMENT.as_ptr() as usize as i32,
                    STATEMENT.len() as i32,
                    NO_PARAMS.as_ptr() as usize as i32,
                    NO_PARAMS.len() as i32,
                )
            };
            if code < 0 {
                // The same statement through the SDK brings back the host's message.
                ctx.execute(STATEMENT, ())?;
                bail!("a statement was refused");
            }
        }
        ctx.execute("INSERT INTO tick DEFAULT VALUES", ())?;
        Ok(())
    }
    /// Inserts a row: the database still works after a long call.
    reducer ok(ctx) {
        ctx.execute("INSERT INTO tick DEFAULT VALUES", ())?;
        Ok(())
    }
}
