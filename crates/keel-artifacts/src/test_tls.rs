//! Certificates for the https servers the automation starts (qa's `remote https` step, a
//! smoketest's private server with `.https()`): a CA made for the run, and a certificate it signed
//! for `localhost` and 127.0.0.1, as PEM files. Clients trust the CA through `KEEL_CA_CERT` or
//! `keel_client::Client::new_with_ca_cert`.

use std::io;
use std::path::{Path, PathBuf};

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

/// The PEM files [`TestCertificates::make`] wrote.
#[derive(Debug, Clone)]
pub struct TestCertificates {
    /// The CA's certificate: what clients trust.
    pub ca: PathBuf,
    /// The server's certificate (`--tls-cert`).
    pub cert: PathBuf,
    /// The server's private key (`--tls-key`).
    pub key: PathBuf,
}

impl TestCertificates {
    /// Makes a CA and a server certificate for `localhost` and 127.0.0.1 in `dir` (`ca.pem`,
    /// `server.pem`, `server.key`).
    pub fn make(dir: &Path) -> io::Result<TestCertificates> {
        let generated = (|| {
            let mut ca_params = CertificateParams::new(Vec::new())?;
            ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
            let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate()?)?;
            let key = KeyPair::generate()?;
            let cert =
                CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])?
                    .signed_by(&key, &ca)?;
            Ok::<_, rcgen::Error>((ca.as_ref().pem(), cert.pem(), key.serialize_pem()))
        })()
        .map_err(|error| io::Error::other(format!("make test certificates: {error}")))?;
        let files = TestCertificates {
            ca: dir.join("ca.pem"),
            cert: dir.join("server.pem"),
            key: dir.join("server.key"),
        };
        for (path, pem) in [
            (&files.ca, generated.0),
            (&files.cert, generated.1),
            (&files.key, generated.2),
        ] {
            std::fs::write(path, pem).map_err(|error| {
                io::Error::new(error.kind(), format!("write {}: {error}", path.display()))
            })?;
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_pem_files_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let files = TestCertificates::make(dir.path()).unwrap();
        for (path, header) in [
            (&files.ca, "-----BEGIN CERTIFICATE-----"),
            (&files.cert, "-----BEGIN CERTIFICATE-----"),
            (&files.key, "-----BEGIN PRIVATE KEY-----"),
        ] {
            let text = std::fs::read_to_string(path).unwrap();
            assert!(text.starts_with(header), "{}: {text}", path.display());
        }
        assert_ne!(
            std::fs::read(&files.ca).unwrap(),
            std::fs::read(&files.cert).unwrap()
        );
        assert!(TestCertificates::make(&dir.path().join("missing")).is_err());
    }
}
