//! `cargo xtask tidy`: hygiene rules checked over the tree, also run as a `#[test]`.
//!
//! Every `.rs` file under `crates/`, `xtask/`, `tests/` and `modules/` opens with a `//!` line and has no
//! trailing whitespace, shell-string spawning, debugging macros or ignored tests; every crate directory is
//! named in ARCHITECTURE.md. Each problem names the file, the line and the fix.
//! The needles below are assembled with `concat!` so this file does not trip its own checks.

use std::{
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use xshell::Shell;

use crate::{flags, project_root};

pub(crate) mod features;
pub(crate) mod profiles;

/// Directories whose Rust files are checked.
const CHECKED_DIRS: &[&str] = &["crates", "xtask", "tests", "modules"];

/// Forbidden text, with the fix to print.
const FORBIDDEN: &[(&str, &str)] = &[
    (
        concat!("sh", " -c"),
        "spawn the program with an argument list (xshell `cmd!`), never through a shell string",
    ),
    (
        concat!("\"sh\", ", "\"-c\""),
        "spawn the program with an argument list (xshell `cmd!`), never through a shell string",
    ),
    (concat!("dbg", "!("), "remove the debugging macro"),
    (concat!("todo", "!("), "finish the code or return an error"),
    (
        concat!("#[", "ignore"),
        "do not ignore tests: assert today's behaviour with a FIXME, or report a skip with its reason",
    ),
];

impl flags::Tidy {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        check(&project_root())?;
        features::check(sh)?;
        profiles::check(sh)?;
        eprintln!("tidy: ok");
        Ok(())
    }
}

/// Checks the tree at `root`; the error lists every problem.
pub(crate) fn check(root: &Path) -> anyhow::Result<()> {
    let mut problems = Vec::new();
    let mut files = Vec::new();
    for dir in CHECKED_DIRS {
        collect_rust_files(&root.join(dir), &mut files)?;
    }
    files.sort();
    for file in &files {
        let text = fs::read_to_string(file).with_context(|| format!("read {}", file.display()))?;
        let shown = file
            .strip_prefix(root)
            .unwrap_or(file)
            .display()
            .to_string();
        problems.extend(check_file(&shown, &text));
    }
    problems.extend(check_architecture(root)?);
    if !problems.is_empty() {
        bail!(
            "tidy found {} problem(s):\n{}",
            problems.len(),
            problems.join("\n")
        );
    }
    Ok(())
}

/// The problems in one Rust file.
fn check_file(shown: &str, text: &str) -> Vec<String> {
    let mut problems = Vec::new();
    if !text.starts_with("//!") {
        problems.push(format!(
            "{shown}:1: add a `//!` line saying what this module is for"
        ));
    }
    for (line_idx, line) in text.lines().enumerate() {
        let line_no = line_idx + 1;
        if line.ends_with(' ') || line.ends_with('\t') {
            problems.push(format!("{shown}:{line_no}: remove the trailing whitespace"));
        }
        for (needle, fix) in FORBIDDEN {
            if contains_word(line, needle) {
                problems.push(format!("{shown}:{line_no}: found `{needle}`: {fix}"));
            }
        }
    }
    problems
}

/// Whether `needle` occurs in `line` not as the tail of a longer identifier (so `refresh` does not count as `sh`).
fn contains_word(line: &str, needle: &str) -> bool {
    line.match_indices(needle).any(|(idx, _)| {
        let before = line[..idx].chars().next_back();
        !before.is_some_and(|it| it.is_alphanumeric() || it == '_')
    })
}

/// Every crate directory must be named in ARCHITECTURE.md's codemap.
fn check_architecture(root: &Path) -> anyhow::Result<Vec<String>> {
    let Ok(architecture) = fs::read_to_string(root.join("ARCHITECTURE.md")) else {
        return Ok(vec![
            "ARCHITECTURE.md: missing; write the codemap (see STYLE.md, item 1)".to_owned(),
        ]);
    };
    let mut crate_dirs = vec!["xtask".to_owned(), "tests".to_owned(), "modules".to_owned()];
    let crates_dir = root.join("crates");
    for entry in
        fs::read_dir(&crates_dir).with_context(|| format!("list {}", crates_dir.display()))?
    {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file()
            && let Some(name) = path.file_name().and_then(|it| it.to_str())
        {
            crate_dirs.push(name.to_owned());
        }
    }
    crate_dirs.sort();
    Ok(crate_dirs
        .into_iter()
        .filter(|name| !architecture.contains(name.as_str()))
        .map(|name| format!("ARCHITECTURE.md: name `{name}` in the codemap"))
        .collect())
}

fn collect_rust_files(dir: &Path, files: &mut Vec<PathBuf>) -> anyhow::Result<()> {
    let Ok(entries) = fs::read_dir(dir) else {
        return Ok(());
    };
    for entry in entries {
        let path = entry
            .with_context(|| format!("list {}", dir.display()))?
            .path();
        let name = path.file_name().and_then(|it| it.to_str()).unwrap_or("");
        if name == "target" || name.starts_with('.') {
            continue;
        }
        if path.is_dir() {
            collect_rust_files(&path, files)?;
        } else if name.ends_with(".rs") {
            files.push(path);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tidy() {
        if let Err(err) = check(&project_root()) {
            panic!("{err:#}");
        }
    }

    #[test]
    fn each_rule_names_file_line_and_fix() {
        let text = format!("fn main() {{ \n    {}x);\n}}\n", concat!("dbg", "!("));
        let problems = check_file("a.rs", &text);
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("a.rs:1: add a `//!`"));
        assert!(problems[1].starts_with("a.rs:1: remove the trailing whitespace"));
        assert!(problems[2].starts_with("a.rs:2: found"));
    }

    #[test]
    fn needles_match_whole_words_only() {
        assert!(contains_word(
            concat!("run(\"sh", " -c x\")"),
            concat!("sh", " -c")
        ));
        assert!(!contains_word(
            concat!("refresh", " -c"),
            concat!("sh", " -c")
        ));
    }

    #[test]
    fn clean_file_passes() {
        assert!(check_file("a.rs", "//! Docs.\nfn main() {}\n").is_empty());
    }
}
