//! [`ClientError`]: every way a request to the Keel server can fail.

use keel_api::http::{ApiError, ErrorKind};

/// What the message of [`ClientError::Unreachable`] suggests.
const UNREACHABLE_HINT: &str = "is the server running? start it with `keel-standalone --data-dir DIR --listen 127.0.0.1:PORT` or pass --server";

/// A request to the Keel server failed.
///
/// The variants keep what a caller needs to react: the HTTP status and the server's body for
/// refused requests, the transport error for unreachable servers.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The server answered with an error status and an [`ApiError`] body.
    #[error("{method} {url} failed with {status} ({kind}): {body}", kind = kind_name(body.kind))]
    Api {
        /// HTTP method of the request.
        method: &'static str,
        /// Full URL of the request.
        url: String,
        /// HTTP status of the answer.
        status: u16,
        /// The server's explanation.
        body: ApiError,
    },
    /// The server answered with a status that is not success and a body that is not an [`ApiError`].
    #[error("{method} {url} failed with {status}: {}", snippet(body))]
    UnexpectedStatus {
        /// HTTP method of the request.
        method: &'static str,
        /// Full URL of the request.
        url: String,
        /// HTTP status of the answer.
        status: u16,
        /// The body as text (invalid UTF-8 replaced).
        body: String,
    },
    /// No answer: the connection was refused, the host is unknown, or a timeout expired.
    #[error("could not reach the Keel server at {url} ({UNREACHABLE_HINT})")]
    Unreachable {
        /// Full URL of the request.
        url: String,
        /// The transport error.
        #[source]
        source: ureq::Error,
    },
    /// The TLS handshake failed: the server's certificate was not accepted (not signed by a
    /// trusted CA, another host's, expired), or the server does not speak TLS.
    #[error(
        "the TLS connection to {url} failed: {reason} (if the server's certificate is signed by a CA of your own, pass its PEM file with --ca-cert or {})",
        crate::CA_CERT_ENV
    )]
    Certificate {
        /// Full URL of the request.
        url: String,
        /// What TLS said.
        reason: String,
    },
    /// A CA file to trust could not be read or holds no certificate.
    #[error("could not use the CA certificate file {}: {reason}", path.display())]
    CaCert {
        /// The file.
        path: std::path::PathBuf,
        /// What was wrong with it.
        reason: String,
    },
    /// The request failed in transit for another reason (a protocol error, say).
    #[error("{method} {url} failed in transit")]
    Transport {
        /// HTTP method of the request.
        method: &'static str,
        /// Full URL of the request.
        url: String,
        /// The transport error.
        #[source]
        source: ureq::Error,
    },
    /// A success answer whose body is not the expected JSON.
    #[error("could not decode the answer from {url}: {}", snippet(body))]
    Decode {
        /// Full URL of the request.
        url: String,
        /// The body as text (invalid UTF-8 replaced).
        body: String,
        /// The JSON error.
        #[source]
        source: serde_json::Error,
    },
    /// The server URL is not `http://HOST:PORT` or `https://HOST:PORT`.
    #[error("invalid server URL `{url}`: expected `http://HOST:PORT` or `https://HOST:PORT`")]
    InvalidUrl {
        /// The URL as given.
        url: String,
    },
}

impl ClientError {
    /// The HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Api { status, .. } | ClientError::UnexpectedStatus { status, .. } => {
                Some(*status)
            }
            ClientError::Unreachable { .. }
            | ClientError::Transport { .. }
            | ClientError::Decode { .. }
            | ClientError::Certificate { .. }
            | ClientError::CaCert { .. }
            | ClientError::InvalidUrl { .. } => None,
        }
    }

    /// The server's error body, when it sent one.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            ClientError::Api { body, .. } => Some(body),
            _ => None,
        }
    }

    /// The server's error class, when it sent one.
    pub fn kind(&self) -> Option<ErrorKind> {
        self.api_error().map(|body| body.kind)
    }

    /// Whether the server could not be reached at all.
    pub fn is_unreachable(&self) -> bool {
        matches!(self, ClientError::Unreachable { .. })
    }
}

/// The wire name of an error kind (`not_found`), as the server spells it.
fn kind_name(kind: ErrorKind) -> String {
    match serde_json::to_value(kind) {
        Ok(serde_json::Value::String(name)) => name,
        _ => format!("{kind:?}"),
    }
}

/// The start of a body, enough to recognise it in a message.
fn snippet(body: &str) -> String {
    const MAX_CHARS: usize = 300;
    let body = body.trim();
    if body.is_empty() {
        return "(empty body)".to_owned();
    }
    match body.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &body[..cut]),
        None => body.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_errors_show_status_kind_message_and_hint() {
        let err = ClientError::Api {
            method: "POST",
            url: "http://127.0.0.1:1/v1/databases/x".into(),
            status: 409,
            body: ApiError {
                error: "migration refused".into(),
                kind: ErrorKind::Conflict,
                hint: Some("pass --clear".into()),
            },
        };
        assert_eq!(
            err.to_string(),
            "POST http://127.0.0.1:1/v1/databases/x failed with 409 (conflict): migration refused\n  (hint: pass --clear)"
        );
        assert_eq!(err.status(), Some(409));
        assert_eq!(err.kind(), Some(ErrorKind::Conflict));
    }

    #[test]
    fn long_bodies_are_cut_in_messages() {
        let err = ClientError::UnexpectedStatus {
            method: "GET",
            url: "u".into(),
            status: 502,
            body: "x".repeat(1000),
        };
        let message = err.to_string();
        assert!(
            message.starts_with("GET u failed with 502: xxx") && message.ends_with("..."),
            "{message}"
        );
        assert!(message.len() < 400);
        assert_eq!(err.status(), Some(502));
        assert_eq!(err.api_error(), None);
        let empty = ClientError::UnexpectedStatus {
            method: "GET",
            url: "u".into(),
            status: 500,
            body: " ".into(),
        };
        assert_eq!(empty.to_string(), "GET u failed with 500: (empty body)");
    }
}
