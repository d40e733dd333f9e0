//! Publishing: create, update with the same bytes, clear, delete, list, several databases.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::expect_error;

smoketest! {
    /// The first publish creates the database, runs `init`, and reports a blake3 module hash
    /// that describe shows too, with the publisher as owner.
    fn first_publish_creates_database_and_runs_init() {
        let mut t = Smoketest::builder().precompiled_module("counter").autopublish(false).build()?;
        let published = t.publish()?;
        assert_eq!((published.database.as_str(), published.created, published.cleared), (t.db(), true, false));
        ensure!(published.module_hash.len() == 64 && published.module_hash.chars().all(|c| c.is_ascii_hexdigit()), "{published:?}");
        t.assert_sql("SELECT id, value FROM counter", "id | value\n---+------\n1  | 0")?;
        let info = t.describe()?;
        assert_eq!(info.module_hash.as_deref(), Some(published.module_hash.as_str()));
        assert_eq!(info.owner, t.identity());
        assert_eq!(info.name, t.db());
        Ok(())
    }
}

smoketest! {
    /// Publishing the same bytes again is an update: nothing created, no migration step, the
    /// same hash, and the data kept.
    fn republishing_same_bytes_keeps_data() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let first_hash = t.describe()?.module_hash;
        t.call("increment", json!([7]))?;
        let again = t.publish()?;
        assert_eq!((again.created, again.cleared), (false, false));
        assert_eq!(again.migration, Vec::<String>::new());
        assert_eq!(Some(again.module_hash), first_hash);
        t.assert_sql("SELECT value FROM counter", "value\n-----\n7")?;
        Ok(())
    }
}

smoketest! {
    /// An update does not run `init` again: the lifecycle table keeps exactly one init row.
    fn update_does_not_rerun_init() {
        let mut t = Smoketest::builder().precompiled_module("lifecycle").build()?;
        t.call("touch", json!([]))?;
        t.publish()?;
        t.publish()?;
        t.assert_sql("SELECT kind FROM event ORDER BY id", "kind\n-----\ninit\ntouch")?;
        Ok(())
    }
}

smoketest! {
    /// Publishing with clear wipes every row and runs `init` again on the empty tables.
    fn publish_clear_wipes_data_and_reruns_init() {
        let mut t = Smoketest::builder().precompiled_module("lifecycle").build()?;
        t.call("touch", json!([]))?;
        t.call("touch", json!([]))?;
        assert!(t.publish_clear()?.cleared);
        t.assert_sql("SELECT kind, count(*) AS n FROM event GROUP BY kind", "kind | n\n-----+--\ninit | 1")?;
        Ok(())
    }
}

smoketest! {
    /// Publishing with clear to a database that has a module reports `created: false` and
    /// `cleared: true`: the database existed and had a module, its data was wiped.
    fn clear_of_an_existing_database_is_not_reported_as_created() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let cleared = t.publish_clear()?;
        assert_eq!((cleared.created, cleared.cleared), (false, true), "{cleared:?}");
        Ok(())
    }
}

smoketest! {
    /// A deleted database is gone: calls, SQL and describe answer 404, and the owner's list no
    /// longer shows it.
    fn delete_removes_the_database() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let deleted = t.client().delete(t.db())?;
        assert_eq!(deleted.database, t.db());
        expect_error(t.call("increment", json!([1])), ErrorKind::NotFound)?;
        expect_error(t.sql("SELECT value FROM counter"), ErrorKind::NotFound)?;
        expect_error(t.describe(), ErrorKind::NotFound)?;
        let names: Vec<String> = t.client().list()?.databases.into_iter().map(|db| db.name).collect();
        ensure!(!names.iter().any(|name| name == t.db()), "{names:?}");
        Ok(())
    }
}

smoketest! {
    /// A database deleted and published again starts from scratch: `init` runs and the old
    /// rows are gone.
    fn publish_after_delete_starts_fresh() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([9]))?;
        t.client().delete(t.db())?;
        let published = t.publish()?;
        assert!(published.created, "{published:?}");
        t.assert_sql("SELECT id, value FROM counter", "id | value\n---+------\n1  | 0")?;
        Ok(())
    }
}

smoketest! {
    /// `list` shows every database of the caller with its module hash.
    fn list_shows_own_databases_with_hashes() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let second = t.new_database();
        t.use_precompiled_module("kv")?;
        let kv_hash = t.publish_to(&second, false)?.module_hash;
        let counter_hash = t.describe()?.module_hash;
        let list = t.client().list()?;
        let hash_of = |name: &str| list.databases.iter().find(|db| db.name == name).map(|db| db.module_hash.clone());
        assert_eq!(hash_of(t.db()), Some(counter_hash));
        assert_eq!(hash_of(&second), Some(Some(kv_hash)));
        Ok(())
    }
}

smoketest! {
    /// Two databases with the same module are independent: calls to one never show in the other.
    fn databases_with_the_same_module_are_independent() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let second = t.new_database();
        t.publish_to(&second, false)?;
        t.call("increment", json!([3]))?;
        t.client().call(&second, "increment", &json!([40]))?;
        t.client().call(&second, "increment", &json!([2]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n3")?;
        let other = t.client().sql(&second, "SELECT value FROM counter")?;
        assert_eq!(other.rows, vec![vec![json!(42)]]);
        Ok(())
    }
}

smoketest! {
    /// A module without tables or reducers publishes; its schema is empty and any call is 404.
    fn empty_module_publishes_with_an_empty_schema() {
        let t = Smoketest::builder().precompiled_module("empty").build()?;
        let schema = t.describe()?.schema.expect("a published database has a schema");
        assert_eq!((schema.tables.len(), schema.reducers.len()), (0, 0), "{schema:?}");
        let message = expect_error(t.call("anything", json!([])), ErrorKind::NotFound)?;
        crate::support::expect_contains(&message, "no reducer `anything`")?;
        Ok(())
    }
}

smoketest! {
    /// A module whose 20 tables come from an iterator gets all of them, and a reducer can write
    /// to every one in one call.
    fn many_tables_are_created_and_filled() {
        let t = Smoketest::builder().precompiled_module("many-tables").build()?;
        let schema = t.describe()?.schema.expect("schema");
        let names: Vec<&str> = schema.tables.iter().map(|table| table.name.as_str()).collect();
        let expected: Vec<String> = (0..20).map(|idx| format!("t{idx:02}")).collect();
        assert_eq!(names, expected);
        t.call("fill", json!(["a"]))?;
        t.call("fill", json!(["b"]))?;
        t.call("count_all", json!([]))?;
        assert_eq!(t.logs(1)?, vec!["40 rows".to_owned()]);
        t.assert_sql("SELECT id, value FROM t19 ORDER BY id", "id | value\n---+------\n1  | a\n2  | b")?;
        Ok(())
    }
}
