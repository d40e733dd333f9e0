//! `cargo xtask smoketest`: warm up, start shared servers, run the suite, summarise, report.
//!
//! Submodules: `runner` picks nextest or `cargo test` and their arguments, `selection` asks the test
//! binary which tests the run selects, `servers` owns the shared local servers, `summary` merges test
//! records with `--keel-metadata` and writes the reports, `lock` keeps one run per checkout,
//! `partition` deals the selected tests to shards, `shard` is the record (`run.json`) a run leaves for
//! `cargo xtask report merge`, `github` writes the job summary and annotations under GitHub Actions.

pub(crate) mod github;
mod lock;
pub(crate) mod partition;
mod runner;
pub(crate) mod selection;
mod servers;
pub(crate) mod shard;
pub(crate) mod summary;
pub(crate) mod without_cargo;

use std::{
    collections::{BTreeMap, BTreeSet},
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
    /// How many tests the binary registers; none when its metadata could not be read.
    pub(crate) registered: Option<usize>,
    /// With `--affected`: "N of M tests selected (counts per reason)".
    pub(crate) affected_headline: Option<String>,
    /// Every test the run selected, before partitioning; none when listing failed.
    pub(crate) selected: Option<BTreeSet<String>>,
    /// With `--partition`: this shard's tests and predicted time.
    pub(crate) shard: Option<ShardAssignment>,
}

/// This run's shard of the selected tests.
#[derive(Debug, Clone)]
pub(crate) struct ShardAssignment {
    /// `--partition`.
    pub(crate) partition: partition::Partition,
    /// The tests dealt to this shard.
    pub(crate) tests: BTreeSet<String>,
    /// The predicted time of every shard (index = M-1), from the recorded durations.
    pub(crate) predicted_ms: Vec<f64>,
}

/// Where a run writes its reports: `target/smoketest/`, or `target/smoketest/shards/KIND-M-of-N/`
/// for a shard, so that a shard leaves the durations of the last full run (the balance input) alone.
pub(crate) fn report_dir(out_dir: &Path, partition: Option<&partition::Partition>) -> PathBuf {
    match partition {
        None => out_dir.to_path_buf(),
        Some(partition) => out_dir
            .join("shards")
            .join(partition.to_string().replace(':', "-").replace('/', "-of-")),
    }
}

impl flags::Smoketest {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let _lock = RunLock::acquire(&smoketest_dir(&project_root()))?;
        if self.watch {
            return crate::affected::watch::run(sh, &self);
        }
        if self.lists_only() {
            return list_affected(sh, &self);
        }
        let report = run_suite(sh, &self, &[])?;
        finish(&self, &report)
    }
}

/// `--affected --dry-run` and `--explain`: warm up, decide, print; run nothing.
fn list_affected(sh: &Shell, flags: &flags::Smoketest) -> anyhow::Result<()> {
    let root = project_root();
    let test_binary = if flags.no_build {
        // Listing only: a binary older than the sources still names the tests it was built with.
        let manifest = Manifest::load(&root)?;
        match fresh_binary(&root, &manifest, "smoketests") {
            Ok(binary) => binary,
            Err(stale) => {
                eprintln!("warning: {stale:#}; the tests are listed as that binary registers them");
                let Some(artifact) = manifest.binaries.get("smoketests") else {
                    bail!(
                        "the artifact manifest has no smoketests binary; run `cargo xtask warmup`"
                    );
                };
                root.join(&artifact.path)
            }
        }
    } else {
        warmup::warmup(
            sh,
            WarmupPlan {
                server: flags.server.is_none(),
            },
        )?
        .test_binary
    };
    let metadata = read_metadata(sh, &test_binary, flags.server.as_deref())?;
    let listed: BTreeSet<String> = list_selected(sh, &test_binary, flags)?
        .into_keys()
        .collect();
    let affected = crate::affected::select(sh, &root, flags, &metadata)?;
    affected.print();
    if flags.explain.is_none() {
        for (test, reasons) in &affected.selection.selected {
            if listed.contains(test) {
                let reasons: Vec<String> = reasons.iter().map(ToString::to_string).collect();
                println!("{test}\t{}", reasons.join("; "));
            }
        }
    }
    Ok(())
}

/// Prints the summary, writes the reports and turns failures into an error.
pub(crate) fn finish(flags: &flags::Smoketest, report: &SuiteReport) -> anyhow::Result<()> {
    let root = project_root();
    let out_dir = report_dir(&smoketest_dir(&root), flags.partition.as_ref());
    eprint!("{}", report.summary.render(&report.builds, &report.timings));
    if let Some(headline) = &report.affected_headline {
        eprintln!("\naffected: {headline}");
    }
    if let Some(shard) = &report.shard {
        eprintln!(
            "\nshard {}: {} test(s), predicted {:.1}s, ran {:.1}s",
            shard.partition,
            shard.tests.len(),
            shard.predicted_ms[shard_index(&shard.partition)] / 1000.0,
            report.wall.as_secs_f64()
        );
    }
    report.summary.write_durations(&out_dir)?;
    let record = shard::RunRecord::of(report);
    record.write(&out_dir)?;
    if github::enabled() {
        github::publish(&report.summary, &[record.shard_time()])?;
    }
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
    report.verdict()
}

impl SuiteReport {
    /// Fails when the run was interrupted, a test failed, or the infrastructure did.
    pub(crate) fn verdict(&self) -> anyhow::Result<()> {
        if self.interrupted {
            bail!("interrupted; the summary above counts only the tests that finished");
        }
        let failed: Vec<&str> = self.summary.failing().map(|it| it.name.as_str()).collect();
        match (failed.len(), self.infrastructure_errors.is_empty()) {
            (0, true) => Ok(()),
            (0, false) => bail!(
                "smoketest infrastructure failed: {}",
                self.infrastructure_errors.join("; ")
            ),
            (n, _) => {
                let mut message = format!("{n} smoketest(s) failed: {}", failed.join(", "));
                if !self.infrastructure_errors.is_empty() {
                    message.push_str(&format!(
                        "; also: {}",
                        self.infrastructure_errors.join("; ")
                    ));
                }
                bail!(message)
            }
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
    let listed = match list_selected(sh, &test_binary, flags) {
        Ok(listed) => Some(listed),
        Err(err) => {
            eprintln!("warning: {err:#}");
            infrastructure_errors.push(format!("{err:#}"));
            None
        }
    };
    // Test name -> the name as listed (`[kind] name`), which nextest knows the test by.
    let listed_names = listed.clone().unwrap_or_default();
    let as_listed = |name: &String| listed_names.get(name).unwrap_or(name).clone();
    let selected: Option<BTreeSet<String>> = listed.map(|it| it.into_keys().collect());
    let nothing_selected = selected.as_ref().is_some_and(BTreeSet::is_empty);
    // `--affected` narrows the selection; selecting nothing is then no error, just nothing to do.
    let affected = match (flags.selects_affected(), &metadata) {
        (false, _) => None,
        (true, Some(metadata)) => Some(crate::affected::select(sh, &root, flags, metadata)?),
        (true, None) => bail!(
            "--affected needs the tests' metadata, which could not be read (see the warning above)"
        ),
    };
    let selected = match (&affected, selected) {
        (Some(affected), Some(selected)) => {
            affected.print();
            Some(&selected & &affected.tests())
        }
        (_, selected) => selected,
    };
    let shard = match (&flags.partition, &selected) {
        (None, _) => None,
        (Some(partition), Some(selected)) => Some(assign_shard(
            &out_dir,
            *partition,
            selected,
            &listed_names,
            metadata.as_deref(),
        )),
        (Some(partition), None) => {
            bail!("cannot run shard {partition}: the selected tests could not be listed")
        }
    };
    // The tests this run is to run: its shard, or the whole selection.
    let assigned: Option<BTreeSet<String>> = match &shard {
        Some(shard) => Some(shard.tests.clone()),
        None => selected.clone(),
    };
    let serial: BTreeSet<String> = metadata
        .iter()
        .flatten()
        .filter(|it| it.serial.is_some())
        .map(|it| it.name.clone())
        .collect();

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

    let used_nextest = !flags.no_nextest && nextest_available(sh);
    let serial_config = out_dir.join("nextest-serial.toml");
    let serial_list: Vec<String> = serial.iter().map(as_listed).collect();
    if used_nextest && !serial.is_empty() {
        fs::write(&serial_config, runner::serial_tool_config(&serial_list))
            .with_context(|| format!("write {}", serial_config.display()))?;
    }
    // nextest runs an explicit list for a duration shard and for an `--affected` selection (then
    // already dealt to this shard by `assign_shard`, so nextest does not partition it again).
    let exact_list: Option<Vec<String>> = if affected.is_some() {
        assigned
            .as_ref()
            .map(|it| it.iter().map(as_listed).collect())
    } else {
        shard
            .as_ref()
            .filter(|it| it.partition.kind == partition::PartitionKind::Duration)
            .map(|it| it.tests.iter().map(as_listed).collect())
    };
    let options = RunOptions {
        filters: &flags.filters,
        jobs: flags.jobs,
        fail_fast: flags.fail_fast,
        extra_args: &flags.extra_args,
        nextest_partition: flags
            .partition
            .filter(|_| affected.is_none())
            .and_then(|it| it.nextest_arg()),
        exact_tests: exact_list.as_deref(),
        retries: flags.retries,
        flaky_fails: flags.flaky_result.fails(),
        profile: &flags.profile,
        serial_config: (used_nextest && !serial.is_empty()).then_some(serial_config.as_path()),
    };
    if !used_nextest && flags.profile != "ci" {
        eprintln!(
            "warning: --profile {} is a nextest profile; the cargo test fallback has none",
            flags.profile
        );
    }
    let nextest_junit = root.join("target/nextest/ci/junit.xml");
    if nextest_junit.exists() {
        fs::remove_file(&nextest_junit)
            .with_context(|| format!("remove the old {}", nextest_junit.display()))?;
    }
    let started = Instant::now();
    let mut runner_failures: Vec<ExitStatus> = Vec::new();
    let mut interrupted = false;
    let nothing_to_run = nothing_selected || assigned.as_ref().is_some_and(BTreeSet::is_empty);
    if let Some(shard) = &shard {
        let shard_idx = shard_index(&shard.partition);
        eprintln!(
            "==> shard {}: {} of {} selected test(s), predicted {:.1}s (every shard: {})",
            shard.partition,
            shard.tests.len(),
            selected.as_ref().map_or(0, BTreeSet::len),
            shard.predicted_ms[shard_idx] / 1000.0,
            shard
                .predicted_ms
                .iter()
                .map(|it| format!("{:.1}s", it / 1000.0))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let all_tests: Option<BTreeSet<String>> = metadata
        .as_ref()
        .map(|it| it.iter().map(|meta| meta.name.clone()).collect());
    let fallback_lists = match (&assigned, &all_tests) {
        (Some(assigned), Some(all)) if !used_nextest => Some((assigned, all)),
        _ => None,
    };
    if nothing_to_run {
        // Nothing to run: an empty shard, or no test selected (an error below).
    } else if let Some((assigned, all_tests)) = fallback_lists {
        // The cargo test fallback runs explicit lists, so partitions, serial tests and retries
        // behave as under nextest.
        let mut to_run = assigned.clone();
        'attempts: for attempt in 1..=flags.retries + 1 {
            let attempt_text = attempt.to_string();
            let (serial_tests, parallel_tests): (BTreeSet<String>, BTreeSet<String>) =
                to_run.iter().cloned().partition(|it| serial.contains(it));
            for (tests, threads) in [(parallel_tests, flags.jobs), (serial_tests, 1)] {
                if tests.is_empty() {
                    continue;
                }
                let binary_args =
                    runner::fallback_args(&tests, all_tests, threads, &flags.extra_args);
                let args = runner::cargo_test_args(&binary_args);
                let mut pass_env = env_vars.clone();
                pass_env.push((keel_env::ATTEMPT, attempt_text.clone()));
                eprintln!(
                    "==> cargo test: {} test(s) on {threads} thread(s), attempt {attempt}",
                    tests.len()
                );
                match run_cargo(sh, &args, &pass_env)? {
                    None => {
                        interrupted = true;
                        break 'attempts;
                    }
                    Some(status) if !status.success() => {
                        runner_failures.push(status);
                        if flags.fail_fast {
                            break 'attempts;
                        }
                    }
                    Some(_) => {}
                }
            }
            let records = TestRecord::read_all(&results_dir)
                .with_context(|| format!("read test records from {}", results_dir.display()))?;
            to_run = retry_candidates(&to_run, &records, attempt, metadata.as_deref());
            if to_run.is_empty() {
                break;
            }
        }
    } else {
        for args in test_invocations(used_nextest, &options) {
            eprintln!("==> cargo {}", args.join(" "));
            match run_cargo(sh, &args, &env_vars)? {
                None => {
                    interrupted = true;
                    break;
                }
                Some(status) if !status.success() => {
                    runner_failures.push(status);
                    if flags.fail_fast {
                        break;
                    }
                }
                Some(_) => {}
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
    let records_for_usage = records.clone();
    let summary = summarize(
        metadata.as_deref(),
        records,
        &assigned.unwrap_or_default(),
        RunKind {
            remote,
            interrupted,
            fail_fast: flags.fail_fast,
            flaky_fails: flags.flaky_result.fails(),
        },
    );
    if summary.n_failed() == 0 && !runner_failures.is_empty() && !interrupted {
        infrastructure_errors.push(format!(
            "the test runner failed ({}) although no test recorded a failure; see its output above",
            runner_failures[0]
        ));
    }
    if metadata.is_some() && !interrupted && !flags.no_usage_records {
        let full_green = flags.filters.is_empty()
            && flags.extra_args.is_empty()
            && flags.partition.is_none()
            && affected.is_none()
            && !remote
            && summary.n_failed() == 0
            && infrastructure_errors.is_empty()
            && runner_failures.is_empty();
        // The records serve later `--affected` runs; failing to write them fails no test run.
        if let Err(err) = crate::affected::record_run(
            sh,
            &root,
            &records_for_usage,
            &summary,
            metadata.as_deref().unwrap_or_default(),
            full_green,
        ) {
            eprintln!(
                "warning: could not update the usage records (target/smoketest/usage.json): {err:#}"
            );
        }
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
        registered: metadata.as_ref().map(Vec::len),
        affected_headline: affected.as_ref().map(|it| it.selection.headline()),
        selected,
        shard,
    })
}

/// `cargo ARGS` with the run's environment; `None` when Ctrl-C or SIGTERM stopped it.
fn run_cargo(
    sh: &Shell,
    args: &[String],
    env_vars: &[(&str, String)],
) -> anyhow::Result<Option<ExitStatus>> {
    let mut command = without_cargo::command(sh, &project_root(), args)?;
    for key in keel_env::SERVER_VARIABLES {
        command = command.env_remove(key);
    }
    command = command.envs(env_vars.iter().map(|(key, value)| (*key, value.as_str())));
    match process::run_status(command) {
        Ok(status) => Ok(Some(status)),
        Err(_) if process::was_interrupted() => Ok(None),
        Err(err) => Err(err.context("run the smoketests")),
    }
}

/// The tests of `ran` to try again after `attempt`: those whose record of that attempt failed, and
/// those that left none although the binary does not skip them (the process running them died).
fn retry_candidates(
    ran: &BTreeSet<String>,
    records: &[TestRecord],
    attempt: u32,
    metadata: Option<&[TestMeta]>,
) -> BTreeSet<String> {
    let skipped_here = |name: &str| {
        metadata
            .unwrap_or_default()
            .iter()
            .any(|meta| meta.name == name && meta.skipped.is_some())
    };
    ran.iter()
        .filter(|name| {
            match records
                .iter()
                .find(|it| &it.name == *name && it.attempt == attempt)
            {
                Some(record) => !record.passed(),
                None => !skipped_here(name),
            }
        })
        .cloned()
        .collect()
}

/// The index of this shard in its plan (M-1).
pub(crate) fn shard_index(partition: &partition::Partition) -> usize {
    usize::try_from(partition.shard - 1).expect("shard index fits usize")
}

/// Deals `selected` to the shards of `partition` and returns this one's share.
///
/// Tests are dealt by the names nextest knows them by (`listed`: `[kind] name`), so `hash:` and
/// `slice:` select what nextest selects. `duration:` reads `test-durations.json` under `out_dir`
/// (the last full run's, or the archive's); a missing or unreadable file makes every test weigh the
/// same, with a warning.
pub(crate) fn assign_shard(
    out_dir: &Path,
    partition: partition::Partition,
    selected: &BTreeSet<String>,
    listed: &BTreeMap<String, String>,
    metadata: Option<&[TestMeta]>,
) -> ShardAssignment {
    let durations = match shard::read_durations(&out_dir.join("test-durations.json")) {
        Ok(durations) => durations,
        Err(err) => {
            if partition.kind == partition::PartitionKind::Duration {
                eprintln!("warning: no recorded durations ({err:#}); every test weighs the same");
            }
            BTreeMap::new()
        }
    };
    let ignored = |name: &str| {
        metadata
            .unwrap_or_default()
            .iter()
            .any(|meta| meta.name == name && meta.skipped.is_some())
    };
    // Durations are recorded by test name; the plan sees listed names.
    let by_listed: BTreeMap<&str, &String> = selected
        .iter()
        .map(|name| (listed.get(name).unwrap_or(name).as_str(), name))
        .collect();
    let listed_durations: BTreeMap<String, f64> = by_listed
        .iter()
        .filter_map(|(listed, name)| durations.get(*name).map(|ms| ((*listed).to_owned(), *ms)))
        .collect();
    let entries: Vec<partition::PlanEntry<'_>> = by_listed
        .iter()
        .map(|(listed, name)| partition::PlanEntry {
            name: listed,
            ignored: ignored(name),
        })
        .collect();
    let plan = partition::plan(partition.kind, partition.total, &entries, &listed_durations);
    let tests = plan.shards[shard_index(&partition)]
        .iter()
        .map(|listed| (*by_listed[listed.as_str()]).clone())
        .collect();
    ShardAssignment {
        partition,
        tests,
        predicted_ms: plan.predicted_ms,
    }
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
pub(crate) fn list_selected(
    sh: &Shell,
    test_binary: &Path,
    flags: &flags::Smoketest,
) -> anyhow::Result<BTreeMap<String, String>> {
    let mut selected = BTreeMap::new();
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
        selected.extend(selection::parse_listed(&output));
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
