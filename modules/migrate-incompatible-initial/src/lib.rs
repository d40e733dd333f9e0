//! Fixture `migrate-incompatible-initial`: table `item(id, name text, price integer)`, reducer `add_item(name, price)`; pair with -updated.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name"))
            .column(col::<i64>("price")),
    ];
    reducer add_item(ctx, name: String, price: i64) {
        ctx.execute("INSERT INTO item (name, price) VALUES (?1, ?2)", (&name, price))?;
        Ok(())
    }
}
