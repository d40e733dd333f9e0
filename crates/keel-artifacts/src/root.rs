//! Finding the workspace root and the well-known paths under `target/`.

use std::{
    env, fs,
    path::{Path, PathBuf},
};

/// The workspace root: `$KEEL_WORKSPACE_ROOT` ([`crate::env::WORKSPACE_ROOT`]) when set, else the first ancestor of the current
/// directory, then of the current executable, that holds a `Cargo.toml` with `[workspace]` and a `modules` directory.
pub fn workspace_root() -> Option<PathBuf> {
    if let Some(root) = env::var_os(crate::env::WORKSPACE_ROOT).filter(|it| !it.is_empty()) {
        return Some(PathBuf::from(root));
    }
    let current_dir = env::current_dir().ok();
    let current_exe = env::current_exe().ok();
    [current_dir, current_exe]
        .into_iter()
        .flatten()
        .find_map(|start| {
            start
                .ancestors()
                .find(|dir| is_workspace_root(dir))
                .map(Path::to_path_buf)
        })
}

/// `target/smoketest` under `root`: manifest, timings, results and reports.
pub fn smoketest_dir(root: &Path) -> PathBuf {
    root.join("target").join("smoketest")
}

/// The wasm built from module directory `dir_name` under `modules/`, relative to the workspace root.
///
/// Package `smoketest-module-foo-bar` in `modules/foo-bar` becomes
/// `target/smoketest-modules/wasm32-unknown-unknown/release/smoketest_module_foo_bar.wasm`.
pub fn module_wasm_path(dir_name: &str) -> PathBuf {
    let file_name = format!("smoketest_module_{}.wasm", dir_name.replace('-', "_"));
    [
        "target",
        "smoketest-modules",
        "wasm32-unknown-unknown",
        "release",
        &file_name,
    ]
    .iter()
    .collect()
}

fn is_workspace_root(dir: &Path) -> bool {
    dir.join("modules").is_dir()
        && fs::read_to_string(dir.join("Cargo.toml")).is_ok_and(|text| text.contains("[workspace]"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn module_wasm_path_uses_the_package_crate_name() {
        assert_eq!(
            module_wasm_path("foo-bar"),
            PathBuf::from(
                "target/smoketest-modules/wasm32-unknown-unknown/release/smoketest_module_foo_bar.wasm"
            )
        );
    }

    #[test]
    fn workspace_root_is_found_from_this_crate() {
        let root = workspace_root().unwrap();
        assert!(
            root.join("crates/keel-artifacts").is_dir(),
            "{}",
            root.display()
        );
    }
}
