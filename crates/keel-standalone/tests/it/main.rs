//! End-to-end tests of the server process: the real binary on an ephemeral port, driven by
//! `keel-client`, with the fixture modules of `modules/` built to wasm32.

mod cleanup;
mod hostile;
mod openapi;
mod support;
mod tls;

use keel_api::http::ErrorKind;
use keel_client::{Client, ClientError};
use serde_json::json;
use support::{Server, module};

#[track_caller]
fn expect_kind<T: std::fmt::Debug>(result: Result<T, ClientError>, kind: ErrorKind) -> String {
    let error = result.expect_err("the request should fail");
    assert_eq!(error.kind(), Some(kind), "{error}");
    assert_eq!(error.status(), Some(kind.status()));
    error.to_string()
}

fn value(client: &Client, db: &str, query: &str) -> serde_json::Value {
    client.sql(db, query).unwrap().rows[0][0].clone()
}

#[test]
fn publish_call_sql_round_trip() {
    let server = Server::start(&[]);
    let client = server.identity();
    let published = client
        .publish("counter", &module("counter"), false)
        .unwrap();
    assert!(published.created);
    client.call("counter", "increment", &json!([5])).unwrap();
    client.call("counter", "increment", &json!([2])).unwrap();
    assert_eq!(
        value(&client, "counter", "SELECT value FROM counter"),
        json!(7)
    );
    assert_eq!(
        client
            .list()
            .unwrap()
            .databases
            .iter()
            .map(|db| db.name.as_str())
            .collect::<Vec<_>>(),
        ["counter"]
    );
    let info = client.describe("counter").unwrap();
    assert_eq!(info.schema.unwrap().tables[0].name, "counter");
}

#[test]
fn committed_data_survives_kill_9_and_restart() {
    let mut server = Server::start(&[]);
    let client = server.identity();
    client.publish("kv", &module("kv"), false).unwrap();
    for index in 0..20 {
        client
            .call("kv", "set", &json!([format!("k{index}"), "v"]))
            .unwrap();
    }
    server.kill_9_and_restart();
    let client = Client::new(&server.url)
        .unwrap()
        .with_token(client.token().unwrap());
    assert_eq!(value(&client, "kv", "SELECT count(*) FROM kv"), json!(20));
    client.call("kv", "incr", &json!(["n"])).unwrap();
    assert_eq!(
        value(&client, "kv", "SELECT value FROM kv WHERE key = 'n'"),
        json!("1")
    );
}

#[test]
fn failing_reducers_roll_back_and_the_server_keeps_serving() {
    let server = Server::start(&["--fuel-per-call", "5000000"]);
    let client = server.identity();
    client.publish("bank", &module("bank"), false).unwrap();
    client.call("bank", "open", &json!(["a", 10])).unwrap();
    client.call("bank", "open", &json!(["b", 0])).unwrap();
    let message = expect_kind(
        client.call("bank", "transfer", &json!(["a", "b", 50])),
        ErrorKind::ReducerError,
    );
    assert!(message.contains("insufficient funds"), "{message}");
    assert_eq!(
        value(
            &client,
            "bank",
            "SELECT balance FROM account WHERE name = 'a'"
        ),
        json!(10)
    );

    client
        .publish("panicker", &module("panicker"), false)
        .unwrap();
    let message = expect_kind(
        client.call("panicker", "boom", &json!([])),
        ErrorKind::ReducerPanic,
    );
    assert!(message.contains("deliberate panic"), "{message}");
    assert_eq!(
        value(&client, "panicker", "SELECT count(*) FROM event"),
        json!(0)
    );
    let logs = client.logs("panicker", 10).unwrap();
    assert!(
        logs.iter()
            .any(|record| record.message.contains("deliberate panic")),
        "{logs:?}"
    );

    client
        .publish("runaway", &module("runaway"), false)
        .unwrap();
    expect_kind(
        client.call("runaway", "spin", &json!([])),
        ErrorKind::OutOfFuel,
    );
    client.call("runaway", "ok", &json!([])).unwrap();
    client.call("bank", "deposit", &json!(["b", 1])).unwrap();
}

#[test]
fn automatic_migration_accepts_compatible_changes_and_refuses_breaking_ones() {
    let server = Server::start(&[]);
    let client = server.identity();
    client
        .publish("items", &module("migrate-add-column-initial"), false)
        .unwrap();
    client.call("items", "add_item", &json!(["old"])).unwrap();
    let updated = client
        .publish("items", &module("migrate-add-column-updated"), false)
        .unwrap();
    assert!(!updated.created);
    assert!(
        updated
            .migration
            .iter()
            .any(|step| step.starts_with("add column item.")),
        "{:?}",
        updated.migration
    );
    let result = client
        .sql("items", "SELECT name, note, quantity FROM item")
        .unwrap();
    assert_eq!(result.rows, vec![vec![json!("old"), json!(null), json!(1)]]);

    client
        .publish("tables", &module("migrate-add-table-initial"), false)
        .unwrap();
    let updated = client
        .publish("tables", &module("migrate-add-table-updated"), false)
        .unwrap();
    assert!(
        updated.migration.contains(&"add table tag".to_owned()),
        "{:?}",
        updated.migration
    );

    client
        .publish("breaking", &module("migrate-incompatible-initial"), false)
        .unwrap();
    client
        .call("breaking", "add_item", &json!(["kept", 3]))
        .ok();
    let rows_before = value(&client, "breaking", "SELECT count(*) FROM item");
    let message = expect_kind(
        client.publish("breaking", &module("migrate-incompatible-updated"), false),
        ErrorKind::Conflict,
    );
    assert!(message.contains("clear"), "{message}");
    assert_eq!(
        value(&client, "breaking", "SELECT count(*) FROM item"),
        rows_before,
        "a refused update changes nothing"
    );
    let cleared = client
        .publish("breaking", &module("migrate-incompatible-updated"), true)
        .unwrap();
    assert!(cleared.cleared && !cleared.created);
    assert_eq!(
        value(&client, "breaking", "SELECT count(*) FROM item"),
        json!(0)
    );
}

#[test]
fn a_second_identity_cannot_touch_what_it_does_not_own() {
    let server = Server::start(&[]);
    let owner = server.identity();
    let other = server.identity();
    owner
        .publish("notes", &module("private-table"), false)
        .unwrap();
    owner.call("notes", "stash", &json!(["s3cret"])).unwrap();
    expect_kind(
        other.publish("notes", &module("private-table"), false),
        ErrorKind::Forbidden,
    );
    expect_kind(
        other.publish("notes", &module("private-table"), true),
        ErrorKind::Forbidden,
    );
    expect_kind(other.delete("notes"), ErrorKind::Forbidden);
    expect_kind(other.reset("notes"), ErrorKind::Forbidden);
    expect_kind(other.logs("notes", 5), ErrorKind::Forbidden);
    expect_kind(
        other.call("notes", "stash", &json!(["x"])),
        ErrorKind::Forbidden,
    );
    for query in [
        "SELECT text FROM secret",
        "SELECT count(*) FROM secret",
        "SELECT n.text FROM notice n, secret s",
    ] {
        expect_kind(other.sql("notes", query), ErrorKind::SqlDenied);
    }
    expect_kind(
        other.sql("notes", "INSERT INTO notice (text) VALUES ('x')"),
        ErrorKind::SqlDenied,
    );
    expect_kind(
        other.sql("notes", "DELETE FROM notice"),
        ErrorKind::SqlDenied,
    );
    other.call("notes", "post", &json!(["hello"])).unwrap();
    assert_eq!(
        value(&other, "notes", "SELECT text FROM notice"),
        json!("hello")
    );
    assert_eq!(
        value(&owner, "notes", "SELECT text FROM secret"),
        json!("s3cret")
    );
}

#[test]
fn bad_input_gets_a_clear_4xx_and_loses_nothing() {
    let server = Server::start(&["--max-body-mib", "1"]);
    let client = server.identity();
    client
        .publish("counter", &module("counter"), false)
        .unwrap();
    client.call("counter", "increment", &json!([1])).unwrap();
    let message = expect_kind(
        client.publish("counter", b"definitely not wasm", false),
        ErrorKind::InvalidModule,
    );
    assert!(message.contains("magic"), "{message}");
    let message = expect_kind(
        client.publish("counter", &module("bad-import"), false),
        ErrorKind::InvalidModule,
    );
    assert!(message.contains("keel.does_not_exist"), "{message}");
    expect_kind(
        client.publish("counter", &module("invalid-schema"), false),
        ErrorKind::InvalidModule,
    );
    expect_kind(
        client.publish("counter", &vec![0u8; 2 << 20], false),
        ErrorKind::PayloadTooLarge,
    );
    expect_kind(
        client.call("nope", "increment", &json!([1])),
        ErrorKind::NotFound,
    );
    expect_kind(
        client.call("counter", "nope", &json!([])),
        ErrorKind::NotFound,
    );
    let message = expect_kind(
        client.call("counter", "increment", &json!([1, 2])),
        ErrorKind::InvalidArguments,
    );
    assert!(message.contains("by"), "{message}");
    expect_kind(
        client.call("counter", "increment", &json!(["one"])),
        ErrorKind::InvalidArguments,
    );
    expect_kind(
        client.call("counter", "init", &json!([])),
        ErrorKind::BadRequest,
    );
    expect_kind(
        client.sql("counter", "SELEKT value FROM counter"),
        ErrorKind::SqlError,
    );
    expect_kind(
        client.sql("counter", "SELECT 1; SELECT 2"),
        ErrorKind::SqlError,
    );
    expect_kind(
        client.publish("Bad/Name", &module("counter"), false),
        ErrorKind::BadRequest,
    );
    expect_kind(
        Client::new(&server.url)
            .unwrap()
            .with_token("nobody.secret")
            .list(),
        ErrorKind::Unauthorized,
    );
    assert_eq!(
        value(&client, "counter", "SELECT value FROM counter"),
        json!(1),
        "nothing was lost"
    );
    let databases = client.list().unwrap().databases;
    assert_eq!(
        databases.len(),
        1,
        "failed publishes leave no database behind: {databases:?}"
    );
}

#[test]
fn guarded_sql_refuses_the_file_system_doors() {
    let server = Server::start(&[]);
    let client = server.identity();
    client
        .publish("guard", &module("sql-guard"), false)
        .unwrap();
    for statement in [
        "ATTACH DATABASE '/tmp/evil.db' AS evil",
        "SELECT load_extension('x')",
        "PRAGMA writable_schema = 1",
        "PRAGMA journal_mode = DELETE",
        "CREATE TABLE t (x)",
        "VACUUM INTO '/tmp/copy.db'",
    ] {
        let error = client.sql("guard", statement).expect_err(statement);
        assert!(
            matches!(
                error.kind(),
                Some(ErrorKind::SqlDenied | ErrorKind::SqlError)
            ),
            "{statement}: {error}"
        );
    }
    for reducer in [
        "attach",
        "load_extension",
        "writable_schema",
        "journal_mode",
        "create_table",
        "begin",
        "vacuum",
    ] {
        let message = expect_kind(
            client.call("guard", reducer, &json!([])),
            ErrorKind::ReducerError,
        );
        assert!(!message.contains("was allowed"), "{reducer}: {message}");
    }
    assert!(
        !std::path::Path::new("/tmp/evil.db").exists()
            && !std::path::Path::new("/tmp/copy.db").exists()
    );
}

#[test]
fn tokens_are_stored_hashed() {
    let server = Server::start(&[]);
    let client = server.identity();
    let token = client.token().unwrap().to_owned();
    let secret = token.split_once('.').unwrap().1;
    let control = std::fs::read(server.data_dir().join("control.sqlite")).unwrap();
    let wal = std::fs::read(server.data_dir().join("control.sqlite-wal")).unwrap_or_default();
    for bytes in [&control, &wal] {
        assert!(
            !bytes
                .windows(secret.len())
                .any(|window| window == secret.as_bytes()),
            "the secret is stored in clear"
        );
    }
    client.whoami().unwrap();
}

#[test]
fn sixty_four_concurrent_clients_lose_nothing() {
    let server = Server::start(&[]);
    let owner = server.identity();
    owner.publish("shared", &module("kv"), false).unwrap();
    let calls_per_client = 10;
    std::thread::scope(|scope| {
        for index in 0..64 {
            let server = &server;
            scope.spawn(move || {
                let client = server.identity();
                let own_db = format!("own-{index}");
                client.publish(&own_db, &module("kv"), false).unwrap();
                for _ in 0..calls_per_client {
                    client.call("shared", "incr", &json!(["n"])).unwrap();
                    client.call(&own_db, "incr", &json!(["n"])).unwrap();
                }
                assert_eq!(
                    value(&client, &own_db, "SELECT value FROM kv WHERE key = 'n'"),
                    json!(calls_per_client.to_string())
                );
            });
        }
    });
    assert_eq!(
        value(&owner, "shared", "SELECT value FROM kv WHERE key = 'n'"),
        json!((64 * calls_per_client).to_string())
    );
}

#[test]
fn delete_reset_and_rename() {
    let server = Server::start(&[]);
    let client = server.identity();
    client.publish("a", &module("counter"), false).unwrap();
    client.publish("b", &module("counter"), false).unwrap();
    expect_kind(client.rename("a", "b"), ErrorKind::Conflict);
    client.rename("a", "c").unwrap();
    expect_kind(
        client.call("a", "increment", &json!([1])),
        ErrorKind::NotFound,
    );
    client.call("c", "increment", &json!([1])).unwrap();
    client.reset("c").unwrap();
    assert!(client.describe("c").unwrap().schema.is_none());
    client.publish("c", &module("kv"), false).unwrap();
    client.delete("b").unwrap();
    expect_kind(client.describe("b"), ErrorKind::NotFound);
    let names: Vec<String> = client
        .list()
        .unwrap()
        .databases
        .into_iter()
        .map(|db| db.name)
        .collect();
    assert_eq!(names, ["c"]);
    assert_eq!(
        std::fs::read_dir(server.data_dir().join("databases"))
            .unwrap()
            .filter(|entry| entry
                .as_ref()
                .unwrap()
                .path()
                .extension()
                .is_some_and(|ext| ext == "sqlite"))
            .count(),
        1
    );
}

/// Requests refused before their body matters (bad name, bad token, bad query) still get their
/// answer: the server reads the body first, so the client never writes into a closed socket.
#[test]
fn early_refusals_of_large_bodies_are_answered_not_reset() {
    let server = Server::start(&[]);
    let client = server.identity();
    let wasm = vec![7u8; 4 << 20];
    for _ in 0..10 {
        expect_kind(
            client.publish("Bad/Name", &wasm, false),
            ErrorKind::BadRequest,
        );
        expect_kind(
            Client::new(&server.url)
                .unwrap()
                .with_token("nobody.secret")
                .publish("fine", &wasm, false),
            ErrorKind::Unauthorized,
        );
        expect_kind(
            client.publish("fine", &wasm, false),
            ErrorKind::InvalidModule,
        );
    }
    client.ping().unwrap();
}

/// However many databases are used, the server keeps only `--max-open-databases` files open,
/// and closed databases reopen transparently.
#[test]
fn idle_databases_are_closed_so_open_files_stay_bounded() {
    let server = Server::start(&["--max-open-databases", "4"]);
    let client = server.identity();
    for index in 0..24 {
        client
            .publish(&format!("db{index}"), &module("counter"), false)
            .unwrap();
        client
            .call(&format!("db{index}"), "increment", &json!([index]))
            .unwrap();
    }
    for index in 0..24 {
        assert_eq!(
            value(&client, &format!("db{index}"), "SELECT value FROM counter"),
            json!(index)
        );
    }
    let open_sqlite_files = std::fs::read_dir(format!("/proc/{}/fd", server.pid()))
        .unwrap()
        .filter_map(|fd| std::fs::read_link(fd.unwrap().path()).ok())
        .filter(|target| target.to_string_lossy().contains("/databases/"))
        .count();
    assert!(
        open_sqlite_files <= 4 * 3,
        "{open_sqlite_files} database files open"
    );
}

/// A rename can give the database to another identity: the old owner loses it.
#[test]
fn a_database_can_be_given_to_another_identity() {
    let server = Server::start(&[]);
    let first = server.identity();
    let second = server.identity();
    let second_id = second.whoami().unwrap().identity;
    first.publish("gift", &module("counter"), false).unwrap();
    expect_kind(
        first.rename_and_transfer("gift", "gift", "no-such-identity"),
        ErrorKind::BadRequest,
    );
    first
        .rename_and_transfer("gift", "given", &second_id)
        .unwrap();
    expect_kind(
        first.publish("given", &module("counter"), false),
        ErrorKind::Forbidden,
    );
    expect_kind(
        first.call("given", "reset", &json!([])),
        ErrorKind::Forbidden,
    );
    second.call("given", "reset", &json!([])).unwrap();
    assert_eq!(second.list().unwrap().databases.len(), 1);
    assert!(first.list().unwrap().databases.is_empty());
    second.delete("given").unwrap();
}

#[test]
fn the_ready_file_holds_the_ready_line() {
    let dir = tempfile::tempdir().unwrap();
    let ready_file = dir.path().join("ready.json");
    let command = keel_process::ServerCommand::new(
        env!("CARGO_BIN_EXE_keel-standalone"),
        dir.path().join("data"),
    )
    .args(["--log-level", "warn"])
    .ready_file(&ready_file);
    // `start` fails unless the file holds exactly the event printed on stdout.
    let server = command.start().unwrap();
    let text = std::fs::read_to_string(&ready_file).unwrap();
    assert_eq!(
        text,
        format!(r#"{{"event":"ready","addr":"{}"}}"#, server.ready().addr)
    );
    Client::new(&server.url()).unwrap().ping().unwrap();
}
