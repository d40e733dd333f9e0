//! Bad input gets a clear 4xx and leaves nothing behind: invalid wasm, modules the host cannot
//! run, a failing `init`, unknown databases, bad names and oversized bodies.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error, missing_database};

/// Publishes precompiled `module` to a fresh database name, expects 400 invalid_module
/// containing `needle`, and checks that no database was left behind.
fn expect_refused_module(module: &str, needle: &str) -> anyhow::Result<()> {
    let mut t = Smoketest::builder()
        .precompiled_module(module)
        .autopublish(false)
        .build()?;
    let db = t.new_database();
    let message = expect_error(t.publish_to(&db, false), ErrorKind::InvalidModule)?;
    expect_contains(&message, needle)?;
    expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
    Ok(())
}

smoketest! {
    /// Bytes that are not wasm are 400 invalid_module, and no database is created.
    fn invalid_wasm_bytes_are_refused() {
        let mut t = Smoketest::builder().build()?;
        let db = t.new_database();
        for bytes in [&b"definitely not wasm"[..], b"\0asm\x01\0\0\0\xff\xff", b""] {
            let message = expect_error(t.client().publish(&db, bytes, false), ErrorKind::InvalidModule)?;
            expect_contains(&message, "invalid wasm")?;
        }
        expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        Ok(())
    }
}

smoketest! {
    /// A module importing a function the host lacks is refused, naming the import.
    fn module_with_unknown_import_is_refused() {
        expect_refused_module("bad-import", "keel.does_not_exist")
    }
}

smoketest! {
    /// A cdylib without Keel's exports is refused, naming a missing export.
    fn module_without_keel_exports_is_refused() {
        expect_refused_module("no-exports", "does not export `keel_")
    }
}

smoketest! {
    /// A module speaking another ABI version is refused, naming both versions.
    fn module_with_other_abi_version_is_refused() {
        expect_refused_module("abi-mismatch", "ABI version 999")
    }
}

smoketest! {
    /// A table name in SQLite's reserved namespace is refused.
    fn reserved_table_name_is_refused() {
        expect_refused_module("invalid-schema", "sqlite_evil")
    }
}

smoketest! {
    /// A table declaring the same column twice is refused.
    fn duplicate_columns_are_refused() {
        expect_refused_module("duplicate-columns", "column `dup.x` is declared twice")
    }
}

smoketest! {
    /// When `init` fails the publish fails (422, with init's message) and leaves no database.
    fn failing_init_leaves_no_database() {
        let mut t = Smoketest::builder().precompiled_module("init-fails").autopublish(false).build()?;
        let db = t.new_database();
        let message = expect_error(t.publish_to(&db, false), ErrorKind::ReducerError)?;
        expect_contains(&message, "init-fails: refusing to start")?;
        expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        expect_error(t.client().sql(&db, "SELECT * FROM item"), ErrorKind::NotFound)?;
        ensure!(!t.client().list()?.databases.iter().any(|listed| listed.name == db), "{db} still listed");
        Ok(())
    }
}

smoketest! {
    /// A rejected update leaves the old module running.
    fn rejected_update_keeps_the_old_module() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let hash = t.describe()?.module_hash;
        let wasm = t.module_bytes()?;
        expect_error(t.client().publish(t.db(), &wasm[..wasm.len() / 2], false), ErrorKind::InvalidModule)?;
        t.use_precompiled_module("bad-import")?;
        expect_error(t.publish(), ErrorKind::InvalidModule)?;
        assert_eq!(t.describe()?.module_hash, hash);
        t.call("increment", json!([1]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n1")?;
        Ok(())
    }
}

smoketest! {
    /// Every route answers 404 for a database that does not exist.
    fn unknown_database_is_not_found() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let missing = missing_database(&t);
        let client = t.client();
        let message = expect_error(client.call(&missing, "increment", &json!([1])), ErrorKind::NotFound)?;
        expect_contains(&message, &missing)?;
        expect_error(client.sql(&missing, "SELECT 1"), ErrorKind::NotFound)?;
        expect_error(client.describe(&missing), ErrorKind::NotFound)?;
        expect_error(client.logs(&missing, 5), ErrorKind::NotFound)?;
        expect_error(client.delete(&missing), ErrorKind::NotFound)?;
        expect_error(client.reset(&missing), ErrorKind::NotFound)?;
        Ok(())
    }
}

smoketest! {
    /// Invalid database names are 400 bad_request.
    fn invalid_database_names_are_refused() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let wasm = t.module_bytes()?;
        for name in ["UPPER", "-leading-dash", "has.dot", &"x".repeat(65)] {
            expect_error(t.client().publish(name, &wasm, false), ErrorKind::BadRequest).map_err(|error| error.context(name.to_owned()))?;
        }
        expect_error(t.client().rename(t.db(), "Not Valid"), ErrorKind::BadRequest)?;
        assert_eq!(t.describe()?.name, t.db());
        Ok(())
    }
}

smoketest! {
    /// A 17 MiB publish is refused with 413 and the server keeps serving.
    fn oversized_publish_is_refused() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let db = t.new_database();
        let huge = vec![0u8; 17 << 20];
        let message = expect_error(t.client().publish(&db, &huge, false), ErrorKind::PayloadTooLarge)?;
        expect_contains(&message, "larger than the server accepts")?;
        expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        t.call("increment", json!([1]))?;
        Ok(())
    }
}

smoketest! {
    /// Call arguments above the 1 MiB request limit are refused with 413.
    fn oversized_call_is_refused() {
        let t = Smoketest::builder().precompiled_module("kv").build()?;
        let big = "v".repeat(2 << 20);
        expect_error(t.call("set", json!(["big", big])), ErrorKind::PayloadTooLarge)?;
        t.call("set", json!(["small", "v"]))?;
        t.assert_sql("SELECT key FROM kv", "key\n-----\nsmall")?;
        Ok(())
    }
}

/// The `bad-schemas` fixture describing schema `case` (see its source): the two digits after
/// `SCHEMA-CASE:` in its data are rewritten.
fn bad_schema(wasm: &[u8], case: usize) -> anyhow::Result<Vec<u8>> {
    let marker = b"SCHEMA-CASE:";
    let at = wasm
        .windows(marker.len())
        .position(|window| window == marker)
        .ok_or_else(|| anyhow::anyhow!("the bad-schemas fixture has no SCHEMA-CASE marker"))?;
    let mut patched = wasm.to_vec();
    patched[at + marker.len()..at + marker.len() + 2]
        .copy_from_slice(format!("{case:02}").as_bytes());
    Ok(patched)
}

smoketest! {
    /// Every way a schema can be malformed is refused at publish as invalid_module naming the
    /// problem, and leaves no database: a table or reducer declared twice, a table without
    /// columns, names that are not identifiers or are too long or reserved, defaults of another
    /// type, auto-increment off an integer primary key, indexes that clash, are empty or name a
    /// missing column. Blob defaults and `"default": null` (no default) are accepted.
    fn malformed_schemas_are_refused_naming_the_problem() {
        let mut t = Smoketest::builder().precompiled_module("bad-schemas").autopublish(false).build()?;
        let wasm = t.module_bytes()?;
        let refused = [
            (1, "table `T` is declared twice"),
            (2, "table `t` has no columns"),
            (3, "column name `1st` must match"),
            (4, "the default of `t.n` does not match its type"),
            (5, "`t.id` is auto-increment but not the table's only integer primary key"),
            (6, "index `t` clashes with another table or index"),
            (7, "index `by_nothing` has no columns"),
            (8, "index `by_ghost` names column `ghost`, which `t` does not have"),
            (9, "reducer `go` is declared twice"),
            (10, "reducer name `go-now` must match"),
            (11, "_keel_index"),
            (12, "at most 64 characters"),
            (14, "the default of `t.data` does not match its type"),
        ];
        for (case, needle) in refused {
            let db = t.new_database();
            let message = expect_error(t.client().publish(&db, &bad_schema(&wasm, case)?, false), ErrorKind::InvalidModule)
                .map_err(|error| error.context(format!("schema case {case}")))?;
            expect_contains(&message, needle).map_err(|error| error.context(format!("schema case {case}")))?;
            expect_error(t.client().describe(&db), ErrorKind::NotFound)?;
        }
        // `"default": null` is no default, whatever the column (case 15).
        for case in [0, 13, 15] {
            let db = t.new_database();
            t.client().publish(&db, &bad_schema(&wasm, case)?, false)?;
        }
        let db = t.new_database();
        t.client().publish(&db, &bad_schema(&wasm, 13)?, false)?;
        t.client().sql(&db, "INSERT INTO t (id) VALUES (1)")?;
        let rows = t.client().sql(&db, "SELECT note, data FROM t")?.rows;
        ensure!(rows == [[json!(null), json!([1, 2, 255])]], "defaults: {rows:?}");
        Ok(())
    }
}

smoketest! {
    /// A database emptied by a reset keeps its name when the next publish fails (here `init`):
    /// only a database the failed request itself created is removed.
    fn failing_init_after_a_reset_keeps_the_database() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.client().reset(t.db())?;
        t.use_precompiled_module("init-fails")?;
        let message = expect_error(t.publish(), ErrorKind::ReducerError)?;
        expect_contains(&message, "init-fails: refusing to start")?;
        let info = t.describe()?;
        ensure!(info.module_hash.is_none() && info.owner == t.identity(), "after the failed publish: {info:?}");
        ensure!(t.client().list()?.databases.iter().any(|listed| listed.name == t.db()), "{} is no longer listed", t.db());
        t.use_precompiled_module("counter")?;
        t.publish()?;
        t.call("increment", json!([1]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n1")?;
        Ok(())
    }
}
