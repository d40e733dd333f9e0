//! Fixture `migrate-index-updated`: same `item` table, index `item_by_name` removed, `item_by_price` added (`item_by_category` kept): an accepted migration.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name"))
            .column(col::<String>("category"))
            .column(col::<i64>("price"))
            .index("item_by_category", &["category"])
            .index("item_by_price", &["price"]),
    ];
    reducer add_item(ctx, name: String, category: String, price: i64) {
        ctx.execute("INSERT INTO item (name, category, price) VALUES (?1, ?2, ?3)", (&name, &category, price))?;
        Ok(())
    }
}
