//! Typed, blocking HTTP client for the Keel server's `/v1` API; the main type is [`Client`].
//!
//! Every method maps to one route of [`keel_api::http`] and returns its typed answer.
//! Failures are [`ClientError`]s that keep the HTTP status and body, so callers can tell an
//! unreachable server from a refused request and read the server's [`ApiError`] when there is one.
//! Requests time out (30 s in all, 5 s to connect, see [`Client::with_timeout`]).
//! `https://` servers are verified against the system's root certificates plus a CA file, from
//! [`Client::new_with_ca_cert`] or the `KEEL_CA_CERT` environment variable ([`CA_CERT_ENV`]).
//! [`table`] renders SQL results the way the `keel` CLI prints them.
//!
//! ```no_run
//! use keel_client::Client;
//! use serde_json::json;
//!
//! let client = Client::new("http://127.0.0.1:3000")?;
//! let identity = client.create_identity()?;
//! let client = client.with_token(&identity.token);
//! let wasm = std::fs::read("counter.wasm").expect("read module");
//! client.publish("counter", &wasm, false)?;
//! client.call("counter", "increment", &json!([5]))?;
//! let result = client.sql("counter", "SELECT value FROM counter")?;
//! println!("{}", keel_client::table::format_sql(&result));
//! # Ok::<(), keel_client::ClientError>(())
//! ```

#![warn(missing_docs)]

mod client;
mod errors;
pub mod table;
mod tls;
mod url;

pub use client::{Client, DEFAULT_CONNECT_TIMEOUT, DEFAULT_TIMEOUT};
pub use errors::ClientError;
pub use keel_api;
pub use keel_api::http::{
    ApiError, CallResult, DatabaseInfo, DatabaseList, DatabaseSummary, Deleted, ErrorKind,
    IdentityCreated, LogLevel, LogRecord, PublishResult, ServerInfo, SqlResult, WhoAmI,
};
pub use tls::CA_CERT_ENV;
