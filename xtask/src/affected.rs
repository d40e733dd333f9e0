//! `cargo xtask smoketest --affected`: run only the tests a change can affect.
//!
//! `store` keeps what every test used (recorded by the harness as it ran) and how it went; `changes`
//! asks git what changed since the last green full run (or `--since REV`); `rules` decides, from
//! those, the dependency graph (`workspace_graph`) and what each binary is built from (`dep_info`,
//! in the manifest), which tests to run and why; `coverage` narrows a change in server or CLI code
//! to the tests that executed it, once `cargo xtask coverage-map` has run. `watch` re-runs the
//! affected tests on every save.

pub(crate) mod changes;
mod coverage_lookup;
pub(crate) mod recall;
pub(crate) mod rules;
pub(crate) mod store;
pub(crate) mod watch;

use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
};

use anyhow::Context;
use keel_artifacts::{Manifest, TestMeta, TestRecord};
use xshell::Shell;

use self::{
    coverage_lookup::MapLookup,
    rules::{Inputs, Selection},
    store::{Fingerprint, RunFacts, UsageStore, head_revision},
};
use crate::{
    coverage::map::CoverageMap, flags, smoketest::Summary, workspace_graph::WorkspaceGraph,
};

/// What `--affected` decided for a run, with what it was decided from (for `--explain`).
pub(crate) struct Affected {
    /// The tests to run and why.
    pub(crate) selection: Selection,
    /// The revision the changes are counted from, if one was known.
    pub(crate) base: Option<String>,
    /// The changed files.
    pub(crate) changed: BTreeSet<PathBuf>,
}

/// Applies the rules to the checkout at `root` for the registered `tests`.
pub(crate) fn select(
    sh: &Shell,
    root: &Path,
    flags: &flags::Smoketest,
    tests: &[TestMeta],
) -> anyhow::Result<Affected> {
    let graph = WorkspaceGraph::load(sh, root)?;
    let manifest = Manifest::load(root).context("read the artifact manifest")?;
    let sources = binary_sources(&manifest);
    let store = UsageStore::load(root)?;
    let fingerprint = Fingerprint::current(sh, root)?;
    let store_mismatch = store.as_ref().and_then(|store| {
        let differences = store.fingerprint.differences(&fingerprint);
        (!differences.is_empty()).then(|| {
            format!(
                "the usage records were made with another {}",
                differences.join(", ")
            )
        })
    });
    let base = flags
        .since
        .clone()
        .or_else(|| store.as_ref().and_then(|it| it.green_revision.clone()));
    // Watch mode knows what was saved; otherwise git says what changed since the base.
    let changed = match (&flags.changed_files, &base) {
        (Some(saved), _) => saved.iter().cloned().collect(),
        (None, Some(base)) => changes::changed_files(sh, base)?,
        (None, None) => BTreeSet::new(),
    };
    let store_mismatch = store_mismatch.or_else(|| {
        (base.is_none() && flags.changed_files.is_none()).then(|| {
            "no full run has passed yet to count changes from (or pass --since REV)".to_owned()
        })
    });
    let map = CoverageMap::load(root)?;
    if let Some(map) = &map {
        let revision = map.revision();
        eprintln!(
            "==> affected: using the coverage map of {} ({} tests)",
            &revision[..revision.len().min(12)],
            map.tests().len()
        );
    }
    let lookup = map.as_ref().map(|map| MapLookup { sh, map });
    let inputs = Inputs {
        changed: &changed,
        graph: &graph,
        sources: &sources,
        tests,
        store: store.as_ref(),
        store_mismatch,
        coverage: lookup.as_ref().map(|it| it as &dyn rules::CoverageLookup),
    };
    let selection = rules::select(&inputs);
    if let Some(test) = &flags.explain {
        println!("{}", selection.explain(test, &inputs));
    }
    Ok(Affected {
        selection,
        base,
        changed,
    })
}

/// Per binary of the manifest, the workspace files it is built from (its dep-info).
pub(crate) fn binary_sources(manifest: &Manifest) -> BTreeMap<String, BTreeSet<PathBuf>> {
    manifest
        .binaries
        .iter()
        .map(|(name, artifact)| (name.clone(), artifact.sources.iter().cloned().collect()))
        .collect()
}

impl Affected {
    /// Prints the headline, then what each changed file was taken for.
    pub(crate) fn print(&self) {
        eprintln!("==> affected: {}", self.selection.headline());
        if let Some(base) = &self.base {
            eprintln!(
                "    {} file(s) changed since {}",
                self.changed.len(),
                &base[..base.len().min(12)]
            );
        }
        if let Some(why) = self.selection.everything() {
            eprintln!("    every test: {why}");
        }
        for (file, effect) in &self.selection.files {
            eprintln!("    {}: {effect}", file.display());
        }
    }

    /// The selected test names.
    pub(crate) fn tests(&self) -> BTreeSet<String> {
        self.selection.selected.keys().cloned().collect()
    }
}

/// Folds a finished run into the usage records; `full` says whether the run selected every test.
pub(crate) fn record_run(
    sh: &Shell,
    root: &Path,
    records: &[TestRecord],
    summary: &Summary,
    metadata: &[TestMeta],
    full_green: bool,
) -> anyhow::Result<()> {
    let mut store = UsageStore::load(root)?.unwrap_or_default();
    let fingerprint = Fingerprint::current(sh, root)?;
    store.record_run(
        fingerprint,
        &RunFacts {
            records,
            summary,
            metadata,
            full_green,
            revision: head_revision(sh),
        },
    );
    store.save(root)
}
