//! Fixture `lifecycle`: table `event(kind, sender, ts)`; `init` inserts an "init" row with the publisher and the timestamp, `touch` inserts a "touch" row.

use keel_module::prelude::*;

fn record(ctx: &Ctx, kind: &str) -> Result<()> {
    ctx.execute(
        "INSERT INTO event (kind, sender, ts) VALUES (?1, ?2, ?3)",
        (kind, ctx.sender(), ctx.timestamp_micros()),
    )?;
    Ok(())
}

keel_module::module! {
    tables = [
        Table::public("event")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("kind"))
            .column(col::<String>("sender"))
            .column(col::<i64>("ts")),
    ];
    /// Runs once, on the first publish.
    reducer init(ctx) {
        info!("init by {}", ctx.sender());
        record(ctx, "init")
    }
    /// An ordinary reducer.
    reducer touch(ctx) { record(ctx, "touch") }
}
