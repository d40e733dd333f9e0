//! What `cargo xtask strength` measures: the `src/` files of the server's crates (keel-host,
//! keel-standalone, keel-api) and of the CLI's (keel-client, keel-cli), each crate's directory
//! as `cargo metadata` says.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use cargo_metadata::Metadata;
use xshell::Shell;

use crate::{coverage, workspace_graph};

/// The measured packages in report order, and whether each is part of the server (its figures
/// are the server's line coverage).
const MEASURED: &[(&str, bool)] = &[
    ("keel-host", true),
    ("keel-standalone", true),
    ("keel-api", true),
    ("keel-client", false),
    ("keel-cli", false),
];

/// One measured crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MeasuredCrate {
    /// The package name.
    pub(crate) name: String,
    /// Whether it is part of the server.
    pub(crate) server: bool,
    /// Its `src/` directory, relative to the workspace root.
    pub(crate) src: PathBuf,
}

/// The measured crates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Scope {
    /// In report order.
    pub(crate) crates: Vec<MeasuredCrate>,
}

impl Scope {
    /// The measured crates of the workspace at `root`.
    pub(crate) fn load(sh: &Shell, root: &Path) -> anyhow::Result<Scope> {
        let metadata = workspace_graph::read_metadata(sh, &root.join("Cargo.toml"))?;
        Scope::from_metadata(&metadata, root)
    }

    /// The measured crates as `metadata` (of the workspace at `root`) places them.
    fn from_metadata(metadata: &Metadata, root: &Path) -> anyhow::Result<Scope> {
        let packages = metadata.workspace_packages();
        // Cargo names directories as the file system spells them.
        let roots = coverage::workspace_roots(root);
        let mut crates = Vec::new();
        for (name, server) in MEASURED {
            let Some(package) = packages.iter().find(|it| it.name.as_str() == *name) else {
                bail!(
                    "the workspace has no package `{name}`; update the measured crates in xtask/src/strength/scope.rs"
                );
            };
            let dir = package
                .manifest_path
                .parent()
                .expect("a manifest is in a directory")
                .as_std_path();
            let dir = roots
                .iter()
                .find_map(|root| dir.strip_prefix(root).ok())
                .with_context(|| {
                    format!(
                        "package `{name}` lies at {}, outside the workspace root {}",
                        dir.display(),
                        root.display()
                    )
                })?;
            crates.push(MeasuredCrate {
                name: (*name).to_owned(),
                server: *server,
                src: dir.join("src"),
            });
        }
        Ok(Scope { crates })
    }

    /// The crate whose `src/` holds `path` (relative to the workspace root), if it is measured.
    pub(crate) fn crate_of(&self, path: &Path) -> Option<&MeasuredCrate> {
        self.crates.iter().find(|it| path.starts_with(&it.src))
    }

    /// Every `.rs` file under the measured `src/` directories of the workspace at `root`,
    /// relative to it, sorted.
    pub(crate) fn source_files(&self, root: &Path) -> anyhow::Result<Vec<PathBuf>> {
        let mut files = Vec::new();
        for measured in &self.crates {
            collect_rust_files(root, &measured.src, &mut files)?;
        }
        files.sort();
        Ok(files)
    }
}

/// Adds the `.rs` files under `dir` (relative to `root`) to `files`, relative to `root`.
fn collect_rust_files(root: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let absolute = root.join(dir);
    let entries =
        fs::read_dir(&absolute).with_context(|| format!("list {}", absolute.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("list {}", absolute.display()))?;
        let path = dir.join(entry.file_name());
        let kind = entry
            .file_type()
            .with_context(|| format!("read the type of {}", path.display()))?;
        if kind.is_dir() {
            collect_rust_files(root, &path, files)?;
        } else if path.extension().is_some_and(|it| it == "rs") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project_root;

    fn scope() -> Scope {
        let sh = Shell::new().unwrap();
        let root = project_root();
        sh.change_dir(&root);
        Scope::load(&sh, &root).unwrap()
    }

    #[test]
    fn the_measured_crates_are_found_in_the_workspace() {
        let scope = scope();
        let found: Vec<(&str, bool, &Path)> = scope
            .crates
            .iter()
            .map(|it| (it.name.as_str(), it.server, it.src.as_path()))
            .collect();
        assert_eq!(
            found,
            [
                ("keel-host", true, Path::new("crates/keel-host/src")),
                (
                    "keel-standalone",
                    true,
                    Path::new("crates/keel-standalone/src")
                ),
                ("keel-api", true, Path::new("crates/keel-api/src")),
                ("keel-client", false, Path::new("crates/keel-client/src")),
                ("keel-cli", false, Path::new("crates/keel-cli/src")),
            ]
        );
    }

    #[test]
    fn files_belong_to_the_crate_whose_src_holds_them() {
        let scope = scope();
        let crate_of = |path: &str| scope.crate_of(Path::new(path)).map(|it| it.name.as_str());
        assert_eq!(
            crate_of("crates/keel-host/src/sql/mod.rs"),
            Some("keel-host")
        );
        assert_eq!(crate_of("crates/keel-cli/src/main.rs"), Some("keel-cli"));
        assert_eq!(crate_of("crates/keel-host/tests/it/main.rs"), None);
        assert_eq!(crate_of("crates/keel-process/src/lib.rs"), None);
        let files = scope.source_files(&project_root()).unwrap();
        assert!(files.contains(&PathBuf::from("crates/keel-host/src/sql/mod.rs")));
        assert!(files.iter().all(|it| scope.crate_of(it).is_some()));
        assert!(files.is_sorted());
    }
}
