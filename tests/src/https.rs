//! A server serving `https://` with `--tls-cert` and `--tls-key`: the API, the CLI, and what
//! clients that should not get through get.

use anyhow::ensure;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

smoketest! {
    /// Over https, with a certificate signed by a CA the clients are told to trust, the API and
    /// the CLI work as over http; a client that trusts only the system's roots refuses the
    /// certificate, and plain http to the same port gets no answer.
    #[local_only = "serves https with a CA of its own"]
    fn https_server_serves_the_api_to_clients_that_trust_it() {
        let t = Smoketest::builder().precompiled_module("counter").https().build()?;
        ensure!(t.server_url().starts_with("https://localhost:"), "server at {}", t.server_url());
        t.call("increment", json!([2]))?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n2")?;
        assert_eq!(t.cli(["sql", t.db(), "SELECT value FROM counter"])?.stdout, "value\n-----\n2\n");
        let untrusting = keel_client::Client::new_with_ca_cert(t.server_url(), None)?;
        let error = untrusting.ping().expect_err("a certificate of an unknown CA was accepted");
        ensure!(error.status().is_none() && format!("{error:#}").contains("invalid peer certificate: UnknownIssuer"), "{error:#}");
        let plain = keel_client::Client::new(&t.server_url().replace("https://", "http://"))?;
        let error = plain.ping().expect_err("plain http to an https port was answered");
        ensure!(error.status().is_none(), "plain http got an HTTP answer: {error:#}");
        t.client().ping()?;
        Ok(())
    }
}
