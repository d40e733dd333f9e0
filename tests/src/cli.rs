//! The `keel` CLI end to end, through the real binary: every command, its output, and its
//! documented exit codes for each kind of failure.

use std::path::PathBuf;

use anyhow::{Context, ensure};
use keel_api::http::LogList;
use keel_cli::exit_code;
use keel_client::{ServerInfo, SqlResult};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_exit};

/// Writes the test's current module to `<temp dir>/<name>.wasm` and returns the path.
fn wasm_file(t: &Smoketest, name: &str) -> anyhow::Result<String> {
    let path = t.temp_dir()?.join(format!("{name}.wasm"));
    std::fs::write(&path, t.module_bytes()?.as_slice())?;
    Ok(path.display().to_string())
}

/// The workspace root, found at run time (never from a path compiled into the binary).
fn workspace_root() -> PathBuf {
    keel_artifacts::workspace_root().expect("the smoketests run inside the Keel workspace")
}

smoketest! {
    /// `server ping` prints the server and its version; `--json` gives the ABI version.
    #[tags("cli")]
    fn cli_server_ping() {
        let t = Smoketest::builder().build()?;
        let output = t.cli(["server", "ping"])?;
        expect_contains(&output.stdout, &format!("server at {} is up: version", t.server_url()))?;
        let info: ServerInfo = serde_json::from_str(&t.cli(["server", "ping", "--json"])?.stdout)?;
        assert_eq!(info, t.client().ping()?);
        Ok(())
    }
}

smoketest! {
    /// `identity new` on a fresh config creates an identity and saves it; `identity show`
    /// reports it; that identity does not own the test's database.
    #[tags("cli")]
    fn cli_identity_new_and_show_with_fresh_config() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let config = t.config_path()?;
        std::fs::write(&config, "")?;
        expect_exit(&t.cli_output(["server", "ping"])?, exit_code::INVALID_INPUT)?;
        let url = t.server_url().to_owned();
        let created = t.cli(["identity", "new", "--server", &url])?;
        let first_line = created.stdout.lines().next().unwrap_or_default();
        let identity = first_line.strip_prefix("created identity ").and_then(|rest| rest.split(' ').next()).context("no identity printed")?.to_owned();
        assert_eq!(first_line, format!("created identity {identity} on {url}"));
        expect_contains(&created.stdout, &format!("saved to {}", config.display()))?;
        ensure!(!created.stdout.contains("token"), "the token must not be printed: {created:?}");
        assert_ne!(identity, t.identity());
        assert_eq!(t.cli(["identity", "show"])?.stdout, format!("identity {identity}\nserver {url}\n"));
        let shown: serde_json::Value = serde_json::from_str(&t.cli(["identity", "show", "--json"])?.stdout)?;
        assert_eq!(shown, json!({"identity": identity, "server": url}));
        let db = t.db().to_owned();
        expect_exit(&t.cli_output(["delete", &db])?, exit_code::PERMISSION_DENIED)?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n0")?;
        Ok(())
    }
}

smoketest! {
    /// `publish --wasm` creates the database, `call` runs a reducer, `sql` prints the table,
    /// and publishing an update prints the migration.
    #[tags("cli")]
    fn cli_publish_call_and_sql() {
        let mut t = Smoketest::builder().precompiled_module("counter").autopublish(false).build()?;
        let db = t.new_database();
        let wasm = wasm_file(&t, "counter")?;
        let created = t.cli(["publish", &db, "--wasm", &wasm])?;
        let hash = t.client().describe(&db)?.module_hash.context("published")?;
        assert_eq!(created.stdout, format!("created database `{db}` (module {hash})\n"));
        expect_contains(&t.cli(["call", &db, "increment", "5"])?.stdout, "called `increment` (fuel used ")?;
        t.cli(["call", &db, "increment", "-2"])?;
        assert_eq!(t.cli(["sql", &db, "SELECT value FROM counter"])?.stdout, "value\n-----\n3\n");
        t.use_precompiled_module("counter-updated")?;
        let updated_wasm = wasm_file(&t, "counter-updated")?;
        let updated = t.cli(["publish", &db, "--wasm", &updated_wasm])?;
        let new_hash = t.client().describe(&db)?.module_hash.context("published")?;
        assert_eq!(updated.stdout, format!("updated database `{db}` (module {new_hash})\nmigration:\n  add table history\n"));
        Ok(())
    }
}

smoketest! {
    /// `call` parses each argument as JSON, bare words as strings, negative numbers as numbers.
    #[tags("cli")]
    fn cli_call_takes_json_arguments() {
        let t = Smoketest::builder().precompiled_module("args").build()?;
        let db = t.db().to_owned();
        t.cli(["call", &db, "take_many", "-7", "bare words", "true", "null"])?;
        t.cli(["call", &db, "take_vec_i64", "[1, 2, 3]"])?;
        t.cli(["call", &db, "take_json", "{\"a\": [\"b\"]}"])?;
        t.cli(["call", &db, "take_string", "\"42\""])?;
        t.assert_sql(
            "SELECT reducer, value FROM received ORDER BY id",
            "reducer      | value\n-------------+----------------------------\ntake_many    | [-7,\"bare words\",true,null]\ntake_vec_i64 | [1,2,3]\ntake_json    | {\"a\":[\"b\"]}\ntake_string  | \"42\"",
        )?;
        Ok(())
    }
}

smoketest! {
    /// `sql` prints an aligned table by default and the SqlResult with `--json`.
    #[tags("cli")]
    fn cli_sql_prints_tables_and_json() {
        let t = Smoketest::builder().precompiled_module("people").build()?;
        t.call("add", json!(["alice", 30]))?;
        t.call("add", json!(["bob", null]))?;
        let db = t.db().to_owned();
        let query = "SELECT id, name, age FROM person ORDER BY id";
        assert_eq!(t.cli(["sql", &db, query])?.stdout, "id | name  | age\n---+-------+-----\n1  | alice | 30\n2  | bob   | NULL\n");
        let result: SqlResult = serde_json::from_str(&t.cli(["sql", &db, query, "--json"])?.stdout)?;
        assert_eq!(result.columns, ["id", "name", "age"]);
        assert_eq!(result.rows, vec![vec![json!(1), json!("alice"), json!(30)], vec![json!(2), json!("bob"), json!(null)]]);
        assert_eq!(t.cli(["sql", &db, "DELETE FROM person WHERE age IS NULL"])?.stdout, "OK, 1 row(s) changed\n");
        Ok(())
    }
}

smoketest! {
    /// `logs -n N` prints the last N records as `TIMESTAMP LEVEL [reducer] message`; `--json`
    /// prints the records.
    #[tags("cli")]
    fn cli_logs_last_n_and_json() {
        let t = Smoketest::builder().precompiled_module("logger").build()?;
        t.call("log_many", json!([5]))?;
        let db = t.db().to_owned();
        let output = t.cli(["logs", &db, "-n", "2"])?;
        let lines: Vec<&str> = output.stdout.lines().collect();
        assert_eq!(lines.len(), 2, "{output:?}");
        for (line, expected) in lines.iter().zip(["INFO [log_many] message 3", "INFO [log_many] message 4"]) {
            let (timestamp, rest) = line.split_once(' ').context("no timestamp")?;
            assert_eq!(rest, expected);
            ensure!(timestamp.len() == 27 && timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T', "timestamp {timestamp:?}");
        }
        let list: LogList = serde_json::from_str(&t.cli(["logs", &db, "-n", "3", "--json"])?.stdout)?;
        let messages: Vec<&str> = list.records.iter().map(|record| record.message.as_str()).collect();
        assert_eq!(messages, ["message 2", "message 3", "message 4"]);
        Ok(())
    }
}

smoketest! {
    /// `describe` prints owner, module hash, tables with columns, and reducers.
    #[tags("cli")]
    fn cli_describe_prints_the_schema() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let db = t.db().to_owned();
        let hash = t.describe()?.module_hash.context("published")?;
        let output = t.cli(["describe", &db])?;
        let expected_start = format!("database {db}\nowner    {}\nmodule   {hash}\ntables:\n  counter (public)\n    id     integer  primary key, auto increment\n    value  integer  default 0\nreducers:\n", t.identity());
        ensure!(output.stdout.starts_with(&expected_start), "{output:?}");
        expect_contains(&output.stdout, "  increment(by: integer) public\n")?;
        expect_contains(&output.stdout, "  reset() private\n")?;
        let info: serde_json::Value = serde_json::from_str(&t.cli(["describe", &db, "--json"])?.stdout)?;
        assert_eq!(info["module_hash"], json!(hash));
        Ok(())
    }
}

smoketest! {
    /// `list` shows the database with its hash; `delete` removes it, and afterwards `list` no
    /// longer shows it and calls exit NOT_FOUND.
    #[tags("cli")]
    fn cli_list_and_delete() {
        let mut t = Smoketest::builder().precompiled_module("counter").build()?;
        let db = t.new_database();
        t.publish_to(&db, false)?;
        let hash = t.client().describe(&db)?.module_hash.context("published")?;
        let listed = t.cli(["list"])?;
        ensure!(listed.stdout.lines().any(|line| line.starts_with(&db) && line.ends_with(&hash)), "{listed:?}");
        assert_eq!(t.cli(["delete", &db])?.stdout, format!("deleted database `{db}`\n"));
        ensure!(!t.cli(["list"])?.stdout.contains(&db), "still listed");
        expect_exit(&t.cli_output(["call", &db, "increment", "1"])?, exit_code::NOT_FOUND)?;
        expect_exit(&t.cli_output(["delete", &db])?, exit_code::NOT_FOUND)?;
        Ok(())
    }
}

smoketest! {
    /// Each kind of bad input exits with its code and an `error:` line on stderr.
    #[tags("cli")]
    fn cli_bad_input_exit_codes() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let db = t.db().to_owned();
        let missing = crate::support::missing_database(&t);
        let cases: Vec<(Vec<&str>, u8)> = vec![
            (vec!["call", &missing, "increment", "1"], exit_code::NOT_FOUND),
            (vec!["call", &db, "no_such_reducer"], exit_code::NOT_FOUND),
            (vec!["call", &db, "increment", "[1,"], exit_code::INVALID_INPUT),
            (vec!["call", &db, "increment", "\"five\""], exit_code::INVALID_INPUT),
            (vec!["sql", &db, "SELEC 1"], exit_code::INVALID_INPUT),
            (vec!["sql", &db, "DROP TABLE counter"], exit_code::PERMISSION_DENIED),
            (vec!["call", &db, "Bad.Name", "1"], exit_code::NOT_FOUND),
            (vec!["describe", "Not A Name"], exit_code::INVALID_INPUT),
            (vec!["publish", &db, "--wasm", "/nonexistent/module.wasm"], exit_code::INVALID_INPUT),
            (vec!["server", "ping", "--server", "http://127.0.0.1:1"], exit_code::UNREACHABLE),
            (vec!["frobnicate"], exit_code::USAGE),
        ];
        for (args, code) in cases {
            let output = t.cli_output(&args)?;
            expect_exit(&output, code)?;
            if code != exit_code::USAGE {
                ensure!(output.stderr.starts_with("error: "), "{output:?}");
            }
        }
        t.assert_sql("SELECT value FROM counter", "value\n-----\n0")?;
        Ok(())
    }
}

smoketest! {
    /// A failing reducer exits REDUCER_FAILED with its message; nothing changed.
    #[tags("cli")]
    fn cli_reducer_failure_exit_code() {
        let t = Smoketest::builder().precompiled_module("bank").build()?;
        t.call("open", json!(["alice", 10]))?;
        t.call("open", json!(["bob", 0]))?;
        let db = t.db().to_owned();
        let output = t.cli_output(["call", &db, "transfer", "alice", "bob", "50"])?;
        expect_exit(&output, exit_code::REDUCER_FAILED)?;
        expect_contains(&output.stderr, "insufficient funds: alice would have -40")?;
        t.assert_sql("SELECT sum(balance) AS total FROM account", "total\n-----\n10")?;
        Ok(())
    }
}

smoketest! {
    /// An incompatible publish exits CONFLICT; with `--clear` it succeeds and says so.
    #[tags("cli")]
    fn cli_incompatible_publish_conflicts_until_clear() {
        let mut t = Smoketest::builder().precompiled_module("migrate-incompatible-initial").build()?;
        t.call("add_item", json!(["book", 3]))?;
        t.use_precompiled_module("migrate-incompatible-updated")?;
        let wasm = wasm_file(&t, "incompatible-updated")?;
        let db = t.db().to_owned();
        let refused = t.cli_output(["publish", &db, "--wasm", &wasm])?;
        expect_exit(&refused, exit_code::CONFLICT)?;
        expect_contains(&refused.stderr, "not compatible")?;
        let cleared = t.cli(["publish", &db, "--wasm", &wasm, "--clear"])?;
        expect_contains(&cleared.stdout, "data cleared")?;
        t.assert_sql("SELECT count(*) AS n FROM item", "n\n-\n0")?;
        Ok(())
    }
}

smoketest! {
    /// `keel build` of a module with a type error exits BUILD_FAILED with cargo's diagnostics.
    /// It runs cargo, so it carries the `module_code` tag (skipped where no cargo can be run).
    #[tags("cli", "build", "module_code")]
    fn cli_build_failure_exit_code() {
        let t = Smoketest::builder().build()?;
        let broken = workspace_root().join("modules").join("broken");
        let output = t.cli_output(["build", &broken.display().to_string()])?;
        expect_exit(&output, exit_code::BUILD_FAILED)?;
        expect_contains(&output.stderr, "mismatched types")?;
        expect_contains(&output.stderr, "cargo build failed")?;
        let missing = t.cli_output(["build", &workspace_root().join("modules").join("no-such-module").display().to_string()])?;
        expect_exit(&missing, exit_code::INVALID_INPUT)?;
        Ok(())
    }
}
