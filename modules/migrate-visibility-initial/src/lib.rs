//! Fixture `migrate-visibility-initial`: public `entry(id, text)` (index `entry_lookup` on `text`)
//! and private `diary(id, text)`,
//! reducers `add_entry(text)` and `add_diary(text)`; pair with `-updated` (and with
//! `migrate-breaking-updated`, the update that must be refused).

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("entry")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text"))
            .index("entry_lookup", &["text"]),
        Table::private("diary")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text")),
    ];
    reducer add_entry(ctx, text: String) {
        ctx.execute("INSERT INTO entry (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    reducer add_diary(ctx, text: String) {
        ctx.execute("INSERT INTO diary (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
}
