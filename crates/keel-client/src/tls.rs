//! What a client trusts for `https://` servers: the system's root certificates, plus a CA file
//! the caller names (the CLI's `--ca-cert`) or [`CA_CERT_ENV`] names.

use std::path::Path;
use std::sync::OnceLock;

use ureq::tls::{Certificate, PemItem, RootCerts, TlsConfig, TlsProvider};

use crate::errors::ClientError;

/// The environment variable naming a PEM file of extra CA certificates to trust.
pub const CA_CERT_ENV: &str = "KEEL_CA_CERT";

/// The system's roots, read once per process.
static SYSTEM_ROOTS: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();

/// The TLS settings of a client: rustls, the system's roots and those of `ca_cert`.
pub(crate) fn config(ca_cert: Option<&Path>) -> Result<TlsConfig, ClientError> {
    let mut roots = system_roots().clone();
    if let Some(path) = ca_cert {
        roots.extend(read_ca_file(path)?);
    }
    Ok(TlsConfig::builder()
        .provider(TlsProvider::Rustls)
        .root_certs(RootCerts::from(roots))
        .build())
}

fn system_roots() -> &'static Vec<Certificate<'static>> {
    SYSTEM_ROOTS.get_or_init(|| {
        rustls_native_certs::load_native_certs()
            .certs
            .iter()
            .map(|der| Certificate::from_der(der.as_ref()).to_owned())
            .collect()
    })
}

/// The certificates of a PEM file; an unreadable file, or one without a certificate, is an
/// error that names it.
fn read_ca_file(path: &Path) -> Result<Vec<Certificate<'static>>, ClientError> {
    let invalid = |reason: String| ClientError::CaCert {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|error| invalid(error.to_string()))?;
    let mut certificates = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|error| invalid(error.to_string()))? {
            PemItem::Certificate(certificate) => certificates.push(certificate),
            _ => continue,
        }
    }
    if certificates.is_empty() {
        return Err(invalid("it holds no PEM certificate".to_owned()));
    }
    Ok(certificates)
}
