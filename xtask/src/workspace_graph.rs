//! The workspace's packages and their path dependencies, read from `cargo metadata --no-deps` of the
//! root workspace and of `modules/`: what each artifact is built from (warmup's manifest inputs) and
//! which package a changed file belongs to (`--affected`). Never a hand-kept list.

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use cargo_metadata::{DependencyKind, Metadata, MetadataCommand, TargetKind};
use xshell::{Shell, cmd};

use crate::{cargo, process};

/// The binaries the smoketests use, each with the package it is built from and whether its
/// dev-dependencies go into it (a test binary).
pub(crate) const BINARY_PACKAGES: &[(&str, &str, bool)] = &[
    ("keel", "keel-cli", false),
    ("keel-standalone", "keel-standalone", false),
    ("smoketests", "smoketests", true),
];

/// Workspace files every root-workspace binary depends on: the lock file, the root manifest
/// (dependency versions and features, profiles) and the cargo configuration.
pub(crate) const WORKSPACE_INPUTS: &[&str] = &["Cargo.lock", "Cargo.toml", ".cargo/config.toml"];

/// Files of the modules workspace every module depends on.
pub(crate) const MODULES_WORKSPACE_INPUTS: &[&str] =
    &["modules/Cargo.toml", "modules/Cargo.lock", "modules/.cargo"];

/// One package of either workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct PackageNode {
    /// The package name.
    pub(crate) name: String,
    /// Its directory, relative to the workspace root.
    pub(crate) dir: PathBuf,
    /// Whether it has a build script.
    pub(crate) build_script: bool,
    /// Whether it is a member of the `modules/` workspace (a precompiled module).
    pub(crate) module: bool,
    /// Path dependencies (directories) that go into the package's own targets.
    deps: BTreeSet<PathBuf>,
    /// Path dev-dependencies (directories): its tests only.
    dev_deps: BTreeSet<PathBuf>,
}

/// Both workspaces' packages, by directory.
#[derive(Debug, Clone, Default)]
pub(crate) struct WorkspaceGraph {
    packages: BTreeMap<PathBuf, PackageNode>,
}

impl WorkspaceGraph {
    /// Reads both workspaces with `cargo metadata --no-deps` (no resolution, no network).
    pub(crate) fn load(sh: &Shell, root: &Path) -> anyhow::Result<WorkspaceGraph> {
        let workspace = read_metadata(sh, &root.join("Cargo.toml"))?;
        let modules = read_metadata(sh, &root.join("modules/Cargo.toml"))?;
        WorkspaceGraph::from_metadata(root, &workspace, &modules)
    }

    /// The graph of the root workspace's and the modules workspace's members.
    pub(crate) fn from_metadata(
        root: &Path,
        workspace: &Metadata,
        modules: &Metadata,
    ) -> anyhow::Result<WorkspaceGraph> {
        let mut graph = WorkspaceGraph::default();
        for (metadata, module) in [(workspace, false), (modules, true)] {
            for package in metadata.workspace_packages() {
                let Some(dir) = package.manifest_path.parent() else {
                    bail!("package {} has no directory", package.name);
                };
                let relative = |path: &Path| -> PathBuf {
                    let path = normalize(path);
                    path.strip_prefix(root)
                        .map_or(path.clone(), Path::to_path_buf)
                };
                let mut node = PackageNode {
                    name: package.name.to_string(),
                    dir: relative(dir.as_std_path()),
                    build_script: package
                        .targets
                        .iter()
                        .any(|target| target.kind.contains(&TargetKind::CustomBuild)),
                    module,
                    deps: BTreeSet::new(),
                    dev_deps: BTreeSet::new(),
                };
                for dependency in &package.dependencies {
                    let Some(path) = &dependency.path else {
                        continue;
                    };
                    let path = relative(path.as_std_path());
                    match dependency.kind {
                        DependencyKind::Development => node.dev_deps.insert(path),
                        _ => node.deps.insert(path),
                    };
                }
                graph.packages.insert(node.dir.clone(), node);
            }
        }
        Ok(graph)
    }

    /// A graph from `(name, dir, normal path dependencies, is a module)`, for tests.
    #[cfg(test)]
    pub(crate) fn for_tests(packages: &[(&str, &str, &[&str], bool)]) -> WorkspaceGraph {
        let mut graph = WorkspaceGraph::default();
        for (name, dir, deps, module) in packages {
            let node = PackageNode {
                name: (*name).to_owned(),
                dir: PathBuf::from(dir),
                build_script: false,
                module: *module,
                deps: deps.iter().map(PathBuf::from).collect(),
                dev_deps: BTreeSet::new(),
            };
            graph.packages.insert(node.dir.clone(), node);
        }
        graph
    }

    /// The package named `name`.
    pub(crate) fn package(&self, name: &str) -> Option<&PackageNode> {
        self.packages.values().find(|it| it.name == name)
    }

    /// The package whose directory holds `file` (relative to the root); the innermost one wins.
    pub(crate) fn owner(&self, file: &Path) -> Option<&PackageNode> {
        self.packages
            .values()
            .filter(|it| file.starts_with(&it.dir))
            .max_by_key(|it| it.dir.components().count())
    }

    /// The directories of `dir`'s package and of every path dependency it reaches, itself included;
    /// the first package's dev-dependencies count when `with_dev` (a test binary).
    pub(crate) fn closure(&self, dir: &Path, with_dev: bool) -> BTreeSet<PathBuf> {
        let mut seen = BTreeSet::new();
        let mut stack = vec![dir.to_path_buf()];
        if with_dev && let Some(node) = self.packages.get(dir) {
            stack.extend(node.dev_deps.iter().cloned());
        }
        while let Some(next) = stack.pop() {
            if !seen.insert(next.clone()) {
                continue;
            }
            if let Some(node) = self.packages.get(&next) {
                stack.extend(node.deps.iter().cloned());
            }
        }
        seen
    }

    /// The package directories binary `name` ([`BINARY_PACKAGES`]) is built from.
    pub(crate) fn binary_closure(&self, name: &str) -> anyhow::Result<BTreeSet<PathBuf>> {
        let Some((_, package, with_dev)) = BINARY_PACKAGES.iter().find(|it| it.0 == name) else {
            bail!("no package builds binary {name}");
        };
        let Some(node) = self.package(package) else {
            bail!("`cargo metadata` lists no package {package} (binary {name})");
        };
        Ok(self.closure(&node.dir, *with_dev))
    }

    /// The inputs whose hashes decide whether binary `name` is fresh: its packages and the
    /// workspace files.
    pub(crate) fn binary_inputs(&self, name: &str) -> anyhow::Result<Vec<PathBuf>> {
        let mut inputs: Vec<PathBuf> = self.binary_closure(name)?.into_iter().collect();
        inputs.extend(WORKSPACE_INPUTS.iter().map(PathBuf::from));
        Ok(inputs)
    }

    /// The precompiled modules: the member directory names of `modules/`.
    pub(crate) fn module_dirs(&self) -> Vec<String> {
        self.packages
            .values()
            .filter(|it| it.module)
            .filter_map(|it| it.dir.file_name()?.to_str().map(str::to_owned))
            .collect()
    }

    /// The package directories module `dir` (a `modules/` member) is built from.
    pub(crate) fn module_closure(&self, dir: &str) -> BTreeSet<PathBuf> {
        self.closure(&Path::new("modules").join(dir), false)
    }

    /// The inputs whose hashes decide whether module `dir` is fresh.
    pub(crate) fn module_inputs(&self, dir: &str) -> Vec<PathBuf> {
        let mut inputs: Vec<PathBuf> = self.module_closure(dir).into_iter().collect();
        inputs.extend(MODULES_WORKSPACE_INPUTS.iter().map(PathBuf::from));
        inputs
    }
}

/// `cargo metadata --no-deps` of the workspace whose manifest is `manifest` (no resolution, no
/// network): the one place the xtask reads it.
pub(crate) fn read_metadata(sh: &Shell, manifest: &Path) -> anyhow::Result<Metadata> {
    let cargo = cargo();
    let json = process::read(cmd!(
        sh,
        "{cargo} metadata --no-deps --format-version 1 --manifest-path {manifest}"
    ))
    .with_context(|| format!("read {} with `cargo metadata`", manifest.display()))?;
    MetadataCommand::parse(json)
        .with_context(|| format!("parse `cargo metadata` of {}", manifest.display()))
}

/// `path` with `.` and `..` components resolved lexically (cargo reports `crates/x/../y` paths).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            std::path::Component::ParentDir => {
                out.pop();
            }
            std::path::Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One package of a fixture: `(name, dir, [(dep dir, kind)], build script)`.
    type Fixture<'a> = (&'a str, &'a str, &'a [(&'a str, &'a str)], bool);

    /// A `cargo metadata --no-deps` document of `packages`.
    fn metadata(root: &str, packages: &[Fixture<'_>]) -> Metadata {
        let packages: Vec<serde_json::Value> = packages
            .iter()
            .map(|(name, dir, deps, build)| {
                let mut targets = vec![serde_json::json!({
                    "kind": ["lib"], "crate_types": ["lib"], "name": name, "src_path": format!("{root}/{dir}/src/lib.rs"),
                    "edition": "2024", "doc": true, "doctest": true, "test": true
                })];
                if *build {
                    targets.push(serde_json::json!({
                        "kind": ["custom-build"], "crate_types": ["bin"], "name": "build-script-build",
                        "src_path": format!("{root}/{dir}/build.rs"), "edition": "2024", "doc": false, "doctest": false, "test": false
                    }));
                }
                serde_json::json!({
                    "name": name, "version": "0.1.0", "id": format!("path+file://{root}/{dir}#0.1.0"),
                    "license": null, "license_file": null, "description": null, "source": null,
                    "dependencies": deps.iter().map(|(path, kind)| serde_json::json!({
                        "name": "x", "source": null, "req": "*", "kind": if *kind == "normal" { serde_json::Value::Null } else { serde_json::json!(kind) },
                        "rename": null, "optional": false, "uses_default_features": true, "features": [],
                        "target": null, "registry": null, "path": format!("{root}/{path}")
                    })).collect::<Vec<_>>(),
                    "targets": targets, "features": {}, "manifest_path": format!("{root}/{dir}/Cargo.toml"),
                    "metadata": null, "publish": null, "authors": [], "categories": [], "keywords": [],
                    "readme": null, "repository": null, "homepage": null, "documentation": null,
                    "edition": "2024", "links": null, "default_run": null, "rust_version": null
                })
            })
            .collect();
        let members: Vec<serde_json::Value> = packages.iter().map(|it| it["id"].clone()).collect();
        serde_json::from_value(serde_json::json!({
            "packages": packages, "workspace_members": members, "workspace_default_members": members,
            "resolve": null, "target_directory": format!("{root}/target"), "version": 1,
            "workspace_root": root, "metadata": null
        }))
        .unwrap()
    }

    fn graph() -> WorkspaceGraph {
        let root = "/r";
        let workspace = metadata(
            root,
            &[
                ("keel-api", "crates/keel-api", &[], false),
                (
                    "keel-module",
                    "crates/keel-module",
                    &[("crates/keel-api", "normal")],
                    false,
                ),
                (
                    "keel-client",
                    "crates/keel-client",
                    &[("crates/keel-api", "normal")],
                    false,
                ),
                (
                    "keel-cli",
                    "crates/keel-cli",
                    &[("crates/keel-client", "normal")],
                    false,
                ),
                (
                    "keel-host",
                    "crates/keel-host",
                    &[("crates/keel-api", "normal")],
                    true,
                ),
                (
                    "keel-standalone",
                    "crates/keel-standalone",
                    &[
                        ("crates/keel-host", "normal"),
                        ("crates/keel-client", "dev"),
                    ],
                    false,
                ),
                ("smoketests", "tests", &[("crates/keel-cli", "dev")], false),
            ],
        );
        let modules = metadata(
            root,
            &[(
                "smoketest-module-bank",
                "modules/bank",
                &[("modules/../crates/keel-module", "normal")],
                false,
            )],
        );
        WorkspaceGraph::from_metadata(Path::new(root), &workspace, &modules).unwrap()
    }

    fn dirs(items: &[&str]) -> BTreeSet<PathBuf> {
        items.iter().map(PathBuf::from).collect()
    }

    #[test]
    fn a_binary_is_built_from_its_path_dependencies_not_its_dev_dependencies() {
        let graph = graph();
        assert_eq!(
            graph.binary_closure("keel-standalone").unwrap(),
            dirs(&[
                "crates/keel-standalone",
                "crates/keel-host",
                "crates/keel-api"
            ])
        );
        assert_eq!(
            graph.binary_closure("keel").unwrap(),
            dirs(&["crates/keel-cli", "crates/keel-client", "crates/keel-api"])
        );
        // A test binary takes its own dev-dependencies.
        assert_eq!(
            graph.binary_closure("smoketests").unwrap(),
            dirs(&[
                "tests",
                "crates/keel-cli",
                "crates/keel-client",
                "crates/keel-api"
            ])
        );
        let inputs = graph.binary_inputs("keel").unwrap();
        for file in WORKSPACE_INPUTS {
            assert!(inputs.contains(&PathBuf::from(file)), "{inputs:?}");
        }
    }

    #[test]
    fn a_new_path_dependency_becomes_an_input() {
        // The bug a hand-kept list had: keel-cli gains a dependency, keel must go stale with it.
        let root = "/r";
        let workspace = metadata(
            root,
            &[
                (
                    "keel-cli",
                    "crates/keel-cli",
                    &[("crates/keel-new", "normal")],
                    false,
                ),
                ("keel-new", "crates/keel-new", &[], false),
            ],
        );
        let graph =
            WorkspaceGraph::from_metadata(Path::new(root), &workspace, &metadata(root, &[]))
                .unwrap();
        assert!(
            graph
                .binary_inputs("keel")
                .unwrap()
                .contains(&PathBuf::from("crates/keel-new"))
        );
    }

    #[test]
    fn modules_reach_the_sdk_across_workspaces() {
        let graph = graph();
        assert_eq!(graph.module_dirs(), ["bank"]);
        assert_eq!(
            graph.module_closure("bank"),
            dirs(&["modules/bank", "crates/keel-module", "crates/keel-api"])
        );
        assert!(
            graph
                .module_inputs("bank")
                .contains(&PathBuf::from("modules/Cargo.lock"))
        );
    }

    #[test]
    fn a_file_belongs_to_the_innermost_package() {
        let graph = graph();
        assert_eq!(
            graph
                .owner(Path::new("crates/keel-host/src/sql/mod.rs"))
                .unwrap()
                .name,
            "keel-host"
        );
        assert_eq!(
            graph.owner(Path::new("tests/src/sql.rs")).unwrap().name,
            "smoketests"
        );
        assert!(graph.owner(Path::new("README.md")).is_none());
        assert!(graph.package("keel-host").unwrap().build_script);
    }
}
