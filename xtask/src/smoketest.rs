//! `cargo xtask smoketest`: warm up, start shared servers, run the suite, summarise, report.
//!
//! Submodules: `runner` picks nextest or `cargo test` and their arguments, `selection` asks the test
//! binary which tests the run selects, `servers` owns the shared local servers, `summary` merges test
//! records with `--keel-metadata` and writes the reports, `lock` keeps one run per checkout.

mod lock;
mod runner;
pub(crate) mod selection;
mod servers;
pub(crate) mod summary;
pub(crate) mod without_cargo;

use std::{
    collections::BTreeSet,
    env, fs,
    path::{Path, PathBuf},
    process::ExitStatus,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use keel_artifacts::{
    BuildTiming, Manifest, ModuleBuildRecord, TestMeta, TestRecord, env as keel_env, smoketest_dir,
};
use xshell::{Shell, cmd};

pub(crate) use self::{
    lock::RunLock,
    runner::{RunOptions, test_invocations},
    servers::SharedServers,
    summary::{RunKind, Summary, TestStatus, summarize},
};
use crate::{
    cargo,
    flags::{self, Target},
    process, project_root,
    warmup::{self, WarmupPlan},
};

/// One run of the suite, before deciding whether it failed.
pub(crate) struct SuiteReport {
    /// Outcomes of the selected tests.
    pub(crate) summary: Summary,
    /// Runtime module builds the tests recorded.
    pub(crate) builds: Vec<ModuleBuildRecord>,
    /// Warmup timings (this run's, or the last warmup's with `--no-build`).
    pub(crate) timings: Vec<BuildTiming>,
    /// Wall time of the test runner alone.
    pub(crate) wall: Duration,
    /// Whether nextest ran the tests.
    pub(crate) used_nextest: bool,
    /// Problems outside the tests: runner crashes, dead servers, unreadable metadata.
    pub(crate) infrastructure_errors: Vec<String>,
    /// Whether Ctrl-C or SIGTERM stopped the test runner; the summary counts what finished.
    pub(crate) interrupted: bool,
}

impl flags::Smoketest {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let _lock = RunLock::acquire(&smoketest_dir(&project_root()))?;
        let report = run_suite(sh, &self, &[])?;
        finish(&self, &report)
    }
}

/// Prints the summary, writes the reports and turns failures into an error.
pub(crate) fn finish(flags: &flags::Smoketest, report: &SuiteReport) -> anyhow::Result<()> {
    let root = project_root();
    let out_dir = smoketest_dir(&root);
    eprint!("{}", report.summary.render(&report.builds, &report.timings));
    report.summary.write_durations(&out_dir)?;
    let junit = match &flags.junit {
        Some(path) => env::current_dir()
            .context("find the current directory")?
            .join(path),
        None => out_dir.join("junit.xml"),
    };
    // Always our own report, for both runners: nextest's (target/nextest/ci/junit.xml) lacks the
    // tests skipped in remote mode and their reasons.
    report.summary.write_junit(&junit)?;
    eprintln!(
        "\nreports: {}, {}, {}",
        junit.display(),
        out_dir.join("test-durations.json").display(),
        out_dir.join("test-durations.md").display()
    );
    let nextest_junit = root.join("target/nextest/ci/junit.xml");
    if report.used_nextest && nextest_junit.is_file() {
        eprintln!("nextest's own JUnit report: {}", nextest_junit.display());
    }
    if report.interrupted {
        bail!("interrupted; the summary above counts only the tests that finished");
    }
    let failed: Vec<&str> = report
        .summary
        .with_status(TestStatus::Failed)
        .map(|it| it.name.as_str())
        .collect();
    match (failed.len(), report.infrastructure_errors.is_empty()) {
        (0, true) => Ok(()),
        (0, false) => bail!(
            "smoketest infrastructure failed: {}",
            report.infrastructure_errors.join("; ")
        ),
        (n, _) => {
            let mut message = format!("{n} smoketest(s) failed: {}", failed.join(", "));
            if !report.infrastructure_errors.is_empty() {
                message.push_str(&format!(
                    "; also: {}",
                    report.infrastructure_errors.join("; ")
                ));
            }
            bail!(message)
        }
    }
}

/// Runs the suite once as `flags` say, with `extra_env` on top of the contract's variables.
pub(crate) fn run_suite(
    sh: &Shell,
    flags: &flags::Smoketest,
    extra_env: &[(&str, &str)],
) -> anyhow::Result<SuiteReport> {
    let root = project_root();
    let out_dir = smoketest_dir(&root);
    let target = flags.target();
    let remote = matches!(target, Target::Remote { .. });
    let (test_binary, timings) = if flags.no_build {
        // From an extracted archive: refuse other sources or damaged artifacts before anything runs.
        if let Some(info) = crate::archive::verify_checkout(&root)? {
            eprintln!(
                "==> archive of revision {} verified: sources and {} artifacts match",
                info.revision,
                info.artifacts.len()
            );
        }
        let manifest = Manifest::load(&root)?;
        (
            fresh_binary(&root, &manifest, "smoketests")?,
            BuildTiming::load_all(&root).unwrap_or_default(),
        )
    } else {
        let output = warmup::warmup(sh, WarmupPlan { server: !remote })?;
        (output.test_binary, output.timings)
    };

    let mut infrastructure_errors = Vec::new();
    let metadata = match read_metadata(sh, &test_binary, flags.server.as_deref()) {
        Ok(metadata) => Some(metadata),
        Err(err) => {
            eprintln!("warning: {err:#}");
            infrastructure_errors.push(format!("{err:#}"));
            None
        }
    };

    // `None` when the listing failed (an infrastructure error): the tests still run, and the
    // summary counts the records they leave.
    let selected = match list_selected(sh, &test_binary, flags) {
        Ok(selected) => Some(selected),
        Err(err) => {
            eprintln!("warning: {err:#}");
            infrastructure_errors.push(format!("{err:#}"));
            None
        }
    };
    let nothing_selected = selected.as_ref().is_some_and(BTreeSet::is_empty);

    let results_dir = out_dir.join("results");
    let pool_dir = out_dir.join("pool");
    prepare_run_dirs(&out_dir)?;

    let mut servers = match &target {
        Target::Local { servers } => {
            let manifest = Manifest::load(&root)?;
            let binary = fresh_binary(&root, &manifest, "keel-standalone")?;
            let started = Instant::now();
            let shared = SharedServers::start(&binary, &out_dir.join("servers"), *servers)
                .context("start the shared servers")?;
            eprintln!(
                "==> {servers} shared server(s) ready in {:.2}s: {}",
                started.elapsed().as_secs_f64(),
                shared.urls()
            );
            Some(shared)
        }
        Target::Remote { url } => {
            eprintln!("==> remote server {url}");
            None
        }
    };

    let mut env_vars: Vec<(&str, String)> = vec![
        (keel_env::RESULTS_DIR, results_dir.display().to_string()),
        (
            keel_env::USE_SHARED_TARGET_DIR,
            flags.shared_target_dir.to_string(),
        ),
        (keel_env::WORKSPACE_ROOT, root.display().to_string()),
    ];
    match (&target, &servers) {
        (Target::Remote { url }, _) => env_vars.push((keel_env::REMOTE_SERVER, url.clone())),
        (Target::Local { .. }, Some(shared)) => {
            env_vars.push((keel_env::SHARED_SERVERS, shared.urls()));
            env_vars.push((keel_env::SHARED_SERVER_LOGS, shared.logs()));
            env_vars.push((keel_env::POOL_DIR, pool_dir.display().to_string()));
        }
        (Target::Local { .. }, None) => {}
    }
    env_vars.extend(
        extra_env
            .iter()
            .map(|(key, value)| (*key, (*value).to_owned())),
    );

    let used_nextest = nextest_available(sh);
    let options = RunOptions {
        filters: &flags.filters,
        jobs: flags.jobs,
        fail_fast: flags.fail_fast,
        extra_args: &flags.extra_args,
    };
    let nextest_junit = root.join("target/nextest/ci/junit.xml");
    if nextest_junit.exists() {
        fs::remove_file(&nextest_junit)
            .with_context(|| format!("remove the old {}", nextest_junit.display()))?;
    }
    let started = Instant::now();
    let mut runner_failures: Vec<ExitStatus> = Vec::new();
    let mut interrupted = false;
    let invocations = if nothing_selected {
        Vec::new()
    } else {
        test_invocations(used_nextest, &options)
    };
    for args in invocations {
        eprintln!("==> cargo {}", args.join(" "));
        let mut command = without_cargo::command(sh, &root, &args)?;
        for key in keel_env::SERVER_VARIABLES {
            command = command.env_remove(key);
        }
        command = command.envs(env_vars.iter().map(|(key, value)| (*key, value.as_str())));
        let status = match process::run_status(command) {
            Ok(status) => status,
            Err(_) if process::was_interrupted() => {
                interrupted = true;
                break;
            }
            Err(err) => return Err(err.context("run the smoketests")),
        };
        if !status.success() {
            runner_failures.push(status);
            if flags.fail_fast {
                break;
            }
        }
    }
    let wall = started.elapsed();
    // The signal handler stopped the servers too; a dead server is then no finding.
    interrupted |= process::was_interrupted();
    if !interrupted
        && let Some(shared) = &mut servers
        && let Err(err) = shared.check_alive()
    {
        infrastructure_errors.push(format!("{err:#}"));
    }
    drop(servers);

    let records = TestRecord::read_all(&results_dir)
        .with_context(|| format!("read test records from {}", results_dir.display()))?;
    let builds = ModuleBuildRecord::read_all(&results_dir).context("read module build records")?;
    let summary = summarize(
        metadata.as_deref(),
        records,
        &selected.unwrap_or_default(),
        RunKind {
            remote,
            interrupted,
        },
    );
    if summary.n_failed() == 0 && !runner_failures.is_empty() && !interrupted {
        infrastructure_errors.push(format!(
            "the test runner failed ({}) although no test recorded a failure; see its output above",
            runner_failures[0]
        ));
    }
    if nothing_selected {
        infrastructure_errors.push(format!(
            "no test matched the filters {:?} and arguments {:?}",
            flags.filters, flags.extra_args
        ));
    }
    Ok(SuiteReport {
        summary,
        builds,
        timings,
        wall,
        used_nextest,
        infrastructure_errors,
        interrupted,
    })
}

/// Clears the per-run directories under `out_dir` (`target/smoketest`): `results/` (test records),
/// `pool/` (the database pool), `failed/` (the kept temp dirs of the last run's failing tests) and
/// `tmp/` (what an interrupted earlier run could not remove).
pub(crate) fn prepare_run_dirs(out_dir: &Path) -> anyhow::Result<()> {
    for name in ["results", "pool", "failed", "tmp"] {
        let dir = out_dir.join(name);
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
        fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    }
    Ok(())
}

/// The tests this run selects, as the test binary lists them for the run's own filters and
/// arguments (see `selection`), with the same remote-mode environment as the run.
fn list_selected(
    sh: &Shell,
    test_binary: &Path,
    flags: &flags::Smoketest,
) -> anyhow::Result<BTreeSet<String>> {
    let mut selected = BTreeSet::new();
    for args in selection::list_invocations(&flags.filters, &flags.extra_args) {
        let description = args.join(" ");
        let mut command = cmd!(sh, "{test_binary} {args...}")
            .quiet()
            .env_remove(keel_env::REMOTE_SERVER);
        if let Some(url) = &flags.server {
            command = command.env(keel_env::REMOTE_SERVER, url);
        }
        let output = process::read(command).with_context(|| {
            format!("list the selected smoketests with `smoketests {description}`")
        })?;
        selected.extend(selection::parse_list(&output));
    }
    Ok(selected)
}

/// The absolute path of binary `name` from the manifest, if it is fresh.
pub(crate) fn fresh_binary(
    root: &Path,
    manifest: &Manifest,
    name: &str,
) -> anyhow::Result<PathBuf> {
    let Some(artifact) = manifest.binaries.get(name) else {
        bail!("the artifact manifest has no binary {name}; run `cargo xtask warmup`");
    };
    Ok(artifact.check_fresh(root)?)
}

/// Asks the test binary for its tests: `smoketests --keel-metadata`.
pub(crate) fn read_metadata(
    sh: &Shell,
    test_binary: &Path,
    remote: Option<&str>,
) -> anyhow::Result<Vec<TestMeta>> {
    let mut command = cmd!(sh, "{test_binary} --keel-metadata").env_remove(keel_env::REMOTE_SERVER);
    if let Some(url) = remote {
        command = command.env(keel_env::REMOTE_SERVER, url);
    }
    let json =
        process::read(command).context("list the smoketests with `smoketests --keel-metadata`")?;
    serde_json::from_str(&json).context("parse the output of `smoketests --keel-metadata`")
}

/// Whether `cargo nextest` works here (or, without cargo, `cargo-nextest` over an archive's metadata).
pub(crate) fn nextest_available(sh: &Shell) -> bool {
    if !without_cargo::cargo_available() {
        return without_cargo::nextest_available(sh, &project_root());
    }
    let cargo = cargo();
    process::read(
        cmd!(sh, "{cargo} nextest --version")
            .quiet()
            .ignore_stderr(),
    )
    .is_ok()
}
