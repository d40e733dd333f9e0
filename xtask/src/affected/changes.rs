//! What changed since a revision, as git sees it: committed since, staged, unstaged and untracked
//! files, and for one file the changed line ranges (for the coverage map).

use std::{collections::BTreeSet, path::PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

pub(crate) use crate::coverage::map::Hunk;
use crate::process;

/// Files (relative to the workspace root) that differ between `base` and the working tree, untracked
/// files included (ignored ones left out).
pub(crate) fn changed_files(sh: &Shell, base: &str) -> anyhow::Result<BTreeSet<PathBuf>> {
    verify_revision(sh, base)?;
    let tracked = process::read(cmd!(sh, "git diff --name-only --no-renames {base} --"))
        .with_context(|| format!("list the files changed since {base} with `git diff`"))?;
    let untracked = process::read(cmd!(sh, "git ls-files --others --exclude-standard"))
        .context("list untracked files with `git ls-files`")?;
    Ok(tracked
        .lines()
        .chain(untracked.lines())
        .filter(|line| !line.is_empty())
        .map(PathBuf::from)
        .collect())
}

/// The changed regions of `file` between `base` and the working tree.
pub(crate) fn hunks(sh: &Shell, base: &str, file: &str) -> anyhow::Result<Vec<Hunk>> {
    let diff = process::read(cmd!(sh, "git diff --no-renames -U0 {base} -- {file}"))
        .with_context(|| format!("diff {file} against {base}"))?;
    Ok(parse_hunks(&diff))
}

/// Whether `file` at `revision` has exactly `content` hashed as `hash` (blake3): whether a map made
/// from that content can place hunks computed against `revision`.
pub(crate) fn content_hash_at(sh: &Shell, revision: &str, file: &str) -> Option<String> {
    let spec = format!("{revision}:{file}");
    process::read(cmd!(sh, "git show {spec}"))
        .ok()
        .map(|text| keel_artifacts::hash_bytes(text.as_bytes()))
}

/// Fails with a clear message when `revision` names no commit.
pub(crate) fn verify_revision(sh: &Shell, revision: &str) -> anyhow::Result<()> {
    let spec = format!("{revision}^{{commit}}");
    if process::read(cmd!(sh, "git rev-parse --verify --quiet {spec}")).is_err() {
        bail!(
            "`{revision}` is not a commit of this repository; pass --since with a revision `git log` shows"
        );
    }
    Ok(())
}

/// The `@@ -a,b +c,d @@` headers of a unified diff with `-U0`.
fn parse_hunks(diff: &str) -> Vec<Hunk> {
    diff.lines()
        .filter_map(|line| line.strip_prefix("@@ -"))
        .filter_map(|rest| rest.split(' ').next())
        .filter_map(|old| {
            let (start, count) = match old.split_once(',') {
                Some((start, count)) => (start.parse().ok()?, count.parse().ok()?),
                None => (old.parse().ok()?, 1),
            };
            Some(Hunk {
                old_start: start,
                old_count: count,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hunk_headers_give_old_side_ranges() {
        let diff = "diff --git a/x b/x\n--- a/x\n+++ b/x\n@@ -3 +3 @@ fn a()\n-x\n+y\n@@ -10,0 +11,2 @@\n+a\n+b\n@@ -20,4 +22,0 @@\n";
        assert_eq!(
            parse_hunks(diff),
            [
                Hunk {
                    old_start: 3,
                    old_count: 1
                },
                Hunk {
                    old_start: 10,
                    old_count: 0
                },
                Hunk {
                    old_start: 20,
                    old_count: 4
                },
            ]
        );
        assert!(parse_hunks("").is_empty());
    }
}
