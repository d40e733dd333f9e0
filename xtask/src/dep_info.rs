//! Which workspace source files a build compiled, read from the dep-info (`.d`) files rustc and cargo
//! write beside each artifact: the compiler's own account, file by file, of what an artifact is made
//! of. `--affected` uses it to tell a file a binary is built from from a file it is not (the CLI's
//! output code is in `keel`, not in the smoketests binary that links the CLI's library).

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
};

/// The workspace files (relative to `root`) named by the dep-info of `artifacts`; an artifact without
/// dep-info adds nothing.
pub(crate) fn sources(root: &Path, artifacts: &[PathBuf]) -> BTreeSet<PathBuf> {
    artifacts
        .iter()
        .filter_map(|artifact| dep_info_path(artifact))
        .filter_map(|path| fs::read_to_string(path).ok())
        .flat_map(|text| parse(&text))
        // rustc names a workspace member's files relative to the root (cargo runs it there), cargo's
        // own uplifted dep-info absolutely.
        .filter_map(|file| match file.strip_prefix(root) {
            Ok(relative) => Some(relative.to_path_buf()),
            Err(_) if file.is_relative() => Some(file),
            Err(_) => None,
        })
        .filter(|file| !file.starts_with("target"))
        .collect()
}

/// The dep-info beside `artifact`: `x.d` for an uplifted `x` or `x.ext`, `name-hash.d` for
/// `deps/libname-hash.rlib`.
fn dep_info_path(artifact: &Path) -> Option<PathBuf> {
    let beside = artifact.with_extension("d");
    if beside.is_file() {
        return Some(beside);
    }
    let stem = artifact.file_stem()?.to_str()?;
    let unprefixed = artifact.with_file_name(format!("{}.d", stem.strip_prefix("lib")?));
    unprefixed.is_file().then_some(unprefixed)
}

/// The prerequisites of the first rule of a make-style dep-info file (`out: a b\ c`), unescaped.
fn parse(text: &str) -> Vec<PathBuf> {
    let Some(rule) = text
        .lines()
        .find(|line| !line.starts_with('#') && line.contains(": "))
    else {
        return Vec::new();
    };
    let (_, prerequisites) = rule.split_once(": ").expect("checked above");
    let mut files = Vec::new();
    let mut current = String::new();
    let mut chars = prerequisites.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => current.extend(chars.next()),
            ' ' => {
                if !current.is_empty() {
                    files.push(PathBuf::from(std::mem::take(&mut current)));
                }
            }
            _ => current.push(c),
        }
    }
    if !current.is_empty() {
        files.push(PathBuf::from(current));
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_rule_names_the_sources_with_escaped_spaces() {
        let text = "/r/target/release/keel: /r/crates/keel-cli/src/main.rs /r/crates/my\\ dir/a.rs\n\n/r/crates/keel-cli/src/main.rs:\n# env-dep:X=1\n";
        assert_eq!(
            parse(text),
            [
                PathBuf::from("/r/crates/keel-cli/src/main.rs"),
                PathBuf::from("/r/crates/my dir/a.rs")
            ]
        );
        assert!(parse("").is_empty());
    }

    #[test]
    fn uplifted_and_deps_artifacts_find_their_dep_info_and_keep_workspace_files() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let deps = root.join("target/release/deps");
        fs::create_dir_all(&deps).unwrap();
        let main = root.join("crates/keel-cli/src/main.rs");
        let lib = root.join("crates/keel-cli/src/lib.rs");
        fs::write(
            root.join("target/release/keel.d"),
            format!(
                "{}: {} /home/u/.cargo/registry/x.rs\n",
                root.join("target/release/keel").display(),
                main.display()
            ),
        )
        .unwrap();
        fs::write(
            deps.join("keel_cli-abc.d"),
            format!(
                "x: {} crates/keel-cli/src/errors.rs {}\n",
                lib.display(),
                root.join("target/release/build/out.rs").display()
            ),
        )
        .unwrap();
        let found = sources(
            root,
            &[
                root.join("target/release/keel"),
                deps.join("libkeel_cli-abc.rlib"),
                deps.join("libnothing-abc.rlib"),
            ],
        );
        assert_eq!(
            found,
            BTreeSet::from([
                PathBuf::from("crates/keel-cli/src/main.rs"),
                PathBuf::from("crates/keel-cli/src/lib.rs"),
                PathBuf::from("crates/keel-cli/src/errors.rs")
            ])
        );
    }
}
