//! The client against a tiny in-process HTTP stub that answers canned responses and records
//! the requests, pinning what goes over the wire and how answers are classified. Scenarios
//! against the real server live in the smoketests.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::Duration;

use keel_client::{Client, ClientError, ErrorKind};
use serde_json::json;

/// One request as the stub saw it.
#[derive(Debug)]
struct Recorded {
    request_line: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

impl Recorded {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// Serves one canned response per connection, in order, then stops.
struct Stub {
    url: String,
    requests: mpsc::Receiver<Recorded>,
    thread: Option<JoinHandle<()>>,
}

impl Stub {
    fn new(responses: Vec<(u16, &'static str)>) -> Stub {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/", listener.local_addr().unwrap());
        let (sender, requests) = mpsc::channel();
        let thread = std::thread::spawn(move || {
            for (status, body) in responses {
                let (stream, _) = listener.accept().unwrap();
                let mut reader = BufReader::new(stream);
                let Some(recorded) = read_request(&mut reader) else {
                    continue;
                };
                let _ = sender.send(recorded);
                let response = format!(
                    "HTTP/1.1 {status} Canned\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = reader.get_mut().write_all(response.as_bytes());
            }
        });
        Stub {
            url,
            requests,
            thread: Some(thread),
        }
    }

    fn client(&self) -> Client {
        Client::new(&self.url).unwrap()
    }

    fn request(&self) -> Recorded {
        self.requests
            .recv_timeout(Duration::from_secs(10))
            .expect("the stub received a request")
    }
}

impl Drop for Stub {
    fn drop(&mut self) {
        if let Some(thread) = self.thread.take()
            && !std::thread::panicking()
        {
            thread.join().unwrap();
        }
    }
}

fn read_request(reader: &mut BufReader<std::net::TcpStream>) -> Option<Recorded> {
    let mut request_line = String::new();
    reader.read_line(&mut request_line).ok()?;
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).ok()? == 0 {
            return None;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':')?;
        headers.push((name.trim().to_owned(), value.trim().to_owned()));
    }
    let length = headers
        .iter()
        .find(|(name, _)| name.eq_ignore_ascii_case("content-length"))
        .map_or(0, |(_, value)| value.parse().unwrap());
    let mut body = vec![0; length];
    reader.read_exact(&mut body).ok()?;
    Some(Recorded {
        request_line: request_line.trim_end().to_owned(),
        headers,
        body,
    })
}

#[test]
fn ping_decodes_the_answer_and_sends_no_token() {
    let stub = Stub::new(vec![(200, r#"{"version":"0.1.0","abi_version":1}"#)]);
    let info = stub.client().ping().unwrap();
    assert_eq!((info.version.as_str(), info.abi_version), ("0.1.0", 1));
    let request = stub.request();
    assert_eq!(request.request_line, "GET /v1/ping HTTP/1.1");
    assert_eq!(request.header("authorization"), None);
}

#[test]
fn publish_sends_wasm_bytes_clear_and_the_bearer_token() {
    let answer = r#"{"database":"db","created":true,"cleared":true,"module_hash":"h","migration":["add table t"]}"#;
    let stub = Stub::new(vec![(200, answer)]);
    let result = stub
        .client()
        .with_token("tok")
        .publish("db", b"\0asm\x01", true)
        .unwrap();
    assert!(result.created && result.cleared);
    assert_eq!(result.migration, ["add table t"]);
    let request = stub.request();
    assert_eq!(
        request.request_line,
        "POST /v1/databases/db?clear=true HTTP/1.1"
    );
    assert_eq!(request.header("authorization"), Some("Bearer tok"));
    assert_eq!(request.header("content-type"), Some("application/wasm"));
    assert_eq!(request.body, b"\0asm\x01");
}

#[test]
fn call_and_sql_send_json_bodies() {
    let stub = Stub::new(vec![
        (200, r#"{"fuel_used":10,"duration_micros":3}"#),
        (200, r#"{"columns":["value"],"rows":[[5]],"changes":0}"#),
    ]);
    let client = stub.client().with_token("tok");
    assert_eq!(
        client
            .call("db", "add", &json!([1, "two"]))
            .unwrap()
            .fuel_used,
        10
    );
    let call = stub.request();
    assert_eq!(call.request_line, "POST /v1/databases/db/call/add HTTP/1.1");
    assert_eq!(call.header("content-type"), Some("application/json"));
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&call.body).unwrap(),
        json!([1, "two"])
    );

    let result = client
        .sql_with_params("db", "SELECT ?1 AS value", &[json!(5)])
        .unwrap();
    assert_eq!(keel_client::table::format_sql(&result), "value\n-----\n5");
    let sql = stub.request();
    assert_eq!(sql.request_line, "POST /v1/databases/db/sql HTTP/1.1");
    let body: serde_json::Value = serde_json::from_slice(&sql.body).unwrap();
    assert_eq!(body, json!({"query": "SELECT ?1 AS value", "params": [5]}));
}

#[test]
fn logs_unwrap_the_record_list() {
    let stub = Stub::new(vec![(
        200,
        r#"{"records":[{"ts_micros":1,"level":"info","message":"hi","reducer":"r"}]}"#,
    )]);
    let records = stub.client().with_token("t").logs("db", 5).unwrap();
    assert_eq!(records.len(), 1);
    assert_eq!(records[0].message, "hi");
    assert_eq!(
        stub.request().request_line,
        "GET /v1/databases/db/logs?n=5 HTTP/1.1"
    );
}

#[test]
fn api_errors_keep_status_kind_and_hint() {
    let body =
        r#"{"error":"reducer panicked: boom","kind":"reducer_panic","hint":"see `keel logs`"}"#;
    let stub = Stub::new(vec![(422, body)]);
    let err = stub.client().call("db", "r", &json!([])).unwrap_err();
    assert_eq!(err.status(), Some(422));
    assert_eq!(err.kind(), Some(ErrorKind::ReducerPanic));
    assert_eq!(
        err.api_error().unwrap().hint.as_deref(),
        Some("see `keel logs`")
    );
    let message = err.to_string();
    assert!(
        message.contains("failed with 422 (reducer_panic): reducer panicked: boom"),
        "{message}"
    );
    assert!(message.contains("(hint: see `keel logs`)"), "{message}");
}

#[test]
fn non_json_error_bodies_are_unexpected_status() {
    let stub = Stub::new(vec![(502, "<html>bad gateway</html>")]);
    let err = stub.client().list().unwrap_err();
    match &err {
        ClientError::UnexpectedStatus {
            method,
            status,
            body,
            url,
        } => {
            assert_eq!(
                (*method, *status, body.as_str()),
                ("GET", 502, "<html>bad gateway</html>")
            );
            assert!(url.ends_with("/v1/databases"), "{url}");
        }
        other => panic!("expected UnexpectedStatus, got {other:?}"),
    }
}

#[test]
fn undecodable_success_bodies_are_decode_errors() {
    let stub = Stub::new(vec![(200, r#"{"unexpected":true}"#)]);
    let err = stub.client().whoami().unwrap_err();
    assert!(
        matches!(&err, ClientError::Decode { body, .. } if body.contains("unexpected")),
        "{err:?}"
    );
    assert_eq!(err.status(), None);
}

#[test]
fn a_server_that_never_answers_times_out_as_unreachable() {
    // The stub reads the request and then waits for the client to hang up before answering.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let client = Client::new(&format!("http://{}", listener.local_addr().unwrap()))
        .unwrap()
        .with_timeout(Duration::from_millis(300));
    let silent = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut sink = Vec::new();
        let _ = stream.read_to_end(&mut sink);
    });
    let err = client.ping().unwrap_err();
    assert!(err.is_unreachable(), "{err:?}");
    drop(client);
    silent.join().unwrap();
}
