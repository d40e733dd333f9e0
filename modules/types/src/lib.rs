//! Fixture `types`: table `typed` with every column type (integer, real, text, boolean, blob, and nullable ones), table `defaults` with a default per type; `insert`, `insert_defaults`, `roundtrip(id)` logs the row as JSON, `check_extremes` round-trips i64::MIN/MAX, f64 and a blob in the guest.

use keel_module::prelude::*;
use keel_module::serde_json;

keel_module::module! {
    tables = [
        Table::public("typed")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("int_value"))
            .column(col::<f64>("real_value"))
            .column(col::<String>("text_value"))
            .column(col::<bool>("bool_value"))
            .column(col::<Vec<u8>>("blob_value"))
            .column(col::<Option<i64>>("opt_int"))
            .column(col::<Option<f64>>("opt_real"))
            .column(col::<Option<String>>("opt_text"))
            .column(col::<Option<bool>>("opt_bool"))
            .column(col::<Option<Vec<u8>>>("opt_blob")),
        Table::public("defaults")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<i64>("int_value").default(42))
            .column(col::<f64>("real_value").default(1.5))
            .column(col::<String>("text_value").default("hello"))
            .column(col::<bool>("bool_value").default(true))
            .column(col::<Option<String>>("opt_text")),
    ];
    /// Inserts one row of every type; blobs travel as arrays of bytes.
    #[expect(clippy::too_many_arguments, reason = "one argument per column")]
    reducer insert(
        ctx,
        int_value: i64,
        real_value: f64,
        text_value: String,
        bool_value: bool,
        blob_value: Vec<u8>,
        opt_int: Option<i64>,
        opt_real: Option<f64>,
        opt_text: Option<String>,
        opt_bool: Option<bool>,
        opt_blob: Option<Vec<u8>>,
    ) {
        ctx.execute(
            "INSERT INTO typed (int_value, real_value, text_value, bool_value, blob_value, \
             opt_int, opt_real, opt_text, opt_bool, opt_blob) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
            (int_value, real_value, text_value, bool_value, blob_value, opt_int, opt_real, opt_text, opt_bool, opt_blob),
        )?;
        Ok(())
    }
    /// Inserts a row of defaults.
    reducer insert_defaults(ctx) {
        ctx.execute("INSERT INTO defaults DEFAULT VALUES", ())?;
        Ok(())
    }
    /// Logs row `id` of `typed` as the host returned it: `{"columns":[...],"rows":[[...]]}`.
    reducer roundtrip(ctx, id: i64) {
        let result = ctx.query_raw("SELECT * FROM typed WHERE id = ?1", (id,))?;
        info!("{}", serde_json::to_string(&result)?);
        Ok(())
    }
    /// Stores extreme values and reads them back typed; fails naming the first mismatch.
    reducer check_extremes(ctx) {
        let blob: Vec<u8> = vec![0, 1, 127, 128, 255];
        ctx.execute(
            "INSERT INTO typed (int_value, real_value, text_value, bool_value, blob_value) VALUES (?1, ?2, ?3, ?4, ?5)",
            (i64::MIN, f64::MAX, "ünïcødé \"quoted\"", false, &blob),
        )?;
        ctx.execute(
            "INSERT INTO typed (int_value, real_value, text_value, bool_value, blob_value) VALUES (?1, ?2, ?3, ?4, ?5)",
            (i64::MAX, -0.25, "", true, Vec::<u8>::new()),
        )?;
        let rows: Vec<(i64, f64, String, Vec<u8>)> =
            ctx.query("SELECT int_value, real_value, text_value, blob_value FROM typed ORDER BY id DESC LIMIT 2", ())?;
        let expected = vec![
            (i64::MAX, -0.25, String::new(), Vec::new()),
            (i64::MIN, f64::MAX, "ünïcødé \"quoted\"".to_owned(), blob),
        ];
        if rows != expected {
            bail!("round trip changed values: got {rows:?}, expected {expected:?}");
        }
        Ok(())
    }
}
