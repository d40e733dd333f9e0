//! The call context: reducers see the caller's identity and a per-call timestamp.

use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::expect_error;

/// Microseconds since the Unix epoch on this machine.
fn now_micros() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |elapsed| elapsed.as_micros() as i64)
}

/// Tolerated clock difference between this machine and the server: ten minutes.
const CLOCK_SKEW_MICROS: i64 = 600 * 1_000_000;

smoketest! {
    /// The sender a reducer records is the caller's identity, the one whoami reports.
    fn sender_is_the_callers_identity() {
        let t = Smoketest::builder().precompiled_module("identity").build()?;
        t.call("record", json!([]))?;
        t.assert_sql("SELECT sender FROM seen", &format!("sender\n{}\n{}", "-".repeat(t.identity().len()), t.identity()))?;
        assert_eq!(t.client().whoami()?.identity, t.identity());
        let message = expect_error(t.call("echo_sender", json!([])), ErrorKind::ReducerError)?;
        assert_eq!(message, format!("reducer `echo_sender` failed: {}", t.identity()));
        Ok(())
    }
}

smoketest! {
    /// Calls from two identities record two different senders, each its own.
    fn each_identity_is_recorded_as_itself() {
        let t = Smoketest::builder().precompiled_module("identity").build()?;
        let other = t.new_identity()?;
        t.call("record", json!([]))?;
        other.client().call(t.db(), "record", &json!([]))?;
        let senders = t.sql("SELECT sender FROM seen ORDER BY id")?.rows;
        assert_eq!(senders, vec![vec![json!(t.identity())], vec![json!(other.identity())]]);
        Ok(())
    }
}

smoketest! {
    /// `init` runs as the publisher: its recorded sender is the owner.
    fn init_runs_as_the_publisher() {
        let t = Smoketest::builder().precompiled_module("lifecycle").build()?;
        let other = t.new_identity()?;
        other.client().call(t.db(), "touch", &json!([]))?;
        let rows = t.sql("SELECT kind, sender FROM event ORDER BY id")?.rows;
        assert_eq!(rows, vec![vec![json!("init"), json!(t.identity())], vec![json!("touch"), json!(other.identity())]]);
        assert_eq!(t.logs(1)?, [format!("init by {}", t.identity())]);
        Ok(())
    }
}

smoketest! {
    /// The timestamp is wall-clock time in microseconds, fixed within a call and increasing
    /// across calls.
    fn timestamps_are_per_call_wall_clock_micros() {
        let t = Smoketest::builder().precompiled_module("identity").build()?;
        let before = now_micros();
        t.call("record", json!([]))?;
        t.call("record", json!([]))?;
        let after = now_micros();
        let stamps: Vec<i64> = t.sql("SELECT ts FROM seen ORDER BY id")?.rows.iter().filter_map(|row| row[0].as_i64()).collect();
        ensure!(stamps.len() == 2 && stamps[0] < stamps[1], "{stamps:?}");
        ensure!(stamps[0] > before - CLOCK_SKEW_MICROS && stamps[1] < after + CLOCK_SKEW_MICROS, "{stamps:?} not near {before}..{after}");
        t.call("same_timestamp", json!([]))?;
        let message = expect_error(t.call("echo_timestamp", json!([])), ErrorKind::ReducerError)?;
        let echoed: i64 = message.trim_start_matches("reducer `echo_timestamp` failed: ").parse()?;
        ensure!(echoed > stamps[1], "echoed {echoed} after {stamps:?}");
        Ok(())
    }
}
