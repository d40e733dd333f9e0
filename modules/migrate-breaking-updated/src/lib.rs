//! Fixture `migrate-breaking-updated`: an update of `migrate-visibility-initial` that must be
//! refused, for four reasons at once: `entry` gains a unique column `code` and a column `rank`
//! that is neither nullable nor has a default, and `diary.text` becomes nullable with a default.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("entry")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text"))
            .column(col::<String>("code").unique())
            .column(col::<i64>("rank"))
            .index("entry_lookup", &["text"]),
        Table::private("diary")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<Option<String>>("text").default("none")),
    ];
    reducer add_entry(ctx, text: String) {
        ctx.execute("INSERT INTO entry (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
}
