//! The `/v1` routes: each path once, as the server's router declares it (`{name}` segments)
//! and as clients fill it in ([`path`]), and the query strings they take.

use serde::{Deserialize, Serialize};

/// `GET`: server version and ABI.
pub const PING: &str = "/v1/ping";
/// `POST`: a new identity; `GET`: who the token belongs to; `DELETE`: delete the identity
/// and every database it owns.
pub const IDENTITY: &str = "/v1/identity";
/// `GET`: the caller's databases.
pub const DATABASES: &str = "/v1/databases";
/// `POST` (wasm body, [`PublishQuery`]): create or update; `DELETE`: delete.
pub const DATABASE: &str = "/v1/databases/{name}";
/// `POST`: remove module and data, keep the name.
pub const RESET: &str = "/v1/databases/{name}/reset";
/// `POST`: a new name, and maybe a new owner.
pub const RENAME: &str = "/v1/databases/{name}/rename";
/// `POST` (JSON array of arguments): call a reducer.
pub const CALL: &str = "/v1/databases/{name}/call/{reducer}";
/// `POST`: run one SQL statement.
pub const SQL: &str = "/v1/databases/{name}/sql";
/// `GET` ([`LogsQuery`]): the last log records.
pub const LOGS: &str = "/v1/databases/{name}/logs";
/// `GET`: owner, module hash and schema.
pub const SCHEMA: &str = "/v1/databases/{name}/schema";

/// The query string of a publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishQuery {
    /// Wipe the data first, which allows any schema change.
    #[serde(default)]
    pub clear: bool,
}

/// The query string of a log read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogsQuery {
    /// How many records, at most (the server's default when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<usize>,
}

impl PublishQuery {
    /// As a query string, `?` included.
    pub fn to_query_string(self) -> String {
        format!("?clear={}", self.clear)
    }
}

impl LogsQuery {
    /// As a query string, `?` included (empty when there is nothing to say).
    pub fn to_query_string(self) -> String {
        self.n.map(|n| format!("?n={n}")).unwrap_or_default()
    }
}

/// `route` with its `{...}` segments replaced, in order, by `values`, each percent-encoded so
/// that it cannot change the route.
///
/// ```
/// use keel_api::routes::{CALL, path};
/// assert_eq!(path(CALL, &["my db", "add"]), "/v1/databases/my%20db/call/add");
/// ```
pub fn path(route: &str, values: &[&str]) -> String {
    let mut out = String::with_capacity(route.len() + 16);
    let mut values = values.iter();
    for (index, part) in route.split('{').enumerate() {
        if index == 0 {
            out.push_str(part);
            continue;
        }
        let (_, rest) = part.split_once('}').expect("route placeholders are closed");
        let value = values.next().expect("a value for every placeholder");
        encode_segment(value, &mut out);
        out.push_str(rest);
    }
    assert!(values.next().is_none(), "more values than placeholders");
    out
}

/// Percent-encodes one path segment: everything but unreserved characters.
fn encode_segment(segment: &str, out: &mut String) {
    for byte in segment.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_fill_and_escape_their_segments() {
        assert_eq!(path(PING, &[]), "/v1/ping");
        assert_eq!(path(DATABASE, &["a/b"]), "/v1/databases/a%2Fb");
        assert_eq!(path(CALL, &["db", "x?y"]), "/v1/databases/db/call/x%3Fy");
        assert_eq!(
            path(DATABASE, &["counter-1_x.~"]),
            "/v1/databases/counter-1_x.~"
        );
        assert_eq!(path(DATABASE, &["é a"]), "/v1/databases/%C3%A9%20a");
        assert_eq!(
            PublishQuery { clear: true }.to_query_string(),
            "?clear=true"
        );
        assert_eq!(LogsQuery { n: Some(5) }.to_query_string(), "?n=5");
        assert_eq!(LogsQuery { n: None }.to_query_string(), "");
    }
}
