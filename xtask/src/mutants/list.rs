//! The mutants of a file set, as cargo-mutants makes them (`cargo mutants --list --json`, whose
//! entries carry the diff), with cargo-mutants installed first when it is missing.

use std::path::Path;

use anyhow::{Context, ensure};
use serde::Deserialize;
use xshell::{Shell, cmd};

use crate::{cargo, process};

/// The cargo-mutants release the command installs (its JSON listing carries diffs since 26.2).
pub(crate) const CARGO_MUTANTS_VERSION: &str = "26.2.0";

/// One mutant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct Mutant {
    /// cargo-mutants' name for it (file, line, column and what is replaced).
    pub(crate) name: String,
    /// The mutated file, relative to the workspace root.
    pub(crate) file: String,
    /// The unified diff that applies it.
    pub(crate) diff: String,
}

/// Every mutant of `files`, listed in the workspace at `dir`.
pub(crate) fn mutants(sh: &Shell, dir: &Path, files: &[String]) -> anyhow::Result<Vec<Mutant>> {
    ensure_installed(sh)?;
    let cargo = cargo();
    let file_args: Vec<String> = files
        .iter()
        .flat_map(|it| ["--file".to_owned(), it.clone()])
        .collect();
    let _dir = sh.push_dir(dir);
    let json = process::read(cmd!(sh, "{cargo} mutants --list --json {file_args...}"))
        .context("list the mutants with `cargo mutants --list --json`")?;
    let mutants: Vec<Mutant> =
        serde_json::from_str(&json).context("parse cargo-mutants' JSON listing")?;
    for file in files {
        ensure!(
            mutants.iter().any(|it| &it.file == file),
            "cargo-mutants made no mutant of {file}; is the path relative to the workspace root and a source file of a package?"
        );
    }
    Ok(mutants)
}

/// Installs cargo-mutants [`CARGO_MUTANTS_VERSION`] unless `cargo mutants --version` names it.
fn ensure_installed(sh: &Shell) -> anyhow::Result<()> {
    let cargo = cargo();
    let installed = process::read(cmd!(sh, "{cargo} mutants --version").ignore_stderr())
        .is_ok_and(|version| version.trim().ends_with(CARGO_MUTANTS_VERSION));
    if installed {
        return Ok(());
    }
    eprintln!(
        "==> strength: installing cargo-mutants {CARGO_MUTANTS_VERSION} (once; a few minutes)"
    );
    process::run(cmd!(
        sh,
        "{cargo} install --locked cargo-mutants --version {CARGO_MUTANTS_VERSION}"
    ))
    .context("install cargo-mutants with `cargo install`")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listing_names_each_mutant_with_its_diff() {
        let json = r#"[{"name": "crates/keel-host/src/guard.rs:226:5: replace is_internal -> bool with true",
            "package": "keel-host", "file": "crates/keel-host/src/guard.rs", "replacement": "true",
            "genre": "FnValue", "diff": "--- crates/keel-host/src/guard.rs\n+++ replace\n@@ -1 +1 @@\n-a\n+b\n"}]"#;
        let mutants: Vec<Mutant> = serde_json::from_str(json).unwrap();
        assert_eq!(mutants[0].file, "crates/keel-host/src/guard.rs");
        assert!(mutants[0].diff.starts_with("--- crates/"));
    }
}
