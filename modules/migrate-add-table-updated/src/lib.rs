//! Fixture `migrate-add-table-updated`: `item` plus a new table `tag(id, item_id, label)` and reducer `add_tag`: an accepted migration (add table).

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name")),
        Table::public("tag")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("item_id"))
            .column(col::<String>("label")),
    ];
    reducer add_item(ctx, name: String) {
        ctx.execute("INSERT INTO item (name) VALUES (?1)", (&name,))?;
        Ok(())
    }
    reducer add_tag(ctx, item_id: i64, label: String) {
        ctx.execute("INSERT INTO tag (item_id, label) VALUES (?1, ?2)", (item_id, &label))?;
        Ok(())
    }
}
