//! `cargo xtask strength`: how strong the smoketests are, measured as the coverage of the
//! server's and the CLI's crates (keel-host, keel-standalone, keel-api, keel-client, keel-cli) by
//! the smoketests alone.
//!
//! Steps: prepare as `cargo xtask coverage-map` does (the LLVM tools, the instrumented build,
//! the warmup, the list of tests); reuse the coverage map and the tests' merged profiles when they
//! describe the checkout (`fresh`), else build the map again, running every test (minutes);
//! merge every mapped test's profile into one and export it as JSON with llvm-cov (`profile`);
//! read each file's lines and regions and where its uncovered regions start (`export`), add them
//! up per crate, for the server and in total (`report`, over the crates of `scope`); write
//! `target/smoketest/strength.json` and `strength.md` (`markdown`) and print the per-crate table.

mod export;
mod fresh;
mod markdown;
mod profile;
mod report;
mod scope;
mod tally;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context;
use keel_artifacts::{Manifest, smoketest_dir};
use xshell::Shell;

use crate::{
    coverage::{self, Prepared},
    flags, project_root,
    smoketest::RunLock,
    strength::{
        fresh::{Checkout, Freshness},
        report::{CLIENT_NOTE, FORMAT_VERSION, StrengthReport},
        scope::Scope,
    },
};

impl flags::Strength {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let started = Instant::now();
        let root = project_root();
        // The map build runs the suite, and what it leaves under target/coverage is read here.
        let _lock = RunLock::acquire(&smoketest_dir(&root))?;
        let prepared = coverage::prepare(sh, &root, &[])?;
        let artifacts = tested_artifacts(&root, &prepared)?;
        let plan = &prepared.plan;
        let checkout = Checkout {
            root: &root,
            revision: &prepared.revision,
            tests: plan
                .parallel
                .iter()
                .chain(&plan.serial)
                .chain(plan.skipped.iter().map(|(name, _)| name))
                .map(String::as_str)
                .collect(),
            artifacts,
        };
        let (map, map_reused) = match fresh::check(&checkout)? {
            Freshness::Fresh(map) => {
                eprintln!(
                    "==> the coverage map and the tests' profiles describe this checkout; reusing them"
                );
                (map, true)
            }
            Freshness::Stale(reason) => {
                eprintln!(
                    "==> building the coverage map again ({reason}): every smoketest runs, minutes"
                );
                (coverage::build_map(&root, &prepared, self.jobs)?, false)
            }
        };

        let json = profile::export_suite(&root, &prepared, &map)?;
        let roots = coverage::workspace_roots(&root);
        let roots: Vec<&Path> = roots.iter().map(PathBuf::as_path).collect();
        let files = export::parse(&json, &roots)?;
        let scope = Scope::load(sh, &root)?;
        let sources = scope.source_files(&root)?;
        let mut report = StrengthReport {
            format_version: FORMAT_VERSION,
            revision: map.revision().to_owned(),
            tests: map.tests().len(),
            left_out: map.left_out().to_vec(),
            map_reused,
            wall_ms: 0.0,
            notes: vec![CLIENT_NOTE.to_owned()],
            coverage: report::measure(&scope, &files, &sources),
        };
        let mut texts = BTreeMap::new();
        for path in sources
            .iter()
            .filter(|it| markdown::needs_source(&report, it))
        {
            let text = fs::read_to_string(root.join(path))
                .with_context(|| format!("read {}", path.display()))?;
            texts.insert(path.clone(), text);
        }
        report.wall_ms = started.elapsed().as_secs_f64() * 1000.0;
        let (json_path, markdown_path) =
            report::save(&root, &report, &markdown::render(&report, &texts))?;

        println!("{}", markdown::crate_table(&report));
        println!("{CLIENT_NOTE}");
        if !report.left_out.is_empty() {
            println!(
                "{} smoketest(s) left out of the map: what only they execute counts as uncovered (see the report)",
                report.left_out.len()
            );
        }
        let shown = |path: &PathBuf| {
            path.strip_prefix(&root)
                .unwrap_or(path)
                .display()
                .to_string()
        };
        println!(
            "written: {} and {} ({:.1} s, coverage map {})",
            shown(&json_path),
            shown(&markdown_path),
            report.wall_ms / 1000.0,
            if map_reused { "reused" } else { "rebuilt" }
        );
        if self.mutants {
            crate::mutants::command(sh, &self)?;
        }
        Ok(())
    }
}

/// What the tests run, relative to the workspace root or absolute: the instrumented server and
/// CLI, the smoketests binary and the precompiled modules of the manifest warmup wrote.
fn tested_artifacts(root: &Path, prepared: &Prepared) -> anyhow::Result<Vec<PathBuf>> {
    let manifest = Manifest::load(root).context("read the manifest warmup wrote")?;
    let mut artifacts = vec![
        prepared.binaries.server.clone(),
        prepared.binaries.cli.clone(),
        prepared.test_binary.clone(),
    ];
    artifacts.extend(manifest.modules.values().map(|it| it.path.clone()));
    Ok(artifacts)
}
