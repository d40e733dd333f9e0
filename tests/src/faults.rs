//! Fault injection: the server killed in the middle of a test, kill -9 between transactions
//! again and again, and a data dir that runs out of space. Each test controls its own server,
//! so they run on a private local server only.

use anyhow::{Context, bail, ensure};
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, SmoketestError, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error, expect_exit};

/// Kill cycles of `kill_9_between_transactions_loses_nothing`.
const KILL_CYCLES: usize = 20;

/// Acknowledged calls per cycle.
const CALLS_PER_CYCLE: usize = 5;

/// The size of the data dir in the disk-full test: room for the module and a few rows.
const SMALL_DATA_DIR: u64 = 1024 * 1024;

/// The size it gets afterwards, when space returns.
const ROOMY_DATA_DIR: u64 = 16 * 1024 * 1024;

/// One row's value in the disk-full test.
const VALUE_BYTES: usize = 64 * 1024;

smoketest! {
    /// A server that dies mid-test (SIGKILL) makes the next call fail with an error that says the
    /// server is gone, how it ended and what its log said; the dead server is reaped, and the
    /// harness can start it again on the same data, which lost nothing.
    #[local_only = "kills its server with SIGKILL"]
    fn killed_server_fails_the_next_call_with_its_log() {
        let mut t = Smoketest::builder().precompiled_module("counter").local_server("kills its server with SIGKILL").build()?;
        t.call("increment", json!([3]))?;
        t.kill_server()?;
        let error = match t.call("increment", json!([4])) {
            Ok(result) => bail!("a call to a killed server succeeded: {result:?}"),
            Err(error) => error,
        };
        let SmoketestError::ServerGone { pid, status, .. } = &error else {
            bail!("expected the error to say the server is gone, got: {error:#}");
        };
        let message = error.to_string();
        expect_contains(&message, "call increment [4]")?;
        expect_contains(&message, "the test's server is gone")?;
        expect_contains(&message, "SIGKILL")?;
        expect_contains(&message, "server.log")?;
        // The log tail in the message is the server's own: its ready line and the publish.
        expect_contains(&message, "keel-standalone ready")?;
        expect_contains(&message, "module published")?;
        ensure!(error.client_error().is_some_and(|it| it.status().is_none()), "no answer expected: {error:#}");
        ensure!(status.code().is_none(), "killed by a signal, not exited: {status}");
        ensure!(!std::path::Path::new(&format!("/proc/{pid}")).exists(), "the killed server {pid} was not reaped");
        t.restart_server()?;
        t.call("increment", json!([4]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n7")?;
        Ok(())
    }
}

smoketest! {
    /// kill -9 between transactions, 20 times, each followed by a restart on the same data dir:
    /// after each restart every acknowledged call is there exactly once, and nothing else.
    #[local_only = "kills its server with SIGKILL 20 times"]
    fn kill_9_between_transactions_loses_nothing() {
        let mut t = Smoketest::builder().precompiled_module("kv").local_server("kills its server with SIGKILL 20 times").build()?;
        let mut acknowledged = 0;
        for cycle in 0..KILL_CYCLES {
            for _ in 0..CALLS_PER_CYCLE {
                t.call("incr", json!(["total"]))?;
                t.call("incr", json!([format!("cycle-{cycle:02}")]))?;
                acknowledged += 1;
            }
            t.crash_server()?;
            t.assert_sql("SELECT value FROM kv WHERE key = 'total'", &format!("value\n-----\n{acknowledged}"))
                .with_context(|| format!("after kill {} of {KILL_CYCLES}, with {acknowledged} acknowledged increments", cycle + 1))?;
        }
        let mut expected = "key      | value\n---------+------\n".to_owned();
        for cycle in 0..KILL_CYCLES {
            expected.push_str(&format!("cycle-{cycle:02} | {CALLS_PER_CYCLE}\n"));
        }
        t.assert_sql("SELECT key, value FROM kv WHERE key <> 'total' ORDER BY key", &expected)?;
        t.assert_sql("SELECT count(*) AS n FROM kv", &format!("n\n--\n{}", KILL_CYCLES + 1))?;
        Ok(())
    }
}

smoketest! {
    /// A data dir that runs out of space: calls that cannot commit fail with 507 "the server's
    /// disk is full" (the server log names the cause), the server stays up, what was committed stays readable and
    /// whole; once space returns, calls commit again and the data survives a kill -9.
    #[local_only = "limits the size of its server's data dir"]
    fn full_data_dir_fails_calls_clearly_and_keeps_data() {
        let mut t = Smoketest::builder().precompiled_module("kv").data_dir_limit(SMALL_DATA_DIR).build()?;
        let value = "x".repeat(VALUE_BYTES);
        let mut stored = Vec::new();
        let mut refused = Vec::new();
        // 1 MiB cannot hold 32 rows of 64 KiB: the writes run out of space on the way.
        for row in 0..32 {
            let key = format!("row-{row:02}");
            match t.call("set", json!([key, value])) {
                Ok(_) => stored.push(key),
                Err(error) => {
                    if let SmoketestError::ServerGone { .. } = error {
                        bail!("the server died when its data dir filled up: {error}");
                    }
                    let message = expect_error(Err::<(), _>(error), ErrorKind::StorageFull)?;
                    expect_contains(&message, "the server's disk is full: nothing was changed")?;
                    refused.push(key);
                    if refused.len() == 3 {
                        break;
                    }
                }
            }
        }
        ensure!(!refused.is_empty(), "{} rows of {VALUE_BYTES} bytes fit in a data dir of {SMALL_DATA_DIR} bytes", stored.len());
        ensure!(!stored.is_empty(), "not even one row fit in {SMALL_DATA_DIR} bytes");
        let log = t.server_log()?;
        ensure!(
            ["No space left on device", "database or disk is full", "File too large"].iter().any(|cause| log.contains(cause)),
            "the server log does not name the cause of the failed writes:\n{log}"
        );
        // The server is still up and everything acknowledged is there, whole, and nothing more.
        let rows = "SELECT key, length(value) AS bytes FROM kv ORDER BY key";
        let expected_rows = |keys: &[String]| {
            let mut table = "key    | bytes\n-------+------\n".to_owned();
            for key in keys {
                table.push_str(&format!("{key} | {VALUE_BYTES}\n"));
            }
            table
        };
        t.assert_sql(rows, &expected_rows(&stored)).context("after the data dir filled up")?;
        // Space returns: the refused write now commits, and the data survives a crash.
        t.set_data_dir_limit(ROOMY_DATA_DIR)?;
        let key = refused[0].clone();
        t.call("set", json!([key, value]))?;
        stored.push(key);
        stored.sort();
        t.crash_server()?;
        t.assert_sql(rows, &expected_rows(&stored)).context("after space returned and a kill -9")?;
        t.call("incr", json!(["after"]))?;
        t.assert_sql("SELECT value FROM kv WHERE key = 'after'", "value\n-----\n1")?;
        Ok(())
    }
}

smoketest! {
    /// `keel-standalone` that cannot start says why and exits 1: TLS flags given alone or naming
    /// missing files, a data dir that is a file, an address it cannot bind. One that can start
    /// writes its ready line to `--ready-file` too, atomically: the JSON it prints, with its address.
    #[local_only = "runs keel-standalone itself"]
    fn server_startup_problems_are_reported() {
        let t = Smoketest::builder().build()?;
        let dir = t.temp_dir()?;
        let data_dir = dir.join("data").display().to_string();
        let not_a_dir = dir.join("file");
        std::fs::write(&not_a_dir, "not a directory")?;
        let missing = dir.join("missing.pem").display().to_string();
        for (args, needle) in [
            (vec!["--data-dir", &data_dir, "--tls-cert", &missing], "--tls-cert and --tls-key go together"),
            (vec!["--data-dir", &data_dir, "--tls-cert", &missing, "--tls-key", &missing], "missing.pem"),
            (vec!["--data-dir", &not_a_dir.display().to_string(), "--listen", "127.0.0.1:0"], "open data dir"),
            (vec!["--data-dir", &data_dir, "--listen", "not-an-address"], "bind not-an-address"),
        ] {
            let output = t.server_output(&args)?;
            expect_exit(&output, 1)?;
            expect_contains(&output.stderr, needle)?;
        }
        let ready_file = dir.join("ready").join("ready.json");
        std::fs::create_dir_all(ready_file.parent().expect("has a parent"))?;
        let output = t.server_output(["--data-dir", &data_dir, "--listen", "127.0.0.1:0", "--ready-file", &ready_file.display().to_string()])?;
        expect_exit(&output, 0)?;
        let ready: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&ready_file)?)?;
        let addr = ready["addr"].as_str().unwrap_or_default();
        ensure!(ready["event"] == "ready" && addr.starts_with("127.0.0.1:"), "ready file: {ready}");
        expect_contains(&output.stdout, addr)?;
        Ok(())
    }
}
