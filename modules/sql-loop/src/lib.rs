//! Fixture `sql-loop`: table `tick`; `select_many(statements)` runs that many cheap `SELECT 1` statements through the host, so a call's time is spent between statements and never inside one; `ok` inserts a row.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("tick")
            .column(col::<i64>("id").primary_key().auto_increment()),
    ];
    /// Runs `statements` statements of `SELECT 1`, each one cheap, then inserts a row.
    reducer select_many(ctx, statements: u64) {
        for _ in 0..statements {
            let _: i64 = ctx.query_one("SELECT 1", ())?;
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
