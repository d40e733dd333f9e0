//! Bearer-token identities. A token is `IDENTITY.SECRET`; the server stores only the blake3
//! hash of the secret and compares hashes in constant time (`blake3::Hash` equality is).

use axum::http::HeaderMap;
use keel_api::http::ErrorKind;

use crate::api_error::AppError;

/// A freshly made identity and its token.
pub(crate) struct NewIdentity {
    pub(crate) identity: String,
    pub(crate) token: String,
    pub(crate) secret_hash: blake3::Hash,
}

/// Makes a random identity id (16 bytes) and secret (32 bytes).
pub(crate) fn new_identity() -> NewIdentity {
    let mut id = [0u8; 16];
    let mut secret = [0u8; 32];
    getrandom::fill(&mut id).expect("the OS random source works");
    getrandom::fill(&mut secret).expect("the OS random source works");
    let identity = hex(&id);
    let secret = hex(&secret);
    NewIdentity {
        token: format!("{identity}.{secret}"),
        secret_hash: blake3::hash(secret.as_bytes()),
        identity,
    }
}

/// Splits the bearer token of a request into identity and secret hash.
pub(crate) fn bearer(headers: &HeaderMap) -> Result<(String, blake3::Hash), AppError> {
    let unauthorized = |message: &str| {
        AppError::new(ErrorKind::Unauthorized, message)
            .with_hint("create an identity with `keel identity new` and pass its token")
    };
    let value = headers
        .get(axum::http::header::AUTHORIZATION)
        .ok_or_else(|| unauthorized("this request needs a bearer token"))?;
    let value = value
        .to_str()
        .map_err(|_| unauthorized("the authorization header is not valid text"))?;
    let token = value
        .strip_prefix("Bearer ")
        .ok_or_else(|| unauthorized("the authorization header must be `Bearer TOKEN`"))?;
    let (identity, secret) = token
        .split_once('.')
        .ok_or_else(|| unauthorized("malformed token"))?;
    Ok((identity.to_owned(), blake3::hash(secret.as_bytes())))
}

/// Random hex, for ids.
pub(crate) fn random_hex(bytes: usize) -> String {
    let mut buffer = vec![0u8; bytes];
    getrandom::fill(&mut buffer).expect("the OS random source works");
    hex(&buffer)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
