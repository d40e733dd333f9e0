//! Fixture `migrate-index-initial`: table `item(id, name, category, price)` with indexes `item_by_name` and `item_by_category`; pair with -updated.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name"))
            .column(col::<String>("category"))
            .column(col::<i64>("price"))
            .index("item_by_name", &["name"])
            .index("item_by_category", &["category"]),
    ];
    reducer add_item(ctx, name: String, category: String, price: i64) {
        ctx.execute("INSERT INTO item (name, category, price) VALUES (?1, ?2, ?3)", (&name, &category, price))?;
        Ok(())
    }
}
