//! The feature check: every package selection the automation builds ([`builds::SELECTIONS`]) must
//! see each dependency with the same features as the whole workspace does, or that dependency (and
//! everything above it) compiles once more on a fresh clone. `keel-workspace-hack` asks for the union;
//! this check names what it misses.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{builds, cargo, process};

/// Features of each package (`name vX.Y.Z`, and the path for the workspace's own) in one
/// selection: a workspace crate with other features (keel-api without `openapi`) rebuilds too.
type FeatureSets = BTreeMap<String, BTreeSet<String>>;

/// Fails with the dependencies and features a selection lacks, and where to add them.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let whole = features(sh, builds::WHOLE_WORKSPACE)?;
    let mut problems = Vec::new();
    for (what, selection) in builds::SELECTIONS {
        let sets = features(sh, selection)?;
        for (package, missing) in missing_features(&whole, &sets) {
            problems.push(format!(
                "{what} ({}) builds {package} without {}",
                selection.join(" "),
                missing.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
    }
    if !problems.is_empty() {
        bail!(
            "dependencies would compile more than once per profile:\n  {}\nadd these features to crates/keel-workspace-hack/Cargo.toml (build dependencies under its build-dependencies)",
            problems.join("\n  ")
        );
    }
    eprintln!(
        "features: {} selections agree with the workspace ({} dependencies)",
        builds::SELECTIONS.len(),
        whole.len()
    );
    Ok(())
}

/// `cargo tree` of one selection, one `package|features` line per package.
fn features(sh: &Shell, selection: &[&str]) -> anyhow::Result<FeatureSets> {
    let cargo = cargo();
    let format = "{p}|{f}";
    let output = process::read(cmd!(
        sh,
        "{cargo} tree --prefix none --format {format} {selection...}"
    ))
    .with_context(|| format!("list features with `cargo tree {}`", selection.join(" ")))?;
    Ok(parse_tree(&output))
}

/// Parses `cargo tree --prefix none --format {p}|{f}`.
fn parse_tree(output: &str) -> FeatureSets {
    let mut sets = FeatureSets::new();
    for line in output.lines() {
        // Markers follow the part they belong to: `p (proc-macro)|f (*)`.
        let line = line.replace(" (*)", "").replace(" (proc-macro)", "");
        let Some((package, features)) = line.trim().split_once('|') else {
            continue;
        };
        sets.entry(package.to_owned()).or_default().extend(
            features
                .split(',')
                .filter(|it| !it.is_empty())
                .map(str::to_owned),
        );
    }
    sets
}

/// Per package of `selection`, the features the whole workspace gives it and `selection` does not.
fn missing_features(
    whole: &FeatureSets,
    selection: &FeatureSets,
) -> BTreeMap<String, BTreeSet<String>> {
    selection
        .iter()
        .filter_map(|(package, features)| {
            let missing: BTreeSet<String> =
                whole.get(package)?.difference(features).cloned().collect();
            (!missing.is_empty()).then(|| (package.clone(), missing))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tree_lines_become_feature_sets() {
        let output = "keel-cli v0.1.0 (/r/crates/keel-cli)|\nclap v4.6.7|derive,std\nclap v4.6.7|derive,std (*)\nsyn v3.0.9 (proc-macro)|full\nlibc v0.2.1| (*)\n";
        let sets = parse_tree(output);
        assert_eq!(sets.len(), 4, "{sets:?}");
        assert!(sets.contains_key("keel-cli v0.1.0 (/r/crates/keel-cli)"));
        assert_eq!(
            sets["clap v4.6.7"],
            BTreeSet::from(["derive".to_owned(), "std".to_owned()])
        );
        assert!(sets["libc v0.2.1"].is_empty());
        assert!(sets.contains_key("syn v3.0.9"));
    }

    #[test]
    fn a_selection_lacking_a_feature_is_named_with_it() {
        let whole = parse_tree("cc v1.0.0|parallel\nlibc v0.2.1|std\nonly-whole v1.0.0|x\n");
        let selection = parse_tree("cc v1.0.0|\nlibc v0.2.1|std\n");
        let missing = missing_features(&whole, &selection);
        assert_eq!(
            missing,
            BTreeMap::from([(
                "cc v1.0.0".to_owned(),
                BTreeSet::from(["parallel".to_owned()])
            )])
        );
        assert!(missing_features(&whole, &whole).is_empty());
    }
}
