//! The profile check: a package whose release `opt-level` the root `Cargo.toml` lowers below 2
//! (the automation's own crates, the dependencies only the automation and tests use) must not be
//! compiled into the shipped binaries ([`builds::SHIPPED_BINARIES`]), or they would ship slow code.

use std::collections::BTreeSet;

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{builds, cargo, process, project_root};

/// Fails naming every package with a lowered opt-level that the shipped binaries compile.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let path = project_root().join("Cargo.toml");
    let manifest: toml::Table = std::fs::read_to_string(&path)
        .with_context(|| format!("read {}", path.display()))?
        .parse()
        .with_context(|| format!("parse {}", path.display()))?;
    let lowered = lowered_packages(&manifest);
    let cargo = cargo();
    let selection = builds::SHIPPED_BINARIES;
    let format = "{p}";
    let tree = process::read(cmd!(
        sh,
        "{cargo} tree --prefix none --format {format} {selection...}"
    ))
    .context("list the shipped binaries' packages with `cargo tree`")?;
    let shipped = shipped_lowered(&lowered, &tree);
    if !shipped.is_empty() {
        bail!(
            "the shipped binaries compile packages that Cargo.toml leaves unoptimised: {}\nremove their [profile.release.package.*] opt-level (they are no longer automation-only)",
            shipped.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    eprintln!(
        "profiles: {} unoptimised packages, none in the shipped binaries",
        lowered.len()
    );
    Ok(())
}

/// The packages `[profile.release.package.NAME]` gives an `opt-level` of 0, 1, "s" or "z".
fn lowered_packages(manifest: &toml::Table) -> BTreeSet<String> {
    let Some(packages) = manifest
        .get("profile")
        .and_then(|it| it.get("release"))
        .and_then(|it| it.get("package"))
        .and_then(toml::Value::as_table)
    else {
        return BTreeSet::new();
    };
    packages
        .iter()
        .filter(|(_, profile)| match profile.get("opt-level") {
            Some(toml::Value::Integer(level)) => *level < 2,
            Some(toml::Value::String(_)) => true,
            _ => false,
        })
        .map(|(name, _)| name.clone())
        .collect()
}

/// Which of `lowered` the `cargo tree --prefix none --format {p}` output names (`name vX.Y.Z`).
fn shipped_lowered(lowered: &BTreeSet<String>, tree: &str) -> BTreeSet<String> {
    tree.lines()
        .filter_map(|line| line.split_whitespace().next())
        .filter(|name| lowered.contains(*name))
        .map(str::to_owned)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_lowered_levels_count() {
        let manifest: toml::Table = r#"
            [profile.release.package.fast]
            opt-level = 3
            [profile.release.package.sqlite]
            opt-level = 2
            [profile.release.package.plain]
            opt-level = 0
            [profile.release.package.some]
            opt-level = 1
            [profile.release.package.small]
            opt-level = "s"
            [profile.release.package.asserted]
            debug-assertions = true
        "#
        .parse()
        .unwrap();
        let lowered = lowered_packages(&manifest);
        assert_eq!(
            lowered.into_iter().collect::<Vec<_>>(),
            ["plain", "small", "some"]
        );
        assert!(lowered_packages(&toml::Table::new()).is_empty());
    }

    #[test]
    fn shipped_packages_are_found_by_name() {
        let lowered = BTreeSet::from(["wast".to_owned(), "tar".to_owned()]);
        let tree = "keel-cli v0.1.0 (/r/crates/keel-cli)\ntar v0.4.46\ntarget-lexicon v0.12.0\nserde v1.0.0 (*)\n";
        assert_eq!(
            shipped_lowered(&lowered, tree)
                .into_iter()
                .collect::<Vec<_>>(),
            ["tar"]
        );
        assert!(shipped_lowered(&lowered, "serde v1.0.0\n").is_empty());
    }
}
