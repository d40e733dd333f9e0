//! Host-level tests: a tiny module written in WAT drives the runtime and storage directly.

mod limits;

use keel_api::log::LogRecord;
use keel_host::{
    Access, CallError, Database, HostConfig, ModuleError, PublishError, Runtime, SqlError,
};
use serde_json::json;

/// Schema of the test module: a public table `t`, a private table `secret`, and reducers
/// dispatched on their first letter.
const SCHEMA: &str = r#"{"tables":[{"name":"t","public":true,"columns":[{"name":"id","type":"integer","primary_key":true,"auto_increment":true},{"name":"v","type":"integer"}]},{"name":"secret","public":false,"columns":[{"name":"s","type":"text","nullable":true}]}],"reducers":[{"name":"init","public":true,"args":[]},{"name":"add","public":true,"args":[]},{"name":"fail","public":true,"args":[]},{"name":"spin","public":true,"args":[]},{"name":"trap","public":true,"args":[]},{"name":"panic","public":true,"args":[]},{"name":"guarded","public":true,"args":[]},{"name":"owner_only","public":false,"args":[]},{"name":"typed","public":true,"args":[{"name":"n","type":{"integer":{"min":0,"max":255}}}]},{"name":"loop_sql","public":true,"args":[]}]}"#;

fn module_wat(schema: &str, imports: &str) -> String {
    let schema_len = schema.len();
    let escaped = schema.replace('\\', "\\\\").replace('"', "\\\"");
    format!(
        r#"(module
  (import "keel" "return_bytes" (func $return_bytes (param i32 i32)))
  (import "keel" "sql" (func $sql (param i32 i32 i32 i32) (result i64)))
  (import "keel" "read_result" (func $read_result (param i32)))
  (import "keel" "log" (func $log (param i32 i32 i32)))
  (import "keel" "panic" (func $panic (param i32 i32)))
  {imports}
  (memory (export "memory") 2)
  (global $heap (mut i32) (i32.const 65536))
  (data (i32.const 1024) "{escaped}")
  (data (i32.const 16) "INSERT INTO t (v) VALUES (1)")
  (data (i32.const 48) "[]")
  (data (i32.const 64) "it failed")
  (data (i32.const 80) "ATTACH 'x.db' AS x")
  (data (i32.const 112) "boom at line 7")
  (data (i32.const 128) "adding")
  (func (export "keel_abi_version") (result i32) (i32.const 1))
  (func (export "keel_alloc") (param $len i32) (result i32)
    (local $ptr i32)
    (local.set $ptr (global.get $heap))
    (global.set $heap (i32.add (global.get $heap) (local.get $len)))
    (local.get $ptr))
  (func (export "keel_describe") (result i32)
    (call $return_bytes (i32.const 1024) (i32.const {schema_len}))
    (i32.const 0))
  (func $insert (result i32)
    (if (result i32) (i64.lt_s (call $sql (i32.const 16) (i32.const 28) (i32.const 48) (i32.const 2)) (i64.const 0))
      (then (call $return_bytes (i32.const 64) (i32.const 9)) (i32.const 1))
      (else (i32.const 0))))
  (func (export "keel_call") (param $name i32) (param $name_len i32) (param $args i32) (param $args_len i32) (result i32)
    (local $first i32) (local $r i64) (local $len i32)
    (local.set $first (i32.load8_u (local.get $name)))
    ;; i: init, a: add, o: owner_only -> insert a row
    (if (i32.or (i32.eq (local.get $first) (i32.const 105)) (i32.or (i32.eq (local.get $first) (i32.const 97)) (i32.eq (local.get $first) (i32.const 111))))
      (then
        (call $log (i32.const 3) (i32.const 128) (i32.const 6))
        (return (call $insert))))
    ;; f: insert, then fail
    (if (i32.eq (local.get $first) (i32.const 102))
      (then (drop (call $insert)) (call $return_bytes (i32.const 64) (i32.const 9)) (return (i32.const 1))))
    ;; l: run a cheap statement forever
    (if (i32.eq (local.get $first) (i32.const 108))
      (then (loop $again (drop (call $sql (i32.const 16) (i32.const 28) (i32.const 48) (i32.const 2))) (br $again))))
    ;; s: spin forever
    (if (i32.eq (local.get $first) (i32.const 115))
      (then (loop $forever (br $forever))))
    ;; t: insert, then trap
    (if (i32.eq (local.get $first) (i32.const 116))
      (then
        (if (i32.eq (i32.load8_u (i32.add (local.get $name) (i32.const 1))) (i32.const 121))
          (then (return (i32.const 0))))
        (drop (call $insert)) (unreachable)))
    ;; p: insert, report a panic message, trap
    (if (i32.eq (local.get $first) (i32.const 112))
      (then (drop (call $insert)) (call $panic (i32.const 112) (i32.const 14)) (unreachable)))
    ;; g: try ATTACH and hand back the host's error
    (if (i32.eq (local.get $first) (i32.const 103))
      (then
        (local.set $r (call $sql (i32.const 80) (i32.const 18) (i32.const 48) (i32.const 2)))
        (if (i64.ge_s (local.get $r) (i64.const 0)) (then (return (i32.const 0))))
        (local.set $len (i32.wrap_i64 (i64.sub (i64.const -1) (local.get $r))))
        (call $read_result (i32.const 4096))
        (call $return_bytes (i32.const 4096) (local.get $len))
        (return (i32.const 1))))
    (i32.const 3))
)"#
    )
}

struct Fixture {
    runtime: Runtime,
    database: Database,
    _dir: tempfile::TempDir,
}

fn config() -> HostConfig {
    HostConfig {
        fuel_per_call: 5_000_000,
        ..HostConfig::default()
    }
}

fn fixture() -> Fixture {
    fixture_with(config())
}

/// A database with the test module installed, under `config`.
fn fixture_with(config: HostConfig) -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(config);
    let mut database = Database::open(&dir.path().join("db.sqlite"), &runtime).unwrap();
    let module = runtime
        .load(&wat::parse_str(module_wat(SCHEMA, "")).unwrap())
        .unwrap();
    database
        .install(&runtime, module, false, "owner", &mut Vec::new())
        .unwrap();
    Fixture {
        runtime,
        database,
        _dir: dir,
    }
}

impl Fixture {
    fn call(&mut self, reducer: &str) -> Result<(), CallError> {
        self.call_with(reducer, json!([]), true)
    }

    fn call_with(
        &mut self,
        reducer: &str,
        args: serde_json::Value,
        owner: bool,
    ) -> Result<(), CallError> {
        let mut logs: Vec<LogRecord> = Vec::new();
        self.database
            .call(&self.runtime, reducer, &args, "caller", owner, &mut logs)
            .map(|_| ())
    }

    fn count(&mut self) -> i64 {
        let result = self
            .database
            .sql("SELECT count(*) FROM t", &[], Access::Owner)
            .unwrap();
        result.rows[0][0].as_i64().unwrap()
    }
}

#[test]
fn init_runs_on_first_publish_and_calls_commit() {
    let mut fixture = fixture();
    assert_eq!(fixture.count(), 1, "init inserts one row");
    fixture.call("add").unwrap();
    assert_eq!(fixture.count(), 2);
}

#[test]
fn reducer_error_rolls_back() {
    let mut fixture = fixture();
    let error = fixture.call("fail").unwrap_err();
    assert!(
        matches!(&error, CallError::Reducer { message, .. } if message == "it failed"),
        "{error}"
    );
    assert_eq!(fixture.count(), 1);
}

#[test]
fn trap_and_panic_roll_back_with_their_message() {
    let mut fixture = fixture();
    let error = fixture.call("trap").unwrap_err();
    assert!(matches!(error, CallError::Panic { .. }), "{error}");
    let error = fixture.call("panic").unwrap_err();
    assert!(
        matches!(&error, CallError::Panic { message, .. } if message == "boom at line 7"),
        "{error}"
    );
    assert_eq!(fixture.count(), 1);
    fixture.call("add").unwrap();
    assert_eq!(fixture.count(), 2, "the database still works");
}

#[test]
fn runaway_reducer_runs_out_of_fuel() {
    let mut fixture = fixture();
    let error = fixture.call("spin").unwrap_err();
    assert!(
        matches!(
            error,
            CallError::OutOfFuel {
                fuel: 5_000_000,
                ..
            }
        ),
        "{error}"
    );
    fixture.call("add").unwrap();
}

#[test]
fn modules_cannot_attach() {
    let mut fixture = fixture();
    let error = fixture.call("guarded").unwrap_err();
    assert!(error.to_string().contains("ATTACH"), "{error}");
}

#[test]
fn arguments_are_checked_before_the_call() {
    let mut fixture = fixture();
    let error = fixture.call_with("typed", json!([300]), true).unwrap_err();
    assert_eq!(
        error.to_string(),
        "argument 1 (`n`) of reducer `typed` must be integer 0..=255, got 300"
    );
    let error = fixture.call_with("typed", json!([1, 2]), true).unwrap_err();
    assert!(
        error.to_string().contains("but 2 argument(s) were given"),
        "{error}"
    );
    assert!(matches!(
        fixture.call("nope").unwrap_err(),
        CallError::NoSuchReducer(_)
    ));
    assert!(matches!(
        fixture.call("init").unwrap_err(),
        CallError::Lifecycle(_)
    ));
    assert!(matches!(
        fixture
            .call_with("owner_only", json!([]), false)
            .unwrap_err(),
        CallError::Private(_)
    ));
    fixture.call_with("owner_only", json!([]), true).unwrap();
}

#[test]
fn guarded_sql_refuses_dangerous_statements() {
    let mut fixture = fixture();
    for statement in [
        "ATTACH 'other.db' AS other",
        "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode = DELETE",
        "SELECT load_extension('evil')",
        "CREATE TABLE x (a INTEGER)",
        "DROP TABLE t",
        "BEGIN",
    ] {
        let error = fixture
            .database
            .sql(statement, &[], Access::Owner)
            .unwrap_err();
        assert!(
            matches!(error, SqlError::Denied(_) | SqlError::Invalid(_)),
            "{statement}: {error}"
        );
    }
    fixture
        .database
        .sql("PRAGMA table_info(t)", &[], Access::Owner)
        .unwrap();
}

#[test]
fn readers_see_only_public_tables_and_cannot_write() {
    let mut fixture = fixture();
    fixture
        .database
        .sql("INSERT INTO secret (s) VALUES ('x')", &[], Access::Owner)
        .unwrap();
    assert_eq!(
        fixture
            .database
            .sql("SELECT v FROM t", &[], Access::Reader)
            .unwrap()
            .rows
            .len(),
        1
    );
    for statement in [
        "SELECT s FROM secret",
        "SELECT * FROM sqlite_sequence",
        "SELECT name, ncell FROM dbstat",
        "SELECT * FROM pragma_table_info('secret')",
        "SELECT count(*) FROM secret",
        "SELECT * FROM t JOIN secret",
        // Statements that read no column of `secret`: the authorizer is asked about it all
        // the same (a read of the column ""), and that is the only check there is.
        "SELECT 1 FROM secret",
        "SELECT EXISTS (SELECT 1 FROM secret)",
        "SELECT v FROM t WHERE EXISTS (SELECT 1 FROM secret)",
        "SELECT 1 WHERE 'x' IN secret",
        "SELECT count(*) OVER () FROM secret",
        "SELECT count(*) FROM (SELECT 1 FROM secret)",
        "WITH c AS MATERIALIZED (SELECT 1 FROM secret) SELECT count(*) FROM c",
        "SELECT t.v FROM t LEFT JOIN secret ON 0",
        "EXPLAIN SELECT * FROM secret",
        "EXPLAIN QUERY PLAN SELECT count(*) FROM secret",
        "INSERT INTO t (v) VALUES (2)",
        "DELETE FROM t",
        "EXPLAIN DELETE FROM t",
    ] {
        let error = fixture
            .database
            .sql(statement, &[], Access::Reader)
            .unwrap_err();
        assert!(matches!(error, SqlError::Denied(_)), "{statement}: {error}");
    }
    // A name that only looks like the private table (a common table expression) reads nothing
    // of it; so does a query plan of public tables.
    for statement in [
        "WITH secret (s) AS (SELECT 'mine') SELECT s FROM secret",
        "EXPLAIN QUERY PLAN SELECT v FROM t",
    ] {
        fixture
            .database
            .sql(statement, &[], Access::Reader)
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    assert_eq!(fixture.count(), 1);
}

#[test]
fn no_one_writes_the_servers_or_the_engines_tables() {
    let mut fixture = fixture();
    fixture.call("add").unwrap();
    let hash = fixture.database.installed_hash().unwrap();
    for access in [Access::Owner, Access::Reader] {
        for (table, statement) in [
            ("_keel_module", "DELETE FROM _keel_module"),
            (
                "_keel_module",
                "INSERT INTO _keel_module (hash) VALUES ('forged')",
            ),
            ("sqlite_sequence", "UPDATE sqlite_sequence SET seq = 1000"),
            ("sqlite_sequence", "DELETE FROM sqlite_sequence"),
        ] {
            let error = fixture.database.sql(statement, &[], access).unwrap_err();
            let SqlError::Denied(message) = &error else {
                panic!("{access:?}: {statement}: {error}");
            };
            if access == Access::Owner {
                assert!(
                    message.contains(&format!(
                        "table `{table}` belongs to the database engine or the server"
                    )),
                    "{statement}: {message}"
                );
            }
        }
    }
    assert_eq!(fixture.database.installed_hash().unwrap(), hash);
    let seq = fixture
        .database
        .sql(
            "SELECT seq FROM sqlite_sequence WHERE name = 't'",
            &[],
            Access::Owner,
        )
        .unwrap();
    assert_eq!(seq.rows, [[json!(2)]]);
}

#[test]
fn schema_pragmas_show_private_tables_to_the_owner_only() {
    let mut fixture = fixture();
    let columns = |rows: &keel_host::Rows| -> Vec<String> {
        rows.rows
            .iter()
            .map(|row| row[1].as_str().unwrap().to_owned())
            .collect()
    };
    for statement in [
        "PRAGMA table_info(secret)",
        "PRAGMA table_xinfo(SECRET)",
        "PRAGMA index_list('secret')",
    ] {
        let error = fixture
            .database
            .sql(statement, &[], Access::Reader)
            .unwrap_err();
        assert!(matches!(error, SqlError::Denied(_)), "{statement}: {error}");
        fixture
            .database
            .sql(statement, &[], Access::Owner)
            .unwrap_or_else(|error| panic!("{statement}: {error}"));
    }
    let owner = fixture
        .database
        .sql("PRAGMA table_info(secret)", &[], Access::Owner)
        .unwrap();
    assert_eq!(columns(&owner), ["s"]);
    let reader = fixture
        .database
        .sql("PRAGMA table_info(t)", &[], Access::Reader)
        .unwrap();
    assert_eq!(columns(&reader), ["id", "v"]);
}

#[test]
fn sql_takes_parameters_and_reports_changes() {
    let mut fixture = fixture();
    let result = fixture
        .database
        .sql(
            "INSERT INTO t (v) VALUES (?1), (?2)",
            &[json!(5), json!(6)],
            Access::Owner,
        )
        .unwrap();
    assert_eq!(result.changes, 2);
    let result = fixture
        .database
        .sql(
            "SELECT v FROM t WHERE v > ?1 ORDER BY v",
            &[json!(4)],
            Access::Owner,
        )
        .unwrap();
    assert_eq!(result.rows, vec![vec![json!(5)], vec![json!(6)]]);
    assert!(matches!(
        fixture.database.sql("SELEC 1", &[], Access::Owner),
        Err(SqlError::Invalid(_))
    ));
    assert!(matches!(
        fixture.database.sql("SELECT ?1", &[], Access::Owner),
        Err(SqlError::Invalid(_))
    ));
}

#[test]
fn runaway_sql_is_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(HostConfig {
        sql_time_limit: std::time::Duration::from_millis(200),
        ..config()
    });
    let mut database = Database::open(&dir.path().join("db.sqlite"), &runtime).unwrap();
    let query =
        "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT count(*) FROM c";
    let error = database.sql(query, &[], Access::Owner).unwrap_err();
    assert!(error.to_string().contains("time limit"), "{error}");
}

#[test]
fn invalid_modules_are_refused_with_a_reason() {
    let runtime = Runtime::new(config());
    assert!(matches!(
        runtime.load(b"not wasm").unwrap_err(),
        ModuleError::InvalidWasm(_)
    ));
    let bad_import = module_wat(SCHEMA, r#"(import "env" "surprise" (func (param i32)))"#);
    let error = runtime
        .load(&wat::parse_str(bad_import).unwrap())
        .unwrap_err();
    assert_eq!(
        error.to_string(),
        "the module imports `env.surprise`, which the Keel host does not provide"
    );
    let bindgen = module_wat(
        SCHEMA,
        r#"(import "__wbindgen_placeholder__" "__wbindgen_describe" (func (param i32)))"#,
    );
    assert!(matches!(
        runtime.load(&wat::parse_str(bindgen).unwrap()).unwrap_err(),
        ModuleError::WasmBindgen { .. }
    ));
    let no_exports = wat::parse_str("(module (memory (export \"memory\") 1))").unwrap();
    assert!(matches!(
        runtime.load(&no_exports).unwrap_err(),
        ModuleError::MissingExport { .. }
    ));
    let reserved = SCHEMA.replace(r#""name":"t""#, r#""name":"sqlite_t""#);
    assert!(matches!(
        runtime
            .load(&wat::parse_str(module_wat(&reserved, "")).unwrap())
            .unwrap_err(),
        ModuleError::InvalidSchema(_)
    ));
}

#[test]
fn compiled_modules_are_cached_by_hash() {
    let runtime = Runtime::new(config());
    let bytes = wat::parse_str(module_wat(SCHEMA, "")).unwrap();
    let first = runtime.load(&bytes).unwrap();
    let second = runtime.load(&bytes).unwrap();
    assert!(std::sync::Arc::ptr_eq(&first, &second));
}

#[test]
fn migrations_apply_or_refuse_and_clear_wipes() {
    let mut fixture = fixture();
    let added = SCHEMA.replace(
        r#"{"name":"v","type":"integer"}]"#,
        r#"{"name":"v","type":"integer"},{"name":"note","type":"text","nullable":true},{"name":"score","type":"integer","default":7}]"#,
    );
    let module = fixture
        .runtime
        .load(&wat::parse_str(module_wat(&added, "")).unwrap())
        .unwrap();
    let installed = fixture
        .database
        .install(&fixture.runtime, module, false, "owner", &mut Vec::new())
        .unwrap();
    assert_eq!(installed.steps, ["add column t.note", "add column t.score"]);
    let result = fixture
        .database
        .sql("SELECT v, note, score FROM t", &[], Access::Owner)
        .unwrap();
    assert_eq!(result.rows, vec![vec![json!(1), json!(null), json!(7)]]);

    let breaking = SCHEMA.replace(
        r#"{"name":"v","type":"integer"}"#,
        r#"{"name":"v","type":"text"}"#,
    );
    let module = fixture
        .runtime
        .load(&wat::parse_str(module_wat(&breaking, "")).unwrap())
        .unwrap();
    let error = fixture
        .database
        .install(
            &fixture.runtime,
            module.clone(),
            false,
            "owner",
            &mut Vec::new(),
        )
        .unwrap_err();
    assert!(
        matches!(&error, PublishError::MigrationRefused { changes } if changes.iter().any(|c| c.contains("t.v"))),
        "{error}"
    );
    assert_eq!(fixture.count(), 1, "a refused update changes nothing");

    let installed = fixture
        .database
        .install(&fixture.runtime, module, true, "owner", &mut Vec::new())
        .unwrap();
    assert!(!installed.created && installed.steps.is_empty());
    assert_eq!(
        fixture.count(),
        1,
        "clear wipes the data and init runs again"
    );
}

#[test]
fn committed_data_survives_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let runtime = Runtime::new(config());
    let path = dir.path().join("db.sqlite");
    let module = runtime
        .load(&wat::parse_str(module_wat(SCHEMA, "")).unwrap())
        .unwrap();
    {
        let mut database = Database::open(&path, &runtime).unwrap();
        database
            .install(&runtime, module.clone(), false, "owner", &mut Vec::new())
            .unwrap();
        database
            .call(&runtime, "add", &json!([]), "owner", true, &mut Vec::new())
            .unwrap();
    }
    let mut database = Database::open(&path, &runtime).unwrap();
    database.set_module(Some(module));
    let result = database
        .sql("SELECT count(*) FROM t", &[], Access::Owner)
        .unwrap();
    assert_eq!(result.rows[0][0], json!(2));
}

#[test]
fn logs_are_collected_even_when_the_call_fails() {
    let mut fixture = fixture();
    let mut logs = Vec::new();
    fixture
        .database
        .call(&fixture.runtime, "add", &json!([]), "c", true, &mut logs)
        .unwrap();
    assert_eq!(logs.len(), 1);
    assert_eq!(logs[0].message, "adding");
    assert_eq!(logs[0].reducer.as_deref(), Some("add"));
}

#[test]
fn the_installed_module_hash_lives_in_the_database_file_and_is_hidden() {
    let mut fixture = fixture();
    let hash = fixture.database.installed_hash().unwrap().unwrap();
    assert_eq!(hash, fixture.database.module().unwrap().hash());
    for access in [Access::Owner, Access::Reader] {
        let error = fixture
            .database
            .sql("SELECT hash FROM _keel_module", &[], access)
            .unwrap_err();
        assert!(matches!(error, SqlError::Denied(_)), "{error}");
    }
    fixture.database.wipe().unwrap();
    assert_eq!(fixture.database.installed_hash().unwrap(), None);
    assert!(fixture.database.module().is_none());
}

#[test]
fn huge_results_are_refused_instead_of_exhausting_memory() {
    let mut fixture = fixture();
    let query = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT x FROM c";
    let error = fixture.database.sql(query, &[], Access::Owner).unwrap_err();
    assert!(error.to_string().contains("too large"), "{error}");
    let limited = fixture
        .database
        .sql(&format!("{query} LIMIT 10"), &[], Access::Owner)
        .unwrap();
    assert_eq!(limited.rows.len(), 10);
}

#[test]
fn huge_values_are_refused_before_they_are_built() {
    let mut fixture = fixture();
    for query in [
        "SELECT zeroblob(60000000)",
        "SELECT zeroblob(4000000)",
        "SELECT randomblob(1000) FROM (WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c LIMIT 5000) SELECT x FROM c)",
    ] {
        let error = fixture.database.sql(query, &[], Access::Owner).unwrap_err();
        assert!(
            error.to_string().contains("too large") || error.to_string().contains("too big"),
            "{query}: {error}"
        );
    }
    let small = fixture
        .database
        .sql("SELECT zeroblob(1000)", &[], Access::Owner)
        .unwrap();
    assert_eq!(small.rows[0][0].as_array().unwrap().len(), 1000);
}

#[test]
fn a_unique_index_over_duplicate_rows_is_a_refused_migration() {
    let mut fixture = fixture();
    fixture.call("add").unwrap();
    let with_unique_index = SCHEMA.replace(
        r#"{"name":"v","type":"integer"}]}"#,
        r#"{"name":"v","type":"integer"}],"indexes":[{"name":"t_v","columns":["v"],"unique":true}]}"#,
    );
    assert_ne!(with_unique_index, SCHEMA);
    let module = fixture
        .runtime
        .load(&wat::parse_str(module_wat(&with_unique_index, "")).unwrap())
        .unwrap();
    let error = fixture
        .database
        .install(&fixture.runtime, module, false, "owner", &mut Vec::new())
        .unwrap_err();
    assert!(
        matches!(&error, PublishError::MigrationRefused { changes } if changes[0].contains("add index t_v")),
        "{error}"
    );
    assert_eq!(fixture.count(), 2, "nothing changed");
}

#[test]
fn an_empty_query_says_so() {
    let mut fixture = fixture();
    for query in ["", "   ", "-- just a comment", "/* a */ ;"] {
        let error = fixture.database.sql(query, &[], Access::Owner).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the query contains no SQL statement",
            "{query:?}"
        );
    }
}
