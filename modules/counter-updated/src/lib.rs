//! Fixture `counter-updated`: `counter` plus table `history` and reducer `decrement`; `increment` also records history (migration: add table).

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("counter")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("value").default(0)),
        Table::public("history")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("delta"))
            .column(col::<i64>("ts")),
    ];
    /// Creates the counter row.
    reducer init(ctx) {
        ctx.execute("INSERT INTO counter (value) VALUES (0)", ())?;
        Ok(())
    }
    /// Adds `by` to the counter and records it.
    reducer increment(ctx, by: i64) {
        ctx.execute("UPDATE counter SET value = value + ?1", (by,))?;
        ctx.execute("INSERT INTO history (delta, ts) VALUES (?1, ?2)", (by, ctx.timestamp_micros()))?;
        Ok(())
    }
    /// Subtracts `by` from the counter (new in this version).
    reducer decrement(ctx, by: i64) {
        increment(ctx, -by)
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
