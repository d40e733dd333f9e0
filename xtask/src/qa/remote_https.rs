//! qa step `remote https`: the remote-mode suite against a server reached over `https://`,
//! whose certificate is signed by a CA the step makes (so the clients, the CLI and the harness
//! verify it through `KEEL_CA_CERT`); afterwards the server's data dir must hold no database,
//! no identity and no module file: a remote run leaves nothing behind.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, ensure};
use keel_artifacts::Manifest;
use keel_process::ServerCommand;
use xshell::Shell;

use crate::{flags, project_root, smoketest};

/// How long the server gets to stop after the run.
const STOP_GRACE: Duration = Duration::from_secs(5);

pub(super) fn check(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    let manifest = Manifest::load(&root)?;
    let binary = smoketest::fresh_binary(&root, &manifest, "keel-standalone")?;
    // Not under target/smoketest/tmp, which every suite run clears as it starts.
    let dir = tempfile::Builder::new()
        .prefix("keel-https-")
        .tempdir()
        .context("make a temp dir for the https server")?;
    let certificates = keel_artifacts::TestCertificates::make(dir.path())?;
    let data_dir = dir.path().join("data");
    let mut server = ServerCommand::new(binary, &data_dir)
        .name("https server")
        .log_file(dir.path().join("server.log"))
        .args(["--tls-cert", &certificates.cert.display().to_string()])
        .args(["--tls-key", &certificates.key.display().to_string()])
        .start()
        .context("start keel-standalone with --tls-cert")?;
    let url = format!("https://localhost:{}", server.ready().addr.port());
    let mut flags = flags::Smoketest::qa_default();
    flags.server = Some(url);
    flags.no_build = true;
    let ca = certificates.ca.display().to_string();
    let report = smoketest::run_suite(sh, &flags, &[(keel_client::CA_CERT_ENV, &ca)])?;
    eprint!("{}", report.summary.render(&report.builds, &report.timings));
    report.verdict()?;
    // A selection whose every test is local-only runs nothing, and that is no failure.
    let mut local_only = flags.clone();
    local_only.filters = vec!["faults::".to_owned()];
    let skipped = smoketest::run_suite(sh, &local_only, &[(keel_client::CA_CERT_ENV, &ca)])?;
    skipped.verdict().context(
        "a remote run that selects only local-only tests must pass with every test skipped",
    )?;
    ensure!(
        !skipped.summary.outcomes.is_empty()
            && skipped
                .summary
                .outcomes
                .iter()
                .all(|it| it.status == smoketest::TestStatus::Skipped),
        "the local-only tests were not all reported skipped: {:?}",
        skipped
            .summary
            .outcomes
            .iter()
            .map(|it| (&it.name, it.status))
            .collect::<Vec<_>>()
    );
    eprintln!(
        "==> a remote run of only local-only tests: {} skipped, exit 0",
        skipped.summary.outcomes.len()
    );
    server.stop(STOP_GRACE).context("stop the https server")?;
    let left = left_behind(&data_dir)?;
    ensure!(
        left.is_empty(),
        "the remote run left on the server: {}",
        left.join(", ")
    );
    eprintln!("==> nothing left on the https server: 0 databases, 0 identities, 0 module files");
    Ok(())
}

/// What the stopped server's data dir still holds: database and module files, and rows of its
/// directory.
fn left_behind(data_dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut left = Vec::new();
    for (dir, extension) in [("databases", "sqlite"), ("modules", "wasm")] {
        let path = data_dir.join(dir);
        for file in std::fs::read_dir(&path).with_context(|| format!("read {}", path.display()))? {
            let file = file?.path();
            if file.extension().is_some_and(|it| it == extension) {
                left.push(file.display().to_string());
            }
        }
    }
    let control = rusqlite::Connection::open(data_dir.join("control.sqlite"))
        .context("open the server's control.sqlite")?;
    for table in ["identities", "databases"] {
        let rows: i64 = control
            .query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
                row.get(0)
            })
            .with_context(|| format!("count the server's {table}"))?;
        if rows > 0 {
            left.push(format!("{rows} {table}"));
        }
    }
    Ok(left)
}
