//! Fixture `migrate-add-column-updated`: `item` gains nullable `note` and `quantity` (default 1): an accepted migration; old rows read quantity 1 and note NULL; `add_item_full(name, note, quantity)`.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name"))
            .column(col::<Option<String>>("note"))
            .column(col::<i64>("quantity").default(1)),
    ];
    reducer add_item(ctx, name: String) {
        ctx.execute("INSERT INTO item (name) VALUES (?1)", (&name,))?;
        Ok(())
    }
    reducer add_item_full(ctx, name: String, note: Option<String>, quantity: i64) {
        ctx.execute("INSERT INTO item (name, note, quantity) VALUES (?1, ?2, ?3)", (&name, &note, quantity))?;
        Ok(())
    }
}
