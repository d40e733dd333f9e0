//! Remote mode leaves nothing behind: a test against a server the run does not own deletes
//! its databases and every identity it made when it ends.

use keel_client::{Client, ErrorKind};
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::expect_error;

smoketest! {
    /// A remote-mode test's databases and identities (the harness's, a second identity's, and
    /// one made with `keel identity new`, each with a database) are gone after it ends.
    #[local_only = "inspects the server a remote-mode test ran against, so it needs its own"]
    fn remote_tests_leave_no_identity_or_database_behind() {
        let host = Smoketest::builder()
            .local_server("the server a remote-mode test runs against")
            .build()?;
        let url = host.server_url().to_owned();
        let (tokens, databases) = {
            let mut remote = Smoketest::builder().server_url(&url).precompiled_module("counter").build()?;
            remote.call("increment", json!([1]))?;
            let extra = remote.new_database();
            remote.publish_to(&extra, false)?;
            let other = remote.new_identity()?;
            let wasm = remote.module_bytes()?;
            let others_db = format!("{}-other", remote.db());
            other.client().publish(&others_db, &wasm, false)?;
            let wasm_path = remote.temp_dir()?.join("counter.wasm");
            std::fs::write(&wasm_path, wasm.as_slice())?;
            remote.cli(["identity", "new", "--server", &url])?;
            let cli_db = format!("{}-cli", remote.db());
            remote.cli(["publish", &cli_db, "--wasm", &wasm_path.display().to_string()])?;
            let cli_token = keel_cli::Config::load(&remote.config_path()?)?.token.unwrap_or_default();
            let tokens = vec![
                remote.client().token().unwrap_or_default().to_owned(),
                other.client().token().unwrap_or_default().to_owned(),
                cli_token,
            ];
            (tokens, vec![remote.db().to_owned(), extra, others_db, cli_db])
        };
        for token in &tokens {
            let gone = Client::new(&url)?.with_token(token);
            expect_error(gone.whoami(), ErrorKind::Unauthorized)?;
        }
        for database in &databases {
            expect_error(host.client().describe(database), ErrorKind::NotFound)?;
        }
        Ok(())
    }
}
