//! The SQL guard: forbidden statements fail inside reducers with the host's error, and clients
//! (owner or not) are refused ATTACH, state-changing PRAGMAs, DDL and transaction control.

use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// Every forbidden statement a reducer tries fails as a reducer error carrying the host's
    /// refusal, never "was allowed".
    fn forbidden_statements_fail_inside_reducers() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        let reducers = [
            "attach", "detach", "writable_schema", "journal_mode", "load_extension", "create_table", "drop_table", "alter_table",
            "write_sqlite_master", "begin", "commit", "rollback", "savepoint", "vacuum", "two_statements",
        ];
        for reducer in reducers {
            let message = expect_error(t.call(reducer, json!([])), ErrorKind::ReducerError)?;
            anyhow::ensure!(!message.contains("was allowed"), "{reducer}: {message}");
        }
        Ok(())
    }
}

smoketest! {
    /// The refusals say what was refused.
    fn refusals_name_what_was_refused() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        let cases = [
            ("attach", "ATTACH and DETACH are not allowed"),
            ("load_extension", "loading extensions is not allowed"),
            ("writable_schema", "PRAGMA writable_schema is not allowed"),
            ("begin", "transaction control is not allowed"),
            ("savepoint", "transaction control is not allowed"),
        ];
        for (reducer, expected) in cases {
            let message = expect_error(t.call(reducer, json!([])), ErrorKind::ReducerError)?;
            expect_contains(&message, expected)?;
        }
        Ok(())
    }
}

smoketest! {
    /// After every refused attempt the table is intact, empty, and still writable.
    fn refused_statements_leave_the_schema_intact() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        for reducer in ["drop_table", "alter_table", "write_sqlite_master", "two_statements", "create_table"] {
            expect_error(t.call(reducer, json!([])), ErrorKind::ReducerError)?;
        }
        t.assert_sql("SELECT count(*) AS n FROM guarded", "n\n-\n0")?;
        t.call("ok", json!(["fine"]))?;
        let columns = t.sql("SELECT * FROM guarded")?.columns;
        assert_eq!(columns, ["id", "note"]);
        t.call("run_sql", json!(["SELECT * FROM guarded"]))?;
        assert_eq!(t.logs(1)?, ["1 rows, 0 changes"]);
        expect_error(t.call("run_sql", json!(["CREATE TABLE evil (x)"])), ErrorKind::ReducerError)?;
        Ok(())
    }
}

smoketest! {
    /// The owner's SQL endpoint refuses ATTACH, state-changing PRAGMAs, DDL, transaction
    /// control and extension loading with 403 sql_denied.
    fn owner_sql_refuses_dangerous_statements() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        for query in [
            "ATTACH DATABASE '/tmp/keel-smoketest-evil.db' AS evil",
            "PRAGMA writable_schema=1",
            "PRAGMA journal_mode=DELETE",
            "CREATE TABLE evil (x INTEGER)",
            "DROP TABLE guarded",
            "ALTER TABLE guarded ADD COLUMN evil TEXT",
            "CREATE INDEX evil ON guarded (note)",
            "BEGIN",
            "SELECT load_extension('x')",
        ] {
            expect_error(t.sql(query), ErrorKind::SqlDenied).map_err(|error| error.context(query.to_owned()))?;
        }
        t.assert_sql("SELECT count(*) AS n FROM guarded", "n\n-\n0")?;
        Ok(())
    }
}

smoketest! {
    /// Another identity is refused the same statements; read-only schema PRAGMAs are allowed
    /// on public tables.
    fn readers_are_refused_and_may_inspect_public_tables() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        let other = t.new_identity()?;
        for query in ["ATTACH DATABASE ':memory:' AS evil", "PRAGMA writable_schema=1", "DROP TABLE guarded", "BEGIN"] {
            expect_error(other.client().sql(t.db(), query), ErrorKind::SqlDenied).map_err(|error| error.context(query.to_owned()))?;
        }
        let info = other.client().sql(t.db(), "PRAGMA table_info(guarded)")?;
        let names: Vec<&str> = info.rows.iter().filter_map(|row| row.get(1).and_then(|name| name.as_str())).collect();
        assert_eq!(names, ["id", "note"]);
        Ok(())
    }
}
