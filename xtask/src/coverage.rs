//! `cargo xtask coverage-map [FILTER...] [-j N]`: which lines of server and CLI code each
//! smoketest executes, for the affected-test selection (`map::CoverageMap`).
//!
//! Steps: find or install the LLVM tools (`tools`); build `keel-standalone` and `keel` with
//! `-C instrument-coverage` on the workspace's crates into `target/coverage` (`build`, with the
//! xtask as the rustc wrapper that adds the flag, `rustc_wrapper`); warm up as usual (modules, the
//! smoketests binary); list the selected tests; run each in its own smoketests process against
//! its own instrumented server, N at a time, tests marked serial alone afterwards (`run`); merge
//! and export each test's profiles as lcov and read its lines (`export`, `lcov`); write
//! `target/smoketest/coverage-map.json` (`map`) and print what it holds (`summary`). A test that
//! fails under instrumentation, or whose profiles are incomplete, is left out of the map and
//! reported. Which tests run, and how, is `plan`.
//! `--query FILE[:A[-B]]` asks an existing map instead (`query`).
//! `cargo xtask strength` takes the same steps through [`prepare`] and [`build_map`], and reads
//! the merged profile each mapped test leaves.

pub(crate) mod build;
pub(crate) mod export;
mod jobs;
pub(crate) mod lcov;
pub(crate) mod map;
pub(crate) mod plan;
mod query;
pub(crate) mod ranges;
pub(crate) mod run;
pub(crate) mod rustc_wrapper;
mod summary;
pub(crate) mod tools;

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    sync::atomic::{AtomicBool, AtomicUsize, Ordering},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use keel_artifacts::smoketest_dir;
use xshell::{Shell, cmd};

use crate::{
    coverage::{
        build::InstrumentedBinaries,
        export::Exporter,
        lcov::FileLines,
        map::{CoverageMap, MapBuilder, MapTimings, TestTiming},
        plan::{TestPlan, plan_tests},
        run::TestRunner,
        summary::{print_left_out, print_summary},
        tools::LlvmTools,
    },
    flags, process,
    progress::Progress,
    project_root,
    smoketest::RunLock,
    warmup::{self, WarmupPlan},
};

impl flags::CoverageMap {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        if let Some(query) = &self.query {
            return query::run(&root, query);
        }
        // The tests' temp dirs live under target/smoketest/tmp, which a suite run clears.
        let _lock = RunLock::acquire(&smoketest_dir(&root))?;
        let prepared = prepare(sh, &root, &self.filters)?;
        build_map(&root, &prepared, self.jobs)?;
        Ok(())
    }
}

/// What a map build needs before its first test runs, and what a reader of the tests' profiles
/// needs too: the instrumented binaries, the LLVM tools, the warmed-up smoketests and the plan.
#[derive(Debug)]
pub(crate) struct Prepared {
    /// `git rev-parse HEAD`.
    pub(crate) revision: String,
    /// `llvm-profdata` and `llvm-cov`.
    pub(crate) tools: LlvmTools,
    /// The instrumented `keel-standalone` and `keel`.
    pub(crate) binaries: InstrumentedBinaries,
    /// The smoketests binary warmup built.
    pub(crate) test_binary: PathBuf,
    /// The selected tests, as they would be run.
    pub(crate) plan: TestPlan,
    /// The instrumented build's wall time.
    build_wall: Duration,
    /// The warmup's wall time.
    warmup_wall: Duration,
}

/// Clears the temp dirs an interrupted run left, finds the revision and the LLVM tools, builds
/// the instrumented binaries, warms up and plans the tests `filters` select. The caller holds
/// the checkout's [`RunLock`].
pub(crate) fn prepare(sh: &Shell, root: &Path, filters: &[String]) -> anyhow::Result<Prepared> {
    clear_dirs(&smoketest_dir(root), &["tmp"])?;
    let revision = git_revision(sh)?;
    let host = tools::host_triple(sh)?;
    let tools = tools::ensure(sh, &host)?;

    let started = Instant::now();
    let binaries = build::build(sh, &host)?;
    let build_wall = started.elapsed();
    let started = Instant::now();
    // The tests use the instrumented server and CLI, the modules and the smoketests binary of
    // the usual warmup. It builds the normal server too: `keel` alone would compile keel-api
    // with other features, and the next `cargo xtask smoketest` would compile it back.
    let warmup = warmup::warmup(sh, WarmupPlan { server: true })?;
    let warmup_wall = started.elapsed();
    let plan = plan_tests(sh, &warmup.test_binary, filters)?;
    Ok(Prepared {
        revision,
        tools,
        binaries,
        test_binary: warmup.test_binary,
        plan,
        build_wall,
        warmup_wall,
    })
}

/// Runs and exports every test of `prepared`'s plan, writes the map (each test's merged profile
/// stays in `target/coverage/profiles/<test>/merged.profdata`) and prints its summary. The
/// caller holds the checkout's [`RunLock`].
pub(crate) fn build_map(
    root: &Path,
    prepared: &Prepared,
    jobs: u32,
) -> anyhow::Result<CoverageMap> {
    let work_dir = root.join(build::TARGET_DIR);
    clear_dirs(&work_dir, &["profiles", "results", "logs"])?;
    let runner = TestRunner {
        root,
        test_binary: &prepared.test_binary,
        binaries: &prepared.binaries,
        work_dir: &work_dir,
    };
    let exporter = Exporter {
        tools: &prepared.tools,
        binaries: &prepared.binaries,
        roots: workspace_roots(root),
    };
    let plan = &prepared.plan;
    let started = Instant::now();
    let mapped = map_tests(plan, &runner, &exporter, jobs as usize)?;
    let tests_wall = started.elapsed();

    let mut builder = MapBuilder::default();
    for (name, reason) in &plan.skipped {
        builder.leave_out(name, reason);
    }
    for (name, outcome) in mapped {
        match outcome {
            Mapped::Files { files, timing } => builder.add_test(&name, timing, files),
            Mapped::LeftOut(reason) => builder.leave_out(&name, &reason),
        }
    }
    let timings = MapTimings {
        build_ms: millis(prepared.build_wall),
        warmup_ms: millis(prepared.warmup_wall),
        tests_ms: millis(tests_wall),
    };
    let map = builder.finish(root, &prepared.revision, timings)?;
    if map.tests().is_empty() {
        print_left_out(&map);
        bail!(
            "no test could be mapped (reasons above); the previous coverage map, if any, is kept"
        );
    }
    let path = map.save(root)?;
    print_summary(root, &map, &path, jobs);
    Ok(map)
}

/// What became of one test.
#[derive(Debug)]
enum Mapped {
    /// Its lines, and what they cost.
    Files {
        files: BTreeMap<PathBuf, FileLines>,
        timing: TestTiming,
    },
    /// Why it is not in the map.
    LeftOut(String),
}

/// Runs and exports every test of `plan`: the parallel ones `jobs` at a time, then the serial
/// ones alone. Stops starting tests at an interrupt or at the first test that could not be run.
fn map_tests(
    plan: &TestPlan,
    runner: &TestRunner<'_>,
    exporter: &Exporter<'_>,
    jobs: usize,
) -> anyhow::Result<Vec<(String, Mapped)>> {
    let total = plan.parallel.len() + plan.serial.len();
    let progress = Progress::start(&format!("{total} smoketest(s), instrumented"));
    let done = AtomicUsize::new(0);
    let left_out = AtomicUsize::new(0);
    let broken = AtomicBool::new(false);
    let stop = || broken.load(Ordering::SeqCst) || process::was_interrupted();
    let work = |name: &String| -> anyhow::Result<Mapped> {
        let outcome = map_one(name, runner, exporter);
        match &outcome {
            Err(_) => broken.store(true, Ordering::SeqCst),
            Ok(mapped) => {
                let done = done.fetch_add(1, Ordering::SeqCst) + 1;
                match mapped {
                    Mapped::LeftOut(reason) => {
                        left_out.fetch_add(1, Ordering::SeqCst);
                        progress.println(&format!("    left out: {name}: {reason}"));
                    }
                    Mapped::Files { timing, .. } if !progress.is_fancy() => {
                        progress.println(&format!(
                            "    [{done}/{total}] {name}: run {:.1}s, export {:.1}s",
                            timing.run_ms / 1000.0,
                            timing.export_ms / 1000.0
                        ));
                    }
                    Mapped::Files { .. } => {}
                }
                progress.message(&format!(
                    "{done}/{total} done, {} left out; last: {name}",
                    left_out.load(Ordering::SeqCst)
                ));
            }
        }
        outcome
    };
    let mut results = jobs::run_parallel(&plan.parallel, jobs, stop, work);
    results.extend(jobs::run_parallel(&plan.serial, 1, stop, work));
    process::check_interrupted()?;
    let mut mapped = Vec::with_capacity(total);
    for (name, result) in plan.parallel.iter().chain(&plan.serial).zip(results) {
        match result {
            Some(Ok(outcome)) => mapped.push((name.clone(), outcome)),
            Some(Err(error)) => {
                return Err(error.context(format!("map smoketest {name}")));
            }
            // Not started: only after another test's error, returned above or below.
            None => {}
        }
    }
    if mapped.len() < total {
        bail!("a smoketest could not be run, so the others were not started");
    }
    progress.finish(&format!(
        "{} mapped, {} left out",
        total - left_out.load(Ordering::SeqCst),
        left_out.load(Ordering::SeqCst)
    ));
    Ok(mapped)
}

/// Runs test `name` and, when it passed, exports its lines.
fn map_one(name: &str, runner: &TestRunner<'_>, exporter: &Exporter<'_>) -> anyhow::Result<Mapped> {
    let run = runner.run(name)?;
    let profiles = match run.outcome {
        Ok(profiles) => profiles,
        Err(reason) => return Ok(Mapped::LeftOut(reason)),
    };
    let started = Instant::now();
    match exporter.export(&profiles) {
        Ok(files) => Ok(Mapped::Files {
            files,
            timing: TestTiming {
                run_ms: millis(run.wall),
                export_ms: millis(started.elapsed()),
            },
        }),
        Err(error) if process::was_interrupted() => Err(error),
        Err(error) => Ok(Mapped::LeftOut(format!("{error:#}"))),
    }
}

/// `git rev-parse HEAD`: the revision the map describes.
fn git_revision(sh: &Shell) -> anyhow::Result<String> {
    let revision = process::read(cmd!(sh, "git rev-parse HEAD").quiet()).context(
        "find the revision with `git rev-parse HEAD`: the map records which revision it describes, so build it in a git checkout with a commit",
    )?;
    Ok(revision.trim().to_owned())
}

/// The workspace root as found, and as the file system spells it when that differs (lcov
/// names files by the paths the compiler was given).
pub(crate) fn workspace_roots(root: &Path) -> Vec<PathBuf> {
    let mut roots = vec![root.to_path_buf()];
    if let Ok(canonical) = root.canonicalize()
        && canonical != root
    {
        roots.push(canonical);
    }
    roots
}

/// Removes the directories `names` under `parent`: what the last map build left in
/// `target/coverage` besides the build itself, and the temp dirs an interrupted run could not
/// remove from `target/smoketest/tmp` (as `cargo xtask smoketest` does).
fn clear_dirs(parent: &Path, names: &[&str]) -> anyhow::Result<()> {
    for name in names {
        let dir = parent.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
    }
    Ok(())
}

fn millis(duration: Duration) -> f64 {
    duration.as_secs_f64() * 1000.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_canonical_root_is_a_second_spelling_only_when_it_differs() {
        let dir = tempfile::tempdir().unwrap();
        let canonical = dir.path().canonicalize().unwrap();
        assert_eq!(
            workspace_roots(&canonical),
            std::slice::from_ref(&canonical)
        );
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&canonical, &link).unwrap();
        assert_eq!(workspace_roots(&link), [link.clone(), canonical]);
    }
}
