//! Fixture `migrate-visibility-updated`: `entry` made private and `diary` public (an accepted
//! migration that changes who may read them), index `entry_lookup` redefined over `(text, id)`, and a new table `pair` with a two-column primary
//! key `(a, b)`, a blob `bytes` (default `x'0102'`) and a nullable `note` (default NULL);
//! `add_pair(a, b)`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::private("entry")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text"))
            .index("entry_lookup", &["text", "id"]),
        Table::public("diary")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text")),
        Table::public("pair")
            .column(col::<i64>("a").primary_key())
            .column(col::<i64>("b").primary_key())
            .column(col::<Vec<u8>>("bytes").default(vec![1u8, 2]))
            .column(col::<Option<String>>("note").default(None::<String>)),
    ];
    reducer add_entry(ctx, text: String) {
        ctx.execute("INSERT INTO entry (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    reducer add_diary(ctx, text: String) {
        ctx.execute("INSERT INTO diary (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    reducer add_pair(ctx, a: i64, b: i64) {
        ctx.execute("INSERT INTO pair (a, b) VALUES (?1, ?2)", (a, b))?;
        Ok(())
    }
}
