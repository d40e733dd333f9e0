//! The served OpenAPI description against the running router: every described operation is
//! routed (with its method, and no other method on its path), every endpoint of the router's
//! list is described, and errors keep the described shape even where axum would answer itself.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;

use keel_api::routes::{Endpoint, OPENAPI};
use serde_json::Value;

use crate::support::Server;

/// Methods a probe tries on every described path.
const METHODS: &[&str] = &["GET", "POST", "DELETE", "PUT", "PATCH"];

/// An answer: status, content type, body.
struct Answer {
    status: u16,
    content_type: String,
    body: String,
}

/// One request over a fresh connection, with an empty body and no token.
fn request(server: &Server, method: &str, path: &str) -> Answer {
    let address = server.url.trim_start_matches("http://");
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {address}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap_or((&raw, ""));
    let status = head.split(' ').nth(1).unwrap().parse().unwrap();
    let content_type = head
        .lines()
        .find_map(|line| {
            let (name, value) = line.split_once(':')?;
            name.eq_ignore_ascii_case("content-type")
                .then(|| value.trim().to_owned())
        })
        .unwrap_or_default();
    Answer {
        status,
        content_type,
        body: body.to_owned(),
    }
}

/// The described operations, as (method, path template).
fn described(document: &Value) -> BTreeSet<(String, String)> {
    let mut operations = BTreeSet::new();
    for (path, item) in document["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            operations.insert((method.to_uppercase(), path.clone()));
        }
    }
    operations
}

/// `template` with each `{...}` segment filled with `x`.
fn filled(template: &str) -> String {
    let names: Vec<&str> = template.matches('{').map(|_| "x").collect();
    keel_api::routes::path(template, &names)
}

#[test]
fn every_route_is_described_and_every_described_route_exists() {
    let server = Server::start(&[]);
    let answer = request(&server, "GET", OPENAPI);
    assert_eq!(answer.status, 200);
    assert_eq!(answer.content_type, "application/json");
    let document: Value = serde_json::from_str(&answer.body).unwrap();
    assert_eq!(document["openapi"], "3.1.0");

    let operations = described(&document);
    let endpoints: BTreeSet<(String, String)> = Endpoint::ALL
        .iter()
        .map(|it| (it.method().as_str().to_owned(), it.route().to_owned()))
        .collect();
    assert_eq!(
        operations, endpoints,
        "the router's list and the description"
    );

    let paths: BTreeSet<&String> = operations.iter().map(|(_, path)| path).collect();
    for template in paths {
        let path = filled(template);
        for method in METHODS {
            let answer = request(&server, method, &path);
            let routed = answer.status != 405 && !answer.body.contains("no such route");
            let is_described = operations.contains(&(method.to_string(), template.clone()));
            assert_eq!(
                routed, is_described,
                "{method} {path}: {} {}",
                answer.status, answer.body
            );
            if routed {
                assert_eq!(answer.content_type, "application/json", "{method} {path}");
                let status = answer.status.to_string();
                let responses = &document["paths"][template][method.to_lowercase()]["responses"];
                assert!(
                    responses.get(&status).is_some(),
                    "{method} {path} answered {status}, which is not described: {}",
                    answer.body
                );
            }
        }
    }
    // The probe tells a missing route from a routed one.
    assert!(
        request(&server, "GET", "/v1/no-such-route")
            .body
            .contains("no such route")
    );
}

#[test]
fn a_path_segment_that_does_not_decode_is_an_api_error() {
    let server = Server::start(&[]);
    for (method, path) in [
        ("GET", "/v1/databases/%FF/schema"),
        ("POST", "/v1/databases/x/call/%C0"),
    ] {
        let answer = request(&server, method, path);
        assert_eq!(answer.status, 400, "{path}: {}", answer.body);
        assert_eq!(answer.content_type, "application/json", "{path}");
        let error: keel_api::http::ApiError = serde_json::from_str(&answer.body).unwrap();
        assert_eq!(error.kind, keel_api::http::ErrorKind::BadRequest, "{path}");
    }
}
