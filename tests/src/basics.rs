//! The basic round trip: publish, call, SQL.

use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

smoketest! {
    /// Calling `increment` adds to the counter that `init` created.
    fn counter_increments() {
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        t.call("increment", json!([5]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n5")?;
        Ok(())
    }
}

smoketest! {
    /// A restart keeps committed data.
    #[local_only = "restarts the server"]
    fn restart_keeps_data() {
        let mut t = Smoketest::builder().precompiled_module("counter").local_server("restarts the server").build()?;
        t.call("increment", json!([2]))?;
        t.crash_server()?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n2")?;
        Ok(())
    }
}
