//! Fixture `many-tables`: 20 public tables `t00`..`t19` (id, value), built from an iterator; `fill(value)` inserts one row in each, `count_all` logs the total.

use keel_module::prelude::*;

const N_TABLES: usize = 20;

fn table_name(table_idx: usize) -> String {
    format!("t{table_idx:02}")
}

keel_module::module! {
    tables = (0..N_TABLES).map(|table_idx| {
        Table::public(table_name(table_idx))
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("value"))
    });
    /// Inserts `value` into every table.
    reducer fill(ctx, value: String) {
        for table_idx in 0..N_TABLES {
            ctx.execute(&format!("INSERT INTO {} (value) VALUES (?1)", table_name(table_idx)), (&value,))?;
        }
        Ok(())
    }
    /// Logs "N rows" over all tables.
    reducer count_all(ctx) {
        let mut n_rows = 0;
        for table_idx in 0..N_TABLES {
            n_rows += ctx.query_one::<i64>(&format!("SELECT COUNT(*) FROM {}", table_name(table_idx)), ())?;
        }
        info!("{n_rows} rows");
        Ok(())
    }
}
