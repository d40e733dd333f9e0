//! Fixture `people`: table `person` (auto-increment id, unique name, nullable age, index `person_by_age`); add/set_age/rename/remove/list, private clear.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("person")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("name").unique())
            .column(col::<Option<i64>>("age"))
            .index("person_by_age", &["age"]),
    ];
    /// Adds a person; a taken name is an error (unique constraint).
    reducer add(ctx, name: String, age: Option<i64>) {
        ctx.execute("INSERT INTO person (name, age) VALUES (?1, ?2)", (&name, age))?;
        Ok(())
    }
    /// Sets or clears a person's age.
    reducer set_age(ctx, name: String, age: Option<i64>) {
        if ctx.execute("UPDATE person SET age = ?2 WHERE name = ?1", (&name, age))? == 0 {
            bail!("no person named {name}");
        }
        Ok(())
    }
    /// Renames a person.
    reducer rename(ctx, old_name: String, new_name: String) {
        if ctx.execute("UPDATE person SET name = ?2 WHERE name = ?1", (&old_name, &new_name))? == 0 {
            bail!("no person named {old_name}");
        }
        Ok(())
    }
    /// Removes a person.
    reducer remove(ctx, name: String) {
        if ctx.execute("DELETE FROM person WHERE name = ?1", (&name,))? == 0 {
            bail!("no person named {name}");
        }
        Ok(())
    }
    /// Logs every person, one record each, in id order.
    reducer list(ctx) {
        let people: Vec<(i64, String, Option<i64>)> = ctx.query("SELECT id, name, age FROM person ORDER BY id", ())?;
        for (id, name, age) in people {
            info!("{id} {name} {age:?}");
        }
        Ok(())
    }
    /// Deletes everyone (owner only).
    #[private]
    reducer clear(ctx) {
        ctx.execute("DELETE FROM person", ())?;
        Ok(())
    }
}
