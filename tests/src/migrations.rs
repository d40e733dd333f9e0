//! Automatic migrations on update: accepted ones keep the data, breaking ones are refused (409)
//! unless published with clear.

use anyhow::ensure;
use keel_client::{ErrorKind, LogLevel};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// `counter` -> `counter-updated` adds table `history`, keeps the value, and the new
    /// reducer `decrement` works and records history.
    fn counter_update_adds_history_and_keeps_value() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([5]))?;
        expect_error(t.call("decrement", json!([1])), ErrorKind::NotFound)?;
        t.use_precompiled_module("counter-updated")?;
        let updated = t.publish()?;
        assert_eq!((updated.created, updated.cleared), (false, false));
        assert_eq!(updated.migration, vec!["add table history".to_owned()]);
        t.assert_sql("SELECT value FROM counter", "value\n-----\n5")?;
        t.call("decrement", json!([2]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n3")?;
        t.assert_sql("SELECT delta FROM history", "delta\n-----\n-2")?;
        Ok(())
    }
}

smoketest! {
    /// Adding a table keeps the existing rows and the new table and reducer work at once.
    fn update_with_added_table_keeps_rows() {
        let mut t = Smoketest::builder().precompiled_module("migrate-add-table-initial").build()?;
        t.call("add_item", json!(["apple"]))?;
        t.call("add_item", json!(["pear"]))?;
        t.use_precompiled_module("migrate-add-table-updated")?;
        assert_eq!(t.publish()?.migration, vec!["add table tag".to_owned()]);
        t.call("add_tag", json!([2, "green"]))?;
        t.assert_sql(
            "SELECT item.name, tag.label FROM item LEFT JOIN tag ON tag.item_id = item.id ORDER BY item.id",
            "name  | label\n------+------\napple | NULL\npear  | green",
        )?;
        Ok(())
    }
}

smoketest! {
    /// Added columns read their defaults in old rows (nullable `note` NULL, `quantity` 1), and
    /// new rows can set them.
    fn update_with_added_column_keeps_rows() {
        let mut t = Smoketest::builder().precompiled_module("migrate-add-column-initial").build()?;
        t.call("add_item", json!(["old"]))?;
        t.use_precompiled_module("migrate-add-column-updated")?;
        let updated = t.publish()?;
        assert_eq!(updated.migration, vec!["add column item.note".to_owned(), "add column item.quantity".to_owned()]);
        t.call("add_item", json!(["plain"]))?;
        t.call("add_item_full", json!(["full", "fragile", 12]))?;
        t.assert_sql(
            "SELECT id, name, note, quantity FROM item ORDER BY id",
            "id | name  | note    | quantity\n---+-------+---------+---------\n1  | old   | NULL    | 1\n2  | plain | NULL    | 1\n3  | full  | fragile | 12",
        )?;
        Ok(())
    }
}

smoketest! {
    /// An index change drops `item_by_name`, adds `item_by_price`, keeps `item_by_category`,
    /// in the schema and in SQLite itself, and keeps the rows.
    fn update_adds_and_removes_indexes() {
        let mut t = Smoketest::builder().precompiled_module("migrate-index-initial").build()?;
        t.call("add_item", json!(["hammer", "tools", 12]))?;
        let index_names = |t: &Smoketest| -> anyhow::Result<Vec<String>> {
            let schema = t.describe()?.schema.expect("schema");
            let mut names: Vec<String> = schema.table("item").expect("item").indexes.iter().map(|index| index.name.clone()).collect();
            names.sort();
            Ok(names)
        };
        assert_eq!(index_names(&t)?, ["item_by_category", "item_by_name"]);
        t.use_precompiled_module("migrate-index-updated")?;
        let mut steps = t.publish()?.migration;
        steps.sort();
        assert_eq!(steps, ["add index item_by_price on item", "remove index item_by_name"]);
        assert_eq!(index_names(&t)?, ["item_by_category", "item_by_price"]);
        let listed = t.sql("SELECT name FROM pragma_index_list('item') WHERE origin = 'c' ORDER BY name")?;
        assert_eq!(listed.rows, vec![vec![json!("item_by_category")], vec![json!("item_by_price")]]);
        t.assert_sql("SELECT name, category, price FROM item", "name   | category | price\n-------+----------+------\nhammer | tools    | 12")?;
        Ok(())
    }
}

smoketest! {
    /// A breaking change (a column dropped, a type changed) is refused with 409 naming the
    /// changes; the old module and its data stay, and the refusal is logged.
    fn incompatible_update_is_refused_and_data_intact() {
        let mut t = Smoketest::builder().precompiled_module("migrate-incompatible-initial").build()?;
        t.call("add_item", json!(["book", 12]))?;
        let old_hash = t.describe()?.module_hash;
        t.use_precompiled_module("migrate-incompatible-updated")?;
        let message = expect_error(t.publish(), ErrorKind::Conflict)?;
        expect_contains(&message, "not compatible")?;
        expect_contains(&message, "name")?;
        expect_contains(&message, "price")?;
        assert_eq!(t.describe()?.module_hash, old_hash);
        t.call("add_item", json!(["pen", 2]))?;
        t.assert_sql("SELECT name, price FROM item ORDER BY id", "name | price\n-----+------\nbook | 12\npen  | 2")?;
        let last = t.log_records(1)?.pop().expect("the refusal is logged");
        assert_eq!(last.level, LogLevel::Error);
        expect_contains(&last.message, "not compatible")?;
        Ok(())
    }
}

smoketest! {
    /// The same breaking change is accepted with clear: data wiped, the new schema in place.
    fn incompatible_update_with_clear_wipes_data() {
        let mut t = Smoketest::builder().precompiled_module("migrate-incompatible-initial").build()?;
        t.call("add_item", json!(["book", 12]))?;
        t.use_precompiled_module("migrate-incompatible-updated")?;
        assert!(t.publish_clear()?.cleared);
        t.assert_sql("SELECT count(*) AS n FROM item", "n\n-\n0")?;
        t.call("add_item", json!([2.5]))?;
        let result = t.sql("SELECT * FROM item")?;
        assert_eq!(result.columns, ["id", "price"]);
        assert_eq!(result.rows, vec![vec![json!(1), json!(2.5)]]);
        Ok(())
    }
}

smoketest! {
    /// Going back from `counter-updated` to `counter` would drop table `history`: refused with
    /// 409, and history survives.
    fn removing_a_table_is_refused() {
        let mut t = Smoketest::builder().precompiled_module("counter-updated").build()?;
        t.call("increment", json!([4]))?;
        t.use_precompiled_module("counter")?;
        let message = expect_error(t.publish(), ErrorKind::Conflict)?;
        expect_contains(&message, "remove table history")?;
        t.assert_sql("SELECT delta FROM history", "delta\n-----\n4")?;
        t.call("decrement", json!([1]))?;
        Ok(())
    }
}

smoketest! {
    /// After an accepted migration the old reducers still see and change the old rows.
    fn old_reducers_work_after_migration() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([1]))?;
        t.use_precompiled_module("counter-updated")?;
        t.publish()?;
        t.call("increment", json!([10]))?;
        t.call("get", json!([]))?;
        assert_eq!(t.logs(1)?, vec!["counter = 11".to_owned()]);
        let history = t.sql("SELECT delta FROM history")?;
        ensure!(history.rows == vec![vec![json!(10)]], "{history:?}");
        Ok(())
    }
}

smoketest! {
    /// An update can change who may read a table: `entry` becomes private and `diary` public,
    /// the rows stay, and other identities' reads follow; an index redefined under its name is
    /// dropped and made again. Its new table has a two-column primary key and blob and NULL defaults.
    fn update_changes_table_visibility() {
        let mut t = Smoketest::builder().precompiled_module("migrate-visibility-initial").build()?;
        t.call("add_entry", json!(["public news"]))?;
        t.call("add_diary", json!(["private thoughts"]))?;
        let reader = t.new_identity()?;
        reader.client().sql(t.db(), "SELECT text FROM entry")?;
        expect_error(reader.client().sql(t.db(), "SELECT text FROM diary"), ErrorKind::SqlDenied)?;
        t.use_precompiled_module("migrate-visibility-updated")?;
        let updated = t.publish()?;
        assert_eq!(
            updated.migration,
            [
                "make table entry private",
                "remove index entry_lookup",
                "add index entry_lookup on entry",
                "make table diary public",
                "add table pair",
            ]
            .map(str::to_owned)
        );
        expect_error(reader.client().sql(t.db(), "SELECT text FROM entry"), ErrorKind::SqlDenied)?;
        let rows = reader.client().sql(t.db(), "SELECT text FROM diary")?.rows;
        ensure!(rows == [[json!("private thoughts")]], "the diary a reader sees: {rows:?}");
        t.assert_sql("SELECT text FROM entry", "text\n-----------\npublic news")?;
        t.call("add_pair", json!([1, 2]))?;
        t.call("add_pair", json!([2, 1]))?;
        expect_error(t.call("add_pair", json!([1, 2])), ErrorKind::ReducerError)?;
        t.assert_sql(
            "SELECT a, b, bytes, note FROM pair ORDER BY a",
            "a | b | bytes  | note\n--+---+--------+-----\n1 | 2 | 0x0102 | NULL\n2 | 1 | 0x0102 | NULL",
        )?;
        Ok(())
    }
}

smoketest! {
    /// An update that adds a unique column, adds a column that is neither nullable nor has a
    /// default, and changes a column's nullability and default is refused naming each change.
    fn update_with_unfillable_columns_is_refused() {
        let mut t = Smoketest::builder().precompiled_module("migrate-visibility-initial").build()?;
        t.call("add_entry", json!(["kept"]))?;
        t.use_precompiled_module("migrate-breaking-updated")?;
        let message = expect_error(t.publish(), ErrorKind::Conflict)?;
        for needle in [
            "add unique column entry.code",
            "add column entry.rank that is neither nullable nor has a default",
            "nullable false -> true",
            "default value",
        ] {
            expect_contains(&message, needle)?;
        }
        t.assert_sql("SELECT text FROM entry", "text\n----\nkept")?;
        Ok(())
    }
}
