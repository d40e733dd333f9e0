//! The SQL guard: forbidden statements fail inside reducers with the host's error, clients
//! (owner or not) are refused ATTACH, state-changing PRAGMAs, DDL and transaction control, no
//! one writes the server's or the engine's own tables, and schema PRAGMAs show another identity
//! only public tables.

use anyhow::{Context, ensure};
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::{Value, json};

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
    /// The owner's SQL endpoint refuses ATTACH, state-changing PRAGMAs, DDL (virtual tables
    /// included), transaction control and extension loading with 403 sql_denied.
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
            "CREATE VIRTUAL TABLE evil USING fts5(note)",
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
        for query in ["ATTACH DATABASE ':memory:' AS evil", "PRAGMA writable_schema=1", "DROP TABLE guarded", "CREATE VIRTUAL TABLE evil USING fts5(note)", "BEGIN"] {
            expect_error(other.client().sql(t.db(), query), ErrorKind::SqlDenied).map_err(|error| error.context(query.to_owned()))?;
        }
        let info = other.client().sql(t.db(), "PRAGMA table_info(guarded)")?;
        let names: Vec<&str> = info.rows.iter().filter_map(|row| row.get(1).and_then(|name| name.as_str())).collect();
        assert_eq!(names, ["id", "note"]);
        Ok(())
    }
}

/// The server's own tables in the test's database (`_keel*`), as the owner sees them in
/// `sqlite_schema`; at least one.
fn server_tables(t: &Smoketest) -> anyhow::Result<Vec<String>> {
    let result = t.sql(r"SELECT name FROM sqlite_schema WHERE type = 'table' AND name LIKE '\_keel%' ESCAPE '\' ORDER BY name")?;
    let names: Vec<String> = result
        .rows
        .iter()
        .filter_map(|row| row.first().and_then(Value::as_str).map(str::to_owned))
        .collect();
    ensure!(
        !names.is_empty(),
        "no `_keel*` table in the database: {:?}",
        result.rows
    );
    Ok(names)
}

/// Writes of the engine's AUTOINCREMENT counters, which plain SQL may otherwise change (SQLite
/// lets `sqlite_sequence` be written; `sqlite_master` it refuses on its own).
const SEQUENCE_WRITES: [&str; 3] = [
    "UPDATE sqlite_sequence SET seq = 1000",
    "INSERT INTO sqlite_sequence (name, seq) VALUES ('guarded', 1000)",
    "DELETE FROM sqlite_sequence",
];

/// The ids of `guarded`'s rows, in order.
fn guarded_ids(t: &Smoketest) -> anyhow::Result<Vec<Value>> {
    Ok(t.sql("SELECT id FROM guarded ORDER BY id")?
        .rows
        .into_iter()
        .flatten()
        .collect())
}

smoketest! {
    /// The owner's SQL cannot write the server's own `_keel*` tables (the installed module's
    /// record) nor the engine's `sqlite_sequence` (the AUTOINCREMENT counters): each write is
    /// 403 sql_denied naming the table, and the next row still gets the next id.
    fn owner_sql_cannot_write_internal_tables() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        t.call("ok", json!(["first"]))?;
        let mut writes: Vec<(String, String)> = server_tables(&t)?
            .into_iter()
            .flat_map(|table| {
                [format!("DELETE FROM {table}"), format!("INSERT INTO {table} DEFAULT VALUES")].map(|query| (table.clone(), query))
            })
            .collect();
        writes.extend(SEQUENCE_WRITES.map(|query| ("sqlite_sequence".to_owned(), query.to_owned())));
        for (table, query) in writes {
            let message = expect_error(t.sql(&query), ErrorKind::SqlDenied).with_context(|| query.clone())?;
            expect_contains(&message, &format!("table `{table}` belongs to the database engine or the server"))?;
        }
        t.call("ok", json!(["second"]))?;
        assert_eq!(guarded_ids(&t)?, [json!(1), json!(2)]);
        Ok(())
    }
}

smoketest! {
    /// A reducer's SQL is refused the same writes: the call fails with the host's refusal
    /// naming the table, and the counters are untouched.
    fn reducers_cannot_write_internal_tables() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        t.call("ok", json!(["first"]))?;
        let mut writes: Vec<(String, String)> = server_tables(&t)?.into_iter().map(|table| (table.clone(), format!("DELETE FROM {table}"))).collect();
        writes.extend(SEQUENCE_WRITES.map(|query| ("sqlite_sequence".to_owned(), query.to_owned())));
        for (table, query) in writes {
            let message = expect_error(t.call("run_sql", json!([query])), ErrorKind::ReducerError).with_context(|| query.clone())?;
            expect_contains(&message, &format!("table `{table}` belongs to the database engine or the server"))?;
        }
        t.call("ok", json!(["second"]))?;
        assert_eq!(guarded_ids(&t)?, [json!(1), json!(2)]);
        Ok(())
    }
}

/// The column names a `PRAGMA table_info` or `table_xinfo` answered.
fn pragma_columns(result: &keel_client::SqlResult) -> Vec<&str> {
    result
        .rows
        .iter()
        .filter_map(|row| row.get(1).and_then(Value::as_str))
        .collect()
}

smoketest! {
    /// Another identity's schema PRAGMAs answer for public tables only: `table_info`,
    /// `table_xinfo` and `index_list` of the private table are 403 sql_denied however its name
    /// is written, while those of the public table answer.
    fn readers_cannot_inspect_private_tables_with_pragmas() {
        let t = Smoketest::builder().precompiled_module("private-table").build()?;
        let other = t.new_identity()?;
        for query in [
            "PRAGMA table_info(secret)",
            "PRAGMA table_xinfo(secret)",
            "PRAGMA index_list(secret)",
            "PRAGMA table_info('SECRET')",
            "PRAGMA main.table_info(secret)",
            "PRAGMA table_info = secret",
        ] {
            let message = expect_error(other.client().sql(t.db(), query), ErrorKind::SqlDenied).with_context(|| query.to_owned())?;
            expect_contains(&message, "is not allowed")?;
        }
        assert_eq!(pragma_columns(&other.client().sql(t.db(), "PRAGMA table_info(notice)")?), ["id", "text"]);
        other.client().sql(t.db(), "PRAGMA index_list(notice)")?;
        Ok(())
    }
}

smoketest! {
    /// The owner inspects its private tables with the same PRAGMAs.
    fn owner_inspects_private_tables_with_pragmas() {
        let t = Smoketest::builder().precompiled_module("private-table").build()?;
        for query in ["PRAGMA table_info(secret)", "PRAGMA table_xinfo(secret)", "PRAGMA main.table_info('SECRET')"] {
            let result = t.sql(query).with_context(|| query.to_owned())?;
            assert_eq!(pragma_columns(&result), ["id", "text"], "{query}");
        }
        t.sql("PRAGMA index_list(secret)")?;
        Ok(())
    }
}

smoketest! {
    /// `json_patch` and `jsonb_patch`, whose running time grows with the product of their
    /// arguments' sizes inside one step the time limit cannot interrupt, are refused to the owner's
    /// SQL and to a reducer's, naming the function; other JSON functions still answer.
    fn quadratic_json_functions_are_refused() {
        let t = Smoketest::builder().precompiled_module("sql-guard").build()?;
        for function in ["json_patch", "jsonb_patch"] {
            let query = format!("SELECT {function}('{{\"a\":1}}', '{{\"b\":2}}') AS merged");
            let message = expect_error(t.sql(&query), ErrorKind::SqlDenied).map_err(|error| error.context(query.clone()))?;
            expect_contains(&message, function)?;
            expect_error(t.call("run_sql", json!([query])), ErrorKind::ReducerError)?;
        }
        t.assert_sql("SELECT json_extract('{\"a\":1}', '$.a') AS a", "a\n-\n1")?;
        Ok(())
    }
}

smoketest! {
    /// What every reader may read besides the public tables: the schema (`sqlite_master` and
    /// `sqlite_schema`, which `describe` shows anyway), the JSON table functions, and common
    /// table expressions and subqueries (whose rows come from tables checked on their own);
    /// an engine table such as `sqlite_sequence` is not readable, nor is a private
    /// table through a common table expression.
    fn readers_may_read_the_schema_json_functions_and_ctes() {
        let t = Smoketest::builder().precompiled_module("private-table").build()?;
        let reader = t.new_identity()?;
        for (query, expected) in [
            ("SELECT count(*) > 0 AS seen FROM sqlite_master WHERE name = 'notice'", json!([[1]])),
            ("SELECT count(*) > 0 AS seen FROM sqlite_schema WHERE name = 'secret'", json!([[1]])),
            ("SELECT sum(value) AS total FROM json_each('[1, 2, 3]')", json!([[6]])),
            ("SELECT count(*) AS n FROM json_tree('{\"a\": [1, 2]}')", json!([[4]])),
            // SQLite asks the authorizer about a recursive expression's own name.
            ("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3) SELECT sum(x) AS total FROM c", json!([[6]])),
            ("WITH c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3) SELECT sum(x) AS total FROM c", json!([[6]])),
            ("SELECT count(*) AS n FROM (SELECT text FROM notice) AS sub", json!([[0]])),
        ] {
            let rows = reader.client().sql(t.db(), query).map_err(|error| anyhow::anyhow!("{query}: {error:#}"))?.rows;
            ensure!(json!(rows) == expected, "{query}: {rows:?}, expected {expected}");
        }
        for query in [
            "SELECT * FROM sqlite_sequence",
            "WITH s AS (SELECT text FROM secret) SELECT count(*) FROM s",
        ] {
            expect_error(reader.client().sql(t.db(), query), ErrorKind::SqlDenied).map_err(|error| error.context(query.to_owned()))?;
        }
        Ok(())
    }
}
