//! Runaway reducers: the fuel limit stops endless loops, the memory limit stops hogs, both roll
//! back, and the server keeps serving. Fuel and memory limits are server flags, so most of these
//! tests need a private server.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

/// Fuel per call for the runaway tests: small, so a spin ends in milliseconds.
const FUEL: &str = "5000000";

smoketest! {
    /// An endless loop runs out of fuel (422 out_of_fuel, naming the limit), its insert is
    /// rolled back, and the module and server keep working.
    #[local_only = "sets --fuel-per-call on its own server"]
    fn endless_loop_runs_out_of_fuel() {
        let t = Smoketest::builder().precompiled_module("runaway").server_args(["--fuel-per-call", FUEL]).build()?;
        let message = expect_error(t.call("spin", json!([])), ErrorKind::OutOfFuel)?;
        expect_contains(&message, "reducer `spin` ran out of fuel after 5000000")?;
        t.call("ok", json!([]))?;
        t.assert_sql("SELECT what FROM ran", "what\n----\nok")?;
        t.client().ping()?;
        Ok(())
    }
}

smoketest! {
    /// The fuel limit is per call: a loop below it succeeds, the same loop made longer fails.
    #[local_only = "sets --fuel-per-call on its own server"]
    fn fuel_limit_applies_per_call() {
        let t = Smoketest::builder().precompiled_module("runaway").server_args(["--fuel-per-call", FUEL]).build()?;
        let used = t.call("burn", json!([1000]))?.fuel_used;
        ensure!(used > 0 && used < 5_000_000, "fuel used {used}");
        expect_error(t.call("burn", json!([100_000_000])), ErrorKind::OutOfFuel)?;
        t.call("burn", json!([1000]))?;
        t.assert_sql("SELECT what, count(*) AS n FROM ran GROUP BY what", "what | n\n-----+--\nburn | 2")?;
        Ok(())
    }
}

smoketest! {
    /// A reducer allocating without end hits the memory limit and traps (422 reducer_panic);
    /// its insert is rolled back and the next call works.
    #[local_only = "sets --max-memory-mib on its own server"]
    fn memory_hog_is_stopped() {
        let t = Smoketest::builder().precompiled_module("runaway").server_args(["--max-memory-mib", "16"]).build()?;
        let error = t.call("hog", json!([])).unwrap_err();
        let client_error = error.client_error().expect("a server answer");
        assert_eq!(client_error.status(), Some(422), "{error:#}");
        t.call("ok", json!([]))?;
        t.assert_sql("SELECT what FROM ran", "what\n----\nok")?;
        Ok(())
    }
}

smoketest! {
    /// While one database's reducers run out of fuel, another database on the same server
    /// answers normally.
    #[local_only = "sets --fuel-per-call on its own server"]
    fn other_databases_keep_serving_after_runaways() {
        let mut t = Smoketest::builder().precompiled_module("runaway").server_args(["--fuel-per-call", FUEL]).build()?;
        let second = t.new_database();
        t.use_precompiled_module("counter")?;
        t.publish_to(&second, false)?;
        for _ in 0..3 {
            expect_error(t.call("spin", json!([])), ErrorKind::OutOfFuel)?;
            t.client().call(&second, "increment", &json!([1]))?;
        }
        assert_eq!(t.client().sql(&second, "SELECT value FROM counter")?.rows, vec![vec![json!(3)]]);
        Ok(())
    }
}

smoketest! {
    /// Fuel used grows with the work done, in proportion, under the default limit (remote-safe):
    /// a call's fixed cost aside, twice the iterations cost twice the fuel.
    fn fuel_used_grows_with_work() {
        let t = Smoketest::builder().precompiled_module("runaway").build()?;
        let fuel = |iterations: u64| -> anyhow::Result<u64> { Ok(t.call("burn", json!([iterations]))?.fuel_used) };
        let (none, some, twice) = (fuel(0)?, fuel(100_000)?, fuel(200_000)?);
        ensure!(none < some && some < twice, "burn(0) used {none}, burn(100000) {some}, burn(200000) {twice}");
        let (first, second) = ((some - none) as f64, (twice - some) as f64);
        ensure!((second / first - 1.0).abs() < 0.1, "100,000 iterations cost {first} fuel, the next 100,000 cost {second}");
        t.assert_sql("SELECT count(*) AS n FROM ran", "n\n-\n3")?;
        Ok(())
    }
}

smoketest! {
    /// Whatever server the suite runs against, an endless loop ends with out_of_fuel under the
    /// server's own limit instead of hanging, and the module keeps working.
    fn endless_loop_ends_under_the_servers_own_limit() {
        let t = Smoketest::builder().precompiled_module("runaway").build()?;
        expect_error(t.call("spin", json!([])), ErrorKind::OutOfFuel)?;
        t.call("ok", json!([]))?;
        t.assert_sql("SELECT what FROM ran", "what\n----\nok")?;
        Ok(())
    }
}
