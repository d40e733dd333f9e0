//! Fixture `counter`: one public counter row: `init` creates it, `increment` adds, `reset` (private) deletes.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("counter")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("value").default(0)),
    ];
    /// Creates the counter row.
    reducer init(ctx) {
        ctx.execute("INSERT INTO counter (value) VALUES (0)", ())?;
        Ok(())
    }
    /// Adds `by` to the counter.
    reducer increment(ctx, by: i64) {
        ctx.execute("UPDATE counter SET value = value + ?1", (by,))?;
        Ok(())
    }
    /// Logs the value.
    reducer get(ctx) {
        let value: i64 = ctx.query_one("SELECT value FROM counter", ())?;
        info!("counter = {value}");
        Ok(())
    }
    /// Deletes the counter row (owner only).
    #[private]
    reducer reset(ctx) {
        ctx.execute("DELETE FROM counter", ())?;
        Ok(())
    }
}
