//! Fixture `migrate-add-column-initial`: table `item(id, name)`, reducer `add_item(name)`; pair with -updated.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("item")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name")),
    ];
    reducer add_item(ctx, name: String) {
        ctx.execute("INSERT INTO item (name) VALUES (?1)", (&name,))?;
        Ok(())
    }
}
