//! The one list of variables `cargo run` and `cargo test` set for the crate they run, which a
//! nested cargo must not see.
//!
//! They (`CARGO_PKG_*`, `CARGO_MANIFEST_DIR`, the target dirs prepended to `LD_LIBRARY_PATH`, ...)
//! describe the running crate; passed on, they change what build scripts and `env!` see, so a
//! nested build gets other fingerprints than the same build run by hand, and rebuilds.
//! `CARGO_TARGET_DIR` goes too: artifact paths are fixed under `target/`.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

/// Removes from `command`'s environment every variable [`is_cargo_run_variable`] names, and the
/// `LD_LIBRARY_PATH` entries cargo prepended (under `<workspace_root>/target` or a toolchain).
pub fn strip_cargo_run_variables(command: &mut Command, workspace_root: &Path) {
    for (key, value) in std::env::vars_os() {
        let Some(key_str) = key.to_str() else {
            continue;
        };
        if is_cargo_run_variable(key_str) {
            command.env_remove(&key);
        } else if key_str == "LD_LIBRARY_PATH" {
            match strip_target_paths(&value, workspace_root) {
                Some(cleaned) => command.env(&key, cleaned),
                None => command.env_remove(&key),
            };
        }
    }
}

/// The variables `cargo xtask qa` sets so that its builds lint the workspace while they compile it:
/// the rustc wrapper (`clippy-driver`) and the arguments it hands clippy.
pub const LINT_WRAPPER_VARIABLES: [&str; 2] = ["RUSTC_WORKSPACE_WRAPPER", "CLIPPY_ARGS"];

/// Removes [`LINT_WRAPPER_VARIABLES`] from `command`'s environment: a cargo building code that is
/// not the workspace's (a test's module) must not lint it with the workspace's rules.
pub fn strip_lint_wrapper(command: &mut Command) {
    for key in LINT_WRAPPER_VARIABLES {
        command.env_remove(key);
    }
}

/// The `CARGO_PROFILE_*` variables of this process's environment: profile overrides meant for
/// the workspace's own builds (the scratch copy of `cargo xtask strength --mutants` builds with
/// some), which no build of a module may see: the modules' profile is
/// `modules/.cargo/config.toml`'s, and environment variables would override it.
pub fn profile_override_variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(key, _)| key.into_string().ok())
        .filter(|key| key.starts_with("CARGO_PROFILE_"))
        .collect()
}

/// Removes [`profile_override_variables`] from `command`'s environment.
pub fn strip_profile_overrides(command: &mut Command) {
    for key in profile_override_variables() {
        command.env_remove(key);
    }
}

/// Whether `key` is set by `cargo run` / `cargo test` for the crate it runs.
///
/// `CARGO` (which cargo) and `CARGO_HOME` are kept: nested builds should use the same ones.
pub fn is_cargo_run_variable(key: &str) -> bool {
    key.starts_with("CARGO_PKG_")
        || key.starts_with("CARGO_BIN_EXE_")
        || matches!(
            key,
            "CARGO_MANIFEST_DIR"
                | "CARGO_MANIFEST_PATH"
                | "CARGO_MANIFEST_LINKS"
                | "CARGO_CRATE_NAME"
                | "CARGO_BIN_NAME"
                | "CARGO_PRIMARY_PACKAGE"
                | "CARGO_RUSTC_CURRENT_DIR"
                | "CARGO_TARGET_TMPDIR"
                | "CARGO_TARGET_DIR"
                | "CARGO_BUILD_TARGET_DIR"
                | "OUT_DIR"
        )
}

/// `value` without the entries under `<root>/target` or in a rustup toolchain; `None` if nothing is left.
fn strip_target_paths(value: &OsStr, root: &Path) -> Option<OsString> {
    let target = root.join("target");
    let kept: Vec<PathBuf> = std::env::split_paths(value)
        .filter(|path| {
            !path.starts_with(&target)
                && !path.components().any(|it| it.as_os_str() == "toolchains")
        })
        .filter(|path| !path.as_os_str().is_empty())
        .collect();
    if kept.is_empty() {
        None
    } else {
        std::env::join_paths(kept).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_run_variables_are_recognised() {
        for key in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_CRATE_NAME",
            "CARGO_PRIMARY_PACKAGE",
            "CARGO_BIN_EXE_keel-standalone",
            "CARGO_TARGET_DIR",
            "OUT_DIR",
        ] {
            assert!(is_cargo_run_variable(key), "{key}");
        }
        for key in ["CARGO_HOME", "CARGO", "PATH", "RUSTFLAGS"] {
            assert!(!is_cargo_run_variable(key), "{key}");
        }
    }

    #[test]
    fn ld_library_path_loses_only_cargo_run_entries() {
        let root = Path::new("/repo");
        let value = std::env::join_paths([
            "/repo/target/debug/deps",
            "/home/u/.rustup/toolchains/x/lib",
            "/opt/lib",
        ])
        .unwrap();
        assert_eq!(
            strip_target_paths(&value, root),
            Some(OsString::from("/opt/lib"))
        );
        let only_cargo = std::env::join_paths(["/repo/target/debug"]).unwrap();
        assert_eq!(strip_target_paths(&only_cargo, root), None);
    }

    #[test]
    fn a_stripped_command_does_not_pass_them_on() {
        let mut command = Command::new("true");
        strip_cargo_run_variables(&mut command, Path::new("/repo"));
        let removed: Vec<&OsStr> = command
            .get_envs()
            .filter(|(_, value)| value.is_none())
            .map(|(key, _)| key)
            .collect();
        // `cargo test` sets CARGO_PKG_NAME and CARGO_MANIFEST_DIR for this very binary.
        assert!(
            removed.contains(&OsStr::new("CARGO_PKG_NAME")),
            "{removed:?}"
        );
        assert!(
            removed.contains(&OsStr::new("CARGO_MANIFEST_DIR")),
            "{removed:?}"
        );
    }
}
