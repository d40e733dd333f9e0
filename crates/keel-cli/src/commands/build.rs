//! `keel build <module-dir>`: runs cargo for wasm32 in the module's directory and prints the
//! absolute path of the cdylib `.wasm` it produced.
//!
//! Cargo's rendered diagnostics go straight to stderr; its JSON messages on stdout tell which
//! artifacts it built, so no target-directory layout is guessed.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keel_cli::{BuildError, CliError};
use serde_json::{Value, json};

use crate::commands::Doing;
use crate::flags::BuildArgs;
use crate::output::Output;

const CARGO_ARGS: &[&str] = &[
    "build",
    "--release",
    "--target",
    "wasm32-unknown-unknown",
    "--message-format=json-render-diagnostics",
];

pub(crate) fn run(out: &Output, args: &BuildArgs) -> anyhow::Result<()> {
    if !args.module_dir.is_dir() {
        return Err(CliError::MissingModuleDir {
            path: args.module_dir.clone(),
        }
        .into());
    }
    let wasm =
        build(&args.module_dir).doing(|| format!("build module {}", args.module_dir.display()))?;
    // Cargo reports `dir/../target/...` for a target dir configured relative to the module.
    let wasm = wasm.canonicalize().unwrap_or(wasm);
    out.either(&json!({ "wasm": wasm }), |_| wasm.display().to_string())?;
    Ok(())
}

/// A cdylib `.wasm` cargo reported, with the manifest of its package.
struct Artifact {
    manifest_path: PathBuf,
    wasm: PathBuf,
}

fn build(module_dir: &Path) -> Result<PathBuf, BuildError> {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut child = Command::new(&program)
        .args(CARGO_ARGS)
        .current_dir(module_dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|source| BuildError::Spawn {
            program: program.to_string_lossy().into_owned(),
            source,
        })?;
    let stdout = child.stdout.take().expect("stdout is piped");
    let mut artifacts = Vec::new();
    for line in std::io::BufReader::new(stdout).lines() {
        let line = line.map_err(BuildError::ReadOutput)?;
        artifacts.extend(wasm_artifacts(&line));
    }
    let status = child.wait().map_err(BuildError::ReadOutput)?;
    if !status.success() {
        return Err(BuildError::Failed { status });
    }
    choose_artifact(artifacts, module_dir)
}

/// The cdylib `.wasm` files of one `compiler-artifact` message; nothing for other lines.
fn wasm_artifacts(line: &str) -> Vec<Artifact> {
    let Ok(message) = serde_json::from_str::<Value>(line) else {
        return Vec::new();
    };
    if message["reason"] != "compiler-artifact" {
        return Vec::new();
    }
    let is_cdylib = |field: &str| {
        message["target"][field]
            .as_array()
            .is_some_and(|kinds| kinds.iter().any(|kind| kind == "cdylib"))
    };
    if !is_cdylib("kind") && !is_cdylib("crate_types") {
        return Vec::new();
    }
    let manifest_path = PathBuf::from(message["manifest_path"].as_str().unwrap_or_default());
    let filenames = message["filenames"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default();
    filenames
        .iter()
        .filter_map(Value::as_str)
        .filter(|file| file.ends_with(".wasm"))
        .map(|file| Artifact {
            manifest_path: manifest_path.clone(),
            wasm: PathBuf::from(file),
        })
        .collect()
}

/// The only artifact, or the one whose package lives in `module_dir`.
fn choose_artifact(mut artifacts: Vec<Artifact>, module_dir: &Path) -> Result<PathBuf, BuildError> {
    if artifacts.len() > 1 {
        let own_manifest = module_dir
            .canonicalize()
            .map(|dir| dir.join("Cargo.toml"))
            .ok();
        let own: Vec<usize> = (0..artifacts.len())
            .filter(|idx| own_manifest.as_deref() == Some(artifacts[*idx].manifest_path.as_path()))
            .collect();
        if let [idx] = own[..] {
            return Ok(artifacts.swap_remove(idx).wasm);
        }
        return Err(BuildError::Ambiguous {
            paths: artifacts
                .into_iter()
                .map(|artifact| artifact.wasm)
                .collect(),
        });
    }
    artifacts
        .pop()
        .map(|artifact| artifact.wasm)
        .ok_or(BuildError::NoArtifact)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, manifest: &str, files: &[&str]) -> String {
        json!({
            "reason": "compiler-artifact",
            "manifest_path": manifest,
            "target": { "kind": [kind], "crate_types": [kind], "name": "m" },
            "filenames": files,
            "fresh": true,
        })
        .to_string()
    }

    #[test]
    fn only_cdylib_wasm_files_are_artifacts() {
        let found = wasm_artifacts(&message(
            "cdylib",
            "/m/Cargo.toml",
            &["/t/m.wasm", "/t/m.d"],
        ));
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].wasm, PathBuf::from("/t/m.wasm"));
        assert!(wasm_artifacts(&message("lib", "/m/Cargo.toml", &["/t/libm.rlib"])).is_empty());
        assert!(wasm_artifacts(r#"{"reason":"build-finished","success":true}"#).is_empty());
        assert!(wasm_artifacts("not json").is_empty());
    }

    #[test]
    fn a_single_artifact_is_chosen() {
        let artifacts = wasm_artifacts(&message("cdylib", "/m/Cargo.toml", &["/t/m.wasm"]));
        assert_eq!(
            choose_artifact(artifacts, Path::new("/elsewhere")).unwrap(),
            PathBuf::from("/t/m.wasm")
        );
        assert!(matches!(
            choose_artifact(Vec::new(), Path::new("/m")),
            Err(BuildError::NoArtifact)
        ));
    }

    #[test]
    fn several_artifacts_prefer_the_directory_s_package() {
        let dir = tempfile::tempdir().unwrap();
        let own_manifest = dir.path().canonicalize().unwrap().join("Cargo.toml");
        let mut artifacts =
            wasm_artifacts(&message("cdylib", "/other/Cargo.toml", &["/t/other.wasm"]));
        artifacts.extend(wasm_artifacts(&message(
            "cdylib",
            own_manifest.to_str().unwrap(),
            &["/t/own.wasm"],
        )));
        assert_eq!(
            choose_artifact(artifacts, dir.path()).unwrap(),
            PathBuf::from("/t/own.wasm")
        );

        let mut artifacts = wasm_artifacts(&message("cdylib", "/a/Cargo.toml", &["/t/a.wasm"]));
        artifacts.extend(wasm_artifacts(&message(
            "cdylib",
            "/b/Cargo.toml",
            &["/t/b.wasm"],
        )));
        let err = choose_artifact(artifacts, dir.path()).unwrap_err();
        assert!(err.to_string().contains("/t/a.wasm, /t/b.wasm"), "{err}");
    }
}
