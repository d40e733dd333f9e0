//! Fixture `unique`: table `member` (unique email) and `membership` (unique index on user_id+team); violations surface as reducer errors, `add_twice` rolls back its first insert, `add_or_warn` recovers.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("member")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("email").unique())
            .column(col::<String>("name")),
        Table::public("membership")
            .column(col::<i64>("user_id"))
            .column(col::<String>("team"))
            .unique_index("membership_user_team", &["user_id", "team"]),
    ];
    /// Adds a member; a taken email fails with the host's constraint error.
    reducer add(ctx, email: String, name: String) {
        ctx.execute("INSERT INTO member (email, name) VALUES (?1, ?2)", (&email, &name))?;
        Ok(())
    }
    /// Inserts the same email twice: the second insert fails and the first is rolled back.
    reducer add_twice(ctx, email: String, name: String) {
        ctx.execute("INSERT INTO member (email, name) VALUES (?1, ?2)", (&email, &name))?;
        ctx.execute("INSERT INTO member (email, name) VALUES (?1, ?2)", (&email, &name))?;
        Ok(())
    }
    /// Like `add`, but a violation is logged as a warning and the call succeeds.
    reducer add_or_warn(ctx, email: String, name: String) {
        if let Err(error) = ctx.execute("INSERT INTO member (email, name) VALUES (?1, ?2)", (&email, &name)) {
            warn!("not added: {error}");
        }
        Ok(())
    }
    /// Adds a membership; a repeated (user_id, team) pair violates the unique index.
    reducer join(ctx, user_id: i64, team: String) {
        ctx.execute("INSERT INTO membership (user_id, team) VALUES (?1, ?2)", (user_id, &team))?;
        Ok(())
    }
}
