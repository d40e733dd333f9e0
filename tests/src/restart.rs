//! Durability: committed data, schemas, identities and logs survive a graceful restart and a
//! kill -9. These tests control the server process, so they run on a private local server.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error, expect_exit};

smoketest! {
    /// A graceful restart keeps rows, the module, the logs and both identities' tokens.
    #[local_only = "restarts the server"]
    fn graceful_restart_keeps_everything() {
        let mut t = Smoketest::builder().precompiled_module("kv").local_server("restarts the server").build()?;
        let other = t.new_identity()?;
        t.call("set", json!(["greeting", "hello"]))?;
        t.call("get", json!(["greeting"]))?;
        let hash = t.describe()?.module_hash;
        t.restart_server()?;
        t.assert_sql("SELECT key, value FROM kv", "key      | value\n---------+------\ngreeting | hello")?;
        assert_eq!(t.describe()?.module_hash, hash);
        assert_eq!(t.logs(1)?, ["greeting = hello"]);
        let other_client = keel_client::Client::new(t.server_url())?.with_token(other.client().token().expect("token"));
        assert_eq!(other_client.whoami()?.identity, other.identity());
        Ok(())
    }
}

smoketest! {
    /// kill -9 loses no committed call: every acknowledged increment is there after the crash.
    #[local_only = "kills the server with SIGKILL"]
    fn crash_keeps_every_committed_call() {
        let mut t = Smoketest::builder().precompiled_module("kv").local_server("kills the server with SIGKILL").build()?;
        for _ in 0..25 {
            t.call("incr", json!(["n"]))?;
        }
        t.crash_server()?;
        t.assert_sql("SELECT value FROM kv WHERE key = 'n'", "value\n-----\n25")?;
        t.call("incr", json!(["n"]))?;
        t.assert_sql("SELECT value FROM kv WHERE key = 'n'", "value\n-----\n26")?;
        Ok(())
    }
}

smoketest! {
    /// A migrated schema survives a crash: the new table and reducer are still there.
    #[local_only = "kills the server with SIGKILL"]
    fn migration_survives_a_crash() {
        let mut t = Smoketest::builder().precompiled_module("counter").local_server("kills the server with SIGKILL").build()?;
        t.call("increment", json!([2]))?;
        t.use_precompiled_module("counter-updated")?;
        t.publish()?;
        t.call("decrement", json!([1]))?;
        t.crash_server()?;
        t.call("decrement", json!([1]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n0")?;
        t.assert_sql("SELECT delta FROM history ORDER BY id", "delta\n-----\n-1\n-1")?;
        Ok(())
    }
}

smoketest! {
    /// A deleted database stays deleted after a restart, and a failed call stays rolled back.
    #[local_only = "restarts the server"]
    fn deletes_and_rollbacks_survive_a_restart() {
        let mut t = Smoketest::builder().precompiled_module("bank").local_server("restarts the server").build()?;
        let doomed = t.new_database();
        t.publish_to(&doomed, false)?;
        t.client().delete(&doomed)?;
        t.call("open", json!(["alice", 10]))?;
        expect_error(t.call("transfer", json!(["alice", "nobody", 5])), ErrorKind::ReducerError)?;
        t.restart_server()?;
        expect_error(t.client().describe(&doomed), ErrorKind::NotFound)?;
        t.assert_sql("SELECT name, balance FROM account", "name  | balance\n------+--------\nalice | 10")?;
        Ok(())
    }
}

smoketest! {
    /// Records written after a restart are added once to the ones from before it.
    #[local_only = "restarts the server"]
    fn logs_after_a_restart_are_not_duplicated() {
        let mut t = Smoketest::builder().precompiled_module("logger").local_server("restarts the server").build()?;
        t.call("log_many", json!([2]))?;
        t.restart_server()?;
        t.call("log_unicode", json!([]))?;
        assert_eq!(t.logs(100)?, ["message 0", "message 1", "héllo wörld ✓ 日本語"]);
        Ok(())
    }
}

smoketest! {
    /// At start the server removes the files no database refers to (what a crash in the middle
    /// of a delete or a module write leaves), keeps everything else, and refuses a second
    /// server on the same data dir while it runs.
    #[local_only = "writes into its server's data dir and restarts it"]
    fn restart_removes_files_no_database_refers_to() {
        let mut t = Smoketest::builder().precompiled_module("counter").local_server("writes into its server's data dir").build()?;
        t.call("increment", json!([5]))?;
        let data_dir = t.data_dir()?;
        let orphans = [
            data_dir.join("databases").join("orphan.sqlite"),
            data_dir.join("databases").join("orphan.sqlite-wal"),
            data_dir.join("logs").join("orphan.jsonl"),
            data_dir.join("modules").join(format!("{}.wasm", "0".repeat(64))),
            data_dir.join("modules").join(".tmpAbC123"),
        ];
        for orphan in &orphans {
            std::fs::write(orphan, "left behind")?;
        }
        let second = t.server_output(["--data-dir", &data_dir.display().to_string(), "--listen", "127.0.0.1:0"])?;
        expect_exit(&second, 1)?;
        expect_contains(&second.stderr, "in use by another keel-standalone")?;
        t.restart_server()?;
        for orphan in &orphans {
            ensure!(!orphan.exists(), "{} is still there after the restart", orphan.display());
        }
        t.call("increment", json!([1]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n6")?;
        Ok(())
    }
}
