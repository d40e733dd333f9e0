//! Constraints: auto-increment ids, unique columns and unique indexes; violations are reducer
//! errors that roll the call back.

use keel_client::{ErrorKind, LogLevel};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// Auto-increment ids count up from 1 and are never reused after a delete.
    fn auto_increment_ids_are_not_reused() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        for name in ["a", "b", "c"] {
            t.call("add", json!([name, null]))?;
        }
        t.call("remove", json!(["c"]))?;
        t.call("add", json!(["d", null]))?;
        t.assert_sql("SELECT id, name FROM person ORDER BY id", "id | name\n---+-----\n1  | a\n2  | b\n4  | d")?;
        Ok(())
    }
}

smoketest! {
    /// A taken unique value is a reducer error naming the constraint; the first row stays alone.
    fn unique_violation_is_a_reducer_error() {
        let t = Smoketest::builder().precompiled_module("unique").build()?;
        t.call("add", json!(["a@example.com", "Ann"]))?;
        let message = expect_error(t.call("add", json!(["a@example.com", "Impostor"])), ErrorKind::ReducerError)?;
        expect_contains(&message, "UNIQUE constraint failed: member.email")?;
        t.assert_sql("SELECT email, name FROM member", "email         | name\n--------------+-----\na@example.com | Ann")?;
        Ok(())
    }
}

smoketest! {
    /// A violation on the second insert of a call rolls back the first.
    fn violation_rolls_back_the_whole_call() {
        let t = Smoketest::builder().precompiled_module("unique").build()?;
        expect_error(t.call("add_twice", json!(["b@example.com", "Bo"])), ErrorKind::ReducerError)?;
        t.assert_sql("SELECT count(*) AS n FROM member", "n\n-\n0")?;
        Ok(())
    }
}

smoketest! {
    /// A reducer that handles the violation itself succeeds and logs a warning.
    fn handled_violation_logs_a_warning() {
        let t = Smoketest::builder().precompiled_module("unique").build()?;
        t.call("add_or_warn", json!(["c@example.com", "Cy"]))?;
        t.call("add_or_warn", json!(["c@example.com", "Cy again"]))?;
        let record = t.log_records(1)?.pop().expect("a warning");
        assert_eq!(record.level, LogLevel::Warn);
        expect_contains(&record.message, "not added:")?;
        expect_contains(&record.message, "UNIQUE")?;
        t.assert_sql("SELECT name FROM member", "name\n----\nCy")?;
        Ok(())
    }
}

smoketest! {
    /// A unique index over two columns refuses only the repeated pair.
    fn composite_unique_index_refuses_repeated_pairs() {
        let t = Smoketest::builder().precompiled_module("unique").build()?;
        t.call("join", json!([1, "red"]))?;
        t.call("join", json!([1, "blue"]))?;
        t.call("join", json!([2, "red"]))?;
        let message = expect_error(t.call("join", json!([1, "red"])), ErrorKind::ReducerError)?;
        expect_contains(&message, "UNIQUE constraint failed")?;
        t.assert_sql("SELECT count(*) AS n FROM membership", "n\n-\n3")?;
        let schema = t.describe()?.schema.expect("schema");
        let index = &schema.table("membership").expect("membership").indexes[0];
        assert_eq!((index.name.as_str(), index.unique, index.columns.clone()), ("membership_user_team", true, vec!["user_id".to_owned(), "team".to_owned()]));
        Ok(())
    }
}

smoketest! {
    /// Renaming onto a taken name fails and leaves both rows as they were.
    fn update_onto_a_unique_value_fails() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        t.call("add", json!(["ann", 1]))?;
        t.call("add", json!(["ben", 2]))?;
        expect_error(t.call("rename", json!(["ben", "ann"])), ErrorKind::ReducerError)?;
        let message = expect_error(t.call("rename", json!(["zed", "amy"])), ErrorKind::ReducerError)?;
        expect_contains(&message, "no person named zed")?;
        t.assert_sql("SELECT name, age FROM person ORDER BY id", "name | age\n-----+----\nann  | 1\nben  | 2")?;
        let schema = t.describe()?.schema.expect("schema");
        let person = schema.table("person").expect("person");
        assert!(person.column("name").is_some_and(|column| column.unique));
        assert!(person.column("id").is_some_and(|column| column.primary_key && column.auto_increment));
        Ok(())
    }
}
