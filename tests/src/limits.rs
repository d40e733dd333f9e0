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

/// Sends `request` (raw HTTP/1.1 with `Connection: close`) to the server and returns the status
/// code and the body of its answer.
fn raw_http(t: &Smoketest, request: &[u8]) -> anyhow::Result<(u16, String)> {
    use std::io::{Read, Write};
    let addr = t.server_url().trim_start_matches("http://").to_owned();
    let mut stream = std::net::TcpStream::connect(&addr)?;
    stream.set_read_timeout(Some(std::time::Duration::from_secs(30)))?;
    stream.write_all(request)?;
    let mut answer = Vec::new();
    // The server may close while a refused body is still being written: read what it said.
    let _ = stream.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer).into_owned();
    let status = answer
        .split_whitespace()
        .nth(1)
        .and_then(|it| it.parse().ok())
        .ok_or_else(|| anyhow::anyhow!("no HTTP answer: {answer:?}"))?;
    let body = answer
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}

/// A `POST` of `body` to `path` in chunked transfer encoding, `chunk` bytes per chunk, with the
/// test's token: no Content-Length, so only the bytes received can say how large it is.
fn chunked_post(t: &Smoketest, path: &str, body: &[u8], chunk: usize) -> Vec<u8> {
    let token = t.client().token().unwrap_or_default().to_owned();
    let mut request = format!(
        "POST {path} HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n"
    )
    .into_bytes();
    for part in body.chunks(chunk) {
        request.extend_from_slice(format!("{:x}\r\n", part.len()).as_bytes());
        request.extend_from_slice(part);
        request.extend_from_slice(b"\r\n");
    }
    request.extend_from_slice(b"0\r\n\r\n");
    request
}

/// A SQL request body of exactly `len` bytes (`{"query":"SELECT 1 AS one --xxx..."}`).
fn sql_body_of(len: usize) -> Vec<u8> {
    let prefix = "SELECT 1 AS one --";
    let query = format!(
        "{prefix}{}",
        "x".repeat(len - prefix.len() - r#"{"query":""}"#.len())
    );
    let body = serde_json::to_vec(&keel_api::http::SqlRequest {
        query,
        params: Vec::new(),
    })
    .expect("serializes");
    assert_eq!(body.len(), len);
    body
}

smoketest! {
    /// Calls and SQL take bodies of up to 1 MiB: exactly 1 MiB is read, one byte more is 413,
    /// whether the body declares its length or comes in chunks (then only the bytes received
    /// count, however they are cut).
    #[local_only = "speaks raw HTTP/1.1 to its own server"]
    fn small_bodies_are_limited_to_1_mib_exactly() {
        let t = Smoketest::builder().precompiled_module("counter").local_server("speaks raw HTTP/1.1").build()?;
        const LIMIT: usize = 1 << 20;
        let request: keel_api::http::SqlRequest = serde_json::from_slice(&sql_body_of(LIMIT))?;
        let rows = t.client().sql(t.db(), &request.query)?.rows;
        ensure!(rows == [[json!(1)]], "a body of exactly 1 MiB: {rows:?}");
        let over: keel_api::http::SqlRequest = serde_json::from_slice(&sql_body_of(LIMIT + 1))?;
        expect_error(t.client().sql(t.db(), &over.query), ErrorKind::PayloadTooLarge)?;
        let path = format!("/v1/databases/{}/sql", t.db());
        for chunk in [1 << 19, 100_000, 7] {
            let (status, body) = raw_http(&t, &chunked_post(&t, &path, &sql_body_of(LIMIT), chunk))?;
            ensure!(status == 200, "1 MiB in chunks of {chunk}: {status} {body}");
            let (status, body) = raw_http(&t, &chunked_post(&t, &path, &sql_body_of(LIMIT + 1), chunk))?;
            ensure!(status == 413, "1 MiB + 1 in chunks of {chunk}: {status} {body}");
            // The answer says how much had arrived when the limit was passed: past it, by less
            // than a chunk.
            let seen: usize = body
                .split("larger than the server accepts (")
                .nth(1)
                .and_then(|rest| rest.split(' ').next())
                .and_then(|number| number.parse().ok())
                .ok_or_else(|| anyhow::anyhow!("no size in the 413: {body}"))?;
            ensure!(seen > LIMIT && seen <= LIMIT + chunk, "in chunks of {chunk} the 413 says {seen} bytes had arrived");
        }
        let (status, body) = raw_http(&t, &chunked_post(&t, &path, br#"{"query":"SELECT 2 AS two"}"#, 5))?;
        ensure!(status == 200 && body.contains("two"), "a small chunked body: {status} {body}");
        Ok(())
    }
}

smoketest! {
    /// A body that declares more than the limit is refused from its headers (413 naming the
    /// declared length), without waiting for it; the server still reads what the client sends
    /// for a while (here up to `--body-timeout-secs 1`), so the client sees the answer.
    #[local_only = "speaks raw HTTP/1.1 to its own server with --body-timeout-secs 1"]
    fn a_declared_length_past_the_limit_is_refused_from_the_headers() {
        let t = Smoketest::builder().precompiled_module("counter").server_args(["--body-timeout-secs", "1"]).build()?;
        let token = t.client().token().unwrap_or_default().to_owned();
        let request = format!(
            "POST /v1/databases/{}/sql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 999999999\r\nConnection: close\r\n\r\n",
            t.db()
        );
        let (status, body) = raw_http(&t, request.as_bytes())?;
        ensure!(status == 413 && body.contains("999999999 bytes"), "{status} {body}");
        let declared_small = format!(
            "POST /v1/databases/{}/sql HTTP/1.1\r\nHost: localhost\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{\"query\"",
            t.db()
        );
        let (status, body) = raw_http(&t, declared_small.as_bytes())?;
        ensure!(status == 400 && body.contains("did not arrive within 1 s"), "a body that never comes: {status} {body}");
        Ok(())
    }
}
