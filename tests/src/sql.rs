//! SQL through the API: table formatting, filters, joins, ordering, parameters, owner DML and
//! its change counts, and 400s for malformed statements.

use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

fn people() -> anyhow::Result<Smoketest> {
    let t = Smoketest::builder().precompiled_module("people").build()?;
    t.call("add", json!(["alice", 30]))?;
    t.call("add", json!(["bob", null]))?;
    t.call("add", json!(["carol", 25]))?;
    Ok(t)
}

smoketest! {
    /// Tables are aligned to the widest cell, NULL prints as NULL, trailing spaces are trimmed.
    fn results_are_formatted_as_aligned_tables() {
        let t = people()?;
        t.assert_sql(
            "SELECT id, name, age FROM person ORDER BY id",
            "id | name  | age\n---+-------+-----\n1  | alice | 30\n2  | bob   | NULL\n3  | carol | 25",
        )?;
        Ok(())
    }
}

smoketest! {
    /// Values of every SQL type: reals through `Display` (2.0 prints 2), blobs as hex.
    fn values_of_every_type_are_formatted() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        t.assert_sql(
            "SELECT 1.5 AS r, 2.0 AS w, NULL AS n, 'x y' AS s, x'00ff' AS b, -3 AS i",
            "r   | w | n    | s   | b      | i\n----+---+------+-----+--------+---\n1.5 | 2 | NULL | x y | 0x00ff | -3",
        )?;
        Ok(())
    }
}

smoketest! {
    /// WHERE, ORDER BY, aggregates and GROUP BY work as in SQLite.
    fn filters_order_and_aggregates() {
        let t = people()?;
        t.assert_sql("SELECT name FROM person WHERE age > 20 ORDER BY age DESC", "name\n-----\nalice\ncarol")?;
        t.assert_sql("SELECT count(*) AS n, sum(age) AS total, count(age) AS known FROM person", "n | total | known\n--+-------+------\n3 | 55    | 2")?;
        t.assert_sql(
            "SELECT age IS NULL AS unknown, count(*) AS n FROM person GROUP BY 1 ORDER BY 1",
            "unknown | n\n--------+--\n0       | 2\n1       | 1",
        )?;
        Ok(())
    }
}

smoketest! {
    /// Joins across tables work: chat messages with their senders' names.
    fn joins_across_tables() {
        let t = Smoketest::builder().precompiled_module("chat").build()?;
        t.call("set_name", json!(["ann"]))?;
        t.call("send", json!(["hi"]))?;
        t.call("send", json!(["there"]))?;
        t.assert_sql(
            "SELECT user.name, message.text FROM message JOIN user ON user.identity = message.sender ORDER BY message.id",
            "name | text\n-----+------\nann  | hi\nann  | there",
        )?;
        let message = expect_error(t.call("send", json!(["  "])), ErrorKind::ReducerError)?;
        expect_contains(&message, "messages must not be empty")?;
        Ok(())
    }
}

smoketest! {
    /// Positional parameters bind numbers, strings and null.
    fn parameters_are_bound() {
        let t = people()?;
        let result = t.client().sql_with_params(t.db(), "SELECT name FROM person WHERE age >= ?1 AND name != ?2 ORDER BY id", &[json!(25), json!("carol")])?;
        assert_eq!(result.rows, vec![vec![json!("alice")]]);
        let result = t.client().sql_with_params(t.db(), "SELECT ?1 AS a, ?2 AS b, ?3 AS c", &[json!(null), json!(1.5), json!("it's")])?;
        assert_eq!(result.rows, vec![vec![json!(null), json!(1.5), json!("it's")]]);
        Ok(())
    }
}

smoketest! {
    /// Malformed SQL and unknown tables are 400 sql_error with SQLite's explanation.
    fn malformed_sql_is_a_bad_request() {
        let t = people()?;
        let message = expect_error(t.sql("SELEC name FROM person"), ErrorKind::SqlError)?;
        expect_contains(&message, "syntax error")?;
        let message = expect_error(t.sql("SELECT * FROM nowhere"), ErrorKind::SqlError)?;
        expect_contains(&message, "no such table: nowhere")?;
        expect_error(t.sql("SELECT nope FROM person"), ErrorKind::SqlError)?;
        Ok(())
    }
}

smoketest! {
    /// The owner may run DML; the result counts changed rows and the table format says so.
    fn owner_dml_reports_changes() {
        let t = people()?;
        let inserted = t.sql("INSERT INTO person (name, age) VALUES ('dora', 41)")?;
        assert_eq!((inserted.columns.len(), inserted.changes), (0, 1));
        assert_eq!(t.sql_table("UPDATE person SET age = age + 1 WHERE age IS NOT NULL")?, "OK, 3 row(s) changed");
        let deleted = t.sql("DELETE FROM person WHERE age < 40")?;
        assert_eq!(deleted.changes, 2);
        t.assert_sql("SELECT name, age FROM person ORDER BY id", "name | age\n-----+-----\nbob  | NULL\ndora | 42")?;
        Ok(())
    }
}

smoketest! {
    /// A failing owner DML statement changes nothing: it runs in a transaction.
    fn failing_owner_dml_changes_nothing() {
        let t = people()?;
        let message = expect_error(t.sql("UPDATE person SET name = 'same'"), ErrorKind::SqlError)?;
        expect_contains(&message, "UNIQUE")?;
        t.assert_sql("SELECT name FROM person ORDER BY id", "name\n-----\nalice\nbob\ncarol")?;
        Ok(())
    }
}

smoketest! {
    /// A query with no rows prints only its header; the JSON result has the columns and no rows.
    fn empty_results_keep_their_columns() {
        let t = people()?;
        let result = t.sql("SELECT id, name FROM person WHERE id > 100")?;
        assert_eq!(result.columns, ["id", "name"]);
        assert!(result.rows.is_empty());
        t.assert_sql("SELECT id, name FROM person WHERE id > 100", "id | name\n---+-----")?;
        Ok(())
    }
}

smoketest! {
    /// `instr`, `replace`, the two-argument `trim`s and `unhex` (the server's linear-time
    /// versions, installed under SQLite's names) answer as SQLite's own: text and blobs, numbers
    /// as text, NULL, empty arguments, characters beyond ASCII.
    fn string_functions_answer_as_sqlite() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        let cases = [
            ("instr('hello', 'l')", json!(3)),
            ("instr('hello', 'z')", json!(0)),
            ("instr(NULL, 'a')", json!(null)),
            ("instr('a', NULL)", json!(null)),
            ("instr('abc', '')", json!(1)),
            ("instr('héllo wörld', 'wö')", json!(7)),
            ("instr(x'00010203', x'0203')", json!(3)),
            ("instr(x'0102', x'')", json!(1)),
            ("instr(x'0102', x'03')", json!(0)),
            ("instr(12345, 34)", json!(3)),
            ("instr(1.5, '.')", json!(2)),
            ("instr(x'616263', 'bc')", json!(2)),
            ("replace('aaaa', 'aa', 'b')", json!("bb")),
            ("replace('abc', '', 'x')", json!("abc")),
            ("replace(NULL, 'a', 'b')", json!(null)),
            ("replace('abc', NULL, 'x')", json!(null)),
            ("replace('abc', 'b', NULL)", json!(null)),
            ("replace(12321, 2, 9)", json!("19391")),
            ("replace('héé', 'é', 'e')", json!("hee")),
            ("replace('abc', 'abcd', 'x')", json!("abc")),
            ("replace('xyz', 'y', '')", json!("xz")),
            ("replace(x'6162', 'a', 'z')", json!("zb")),
            ("trim('xxhixx', 'x')", json!("hi")),
            ("ltrim('xxhixx', 'x')", json!("hixx")),
            ("rtrim('xxhixx', 'x')", json!("xxhi")),
            ("trim('abcba', 'ab')", json!("c")),
            ("trim('hi', '')", json!("hi")),
            ("trim(NULL, 'x')", json!(null)),
            ("trim('hi', NULL)", json!(null)),
            ("trim('ééhié', 'é')", json!("hi")),
            ("ltrim(1200, '1')", json!("200")),
            ("rtrim(1200, '0')", json!("12")),
            ("trim('xyx', 'xy')", json!("")),
            ("unhex('616263', '')", json!([97, 98, 99])),
            ("unhex('61-62', '-')", json!([97, 98])),
            ("unhex('61 62', '-')", json!(null)),
            ("unhex('616', '')", json!(null)),
            ("unhex('zz', '')", json!(null)),
            ("unhex(NULL, '')", json!(null)),
            ("unhex('', '-')", json!([])),
            ("unhex('ABcd', '')", json!([171, 205])),
            ("unhex('61', NULL)", json!(null)),
            ("unhex('61é62', 'é')", json!([97, 98])),
            ("unhex('61€62😀63', '€😀')", json!([97, 98, 99])),
            ("unhex('61é62', 'è')", json!(null)),
            ("instr(CAST(x'61e282ac' AS TEXT), CAST(x'82ac' AS TEXT))", json!(0)),
            ("instr(CAST(x'82ac61' AS TEXT), CAST(x'82ac' AS TEXT))", json!(1)),
        ];
        for (expression, expected) in cases {
            let result = t.sql(&format!("SELECT {expression} AS v"))?;
            anyhow::ensure!(result.rows == [[expected.clone()]], "{expression}: {:?}, expected {expected}", result.rows);
        }
        // A result past the length limit (1 MiB for readers) is refused, not built.
        let reader = t.new_identity()?;
        let message = expect_error(
            reader.client().sql(t.db(), "SELECT length(replace(printf('%.*c', 600000, 'a'), 'a', 'aa')) AS n"),
            ErrorKind::SqlError,
        )?;
        expect_contains(&message, "too big")?;
        Ok(())
    }
}

smoketest! {
    /// Leading comments are fine; a second statement, a parameter SQL has no type for, a result
    /// past the row or size limit and a value past the length limit (lower for readers) are each
    /// a SQL error that says what to change.
    fn statement_edge_cases_are_answered_clearly() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        let rows = t.sql("-- a note\nSELECT 1 AS one")?.rows;
        anyhow::ensure!(rows == [[json!(1)]], "after a line comment: {rows:?}");
        let rows = t.sql("/* a note */ SELECT 2 AS two")?.rows;
        anyhow::ensure!(rows == [[json!(2)]], "after a block comment: {rows:?}");
        let message = expect_error(t.sql("SELECT 1; SELECT 2"), ErrorKind::SqlError)?;
        expect_contains(&message, "only one statement per request")?;
        for (param, needle) in [
            (json!({"a": 1}), "parameter 1: object parameters are not supported"),
            (json!(u64::MAX), "does not fit in 64 signed"),
            (json!([1, 300]), "array parameters must be bytes"),
        ] {
            let message = expect_error(t.client().sql_with_params(t.db(), "SELECT ? AS v", &[param]), ErrorKind::SqlError)?;
            expect_contains(&message, needle)?;
        }
        let rows = t.client().sql_with_params(t.db(), "SELECT ? AS v", &[json!([1, 2, 255])])?.rows;
        anyhow::ensure!(rows == [[json!([1, 2, 255])]], "a byte array is a blob: {rows:?}");
        let message = expect_error(
            t.sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 100001) SELECT x FROM c"),
            ErrorKind::SqlError,
        )?;
        expect_contains(&message, "the result is too large")?;
        let message = expect_error(
            t.sql("WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 3) SELECT zeroblob(1000000) FROM c"),
            ErrorKind::SqlError,
        )?;
        expect_contains(&message, "add a LIMIT")?;
        let message = expect_error(t.sql("SELECT length(zeroblob(5000000)) AS n"), ErrorKind::SqlError)?;
        expect_contains(&message, "4 MiB")?;
        let reader = t.new_identity()?;
        let message = expect_error(reader.client().sql(t.db(), "SELECT length(zeroblob(2000000)) AS n"), ErrorKind::SqlError)?;
        expect_contains(&message, "1 MiB for identities other than the owner")?;
        let rows = reader.client().sql(t.db(), "SELECT length(zeroblob(1000)) AS n")?.rows;
        anyhow::ensure!(rows == [[json!(1000)]], "a reader's small blob: {rows:?}");
        Ok(())
    }
}
