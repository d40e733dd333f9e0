//! Permissions between two identities: only the owner may change, delete, reset or read the
//! logs of a database, read its private tables or write through SQL; anyone may call public
//! reducers and read public tables.

use keel_client::{Client, ErrorKind};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

/// A `private-table` database with one notice and one secret.
fn shared() -> anyhow::Result<Smoketest> {
    let t = Smoketest::builder()
        .precompiled_module("private-table")
        .build()?;
    t.call("post", json!(["public news"]))?;
    t.call("stash", json!(["the secret"]))?;
    Ok(t)
}

smoketest! {
    /// Another identity cannot publish to the database, with or without clear; the module
    /// and data stay.
    fn others_cannot_publish() {
        let t = shared()?;
        let other = t.new_identity()?;
        let wasm = t.module_bytes()?;
        let message = expect_error(other.client().publish(t.db(), &wasm, false), ErrorKind::Forbidden)?;
        expect_contains(&message, "only the owner")?;
        expect_error(other.client().publish(t.db(), &wasm, true), ErrorKind::Forbidden)?;
        t.assert_sql("SELECT text FROM secret", "text\n----------\nthe secret")?;
        Ok(())
    }
}

smoketest! {
    /// Another identity cannot delete, reset or rename the database.
    fn others_cannot_delete_reset_or_rename() {
        let t = shared()?;
        let other = t.new_identity()?;
        expect_error(other.client().delete(t.db()), ErrorKind::Forbidden)?;
        expect_error(other.client().reset(t.db()), ErrorKind::Forbidden)?;
        expect_error(other.client().rename(t.db(), &format!("{}-stolen", t.db())), ErrorKind::Forbidden)?;
        t.assert_sql("SELECT text FROM notice", "text\n-----------\npublic news")?;
        assert_eq!(t.describe()?.name, t.db());
        Ok(())
    }
}

smoketest! {
    /// Logs are owner-only.
    fn others_cannot_read_logs() {
        let t = shared()?;
        t.call("count_secrets", json!([]))?;
        let other = t.new_identity()?;
        expect_error(other.client().logs(t.db(), 10), ErrorKind::Forbidden)?;
        assert_eq!(t.logs(1)?, ["1 secrets"]);
        Ok(())
    }
}

smoketest! {
    /// Private tables are refused to others, even a count, a subquery, or the engine's own tables
    /// that reveal their size; the owner reads them.
    fn others_cannot_read_private_tables() {
        let t = shared()?;
        let other = t.new_identity()?;
        for query in [
            "SELECT * FROM secret",
            "SELECT count(*) FROM secret",
            "SELECT (SELECT count(*) FROM secret) AS n",
            "SELECT notice.text FROM notice JOIN secret ON secret.id = notice.id",
            "SELECT * FROM sqlite_sequence",
            "SELECT name, ncell FROM dbstat",
        ] {
            expect_error(other.client().sql(t.db(), query), ErrorKind::SqlDenied)?;
        }
        t.assert_sql("SELECT count(*) AS n FROM secret", "n\n-\n1")?;
        Ok(())
    }
}

smoketest! {
    /// Others cannot write through SQL, even to public tables.
    fn others_cannot_write_through_sql() {
        let t = shared()?;
        let other = t.new_identity()?;
        for query in ["INSERT INTO notice (text) VALUES ('spam')", "UPDATE notice SET text = 'defaced'", "DELETE FROM notice"] {
            expect_error(other.client().sql(t.db(), query), ErrorKind::SqlDenied)?;
        }
        t.assert_sql("SELECT text FROM notice", "text\n-----------\npublic news")?;
        Ok(())
    }
}

smoketest! {
    /// Private reducers are 403 for others and work for the owner.
    fn others_cannot_call_private_reducers() {
        let t = shared()?;
        let other = t.new_identity()?;
        let message = expect_error(other.client().call(t.db(), "stash", &json!(["mine"])), ErrorKind::Forbidden)?;
        expect_contains(&message, "private")?;
        expect_error(other.client().call(t.db(), "purge", &json!([])), ErrorKind::Forbidden)?;
        t.assert_sql("SELECT count(*) AS n FROM secret", "n\n-\n1")?;
        t.call("purge", json!([]))?;
        t.assert_sql("SELECT count(*) AS n FROM secret", "n\n-\n0")?;
        Ok(())
    }
}

smoketest! {
    /// Anyone may call public reducers and read public tables and the schema; a public reducer
    /// may read a private table on their behalf.
    fn others_can_call_public_reducers_and_read_public_tables() {
        let t = shared()?;
        let other = t.new_identity()?;
        other.client().call(t.db(), "post", &json!(["from a stranger"]))?;
        other.client().call(t.db(), "count_secrets", &json!([]))?;
        let notices = other.client().sql(t.db(), "SELECT text FROM notice ORDER BY id")?;
        assert_eq!(notices.rows, vec![vec![json!("public news")], vec![json!("from a stranger")]]);
        assert_eq!(t.logs(1)?, ["1 secrets"]);
        let schema = other.client().describe(t.db())?.schema.expect("schema");
        assert_eq!(schema.table("secret").map(|table| table.public), Some(false));
        Ok(())
    }
}

smoketest! {
    /// `list` shows only the caller's databases.
    fn list_shows_only_own_databases() {
        let t = shared()?;
        let other = t.new_identity()?;
        let names: Vec<String> = other.client().list()?.databases.into_iter().map(|db| db.name).collect();
        assert_eq!(names, Vec::<String>::new());
        assert!(t.client().list()?.databases.iter().any(|db| db.name == t.db()));
        Ok(())
    }
}

smoketest! {
    /// Requests without a token (to every endpoint that needs one), or with a forged one, are
    /// 401 unauthorized, and change nothing.
    fn missing_or_invalid_tokens_are_unauthorized() {
        let t = shared()?;
        let anonymous = t.client().without_token();
        expect_error(anonymous.call(t.db(), "post", &json!(["anon"])), ErrorKind::Unauthorized)?;
        expect_error(anonymous.list(), ErrorKind::Unauthorized)?;
        // Every endpoint that acts for an identity asks who it is first.
        let wasm = t.module_bytes()?;
        for (what, result) in [
            ("whoami", anonymous.whoami().map(drop)),
            ("delete identity", anonymous.delete_identity().map(drop)),
            ("publish", anonymous.publish(t.db(), &wasm, false).map(drop)),
            ("delete", anonymous.delete(t.db()).map(drop)),
            ("reset", anonymous.reset(t.db()).map(drop)),
            ("rename", anonymous.rename(t.db(), "taken-by-nobody").map(drop)),
            ("logs", anonymous.logs(t.db(), 1).map(drop)),
        ] {
            expect_error(result, ErrorKind::Unauthorized).map_err(|error| error.context(what))?;
        }
        let forged = t.client().with_token("not-a-real-token");
        expect_error(forged.sql(t.db(), "SELECT * FROM notice"), ErrorKind::Unauthorized)?;
        let own = t.client().token().expect("the test has a token");
        let tampered = Client::new(t.server_url())?.with_token(&format!("{own}x"));
        expect_error(tampered.whoami(), ErrorKind::Unauthorized)?;
        t.assert_sql("SELECT count(*) AS n FROM notice", "n\n-\n1")?;
        Ok(())
    }
}

smoketest! {
    /// The second identity is a different identity, and whoami tells each its own.
    fn identities_are_distinct() {
        let t = Smoketest::builder().build()?;
        let other = t.new_identity()?;
        assert_ne!(other.identity(), t.identity());
        assert_eq!(t.client().whoami()?.identity, t.identity());
        assert_eq!(other.client().whoami()?.identity, other.identity());
        Ok(())
    }
}
