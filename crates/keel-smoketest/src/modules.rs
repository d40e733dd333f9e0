//! The registry of precompiled modules: names are the directories of `modules/`, bytes come
//! from the wasm that warmup built, checked against the manifest's input hashes.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex, OnceLock};

use keel_artifacts::Manifest;

use crate::env;
use crate::errors::SmoketestError;

/// The wasm bytes of precompiled module `name`, read once per process.
pub(crate) fn precompiled(name: &str) -> Result<Arc<Vec<u8>>, SmoketestError> {
    static CACHE: OnceLock<Mutex<HashMap<String, Arc<Vec<u8>>>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Default::default);
    if let Some(bytes) = cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .get(name)
    {
        return Ok(bytes.clone());
    }
    let root = env::workspace_root()?;
    let manifest = manifest(&root)?;
    let Some(artifact) = manifest.modules.get(name) else {
        let mut known: Vec<String> = manifest.modules.keys().cloned().collect();
        if known.is_empty() {
            known = module_dirs(&root);
        }
        return Err(SmoketestError::UnknownModule {
            name: name.to_owned(),
            known,
        });
    };
    let path = artifact
        .check_fresh(&root)
        .map_err(|staleness| SmoketestError::Artifact {
            what: format!("module `{name}`"),
            reason: staleness.to_string(),
        })?;
    let bytes = Arc::new(
        std::fs::read(&path).map_err(SmoketestError::io(format!("read {}", path.display())))?,
    );
    cache
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
        .insert(name.to_owned(), bytes.clone());
    Ok(bytes)
}

fn manifest(root: &Path) -> Result<Arc<Manifest>, SmoketestError> {
    static MANIFEST: OnceLock<Result<Arc<Manifest>, String>> = OnceLock::new();
    MANIFEST
        .get_or_init(|| {
            Manifest::load(root)
                .map(Arc::new)
                .map_err(|error| format!("{error} (run `cargo xtask warmup`)"))
        })
        .clone()
        .map_err(|reason| SmoketestError::Artifact {
            what: "the artifact manifest".to_owned(),
            reason,
        })
}

/// Directory names under `modules/` that hold a crate.
fn module_dirs(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join("modules"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|entry| entry.path().join("Cargo.toml").is_file())
        .filter_map(|entry| entry.file_name().into_string().ok())
        .collect();
    names.sort();
    names
}
