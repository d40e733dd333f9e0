//! Fixture `kv`: table `kv(key primary key, value text)`; `set`, `get` (logs "key = value"), `delete`, and `incr(key)`/`incr_by(key, by)` doing a read-modify-write in the guest (for concurrency tests).

use keel_module::prelude::*;

/// Reads the integer under `key` (0 when absent), adds `by`, writes it back: a read-modify-write
/// that loses updates unless calls are serialised.
fn add(ctx: &Ctx, key: &str, by: i64) -> Result<()> {
    let current: Option<String> = ctx.query_opt("SELECT value FROM kv WHERE key = ?1", (key,))?;
    let current: i64 = match current {
        None => 0,
        Some(text) => match text.parse() {
            Ok(value) => value,
            Err(_) => bail!("value of {key} is not an integer: {text}"),
        },
    };
    let next = current.checked_add(by).ok_or("integer overflow")?;
    ctx.execute(
        "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
        (key, next.to_string()),
    )?;
    Ok(())
}

keel_module::module! {
    tables = [
        Table::public("kv")
            .column(col::<String>("key").primary_key())
            .column(col::<String>("value")),
    ];
    /// Sets `key` to `value`.
    reducer set(ctx, key: String, value: String) {
        ctx.execute(
            "INSERT INTO kv (key, value) VALUES (?1, ?2) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (&key, &value),
        )?;
        Ok(())
    }
    /// Logs "key = value"; a missing key is an error.
    reducer get(ctx, key: String) {
        match ctx.query_opt::<String>("SELECT value FROM kv WHERE key = ?1", (&key,))? {
            Some(value) => info!("{key} = {value}"),
            None => bail!("no key {key}"),
        }
        Ok(())
    }
    /// Deletes `key`; a missing key is an error.
    reducer delete(ctx, key: String) {
        if ctx.execute("DELETE FROM kv WHERE key = ?1", (&key,))? == 0 {
            bail!("no key {key}");
        }
        Ok(())
    }
    /// Adds 1 to the integer under `key`.
    reducer incr(ctx, key: String) { add(ctx, &key, 1) }
    /// Adds `by` to the integer under `key`.
    reducer incr_by(ctx, key: String, by: i64) { add(ctx, &key, by) }
}
