//! The `/v1` routes: each path once, as the server's router declares it (`{name}` segments)
//! and as clients fill it in ([`path`]), the query strings they take, and [`Endpoint`], the one
//! list of operations (method and path) that the router and the OpenAPI description are made from.

use serde::{Deserialize, Serialize};

/// `GET`: server version and ABI.
pub const PING: &str = "/v1/ping";
/// `GET`: the OpenAPI 3.1 description of the API.
pub const OPENAPI: &str = "/v1/openapi.json";
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

/// HTTP methods of the API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `DELETE`.
    Delete,
}

/// Declares [`Endpoint`] and its tables from one list, so that [`Endpoint::ALL`] holds every
/// variant.
macro_rules! endpoints {
    ($($(#[doc = $doc:literal])* $endpoint:ident: $method:ident $route:ident,)*) => {
        /// One operation of the API: a method on a route. The server's router and the OpenAPI
        /// description are both made from [`Endpoint::ALL`], so neither can miss one.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Endpoint {
            $($(#[doc = $doc])* $endpoint,)*
        }

        impl Endpoint {
            /// Every endpoint, in the order the description lists them.
            pub const ALL: &'static [Endpoint] = &[$(Endpoint::$endpoint,)*];

            /// Its method.
            pub fn method(self) -> Method {
                match self {
                    $(Endpoint::$endpoint => Method::$method,)*
                }
            }

            /// Its route, with `{...}` segments.
            pub fn route(self) -> &'static str {
                match self {
                    $(Endpoint::$endpoint => $route,)*
                }
            }

            /// Its name, as the description's `operationId`.
            pub fn name(self) -> &'static str {
                match self {
                    $(Endpoint::$endpoint => stringify!($endpoint),)*
                }
            }
        }
    };
}

endpoints! {
    /// Server version and ABI.
    Ping: Get PING,
    /// The OpenAPI description.
    OpenApi: Get OPENAPI,
    /// A new identity.
    CreateIdentity: Post IDENTITY,
    /// Who the token belongs to.
    WhoAmI: Get IDENTITY,
    /// Delete the caller's identity and its databases.
    DeleteIdentity: Delete IDENTITY,
    /// The caller's databases.
    ListDatabases: Get DATABASES,
    /// Create a database or update its module.
    Publish: Post DATABASE,
    /// Delete a database.
    DeleteDatabase: Delete DATABASE,
    /// Remove a database's module and data, keep its name.
    Reset: Post RESET,
    /// Rename a database, and maybe give it away.
    Rename: Post RENAME,
    /// Call a reducer.
    Call: Post CALL,
    /// Run one SQL statement.
    Sql: Post SQL,
    /// The last log records.
    Logs: Get LOGS,
    /// Owner, module hash and schema.
    Schema: Get SCHEMA,
}

impl Method {
    /// The method as HTTP spells it: `GET`, `POST`, `DELETE`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

/// The query string of a publish.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
pub struct PublishQuery {
    /// Wipe the data first, which allows any schema change.
    #[serde(default)]
    pub clear: bool,
}

/// The query string of a log read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::IntoParams))]
#[cfg_attr(feature = "openapi", into_params(parameter_in = Query))]
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
    fn endpoints_are_distinct_and_use_every_route() {
        let mut seen = std::collections::HashSet::new();
        for endpoint in Endpoint::ALL {
            assert!(
                seen.insert((endpoint.method(), endpoint.route())),
                "{endpoint:?} twice"
            );
        }
        for route in [
            PING, OPENAPI, IDENTITY, DATABASES, DATABASE, RESET, RENAME, CALL, SQL, LOGS, SCHEMA,
        ] {
            assert!(
                Endpoint::ALL.iter().any(|it| it.route() == route),
                "no endpoint on {route}"
            );
        }
    }

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
