//! Fixture `errors`: table `attempt`; `fail(message)`, `fail_after_insert(text)` (rollback), `bail_code(code)`, `bad_sql` (syntax error), `missing_param`, `no_such_table`, `unicode_error`, `long_error(len)`, and a normal `ok(text)`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("attempt")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text")),
    ];
    reducer ok(ctx, text: String) {
        ctx.execute("INSERT INTO attempt (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    /// Fails with exactly `message`.
    reducer fail(_ctx, message: String) {
        Err(message.into())
    }
    /// Inserts, then fails: the insert must be rolled back.
    reducer fail_after_insert(ctx, text: String) {
        ctx.execute("INSERT INTO attempt (text) VALUES (?1)", (&text,))?;
        bail!("failed after inserting {text}")
    }
    /// Fails with "error code {code}".
    reducer bail_code(_ctx, code: i64) {
        bail!("error code {code}")
    }
    /// Malformed SQL: the host's syntax error becomes the reducer's error.
    reducer bad_sql(ctx) {
        ctx.execute("SELEC nonsense", ())?;
        Ok(())
    }
    /// A statement with a parameter that is not given.
    reducer missing_param(ctx) {
        ctx.execute("INSERT INTO attempt (text) VALUES (?1)", ())?;
        Ok(())
    }
    /// A query of a table that does not exist.
    reducer no_such_table(ctx) {
        ctx.query_raw("SELECT * FROM nowhere", ())?;
        Ok(())
    }
    /// Fails with non-ASCII text: "échec ✗ 失败".
    reducer unicode_error(_ctx) {
        bail!("échec ✗ 失败")
    }
    /// Fails with a message of `len` times "e".
    reducer long_error(_ctx, len: u32) {
        Err("e".repeat(len as usize).into())
    }
}
