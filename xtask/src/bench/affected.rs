//! The bench's `--affected` figures: the wall time of an `--affected` run after a one-module change
//! (rebuild of that module, selection and run, end to end) against the full run's, and the
//! coverage map's build time and size from the last `cargo xtask coverage-map`.

use std::{fs, path::PathBuf, time::Instant};

use anyhow::Context;
use serde::Serialize;
use xshell::Shell;

use crate::{flags, process, project_root, smoketest};

/// The module the bench edits: used by few tests, as a typical one-module change is.
const EDITED_MODULE: &str = "chat";

/// What the bench reports.
#[derive(Debug, Serialize)]
pub(crate) struct AffectedBench {
    /// The edited file.
    pub(crate) edited: String,
    /// Tests the run selected.
    pub(crate) selected: usize,
    /// Tests registered.
    pub(crate) total: usize,
    /// The `--affected` run end to end: warmup (rebuilding the module), selection, the tests.
    pub(crate) affected_wall_ms: f64,
    /// The full run it is compared with (the bench's `-j 16` suite run, warm).
    pub(crate) full_wall_ms: f64,
    /// `affected_wall_ms / full_wall_ms` (goal: at most 0.10).
    pub(crate) ratio_affected_over_full: Option<f64>,
    /// From the last `cargo xtask coverage-map`, if one was built.
    pub(crate) coverage_map: Option<MapFigures>,
}

/// The coverage map's cost.
#[derive(Debug, Serialize)]
pub(crate) struct MapFigures {
    /// Building the instrumented binaries and running every test against them.
    pub(crate) build_ms: f64,
    /// `target/smoketest/coverage-map.json`.
    pub(crate) bytes: u64,
}

/// Restores the edited file however the measurement ends.
struct Restore {
    path: PathBuf,
    original: Vec<u8>,
}

impl Drop for Restore {
    fn drop(&mut self) {
        if let Err(err) = fs::write(&self.path, &self.original) {
            eprintln!("warning: could not restore {}: {err}", self.path.display());
        }
    }
}

/// Edits [`EDITED_MODULE`], runs `--affected` for that change alone, restores the module.
pub(crate) fn measure(
    sh: &Shell,
    full_wall_ms: f64,
    map: Option<MapFigures>,
) -> anyhow::Result<AffectedBench> {
    let root = project_root();
    let relative = PathBuf::from(format!("modules/{EDITED_MODULE}/src/lib.rs"));
    let path = root.join(&relative);
    let original = fs::read(&path).with_context(|| format!("read {}", path.display()))?;
    let restore = Restore {
        path: path.clone(),
        original: original.clone(),
    };
    let mut edited = original;
    edited.extend_from_slice(b"\n// an edit by `cargo xtask bench`\n");
    fs::write(&path, edited).with_context(|| format!("edit {}", path.display()))?;

    let mut flags = flags::Smoketest::qa_default();
    flags.affected = true;
    // Exactly this change, whatever else the checkout holds.
    flags.changed_files = Some(vec![relative.clone()]);
    eprintln!(
        "\n==> bench: --affected after an edit of {}",
        relative.display()
    );
    let started = Instant::now();
    let report = smoketest::run_suite(sh, &flags, &[])?;
    let affected_wall_ms = started.elapsed().as_secs_f64() * 1000.0;
    process::check_interrupted()?;
    drop(restore);
    // Rebuild the restored module, so the bench leaves the artifacts as it found them.
    crate::warmup::warmup(sh, crate::warmup::WarmupPlan { server: true })?;
    report.verdict().context("the --affected run failed")?;
    Ok(AffectedBench {
        edited: relative.display().to_string(),
        selected: report
            .selected
            .as_ref()
            .map_or(0, std::collections::BTreeSet::len),
        total: report.registered.unwrap_or_default(),
        affected_wall_ms,
        full_wall_ms,
        ratio_affected_over_full: (full_wall_ms > 0.0).then(|| affected_wall_ms / full_wall_ms),
        coverage_map: map,
    })
}
