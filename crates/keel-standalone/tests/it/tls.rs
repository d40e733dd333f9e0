//! `https://` end to end: the server with `--tls-cert/--tls-key`, a CA the test makes, and
//! clients that verify the certificate (or say clearly why they refuse it).

use std::path::{Path, PathBuf};

use keel_client::{Client, ClientError};
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use serde_json::json;

use crate::support::{Server, module};

/// A CA and a certificate it signed for `localhost` and 127.0.0.1, as PEM files in `dir`.
struct TestCertificates {
    ca: PathBuf,
    cert: PathBuf,
    key: PathBuf,
}

fn make_certificates(dir: &Path, names: &[&str]) -> TestCertificates {
    let mut ca_params = CertificateParams::new(Vec::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let server_key = KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|name| (*name).to_owned()).collect();
    let server = CertificateParams::new(names)
        .unwrap()
        .signed_by(&server_key, &ca)
        .unwrap();
    let files = TestCertificates {
        ca: dir.join("ca.pem"),
        cert: dir.join("server.pem"),
        key: dir.join("server.key"),
    };
    std::fs::write(&files.ca, ca.as_ref().pem()).unwrap();
    std::fs::write(&files.cert, server.pem()).unwrap();
    std::fs::write(&files.key, server_key.serialize_pem()).unwrap();
    files
}

fn https_url(server: &Server, host: &str) -> String {
    let port = server.url.rsplit(':').next().unwrap();
    format!("https://{host}:{port}")
}

#[test]
fn clients_reach_an_https_server_with_its_ca_and_refuse_it_without() {
    let certificates_dir = tempfile::tempdir().unwrap();
    let files = make_certificates(certificates_dir.path(), &["localhost", "127.0.0.1"]);
    let server = Server::start(&[
        "--tls-cert",
        files.cert.to_str().unwrap(),
        "--tls-key",
        files.key.to_str().unwrap(),
    ]);
    for (index, host) in ["localhost", "127.0.0.1"].into_iter().enumerate() {
        let url = https_url(&server, host);
        let client = Client::new_with_ca_cert(&url, Some(&files.ca)).unwrap();
        let created = client.create_identity().unwrap();
        let client = client.with_token(&created.token);
        let db = format!("counter-{index}");
        client.publish(&db, &module("counter"), false).unwrap();
        client.call(&db, "increment", &json!([1])).unwrap();
        let value = client.sql(&db, "SELECT value FROM counter").unwrap();
        assert_eq!(value.rows, vec![vec![json!(1)]], "{url}");
    }
    // Without the CA: the system's roots do not know it.
    let url = https_url(&server, "localhost");
    let error = Client::new_with_ca_cert(&url, None)
        .unwrap()
        .ping()
        .unwrap_err();
    assert!(
        matches!(error, ClientError::Certificate { .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("UnknownIssuer"), "{message}");
    assert!(message.contains("--ca-cert or KEEL_CA_CERT"), "{message}");
    // A certificate for another name.
    let other_dir = tempfile::tempdir().unwrap();
    let other = make_certificates(other_dir.path(), &["keel.example.com"]);
    let mismatched = Server::start(&[
        "--tls-cert",
        other.cert.to_str().unwrap(),
        "--tls-key",
        other.key.to_str().unwrap(),
    ]);
    let error = Client::new_with_ca_cert(&https_url(&mismatched, "localhost"), Some(&other.ca))
        .unwrap()
        .ping()
        .unwrap_err();
    assert!(
        error
            .to_string()
            .contains("not valid for name \"localhost\""),
        "{error}"
    );
    // Plain HTTP to a TLS port, and a bad CA file, fail clearly too.
    let error = Client::new(&server.url).unwrap().ping().unwrap_err();
    assert!(!matches!(error, ClientError::Api { .. }), "{error:?}");
    let missing =
        Client::new_with_ca_cert(&url, Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
    assert!(
        missing.to_string().contains("/nonexistent/ca.pem"),
        "{missing}"
    );
    let not_pem = certificates_dir.path().join("not.pem");
    std::fs::write(&not_pem, "hello").unwrap();
    let error = Client::new_with_ca_cert(&url, Some(&not_pem)).unwrap_err();
    assert!(
        error.to_string().contains("holds no PEM certificate"),
        "{error}"
    );
}

/// The stderr of a server that must refuse to start with `args`.
fn refused_start(data_dir: &Path, args: &[&str]) -> String {
    let output = std::process::Command::new(env!("CARGO_BIN_EXE_keel-standalone"))
        .args([
            "--data-dir",
            data_dir.to_str().unwrap(),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(!output.status.success(), "started with {args:?}");
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn the_server_refuses_half_a_tls_configuration() {
    let dir = tempfile::tempdir().unwrap();
    let files = make_certificates(dir.path(), &["localhost"]);
    let data_dir = dir.path().join("data");
    let cert = files.cert.to_str().unwrap();
    let key = files.key.to_str().unwrap();
    let stderr = refused_start(&data_dir, &["--tls-cert", cert]);
    assert!(
        stderr.contains("--tls-cert and --tls-key go together"),
        "{stderr}"
    );
    let stderr = refused_start(&data_dir, &["--tls-cert", key, "--tls-key", key]);
    assert!(stderr.contains("holds no PEM certificate"), "{stderr}");
}
