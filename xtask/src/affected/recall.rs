//! `cargo xtask affected-recall`: how safe `--affected` is, measured by mutation. Each single-line
//! mutation of server, host or CLI code below is applied in place (the file is restored however the
//! run ends), rebuilt through warmup, and judged by the full suite; every test that fails with the
//! mutation must be among the tests `--affected` selects for it (recall), and the selected tests that
//! did not fail are counted (precision). Minutes per mutation: not part of qa.

use std::{
    collections::BTreeSet,
    fs,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, bail, ensure};
use keel_artifacts::smoketest_dir;
use serde::Serialize;
use xshell::Shell;

use crate::{flags, process, project_root, smoketest, warmup};

/// One single-line mutation: in `file`, the only occurrence of `find` becomes `replace`.
pub(crate) struct Mutation {
    /// What the mutation does, for the table.
    pub(crate) what: &'static str,
    /// The mutated file, relative to the workspace root.
    pub(crate) file: &'static str,
    /// The text to replace; must occur exactly once.
    pub(crate) find: &'static str,
    /// Its replacement.
    pub(crate) replace: &'static str,
}

/// What one mutation showed.
#[derive(Debug, Serialize)]
pub(crate) struct MutationResult {
    what: String,
    file: String,
    /// The build failed: no test can judge it.
    unviable: bool,
    selected: BTreeSet<String>,
    failed: BTreeSet<String>,
    /// Failing tests `--affected` did not select (recall misses).
    missed: BTreeSet<String>,
    /// Selected tests that did not fail.
    selected_not_failed: usize,
    wall_ms: f64,
}

/// Applies `file`'s mutation until dropped.
struct Applied {
    path: PathBuf,
    original: String,
}

impl Applied {
    fn new(root: &Path, mutation: &Mutation) -> anyhow::Result<Applied> {
        let path = root.join(mutation.file);
        let original =
            fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
        ensure!(
            original.matches(mutation.find).count() == 1,
            "{}: {:?} must occur exactly once (mutation {:?})",
            mutation.file,
            mutation.find,
            mutation.what
        );
        fs::write(&path, original.replacen(mutation.find, mutation.replace, 1))
            .with_context(|| format!("mutate {}", path.display()))?;
        Ok(Applied { path, original })
    }
}

impl Drop for Applied {
    fn drop(&mut self) {
        if let Err(err) = fs::write(&self.path, &self.original) {
            eprintln!(
                "warning: could not restore {}: {err}; `git checkout` it",
                self.path.display()
            );
        }
    }
}

/// Runs every mutation of `mutations` and writes `target/smoketest/affected-recall.json`.
pub(crate) fn run(sh: &Shell, mutations: &[Mutation]) -> anyhow::Result<()> {
    let root = project_root();
    let mut results = Vec::new();
    for (index, mutation) in mutations.iter().enumerate() {
        eprintln!(
            "\n==> affected-recall {}/{}: {} ({})",
            index + 1,
            mutations.len(),
            mutation.what,
            mutation.file
        );
        let started = Instant::now();
        let applied = Applied::new(&root, mutation)?;
        let mut flags = flags::Smoketest::qa_default();
        flags.changed_files = Some(vec![PathBuf::from(mutation.file)]);
        flags.no_usage_records = true;
        if let Err(err) = warmup::warmup(sh, warmup::WarmupPlan { server: true }) {
            process::check_interrupted()?;
            eprintln!("    unviable: {err:#}");
            results.push(MutationResult {
                what: mutation.what.to_owned(),
                file: mutation.file.to_owned(),
                unviable: true,
                selected: BTreeSet::new(),
                failed: BTreeSet::new(),
                missed: BTreeSet::new(),
                selected_not_failed: 0,
                wall_ms: started.elapsed().as_secs_f64() * 1000.0,
            });
            continue;
        }
        let manifest = keel_artifacts::Manifest::load(&root)?;
        let binary = smoketest::fresh_binary(&root, &manifest, "smoketests")?;
        let metadata = smoketest::read_metadata(sh, &binary, None)?;
        let selected = crate::affected::select(sh, &root, &flags, &metadata)?.tests();
        flags.no_build = true;
        let report = smoketest::run_suite(sh, &flags, &[])?;
        process::check_interrupted()?;
        let failed: BTreeSet<String> = report.summary.failing().map(|it| it.name.clone()).collect();
        drop(applied);
        let missed: BTreeSet<String> = failed.difference(&selected).cloned().collect();
        eprintln!(
            "    {} failed, {} selected, {} missed, {} selected did not fail",
            failed.len(),
            selected.len(),
            missed.len(),
            selected.difference(&failed).count()
        );
        results.push(MutationResult {
            what: mutation.what.to_owned(),
            file: mutation.file.to_owned(),
            unviable: false,
            selected_not_failed: selected.difference(&failed).count(),
            selected,
            failed,
            missed,
            wall_ms: started.elapsed().as_secs_f64() * 1000.0,
        });
    }
    // Leave the artifacts as they were before the mutations.
    warmup::warmup(sh, warmup::WarmupPlan { server: true })?;
    let path = smoketest_dir(&root).join("affected-recall.json");
    keel_artifacts::write_atomic(&path, &serde_json::to_vec_pretty(&results)?)
        .with_context(|| format!("write {}", path.display()))?;
    print_table(&results);
    eprintln!("\nwritten: {}", path.display());
    let missed: usize = results.iter().map(|it| it.missed.len()).sum();
    if missed > 0 {
        bail!("--affected missed {missed} failing test(s); see the table");
    }
    Ok(())
}

fn print_table(results: &[MutationResult]) {
    eprintln!(
        "\n{:<48} {:>6} {:>8} {:>6} {:>9}",
        "mutation", "failed", "selected", "missed", "not fail"
    );
    for result in results {
        if result.unviable {
            eprintln!("{:<48} unviable (does not build)", result.what);
            continue;
        }
        eprintln!(
            "{:<48} {:>6} {:>8} {:>6} {:>9}",
            result.what,
            result.failed.len(),
            result.selected.len(),
            result.missed.len(),
            result.selected_not_failed
        );
    }
    let judged: Vec<&MutationResult> = results.iter().filter(|it| !it.unviable).collect();
    let failed: usize = judged.iter().map(|it| it.failed.len()).sum();
    let missed: usize = judged.iter().map(|it| it.missed.len()).sum();
    let selected: usize = judged.iter().map(|it| it.selected.len()).sum();
    let hits = failed - missed;
    eprintln!(
        "recall {hits}/{failed} failing tests selected; precision {hits}/{selected} selected tests failed"
    );
}

/// The mutations `cargo xtask affected-recall` tries: constants, negated conditions and removed
/// checks in the server, the host and the CLI.
pub(crate) const MUTATIONS: &[Mutation] = &[
    Mutation {
        what: "CLI: a space after every output line",
        file: "crates/keel-cli/src/output.rs",
        find: r#"writeln!(stdout, "{text}")"#,
        replace: r#"writeln!(stdout, "{text} ")"#,
    },
    Mutation {
        what: "CLI: --json negated",
        file: "crates/keel-cli/src/output.rs",
        find: "        if self.json {",
        replace: "        if !self.json {",
    },
    Mutation {
        what: "host: internal tables need both prefixes",
        file: "crates/keel-host/src/guard.rs",
        find: r#"lower.starts_with("sqlite_") || lower.starts_with("_keel")"#,
        replace: r#"lower.starts_with("sqlite_") && lower.starts_with("_keel")"#,
    },
    Mutation {
        what: "host: the server's tables not refused",
        file: "crates/keel-host/src/guard.rs",
        find: r#"    if lower.starts_with("_keel") {"#,
        replace: r#"    if lower.starts_with("_kee1") {"#,
    },
    Mutation {
        what: "host: schema pragmas on private tables for readers only",
        file: "crates/keel-host/src/guard.rs",
        find: "|| access == Access::Owner);",
        replace: "|| access != Access::Owner);",
    },
    Mutation {
        what: "host: fuel slices of 1000 instructions",
        file: "crates/keel-host/src/invoke.rs",
        find: "const FUEL_SLICE: u64 = 1_000_000;",
        replace: "const FUEL_SLICE: u64 = 1_000;",
    },
    Mutation {
        what: "host: readers get no time",
        file: "crates/keel-host/src/client_sql.rs",
        find: "const MIN_READER_TIME: Duration = Duration::from_millis(100);",
        replace: "const MIN_READER_TIME: Duration = Duration::from_millis(0);",
    },
    Mutation {
        what: "host: a column's publicity change is no change",
        file: "crates/keel-host/src/migration.rs",
        find: "    if old.public != new.public {",
        replace: "    if old.public == new.public {",
    },
    Mutation {
        what: "server: one log record kept",
        file: "crates/keel-standalone/src/logs.rs",
        find: "const KEPT_RECORDS: usize = 1_000;",
        replace: "const KEPT_RECORDS: usize = 1;",
    },
    Mutation {
        what: "server: small bodies of 1 KiB",
        file: "crates/keel-standalone/src/routes.rs",
        find: "const MAX_SMALL_BODY: usize = 1 << 20;",
        replace: "const MAX_SMALL_BODY: usize = 1 << 10;",
    },
    Mutation {
        what: "server: no lookup attempt",
        file: "crates/keel-standalone/src/state.rs",
        find: "const LOOKUP_ATTEMPTS: usize = 8;",
        replace: "const LOOKUP_ATTEMPTS: usize = 0;",
    },
    Mutation {
        what: "client: changed-rows message",
        file: "crates/keel-client/src/table.rs",
        find: r#""OK, {} row(s) changed""#,
        replace: r#""OK, {} rows changed""#,
    },
];
