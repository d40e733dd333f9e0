//! Renaming a database, on its own and with a transfer to another identity: data, module and
//! rights follow the database; a taken name and an unknown new owner are refused.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// A renamed database keeps its rows and its module under the new name, and the old name
    /// answers 404; renaming a database to its own name changes nothing.
    fn rename_keeps_data_and_module() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([3]))?;
        let old = t.db().to_owned();
        let module_hash = t.describe()?.module_hash;
        let new = t.new_database();
        let renamed = t.client().rename(&old, &new)?;
        ensure!(renamed.name == new, "renamed to {}, asked for {new}", renamed.name);
        ensure!(renamed.module_hash == module_hash, "the module changed: {:?}", renamed.module_hash);
        expect_error(t.client().describe(&old), ErrorKind::NotFound)?;
        t.client().call(&new, "increment", &json!([4]))?;
        let rows = t.client().sql(&new, "SELECT value FROM counter")?.rows;
        ensure!(rows == [[json!(7)]], "rows after the rename: {rows:?}");
        let names: Vec<String> = t.client().list()?.databases.into_iter().map(|it| it.name).collect();
        ensure!(names.contains(&new) && !names.contains(&old), "listed: {names:?}");
        ensure!(t.client().rename(&new, &new)?.name == new);
        let rows = t.client().sql(&new, "SELECT value FROM counter")?.rows;
        ensure!(rows == [[json!(7)]], "rows after renaming to its own name: {rows:?}");
        Ok(())
    }
}

smoketest! {
    /// Renaming to the name of another database is 409, and both keep what they had.
    fn rename_refuses_a_taken_name() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([1]))?;
        let taken = t.new_database();
        t.publish_to(&taken, false)?;
        let message = expect_error(t.client().rename(t.db(), &taken), ErrorKind::Conflict)?;
        expect_contains(&message, &taken)?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n1")?;
        let rows = t.client().sql(&taken, "SELECT value FROM counter")?.rows;
        ensure!(rows == [[json!(0)]], "the taken database changed: {rows:?}");
        Ok(())
    }
}

smoketest! {
    /// `rename_and_transfer` gives the database to another identity: the new owner gets the
    /// owner's rights (logs, owner SQL) and the old owner loses them; an unknown new owner is 400.
    fn rename_and_transfer_moves_ownership() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([2]))?;
        let other = t.new_identity()?;
        let new = t.new_database();
        let moved = t.client().rename_and_transfer(t.db(), &new, other.identity())?;
        ensure!(moved.name == new, "moved to {}", moved.name);
        other.client().logs(&new, 10)?;
        other.client().sql(&new, "UPDATE counter SET value = value + 1")?;
        let rows = other.client().sql(&new, "SELECT value FROM counter")?.rows;
        ensure!(rows == [[json!(3)]], "rows for the new owner: {rows:?}");
        expect_error(t.client().logs(&new, 10), ErrorKind::Forbidden)?;
        expect_error(t.client().rename(&new, t.db()), ErrorKind::Forbidden)?;
        let names: Vec<String> = other.client().list()?.databases.into_iter().map(|it| it.name).collect();
        ensure!(names == [new.clone()], "the new owner lists {names:?}");
        let message = expect_error(
            other.client().rename_and_transfer(&new, &new, "no-such-identity"),
            ErrorKind::BadRequest,
        )?;
        expect_contains(&message, "no-such-identity")?;
        other.client().delete(&new)?;
        Ok(())
    }
}
