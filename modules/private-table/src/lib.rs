//! Fixture `private-table`: public table `notice`, private table `secret`; `post` (public), `stash` and `purge` (#[private]), `count_secrets` logs the private count.

use keel_module::prelude::*;

keel_module::module! {
    tables = [
        Table::public("notice")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text")),
        Table::private("secret")
            .column(col::<i64>("id").primary_key().auto_increment())
            .column(col::<String>("text")),
    ];
    /// Anyone may post a notice.
    reducer post(ctx, text: String) {
        ctx.execute("INSERT INTO notice (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    /// Only the owner may stash a secret.
    #[private]
    reducer stash(ctx, text: String) {
        ctx.execute("INSERT INTO secret (text) VALUES (?1)", (&text,))?;
        Ok(())
    }
    /// Anyone may call it; the module itself can read its private table ("N secrets").
    reducer count_secrets(ctx) {
        let n_secrets: i64 = ctx.query_one("SELECT COUNT(*) FROM secret", ())?;
        info!("{n_secrets} secrets");
        Ok(())
    }
    /// Deletes the secrets (owner only).
    #[private]
    reducer purge(ctx) {
        ctx.execute("DELETE FROM secret", ())?;
        Ok(())
    }
}
