//! Fixture `sql-guard`: table `guarded`; each reducer tries one forbidden statement (ATTACH, DETACH, PRAGMA writable_schema/journal_mode, load_extension, CREATE/DROP/ALTER TABLE, writing sqlite_master, BEGIN/COMMIT/ROLLBACK/SAVEPOINT, VACUUM, two statements) and fails with the host's error text (or "... was allowed"); `ok`, `run_sql(sql)` are controls.

use keel_module::prelude::*;

/// Runs `sql`, which the host must refuse: the reducer fails with the host's error text, or
/// with "`sql` was allowed" when the host let it through.
fn expect_refused(ctx: &Ctx, sql: &str) -> Result<()> {
    match ctx.execute(sql, ()) {
        Ok(_) => Err(format!("`{sql}` was allowed").into()),
        Err(error) => Err(error.into()),
    }
}

keel_module::module! {
    tables = [
        Table::public("guarded")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("note")),
    ];
    reducer attach(ctx) { expect_refused(ctx, "ATTACH DATABASE '/tmp/keel-sql-guard-evil.db' AS evil") }
    reducer detach(ctx) { expect_refused(ctx, "DETACH DATABASE main") }
    reducer writable_schema(ctx) { expect_refused(ctx, "PRAGMA writable_schema=1") }
    reducer journal_mode(ctx) { expect_refused(ctx, "PRAGMA journal_mode=DELETE") }
    reducer load_extension(ctx) { expect_refused(ctx, "SELECT load_extension('x')") }
    reducer create_table(ctx) { expect_refused(ctx, "CREATE TABLE evil (x INTEGER)") }
    reducer drop_table(ctx) { expect_refused(ctx, "DROP TABLE guarded") }
    reducer alter_table(ctx) { expect_refused(ctx, "ALTER TABLE guarded ADD COLUMN evil TEXT") }
    reducer write_sqlite_master(ctx) { expect_refused(ctx, "UPDATE sqlite_master SET sql = '' WHERE name = 'guarded'") }
    reducer begin(ctx) { expect_refused(ctx, "BEGIN") }
    reducer commit(ctx) { expect_refused(ctx, "COMMIT") }
    reducer rollback(ctx) { expect_refused(ctx, "ROLLBACK") }
    reducer savepoint(ctx) { expect_refused(ctx, "SAVEPOINT evil") }
    reducer vacuum(ctx) { expect_refused(ctx, "VACUUM") }
    /// Two statements in one call: the second (a DROP) must never run.
    reducer two_statements(ctx) {
        expect_refused(ctx, "INSERT INTO guarded (note) VALUES ('first'); DROP TABLE guarded")
    }
    /// Control: ordinary SQL works.
    reducer ok(ctx, note: String) {
        ctx.execute("INSERT INTO guarded (note) VALUES (?1)", (&note,))?;
        Ok(())
    }
    /// Runs any statement; fails with the host's error text if it is refused.
    reducer run_sql(ctx, sql: String) {
        let result = ctx.query_raw(&sql, ())?;
        info!("{} rows, {} changes", result.rows.len(), result.changes);
        Ok(())
    }
}
