//! Fixture `init-fails`: table `item`; `init` inserts a row then fails with "init-fails: refusing to start", so the first publish must fail and leave nothing.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name")),
    ];
    /// Inserts, then fails: the publish is refused and the insert rolled back.
    reducer init(ctx) {
        ctx.execute("INSERT INTO item (name) VALUES ('from init')", ())?;
        bail!("init-fails: refusing to start")
    }
    reducer add(ctx, name: String) {
        ctx.execute("INSERT INTO item (name) VALUES (?1)", (&name,))?;
        Ok(())
    }
}
