//! The `keel` and `keel-standalone` binaries built by `cargo xtask warmup`, checked for
//! freshness against the manifest once per process. `KEEL_CLI_BIN` and
//! `KEEL_STANDALONE_BIN` override the lookup.

use std::path::PathBuf;
use std::sync::OnceLock;

use keel_artifacts::Manifest;

use crate::env;
use crate::errors::SmoketestError;

/// The server binary.
pub(crate) fn standalone() -> Result<PathBuf, SmoketestError> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    lookup(
        &PATH,
        "keel-standalone",
        keel_artifacts::env::STANDALONE_BIN,
    )
}

/// The CLI binary.
pub(crate) fn cli() -> Result<PathBuf, SmoketestError> {
    static PATH: OnceLock<Result<PathBuf, String>> = OnceLock::new();
    lookup(&PATH, "keel", keel_artifacts::env::CLI_BIN)
}

fn lookup(
    cache: &OnceLock<Result<PathBuf, String>>,
    name: &str,
    override_var: &str,
) -> Result<PathBuf, SmoketestError> {
    cache
        .get_or_init(|| {
            if let Some(path) = std::env::var_os(override_var).filter(|path| !path.is_empty()) {
                return Ok(PathBuf::from(path));
            }
            let root = env::workspace_root().map_err(|error| error.to_string())?;
            let manifest = Manifest::load(&root)
                .map_err(|error| format!("{error} (run `cargo xtask warmup`)"))?;
            let artifact = manifest.binaries.get(name).ok_or_else(|| {
                format!("the manifest lists no `{name}`; run `cargo xtask warmup`")
            })?;
            artifact
                .check_fresh(&root)
                .map_err(|staleness| staleness.to_string())
        })
        .clone()
        .map_err(|reason| SmoketestError::Artifact {
            what: format!("binary `{name}`"),
            reason,
        })
}
