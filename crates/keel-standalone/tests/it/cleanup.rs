//! Nothing is left behind: an identity can be deleted with its databases, and a module file
//! lives exactly as long as some database uses it.

use keel_api::http::ErrorKind;
use serde_json::json;

use crate::expect_kind;
use crate::support::{Server, module};

fn module_files(server: &Server) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(server.data_dir().join("modules"))
        .unwrap()
        .map(|file| file.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn file_of(hash: &str) -> String {
    format!("{hash}.wasm")
}

#[test]
fn deleting_an_identity_deletes_its_databases_and_nothing_else() {
    let server = Server::start(&[]);
    let leaving = server.identity();
    let staying = server.identity();
    leaving.publish("l1", &module("kv"), false).unwrap();
    leaving.publish("l2", &module("kv"), false).unwrap();
    let kept = staying
        .publish("s1", &module("counter"), false)
        .unwrap()
        .module_hash;
    let deleted = leaving.delete_identity().unwrap();
    let mut names = deleted.databases.clone();
    names.sort();
    assert_eq!(names, ["l1", "l2"]);
    expect_kind(leaving.whoami(), ErrorKind::Unauthorized);
    expect_kind(
        leaving.publish("l3", &module("kv"), false),
        ErrorKind::Unauthorized,
    );
    expect_kind(staying.describe("l1"), ErrorKind::NotFound);
    staying.call("s1", "increment", &json!([1])).unwrap();
    assert_eq!(module_files(&server), [file_of(&kept)]);
}

#[test]
fn module_files_live_as_long_as_a_database_uses_them() {
    let mut server = Server::start(&[]);
    let client = server.identity();
    let initial = client
        .publish("m", &module("migrate-add-column-initial"), false)
        .unwrap()
        .module_hash;
    let shared = client
        .publish("other", &module("migrate-add-column-initial"), false)
        .unwrap()
        .module_hash;
    assert_eq!(initial, shared);
    let updated = client
        .publish("m", &module("migrate-add-column-updated"), false)
        .unwrap()
        .module_hash;
    let mut expected = vec![file_of(&initial), file_of(&updated)];
    expected.sort();
    assert_eq!(
        module_files(&server),
        expected,
        "`other` still uses the initial module"
    );
    // A refused publish leaves no file behind.
    expect_kind(
        client.publish("m", &module("migrate-incompatible-updated"), false),
        ErrorKind::Conflict,
    );
    expect_kind(
        client.publish("fresh", b"\0asm not really", false),
        ErrorKind::InvalidModule,
    );
    assert_eq!(module_files(&server), expected);
    client.delete("other").unwrap();
    assert_eq!(module_files(&server), [file_of(&updated)]);
    // Files are known across a restart, and strays are removed at start.
    std::fs::write(server.data_dir().join("modules").join("stray.wasm"), b"x").unwrap();
    server.kill_9_and_restart();
    let client = keel_client::Client::new(&server.url)
        .unwrap()
        .with_token(client.token().unwrap());
    assert_eq!(module_files(&server), [file_of(&updated)]);
    client.reset("m").unwrap();
    assert!(
        module_files(&server).is_empty(),
        "{:?}",
        module_files(&server)
    );
    client.delete("m").unwrap();
    assert!(module_files(&server).is_empty());
}

/// A crash after a publish committed in the database's file but before the directory recorded
/// the new module: at start the file says which module won, and its module file is kept.
#[test]
fn a_publish_cut_short_by_a_crash_keeps_the_module_that_committed() {
    let mut server = Server::start(&[]);
    let client = server.identity();
    let initial_wasm = module("migrate-add-column-initial");
    let initial = client
        .publish("m", &initial_wasm, false)
        .unwrap()
        .module_hash;
    let updated = client
        .publish("m", &module("migrate-add-column-updated"), false)
        .unwrap()
        .module_hash;
    server.kill_9_change_and_restart(|data_dir| {
        // As the directory stood between the install's commit and its record: the old module
        // recorded (and its file still there), the new one pending.
        let control = rusqlite::Connection::open(data_dir.join("control.sqlite")).unwrap();
        control
            .execute(
                "UPDATE databases SET module_hash = ?1, pending_hash = ?2 WHERE name = 'm'",
                [&initial, &updated],
            )
            .unwrap();
        std::fs::write(
            data_dir.join("modules").join(file_of(&initial)),
            &initial_wasm,
        )
        .unwrap();
    });
    let client = keel_client::Client::new(&server.url)
        .unwrap()
        .with_token(client.token().unwrap());
    assert_eq!(
        client.describe("m").unwrap().module_hash,
        Some(updated.clone())
    );
    client
        .call("m", "add_item", &json!(["after the crash"]))
        .unwrap();
    assert_eq!(module_files(&server), [file_of(&updated)]);
}
