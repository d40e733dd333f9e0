//! Artifact manifest, input hashing and run records shared by the xtask and the smoketest harness.
//!
//! `cargo xtask warmup` builds the server, the CLI and the precompiled modules, then records each
//! artifact in a [`Manifest`] together with a hash of the sources it was built from.
//! The harness loads that manifest and calls [`Artifact::check_fresh`] before it uses an artifact,
//! so a stale binary fails with "run `cargo xtask warmup`" instead of testing old code.
//!
//! While the suite runs, every test writes a [`TestRecord`] (and every runtime module build a
//! [`ModuleBuildRecord`]) into the results directory; the xtask reads them back for its summary.
//!
//! Modules:
//! - [`env`]: the names of the environment variables between the xtask and the harness.
//! - `root`: finding the workspace root and the well-known paths under `target/`.
//! - `hashing`: [`hash_inputs`], [`hash_input_files`] and [`hash_file`].
//! - `manifest`: [`Manifest`], [`Artifact`] and freshness checks.
//! - `records`: [`TestRecord`], [`ModuleBuildRecord`], [`TestMeta`], [`BuildTiming`], [`BenchOverhead`].
//! - `errors`: [`ManifestError`] and [`Staleness`].
//! - `atomic`: [`write_atomic`], how every record and map is written.
//! - `test_tls`: [`TestCertificates`], a CA and a server certificate for https test servers.

#![warn(missing_docs)]

mod atomic;
pub mod env;
mod errors;
mod hashing;
mod manifest;
mod records;
mod root;
mod test_tls;

pub use atomic::write_atomic;
pub use errors::{ManifestError, Staleness};
pub use hashing::{hash_bytes, hash_file, hash_input_files, hash_inputs};
pub use manifest::{Artifact, MANIFEST_VERSION, Manifest};
pub use records::{
    BenchOverhead, BuildTiming, ModuleBuildRecord, SKIP_NEEDS_CARGO, TestMeta, TestRecord,
    TestUsage,
};
pub use root::{module_wasm_path, smoketest_dir, workspace_root};
pub use test_tls::TestCertificates;
