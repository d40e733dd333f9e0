//! Fixture `panicker`: table `event`; `boom` inserts then panics with "panicker: deliberate panic", `boom_with(message)`, `expect_missing`, `log_then_panic`, plus a normal `ok(message)`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("event")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("message")),
    ];
    /// Inserts a row and succeeds.
    reducer ok(ctx, message: String) {
        ctx.execute("INSERT INTO event (message) VALUES (?1)", (&message,))?;
        Ok(())
    }
    /// Inserts a row, then panics: the row must be rolled back.
    reducer boom(ctx) {
        ctx.execute("INSERT INTO event (message) VALUES ('before panic')", ())?;
        panic!("panicker: deliberate panic")
    }
    /// Inserts a row, then panics with `message`.
    reducer boom_with(ctx, message: String) {
        ctx.execute("INSERT INTO event (message) VALUES ('before panic')", ())?;
        panic!("{message}")
    }
    /// Panics through `Option::expect` ("panicker: no such event").
    reducer expect_missing(ctx) {
        let id: Option<i64> = ctx.query_opt("SELECT id FROM event WHERE id < 0", ())?;
        let id = id.expect("panicker: no such event");
        info!("found {id}");
        Ok(())
    }
    /// Logs "about to panic", then panics.
    reducer log_then_panic(_ctx) {
        info!("about to panic");
        panic!("panicker: panic after logging")
    }
}
