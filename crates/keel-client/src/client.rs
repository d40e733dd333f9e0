//! [`Client`]: one method per route of the `/v1` API.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use keel_api::http::{
    ApiError, CallResult, DatabaseInfo, DatabaseList, DatabaseSummary, Deleted, IdentityCreated,
    IdentityDeleted, LogList, LogRecord, PublishResult, RenameRequest, ServerInfo, SqlRequest,
    SqlResult, WhoAmI,
};
use keel_api::routes::{self, LogsQuery, PublishQuery};
use serde::de::DeserializeOwned;

use crate::errors::ClientError;
use crate::tls::{self, CA_CERT_ENV};
use crate::url::{is_https, is_loopback, normalize_base_url};

/// Time a whole request may take unless [`Client::with_timeout`] says otherwise.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Time to establish a connection.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest response body the client reads; SQL results can be big, but not unbounded.
const MAX_RESPONSE_BYTES: u64 = 512 * 1024 * 1024;

/// A blocking client for one Keel server, optionally acting as one identity.
///
/// Cloning is cheap: clones share the connection pool.
/// The token never appears in `Debug` output or in error messages.
#[derive(Clone)]
pub struct Client {
    agent: ureq::Agent,
    base_url: Arc<str>,
    token: Option<Arc<str>>,
    timeout: Duration,
}

/// What a request sends as its body.
enum RequestBody<'a> {
    Empty,
    Json(Vec<u8>),
    Wasm(&'a [u8]),
}

#[derive(Clone, Copy)]
enum Method {
    Get,
    Post,
    Delete,
}

impl Client {
    /// A client for the server at `base_url` (`http://HOST:PORT` or `https://HOST:PORT`, a
    /// trailing `/` is dropped), without a token. An `https://` server's certificate must be
    /// signed by a root the system trusts or by a CA in the file [`CA_CERT_ENV`] names.
    pub fn new(base_url: &str) -> Result<Client, ClientError> {
        let ca_cert = std::env::var_os(CA_CERT_ENV).filter(|path| !path.is_empty());
        Client::new_with_ca_cert(base_url, ca_cert.as_deref().map(Path::new))
    }

    /// Like [`Client::new`], trusting the CA certificates of the PEM file `ca_cert` (instead of
    /// the one [`CA_CERT_ENV`] names) besides the system's roots.
    pub fn new_with_ca_cert(base_url: &str, ca_cert: Option<&Path>) -> Result<Client, ClientError> {
        let base_url = normalize_base_url(base_url)?;
        let mut config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(DEFAULT_CONNECT_TIMEOUT))
            .timeout_global(Some(DEFAULT_TIMEOUT))
            .user_agent(concat!("keel-client/", env!("CARGO_PKG_VERSION")));
        // An HTTP proxy from the environment cannot reach a server on loopback.
        if is_loopback(&base_url) {
            config = config.proxy(None);
        }
        if is_https(&base_url) {
            config = config.tls_config(tls::config(ca_cert)?);
        }
        Ok(Client {
            agent: config.build().into(),
            base_url: base_url.into(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
        })
    }

    /// The same client acting as the identity that owns `token`.
    pub fn with_token(&self, token: &str) -> Client {
        Client {
            token: Some(token.into()),
            ..self.clone()
        }
    }

    /// The same client without a token (anonymous requests such as creating an identity).
    pub fn without_token(&self) -> Client {
        Client {
            token: None,
            ..self.clone()
        }
    }

    /// The same client with a different limit on the time of a whole request.
    pub fn with_timeout(&self, timeout: Duration) -> Client {
        Client {
            timeout,
            ..self.clone()
        }
    }

    /// The server URL, without a trailing `/`.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The bearer token, if the client has one.
    pub fn token(&self) -> Option<&str> {
        self.token.as_deref()
    }

    /// `GET /v1/ping`: server version and ABI.
    pub fn ping(&self) -> Result<ServerInfo, ClientError> {
        self.request(Method::Get, routes::PING, RequestBody::Empty)
    }

    /// `GET /v1/openapi.json`: the server's OpenAPI 3.1 description of this API, as JSON.
    pub fn openapi(&self) -> Result<serde_json::Value, ClientError> {
        self.request(Method::Get, routes::OPENAPI, RequestBody::Empty)
    }

    /// `POST /v1/identity`: a new identity and its token (use it with [`Client::with_token`]).
    pub fn create_identity(&self) -> Result<IdentityCreated, ClientError> {
        self.request(Method::Post, routes::IDENTITY, RequestBody::Empty)
    }

    /// `GET /v1/identity`: who the token belongs to.
    pub fn whoami(&self) -> Result<WhoAmI, ClientError> {
        self.request(Method::Get, routes::IDENTITY, RequestBody::Empty)
    }

    /// `DELETE /v1/identity`: deletes the identity of the token and every database it owns.
    pub fn delete_identity(&self) -> Result<IdentityDeleted, ClientError> {
        self.request(Method::Delete, routes::IDENTITY, RequestBody::Empty)
    }

    /// `GET /v1/databases`: the caller's databases.
    pub fn list(&self) -> Result<DatabaseList, ClientError> {
        self.request(Method::Get, routes::DATABASES, RequestBody::Empty)
    }

    /// `POST /v1/databases/{db}`: creates the database or updates its module; `clear` wipes its
    /// data first, which allows any schema change.
    pub fn publish(
        &self,
        db: &str,
        wasm: &[u8],
        clear: bool,
    ) -> Result<PublishResult, ClientError> {
        let path = format!(
            "{}{}",
            routes::path(routes::DATABASE, &[db]),
            PublishQuery { clear }.to_query_string()
        );
        self.request(Method::Post, &path, RequestBody::Wasm(wasm))
    }

    /// `DELETE /v1/databases/{db}`: deletes the database and its data.
    pub fn delete(&self, db: &str) -> Result<Deleted, ClientError> {
        self.request(
            Method::Delete,
            &routes::path(routes::DATABASE, &[db]),
            RequestBody::Empty,
        )
    }

    /// `POST /v1/databases/{db}/reset`: removes module and data, keeps the name.
    pub fn reset(&self, db: &str) -> Result<Deleted, ClientError> {
        self.request(
            Method::Post,
            &routes::path(routes::RESET, &[db]),
            RequestBody::Empty,
        )
    }

    /// `POST /v1/databases/{db}/rename`: gives the database a new, untaken name.
    pub fn rename(&self, db: &str, new_name: &str) -> Result<DatabaseSummary, ClientError> {
        self.rename_request(
            db,
            &RenameRequest {
                new_name: new_name.to_owned(),
                new_owner: None,
            },
        )
    }

    /// Renames database `db` and gives it to identity `new_owner` (owner only).
    pub fn rename_and_transfer(
        &self,
        db: &str,
        new_name: &str,
        new_owner: &str,
    ) -> Result<DatabaseSummary, ClientError> {
        self.rename_request(
            db,
            &RenameRequest {
                new_name: new_name.to_owned(),
                new_owner: Some(new_owner.to_owned()),
            },
        )
    }

    fn rename_request(
        &self,
        db: &str,
        body: &RenameRequest,
    ) -> Result<DatabaseSummary, ClientError> {
        self.request(
            Method::Post,
            &routes::path(routes::RENAME, &[db]),
            json_body(body),
        )
    }

    /// `POST /v1/databases/{db}/call/{reducer}`: runs a reducer; `args` is a JSON array with one
    /// element per reducer argument.
    pub fn call(
        &self,
        db: &str,
        reducer: &str,
        args: &serde_json::Value,
    ) -> Result<CallResult, ClientError> {
        let path = routes::path(routes::CALL, &[db, reducer]);
        self.request(Method::Post, &path, json_body(args))
    }

    /// `POST /v1/databases/{db}/sql`: runs one SQL statement.
    pub fn sql(&self, db: &str, query: &str) -> Result<SqlResult, ClientError> {
        self.sql_with_params(db, query, &[])
    }

    /// `POST /v1/databases/{db}/sql` with positional parameters (`?1`, `?2`, ...).
    pub fn sql_with_params(
        &self,
        db: &str,
        query: &str,
        params: &[serde_json::Value],
    ) -> Result<SqlResult, ClientError> {
        let body = SqlRequest {
            query: query.to_owned(),
            params: params.to_vec(),
        };
        self.request(
            Method::Post,
            &routes::path(routes::SQL, &[db]),
            json_body(&body),
        )
    }

    /// `GET /v1/databases/{db}/logs?n=N`: the last `n` log records, oldest first.
    pub fn logs(&self, db: &str, n: usize) -> Result<Vec<LogRecord>, ClientError> {
        let list: LogList = self.request(
            Method::Get,
            &format!(
                "{}{}",
                routes::path(routes::LOGS, &[db]),
                LogsQuery { n: Some(n) }.to_query_string()
            ),
            RequestBody::Empty,
        )?;
        Ok(list.records)
    }

    /// `GET /v1/databases/{db}/schema`: owner, module hash and schema.
    pub fn describe(&self, db: &str) -> Result<DatabaseInfo, ClientError> {
        self.request(
            Method::Get,
            &routes::path(routes::SCHEMA, &[db]),
            RequestBody::Empty,
        )
    }

    /// Sends one request and decodes a success answer as `T`.
    fn request<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: RequestBody<'_>,
    ) -> Result<T, ClientError> {
        let url = format!("{}{path}", self.base_url);
        let sent = match method {
            Method::Get => self.prepare(self.agent.get(&url)).call(),
            Method::Delete => self.prepare(self.agent.delete(&url)).call(),
            Method::Post => {
                let request = self.prepare(self.agent.post(&url));
                match body {
                    RequestBody::Empty => request.send_empty(),
                    RequestBody::Json(bytes) => {
                        request.content_type("application/json").send(&bytes[..])
                    }
                    RequestBody::Wasm(bytes) => {
                        request.content_type("application/wasm").send(bytes)
                    }
                }
            }
        };
        let mut response = sent.map_err(|source| transport_error(method, &url, source))?;
        let status = response.status().as_u16();
        let bytes = response
            .body_mut()
            .with_config()
            .limit(MAX_RESPONSE_BYTES)
            .read_to_vec()
            .map_err(|source| transport_error(method, &url, source))?;
        if (200..300).contains(&status) {
            return serde_json::from_slice(&bytes).map_err(|source| ClientError::Decode {
                url,
                body: String::from_utf8_lossy(&bytes).into_owned(),
                source,
            });
        }
        Err(match serde_json::from_slice::<ApiError>(&bytes) {
            Ok(body) => ClientError::Api {
                method: method.name(),
                url,
                status,
                body,
            },
            Err(_) => ClientError::UnexpectedStatus {
                method: method.name(),
                url,
                status,
                body: String::from_utf8_lossy(&bytes).into_owned(),
            },
        })
    }

    /// Applies the timeout and the token to a request.
    fn prepare<B>(&self, request: ureq::RequestBuilder<B>) -> ureq::RequestBuilder<B> {
        let request = request.config().timeout_global(Some(self.timeout)).build();
        match &self.token {
            Some(token) => request.header("Authorization", format!("Bearer {token}")),
            None => request,
        }
    }
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("token", &self.token.as_ref().map(|_| "<redacted>"))
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl Method {
    fn name(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Delete => "DELETE",
        }
    }
}

fn json_body<T: serde::Serialize + ?Sized>(value: &T) -> RequestBody<'static> {
    // Serializing wire types and `serde_json::Value` into memory cannot fail.
    RequestBody::Json(serde_json::to_vec(value).expect("request bodies serialize to JSON"))
}

/// Sorts a transport failure: no answer at all means the server is unreachable.
fn transport_error(method: Method, url: &str, source: ureq::Error) -> ClientError {
    // An I/O error after the connection was made (the server closed it mid-request, say) is
    // not "unreachable": only failures to connect are.
    let unreachable = match &source {
        ureq::Error::Io(error) => matches!(
            error.kind(),
            std::io::ErrorKind::ConnectionRefused
                | std::io::ErrorKind::HostUnreachable
                | std::io::ErrorKind::NetworkUnreachable
                | std::io::ErrorKind::AddrNotAvailable
                | std::io::ErrorKind::TimedOut
        ),
        ureq::Error::Timeout(_) | ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => true,
        _ => false,
    };
    // rustls' verdict on the handshake reaches here as itself, or inside an I/O error.
    let tls_error = match &source {
        ureq::Error::Rustls(error) => Some(error.to_string()),
        ureq::Error::Io(error) => error
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<rustls::Error>())
            .map(ToString::to_string),
        _ => None,
    };
    if let Some(reason) = tls_error {
        return ClientError::Certificate {
            url: url.to_owned(),
            reason,
        };
    }
    if unreachable {
        ClientError::Unreachable {
            url: url.to_owned(),
            source,
        }
    } else {
        ClientError::Transport {
            method: method.name(),
            url: url.to_owned(),
            source,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn closed_port_url() -> String {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        format!("http://127.0.0.1:{port}/")
    }

    #[test]
    fn new_trims_the_base_url_and_has_no_token() {
        let client = Client::new("http://127.0.0.1:3000/").unwrap();
        assert_eq!(client.base_url(), "http://127.0.0.1:3000");
        assert_eq!(client.token(), None);
        assert!(matches!(
            Client::new("localhost:3000"),
            Err(ClientError::InvalidUrl { .. })
        ));
    }

    #[test]
    fn with_token_and_with_timeout_return_changed_copies() {
        let client = Client::new("http://127.0.0.1:3000").unwrap();
        let authed = client
            .with_token("secret-token")
            .with_timeout(Duration::from_secs(2));
        assert_eq!(authed.token(), Some("secret-token"));
        assert_eq!(authed.timeout, Duration::from_secs(2));
        assert_eq!(client.token(), None);
        assert_eq!(client.timeout, DEFAULT_TIMEOUT);
    }

    #[test]
    fn debug_output_hides_the_token() {
        let client = Client::new("http://127.0.0.1:3000")
            .unwrap()
            .with_token("secret-token");
        let debug = format!("{client:?}");
        assert!(
            !debug.contains("secret-token") && debug.contains("<redacted>"),
            "{debug}"
        );
    }

    #[test]
    fn connection_refused_is_unreachable_with_a_hint() {
        let client = Client::new(&closed_port_url())
            .unwrap()
            .with_token("secret-token");
        let err = client.ping().unwrap_err();
        assert!(err.is_unreachable(), "{err:?}");
        assert_eq!(err.status(), None);
        let message = err.to_string();
        assert!(
            message.contains("/v1/ping") && message.contains("is the server running?"),
            "{message}"
        );
        assert!(
            message.contains("keel-standalone") && message.contains("--server"),
            "{message}"
        );
        assert!(std::error::Error::source(&err).is_some());
        assert!(!format!("{err:?}").contains("secret-token"));
    }

    #[test]
    fn every_route_reports_unreachable_for_a_closed_port() {
        let client = Client::new(&closed_port_url()).unwrap().with_token("t");
        let results: Vec<Result<(), ClientError>> = vec![
            client.create_identity().map(drop),
            client.whoami().map(drop),
            client.list().map(drop),
            client.publish("db", b"\0asm", true).map(drop),
            client.delete("db").map(drop),
            client.reset("db").map(drop),
            client.rename("db", "other").map(drop),
            client.call("db", "r", &serde_json::json!([1])).map(drop),
            client
                .sql_with_params("db", "SELECT ?1", &[serde_json::json!(1)])
                .map(drop),
            client.logs("db", 5).map(drop),
            client.describe("db").map(drop),
        ];
        for result in results {
            assert!(
                result.as_ref().is_err_and(ClientError::is_unreachable),
                "{result:?}"
            );
        }
    }
}
