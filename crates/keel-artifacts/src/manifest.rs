//! The artifact manifest written by `cargo xtask warmup` and read by the harness.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

use serde::{Deserialize, Serialize};

use crate::{
    ManifestError, Staleness, atomic::write_atomic, hash_file, hash_inputs, smoketest_dir,
};

/// The manifest format version this crate reads and writes.
pub const MANIFEST_VERSION: u32 = 1;

/// Every artifact warmup built, with the hashes that tell whether it is still fresh.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version, [`MANIFEST_VERSION`] when written by this crate.
    pub version: u32,
    /// Native binaries by name (`keel`, `keel-standalone`, `smoketests`).
    pub binaries: BTreeMap<String, Artifact>,
    /// Precompiled wasm modules by directory name under `modules/`.
    pub modules: BTreeMap<String, Artifact>,
}

/// One built file and the inputs it was built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Artifact {
    /// The artifact, relative to the workspace root.
    pub path: PathBuf,
    /// Files or directories the artifact was built from, relative to the workspace root.
    pub inputs: Vec<PathBuf>,
    /// [`hash_inputs`] of `inputs` when the artifact was built.
    pub inputs_hash: String,
    /// [`hash_file`] of the artifact when it was built.
    pub artifact_hash: String,
    /// The workspace source files the compiler read to build it (from its dep-info), relative to
    /// the workspace root: what a change must touch to affect it. Empty when unknown.
    #[serde(default)]
    pub sources: Vec<PathBuf>,
}

impl Default for Manifest {
    fn default() -> Manifest {
        Manifest {
            version: MANIFEST_VERSION,
            binaries: BTreeMap::new(),
            modules: BTreeMap::new(),
        }
    }
}

impl Manifest {
    /// Where the manifest lives: `target/smoketest/manifest.json` under `root`.
    pub fn path(root: &Path) -> PathBuf {
        smoketest_dir(root).join("manifest.json")
    }

    /// Reads the manifest of the workspace at `root`.
    pub fn load(root: &Path) -> Result<Manifest, ManifestError> {
        let path = Manifest::path(root);
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => {
                return Err(ManifestError::Missing { path });
            }
            Err(source) => return Err(ManifestError::Io { path, source }),
        };
        let manifest: Manifest =
            serde_json::from_str(&text).map_err(|source| ManifestError::Parse {
                path: path.clone(),
                source,
            })?;
        if manifest.version != MANIFEST_VERSION {
            return Err(ManifestError::Version {
                path,
                found: manifest.version,
                expected: MANIFEST_VERSION,
            });
        }
        Ok(manifest)
    }

    /// Writes the manifest atomically, so a concurrent reader never sees half a file.
    pub fn save(&self, root: &Path) -> Result<(), ManifestError> {
        let path = Manifest::path(root);
        let json = serde_json::to_vec_pretty(self).map_err(|source| ManifestError::Parse {
            path: path.clone(),
            source,
        })?;
        write_atomic(&path, &json).map_err(|source| ManifestError::Io { path, source })
    }
}

impl Artifact {
    /// Records the artifact at `path` built from `inputs` (both relative to `root`), hashing both now.
    pub fn record(root: &Path, path: PathBuf, inputs: Vec<PathBuf>) -> io::Result<Artifact> {
        let inputs_hash = hash_inputs(root, &inputs)?;
        let artifact_hash = hash_file(&root.join(&path))?;
        Ok(Artifact {
            path,
            inputs,
            inputs_hash,
            artifact_hash,
            sources: Vec::new(),
        })
    }

    /// Returns the absolute artifact path if the artifact exists and neither it nor its inputs changed.
    pub fn check_fresh(&self, root: &Path) -> Result<PathBuf, Staleness> {
        let absolute = root.join(&self.path);
        if !absolute.is_file() {
            return Err(Staleness::Missing {
                path: self.path.clone(),
            });
        }
        match hash_inputs(root, &self.inputs) {
            Ok(hash) if hash == self.inputs_hash => {}
            _ => {
                return Err(Staleness::InputsChanged {
                    path: self.path.clone(),
                });
            }
        }
        match hash_file(&absolute) {
            Ok(hash) if hash == self.artifact_hash => Ok(absolute),
            _ => Err(Staleness::ArtifactChanged {
                path: self.path.clone(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> (tempfile::TempDir, Artifact) {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("src")).unwrap();
        fs::write(dir.path().join("src/lib.rs"), "fn f() {}").unwrap();
        fs::create_dir_all(dir.path().join("out")).unwrap();
        fs::write(dir.path().join("out/a.wasm"), "wasm").unwrap();
        let artifact = Artifact::record(
            dir.path(),
            PathBuf::from("out/a.wasm"),
            vec![PathBuf::from("src")],
        )
        .unwrap();
        (dir, artifact)
    }

    #[test]
    fn fresh_artifact_returns_absolute_path() {
        let (dir, artifact) = fixture();
        assert_eq!(
            artifact.check_fresh(dir.path()),
            Ok(dir.path().join("out/a.wasm"))
        );
    }

    #[test]
    fn missing_artifact_is_reported() {
        let (dir, artifact) = fixture();
        fs::remove_file(dir.path().join("out/a.wasm")).unwrap();
        let err = artifact.check_fresh(dir.path()).unwrap_err();
        assert_eq!(
            err,
            Staleness::Missing {
                path: PathBuf::from("out/a.wasm")
            }
        );
        assert!(
            err.to_string().contains("run `cargo xtask warmup`"),
            "{err}"
        );
    }

    #[test]
    fn changed_inputs_are_reported() {
        let (dir, artifact) = fixture();
        fs::write(dir.path().join("src/lib.rs"), "fn g() {}").unwrap();
        let err = artifact.check_fresh(dir.path()).unwrap_err();
        assert_eq!(
            err,
            Staleness::InputsChanged {
                path: PathBuf::from("out/a.wasm")
            }
        );
        assert!(err.to_string().contains("inputs changed"), "{err}");
    }

    #[test]
    fn changed_artifact_is_reported() {
        let (dir, artifact) = fixture();
        fs::write(dir.path().join("out/a.wasm"), "other").unwrap();
        let err = artifact.check_fresh(dir.path()).unwrap_err();
        assert_eq!(
            err,
            Staleness::ArtifactChanged {
                path: PathBuf::from("out/a.wasm")
            }
        );
    }

    #[test]
    fn manifest_round_trips_and_reports_missing() {
        let (dir, artifact) = fixture();
        assert!(matches!(
            Manifest::load(dir.path()),
            Err(ManifestError::Missing { .. })
        ));
        let mut manifest = Manifest::default();
        manifest.modules.insert("a".to_owned(), artifact);
        manifest.save(dir.path()).unwrap();
        assert_eq!(Manifest::load(dir.path()).unwrap(), manifest);
    }

    #[test]
    fn manifest_of_another_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let manifest = Manifest {
            version: MANIFEST_VERSION + 1,
            ..Manifest::default()
        };
        manifest.save(dir.path()).unwrap();
        let err = Manifest::load(dir.path()).unwrap_err();
        assert!(matches!(err, ManifestError::Version { .. }), "{err}");
    }
}
