//! `keel build <module-dir>`: runs cargo for wasm32 in the module's directory and prints the
//! absolute path of the cdylib `.wasm` it produced.
//!
//! Cargo's rendered diagnostics go straight to stderr; its JSON messages on stdout tell which
//! artifacts it built, so no target-directory layout is guessed.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cargo_metadata::{CrateType, Message};
use keel_cli::{BuildError, CliError};
use serde_json::json;

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
    for message in Message::parse_stream(std::io::BufReader::new(stdout)) {
        if let Message::CompilerArtifact(artifact) = message.map_err(BuildError::ReadOutput)? {
            artifacts.extend(wasm_artifacts(artifact));
        }
    }
    let status = child.wait().map_err(BuildError::ReadOutput)?;
    if !status.success() {
        return Err(BuildError::Failed { status });
    }
    choose_artifact(artifacts, module_dir)
}

/// The `.wasm` files of one `compiler-artifact` message, if its target is a cdylib.
fn wasm_artifacts(artifact: cargo_metadata::Artifact) -> Vec<Artifact> {
    let is_cdylib =
        artifact.target.is_cdylib() || artifact.target.crate_types.contains(&CrateType::CDyLib);
    if !is_cdylib {
        return Vec::new();
    }
    let manifest_path = artifact.manifest_path.into_std_path_buf();
    artifact
        .filenames
        .into_iter()
        .filter(|file| file.extension() == Some("wasm"))
        .map(|file| Artifact {
            manifest_path: manifest_path.clone(),
            wasm: file.into_std_path_buf(),
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

    /// The `compiler-artifact` message cargo prints for a target of `kind`.
    fn message(kind: &str, manifest: &str, files: &[&str]) -> String {
        json!({
            "reason": "compiler-artifact",
            "package_id": "path+file:///m#0.1.0",
            "manifest_path": manifest,
            "target": {
                "kind": [kind],
                "crate_types": [kind],
                "name": "m",
                "src_path": "/m/src/lib.rs",
                "edition": "2024",
                "doc": true,
                "doctest": false,
                "test": true
            },
            "profile": {
                "opt_level": "s",
                "debuginfo": 0,
                "debug_assertions": false,
                "overflow_checks": false,
                "test": false
            },
            "features": [],
            "filenames": files,
            "executable": null,
            "fresh": true,
        })
        .to_string()
    }

    /// The wasm artifacts of one line of cargo's output.
    fn wasm_artifacts(line: &str) -> Vec<Artifact> {
        match serde_json::from_str::<Message>(line) {
            Ok(Message::CompilerArtifact(artifact)) => super::wasm_artifacts(artifact),
            _ => Vec::new(),
        }
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
