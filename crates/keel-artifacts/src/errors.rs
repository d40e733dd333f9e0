//! Error types: [`ManifestError`] for reading or writing the manifest, [`Staleness`] for an unusable artifact.

use std::path::PathBuf;

/// Reading or writing `target/smoketest/manifest.json` failed.
#[derive(Debug, thiserror::Error)]
pub enum ManifestError {
    /// The manifest does not exist yet.
    #[error("artifact manifest {} is missing; run `cargo xtask warmup`", path.display())]
    Missing {
        /// Where the manifest was expected.
        path: PathBuf,
    },
    /// The manifest could not be read or written.
    #[error("failed to access artifact manifest {}", path.display())]
    Io {
        /// The manifest path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The manifest is not valid JSON of the expected shape.
    #[error("artifact manifest {} is malformed; run `cargo xtask warmup`", path.display())]
    Parse {
        /// The manifest path.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: serde_json::Error,
    },
    /// The manifest was written by another version of the tooling.
    #[error(
        "artifact manifest {} has version {found}, expected {expected}; run `cargo xtask warmup`",
        path.display()
    )]
    Version {
        /// The manifest path.
        path: PathBuf,
        /// The version in the file.
        found: u32,
        /// The version this crate writes.
        expected: u32,
    },
}

/// Why an artifact recorded in the manifest cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Staleness {
    /// The artifact file does not exist.
    #[error("artifact {} is missing; run `cargo xtask warmup`", path.display())]
    Missing {
        /// The artifact path, relative to the workspace root.
        path: PathBuf,
    },
    /// The sources the artifact was built from changed since it was built.
    #[error("artifact {} is stale: its inputs changed since it was built; run `cargo xtask warmup`", path.display())]
    InputsChanged {
        /// The artifact path, relative to the workspace root.
        path: PathBuf,
    },
    /// The artifact file itself changed (or cannot be read) since warmup recorded it.
    #[error("artifact {} changed since `cargo xtask warmup` built it; run `cargo xtask warmup`", path.display())]
    ArtifactChanged {
        /// The artifact path, relative to the workspace root.
        path: PathBuf,
    },
}
