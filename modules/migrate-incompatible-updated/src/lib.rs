//! Fixture `migrate-incompatible-updated`: `item` with `price` changed to real and `name` dropped: refused without clear, accepted with clear (data wiped).

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<f64>("price")),
    ];
    reducer add_item(ctx, price: f64) {
        ctx.execute("INSERT INTO item (price) VALUES (?1)", (price,))?;
        Ok(())
    }
}
