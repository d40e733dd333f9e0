//! The server's configurable limits, each on a private server with a low setting: databases per
//! identity, open database files, the SQL time limit. Past each, the answer says which limit.

use anyhow::ensure;
use keel_client::ErrorKind;
use keel_smoketest::{Smoketest, smoketest};
use serde_json::json;

use crate::support::{expect_contains, expect_error};

smoketest! {
    /// `--max-databases-per-identity 2`: a third database is 403 naming the limit, and so is
    /// giving a database to an identity that already owns two; deleting one makes room.
    #[local_only = "sets --max-databases-per-identity on its own server"]
    fn databases_per_identity_are_limited() {
        let mut t = Smoketest::builder()
            .precompiled_module("counter")
            .server_args(["--max-databases-per-identity", "2"])
            .build()?;
        let second = t.new_database();
        t.publish_to(&second, false)?;
        let third = t.new_database();
        let message = expect_error(t.publish_to(&third, false), ErrorKind::Forbidden)?;
        expect_contains(&message, "already owns 2 databases")?;
        let other = t.new_identity()?;
        let theirs = t.new_database();
        other.client().publish(&theirs, &t.module_bytes()?, false)?;
        let message = expect_error(
            other.client().rename_and_transfer(&theirs, &third, t.identity()),
            ErrorKind::Forbidden,
        )?;
        expect_contains(&message, "already owns 2 databases")?;
        t.client().delete(&second)?;
        t.publish_to(&third, false)?;
        other.client().delete(&theirs)?;
        Ok(())
    }
}

smoketest! {
    /// `--max-open-databases 2`: with five databases in use in turn, idle ones are closed and
    /// reopened (their module loaded again from its file) without losing a row.
    #[local_only = "sets --max-open-databases on its own server"]
    fn databases_beyond_the_open_limit_are_closed_and_reopened() {
        let mut t = Smoketest::builder()
            .precompiled_module("counter")
            .server_args(["--max-open-databases", "2"])
            .build()?;
        let mut names = vec![t.db().to_owned()];
        for _ in 0..4 {
            let name = t.new_database();
            t.publish_to(&name, false)?;
            names.push(name);
        }
        for round in 1..=3 {
            for (idx, name) in names.iter().enumerate() {
                t.client().call(name, "increment", &json!([idx + 1]))?;
                let rows = t.client().sql(name, "SELECT value FROM counter")?.rows;
                ensure!(rows == [[json!(round * (idx + 1))]], "{name} in round {round}: {rows:?}");
            }
        }
        Ok(())
    }
}

smoketest! {
    /// `--sql-time-limit-ms 200`: a query that never ends is stopped with a SQL error naming
    /// the time limit, for the owner and for a reader, and the database keeps answering.
    #[local_only = "sets --sql-time-limit-ms on its own server"]
    fn endless_queries_stop_at_the_sql_time_limit() {
        let t = Smoketest::builder()
            .precompiled_module("counter")
            .server_args(["--sql-time-limit-ms", "200"])
            .build()?;
        let endless = "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c) SELECT max(x) AS m FROM c";
        let message = expect_error(t.sql(endless), ErrorKind::SqlError)?;
        expect_contains(&message, "ran past the SQL time limit")?;
        let reader = t.new_identity()?;
        let message = expect_error(reader.client().sql(t.db(), endless), ErrorKind::SqlError)?;
        expect_contains(&message, "ran past the SQL time limit")?;
        t.assert_sql("SELECT value FROM counter", "value\n-----\n0")?;
        Ok(())
    }
}

smoketest! {
    /// `--max-new-identities-per-minute 2`: a third identity from the same address within the
    /// minute is 429 naming the wait; the identities made before keep working.
    #[local_only = "sets --max-new-identities-per-minute on its own server"]
    fn new_identities_per_address_are_rate_limited() {
        let t = Smoketest::builder().server_args(["--max-new-identities-per-minute", "2"]).build()?;
        let second = t.new_identity()?;
        let message = expect_error(t.new_identity().map(|it| it.identity().to_owned()), ErrorKind::TooManyRequests)?;
        expect_contains(&message, "identit")?;
        second.client().whoami()?;
        t.client().whoami()?;
        Ok(())
    }
}

/// Whether the server has closed `stream` (a read sees the end), without waiting for data.
fn closed_by_server(stream: &mut std::net::TcpStream) -> std::io::Result<bool> {
    use std::io::Read;
    stream.set_nonblocking(true)?;
    let mut byte = [0u8; 1];
    match stream.read(&mut byte) {
        Ok(0) => Ok(true),
        Ok(_) => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::WouldBlock => Ok(false),
        Err(error) if error.kind() == std::io::ErrorKind::ConnectionReset => Ok(true),
        Err(error) => Err(error),
    }
}

smoketest! {
    /// `--max-connections 2`: connections that never send a request cannot lock clients out.
    /// At the cap the server closes the idle connection that never served a request, the
    /// oldest first, and admits the new one.
    #[local_only = "sets --max-connections on its own server"]
    fn idle_connections_are_closed_to_admit_new_ones_at_the_cap() {
        let t = Smoketest::builder().server_args(["--max-connections", "2"]).build()?;
        let addr = t.server_url().trim_start_matches("http://").to_owned();
        let mut idle: Vec<std::net::TcpStream> =
            (0..2).map(|_| std::net::TcpStream::connect(&addr)).collect::<Result<_, _>>()?;
        // A client with no connection of its own yet: its request needs a new one.
        let fresh = keel_client::Client::new(t.server_url())?;
        fresh.ping()?;
        t.wait_until("the server closes an idle connection", std::time::Duration::from_secs(10), || {
            let mut closed = false;
            for stream in &mut idle {
                closed |= closed_by_server(stream)?;
            }
            Ok::<_, std::io::Error>(closed)
        })?;
        t.client().whoami()?;
        Ok(())
    }
}
