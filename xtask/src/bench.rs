//! `cargo xtask bench`: measure the smoke-test machinery side by side, print a table, write bench.json.
//!
//! Measured in one run, so ratios compare like with like: per-test overhead (from
//! `smoketests --keel-bench-overhead N`), the suite at `-j 16` vs `-j 1` vs the sum of test durations,
//! runtime module builds in the shared vs isolated target dir, a warm no-op warmup, and the peer
//! baseline (`KEEL_SMOKETEST_FRESH_SERVER=1`, a server process per test) vs the shared servers,
//! the archive (size, create, extract and verify, building once vs on every shard), and the
//! shard balance of `duration:`, `hash:` and `slice:` at 2, 4 and 8 shards (`shard_balance`),
//! and `--affected` after a one-module change vs the full run, with the coverage map's build time and
//! size (`affected`).
//! Numbers of a run with failed tests or infrastructure errors mean little: such runs are named in
//! bench.json (`failed_runs`, and per run `failed_tests` and `infrastructure_errors`), in a loud
//! warning, and make the bench exit non-zero.

mod affected;
mod shard_balance;

use std::{fs, time::Instant};

use anyhow::{Context, bail};
use keel_artifacts::{BenchOverhead, Manifest, env, smoketest_dir};
use serde::Serialize;
use xshell::{Shell, cmd};

use crate::{
    archive, flags, process, project_root,
    smoketest::{self, SharedServers, SuiteReport, TestStatus},
    warmup::{self, WarmupPlan},
};

impl flags::Bench {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let out_dir = smoketest_dir(&root);
        let _lock = smoketest::RunLock::acquire(&out_dir)?;
        let first = warmup::warmup(sh, WarmupPlan { server: true })
            .context("warm up before benchmarking")?;
        let started = Instant::now();
        let again = warmup::warmup(sh, WarmupPlan { server: true }).context("warm no-op warmup")?;
        let noop_warmup_ms = started.elapsed().as_secs_f64() * 1000.0;
        let noop_compiled: u32 = again.timings.iter().map(|it| it.crates_compiled).sum();

        let archive = measure_archive(sh, &root, &first.timings).context("measure the archive")?;

        let overhead = measure_overhead(sh, &first.test_binary, self.samples, &out_dir)
            .context("measure per-test overhead")?;

        let suite = |jobs: u32,
                     filters: &[String],
                     shared: bool,
                     env: &[(&str, &str)]|
         -> anyhow::Result<SuiteReport> {
            let mut flags = flags::Smoketest::qa_default();
            flags.no_build = true;
            flags.jobs = jobs;
            flags.filters = filters.to_vec();
            flags.shared_target_dir = shared;
            eprintln!(
                "\n==> bench: suite -j {jobs} filters {filters:?} shared target dir {shared} env {env:?}"
            );
            let report = smoketest::run_suite(sh, &flags, env)?;
            process::check_interrupted()?;
            Ok(report)
        };
        let parallel = suite(16, &self.filters, true, &[])?;
        let serial = suite(1, &self.filters, true, &[])?;
        let fresh_servers = suite(16, &self.filters, true, &[(env::FRESH_SERVER, "1")])?;
        let module_code = ["module_code::".to_owned()];
        let shared_builds = suite(16, &module_code, true, &[])?;
        let isolated_builds = suite(16, &module_code, false, &[])?;
        let shard_balance = shard_balance::measure(sh, &self.filters, &serial.summary)
            .context("measure the shard balance")?;

        let map = crate::coverage::map::CoverageMap::load(&root)?.map(|map| {
            let timings = map.timings();
            affected::MapFigures {
                build_ms: timings.build_ms + timings.warmup_ms + timings.tests_ms,
                bytes: fs::metadata(crate::coverage::map::CoverageMap::path(&root))
                    .map_or(0, |it| it.len()),
            }
        });
        let affected = affected::measure(sh, wall_ms(&parallel), map)
            .context("measure --affected after a one-module change")?;

        let runs = [
            ("suite -j16", &parallel),
            ("suite -j1", &serial),
            ("suite, fresh server per test", &fresh_servers),
            ("module_code:: builds, shared target dir", &shared_builds),
            (
                "module_code:: builds, isolated target dir",
                &isolated_builds,
            ),
        ];
        let failures: Vec<String> = runs
            .iter()
            .filter_map(|(label, report)| run_failure(label, report))
            .collect();
        let failed_runs: Vec<&str> = runs
            .iter()
            .filter(|(label, report)| run_failure(label, report).is_some())
            .map(|(label, _)| *label)
            .collect();

        let bench = BenchReport {
            failed_runs: failed_runs.iter().map(|it| (*it).to_owned()).collect(),
            per_test_overhead: overhead,
            suite: SuiteComparison {
                ratio_j1_over_j16: ratio(wall_ms(&serial), wall_ms(&parallel)),
                ratio_sum_of_durations_over_j16: ratio(
                    parallel.summary.total_duration_ms(),
                    wall_ms(&parallel),
                ),
                j16: SuiteRun::of(&parallel),
                j1: SuiteRun::of(&serial),
            },
            module_builds: BuildComparison {
                ratio_isolated_over_shared: ratio(
                    builds_ms(&isolated_builds),
                    builds_ms(&shared_builds),
                ),
                shared: SuiteRun::of(&shared_builds),
                isolated: SuiteRun::of(&isolated_builds),
            },
            warm_noop_warmup: NoopWarmup {
                wall_ms: noop_warmup_ms,
                crates_compiled: noop_compiled,
            },
            peer_baseline: PeerBaseline {
                ratio_fresh_over_shared: ratio(wall_ms(&fresh_servers), wall_ms(&parallel)),
                fresh_server_per_test: SuiteRun::of(&fresh_servers),
                shared_servers: SuiteRun::of(&parallel),
            },
            archive,
            shard_balance,
            affected,
        };
        let path = out_dir.join("bench.json");
        fs::create_dir_all(&out_dir).with_context(|| format!("create {}", out_dir.display()))?;
        fs::write(&path, serde_json::to_string_pretty(&bench)?)
            .with_context(|| format!("write {}", path.display()))?;
        print_table(&bench);
        eprintln!("\nwritten: {}", path.display());
        if !failures.is_empty() {
            eprintln!("\n{}", "!".repeat(72));
            eprintln!("WARNING: these bench runs FAILED, so their numbers are not comparable:");
            for failure in &failures {
                eprintln!("  - {failure}");
            }
            eprintln!("{}", "!".repeat(72));
            bail!(
                "{} bench run(s) failed: {}",
                failures.len(),
                failed_runs.join(", ")
            );
        }
        Ok(())
    }
}

/// `target/smoketest/bench.json`: every measurement of one bench run, written and printed from this type.
#[derive(Debug, Serialize)]
struct BenchReport {
    /// Labels of the runs with failed tests or infrastructure errors.
    failed_runs: Vec<String>,
    per_test_overhead: OverheadReport,
    suite: SuiteComparison,
    module_builds: BuildComparison,
    warm_noop_warmup: NoopWarmup,
    peer_baseline: PeerBaseline,
    archive: ArchiveBench,
    shard_balance: Vec<shard_balance::ShardBalance>,
    affected: affected::AffectedBench,
}

/// `cargo xtask archive`: size, time to create, time to extract and verify in a second clone, and
/// what building once saves over building on every shard.
#[derive(Debug, Serialize)]
struct ArchiveBench {
    bytes: u64,
    create_ms: f64,
    extract_verify_ms: f64,
    /// The warmup the archive's artifacts came from, summed over its steps (what a shard without
    /// the archive would spend building; a fresh clone's first warmup is the honest figure, a warm
    /// one understates it).
    build_ms: f64,
    /// Crates that warmup compiled (0: it was a no-op, and there is no saving to work out).
    build_crates_compiled: u32,
    /// `(N - 1) * build_ms - N * extract_verify_ms` for N = 2, 4, 8 shards; empty when the
    /// warmup compiled nothing, whose time says nothing of what a shard would spend building.
    saving_ms_by_shards: Vec<(u32, f64)>,
}

/// Creates an archive, extracts and verifies it in a clone, and works out the saving.
fn measure_archive(
    sh: &Shell,
    root: &std::path::Path,
    timings: &[keel_artifacts::BuildTiming],
) -> anyhow::Result<ArchiveBench> {
    eprintln!("\n==> bench: archive");
    let path = smoketest_dir(root).join("bench-archive.tar.zst");
    let created = archive::create(sh, root, &path)?;
    let temp = tempfile::Builder::new()
        .prefix("keel-bench-archive-")
        .tempdir()?;
    let clone = temp.path().join("checkout");
    archive::e2e::clone_with_changes(sh, root, &clone)?;
    let started = Instant::now();
    archive::extract(&path, &clone)?;
    let extract_verify_ms = started.elapsed().as_secs_f64() * 1000.0;
    fs::remove_file(&path).with_context(|| format!("remove {}", path.display()))?;
    // The archive's own build timings are those of the last real build when this one was fresh.
    let build_ms: f64 = timings.iter().map(|it| it.wall_ms).sum();
    let build_crates_compiled = timings.iter().map(|it| it.crates_compiled).sum();
    Ok(ArchiveBench {
        bytes: created.bytes,
        create_ms: created.wall.as_secs_f64() * 1000.0,
        extract_verify_ms,
        build_ms,
        build_crates_compiled,
        saving_ms_by_shards: if build_crates_compiled == 0 {
            Vec::new()
        } else {
            [2, 4, 8]
                .map(|n| {
                    (
                        n,
                        f64::from(n - 1) * build_ms - f64::from(n) * extract_verify_ms,
                    )
                })
                .to_vec()
        },
    })
}

/// The harness's `--keel-bench-overhead` samples, with the median and p95 of each sample list.
#[derive(Debug, Serialize)]
pub(crate) struct OverheadReport {
    #[serde(flatten)]
    raw: BenchOverhead,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples_ms_median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    samples_ms_p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_ms_median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_ms_p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module_code_ms_median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    module_code_ms_p95: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_start_ms_median: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    server_start_ms_p95: Option<f64>,
}

#[derive(Debug, Serialize)]
struct SuiteComparison {
    j16: SuiteRun,
    j1: SuiteRun,
    ratio_j1_over_j16: Option<f64>,
    ratio_sum_of_durations_over_j16: Option<f64>,
}

#[derive(Debug, Serialize)]
struct BuildComparison {
    shared: SuiteRun,
    isolated: SuiteRun,
    ratio_isolated_over_shared: Option<f64>,
}

#[derive(Debug, Serialize)]
struct NoopWarmup {
    wall_ms: f64,
    crates_compiled: u32,
}

#[derive(Debug, Serialize)]
struct PeerBaseline {
    fresh_server_per_test: SuiteRun,
    shared_servers: SuiteRun,
    ratio_fresh_over_shared: Option<f64>,
}

/// One measured suite run.
#[derive(Debug, Serialize)]
struct SuiteRun {
    wall_ms: f64,
    tests: usize,
    failed: usize,
    failed_tests: Vec<String>,
    infrastructure_errors: Vec<String>,
    sum_of_test_durations_ms: f64,
    module_builds_ms: f64,
    module_builds: usize,
}

impl SuiteRun {
    fn of(report: &SuiteReport) -> SuiteRun {
        SuiteRun {
            wall_ms: wall_ms(report),
            tests: report.summary.outcomes.len(),
            failed: report.summary.n_failed(),
            failed_tests: failed_tests(report)
                .into_iter()
                .map(str::to_owned)
                .collect(),
            infrastructure_errors: report.infrastructure_errors.clone(),
            sum_of_test_durations_ms: report.summary.total_duration_ms(),
            module_builds_ms: builds_ms(report),
            module_builds: report.builds.len(),
        }
    }
}

impl OverheadReport {
    pub(crate) fn new(raw: BenchOverhead) -> OverheadReport {
        let median = |samples: &[f64]| statistic(samples, 50.0);
        let p95 = |samples: &[f64]| statistic(samples, 95.0);
        OverheadReport {
            samples_ms_median: median(&raw.samples_ms),
            samples_ms_p95: p95(&raw.samples_ms),
            release_ms_median: median(&raw.release_ms),
            release_ms_p95: p95(&raw.release_ms),
            module_code_ms_median: median(&raw.module_code_ms),
            module_code_ms_p95: p95(&raw.module_code_ms),
            server_start_ms_median: median(&raw.server_start_ms),
            server_start_ms_p95: p95(&raw.server_start_ms),
            raw,
        }
    }
}

fn wall_ms(report: &SuiteReport) -> f64 {
    report.wall.as_secs_f64() * 1000.0
}

fn builds_ms(report: &SuiteReport) -> f64 {
    report
        .builds
        .iter()
        .map(|it| it.duration_ms)
        .fold(0.0, |total, it| total + it)
}

/// Names of the failed tests of a run.
fn failed_tests(report: &SuiteReport) -> Vec<&str> {
    report
        .summary
        .with_status(TestStatus::Failed)
        .map(|it| it.name.as_str())
        .collect()
}

/// What went wrong in the measured run `label`, if anything: failed tests or infrastructure errors.
fn run_failure(label: &str, report: &SuiteReport) -> Option<String> {
    let failed = failed_tests(report);
    let mut problems = Vec::new();
    if !failed.is_empty() {
        problems.push(format!(
            "{} failed test(s): {}",
            failed.len(),
            failed.join(", ")
        ));
    }
    if !report.infrastructure_errors.is_empty() {
        problems.push(format!(
            "infrastructure: {}",
            report.infrastructure_errors.join("; ")
        ));
    }
    (!problems.is_empty()).then(|| format!("{label}: {}", problems.join("; ")))
}

/// Runs `smoketests --keel-bench-overhead N` against a shared server and adds median and p95 to every sample list.
fn measure_overhead(
    sh: &Shell,
    test_binary: &std::path::Path,
    samples: u32,
    out_dir: &std::path::Path,
) -> anyhow::Result<OverheadReport> {
    let root = project_root();
    let manifest = Manifest::load(&root)?;
    let binary = smoketest::fresh_binary(&root, &manifest, "keel-standalone")?;
    // Like a suite run: no pool or records left over from an earlier (perhaps interrupted) run.
    smoketest::prepare_run_dirs(out_dir)?;
    let results_dir = out_dir.join("bench-results");
    if results_dir.exists() {
        fs::remove_dir_all(&results_dir)
            .with_context(|| format!("clear {}", results_dir.display()))?;
    }
    let servers = SharedServers::start(&binary, &out_dir.join("servers"), 1)?;
    let samples = samples.to_string();
    let pool_dir = out_dir.join("pool");
    let command = cmd!(sh, "{test_binary} --keel-bench-overhead {samples}")
        .env(env::SHARED_SERVERS, servers.urls())
        .env(env::SHARED_SERVER_LOGS, servers.logs())
        .env(env::POOL_DIR, &pool_dir)
        .env(env::RESULTS_DIR, &results_dir)
        .env(env::WORKSPACE_ROOT, &root)
        .env_remove(env::REMOTE_SERVER);
    let output = process::read(command)?;
    drop(servers);
    let raw: BenchOverhead =
        serde_json::from_str(&output).context("parse the --keel-bench-overhead JSON")?;
    Ok(OverheadReport::new(raw))
}

/// The nearest-rank `percent` percentile of `samples`; none for no samples.
fn statistic(samples: &[f64], percent: f64) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    (!sorted.is_empty()).then(|| percentile(&sorted, percent))
}

/// Nearest-rank percentile of sorted, non-empty `numbers`.
pub(crate) fn percentile(sorted: &[f64], percent: f64) -> f64 {
    let rank = ((percent / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn ratio(numerator: f64, denominator: f64) -> Option<f64> {
    (denominator > 0.0).then(|| numerator / denominator)
}

/// A table cell: integers as they are, other numbers with two decimals, a missing one as `null`.
enum Cell {
    Count(u64),
    Number(Option<f64>),
}

fn print_table(bench: &BenchReport) {
    let overhead = &bench.per_test_overhead;
    let (suite, builds, peer) = (&bench.suite, &bench.module_builds, &bench.peer_baseline);
    let number = |value: f64| Cell::Number(Some(value));
    let mut rows = vec![
        (
            "per-test overhead median (ms)".to_owned(),
            Cell::Number(overhead.samples_ms_median),
        ),
        (
            "per-test overhead p95 (ms)".to_owned(),
            Cell::Number(overhead.samples_ms_p95),
        ),
    ];
    for (key, median) in [
        ("module_code_ms_median", overhead.module_code_ms_median),
        ("release_ms_median", overhead.release_ms_median),
        ("server_start_ms_median", overhead.server_start_ms_median),
    ] {
        if median.is_some() {
            rows.push((format!("{key} (ms)"), Cell::Number(median)));
        }
    }
    let fixed = [
        (
            "reducer calls per second, one client",
            number(overhead.raw.calls_per_second),
        ),
        ("suite wall -j16 (ms)", number(suite.j16.wall_ms)),
        ("suite wall -j1 (ms)", number(suite.j1.wall_ms)),
        (
            "sum of test durations at -j16 (ms)",
            number(suite.j16.sum_of_test_durations_ms),
        ),
        (
            "sum of test durations at -j1 (ms)",
            number(suite.j1.sum_of_test_durations_ms),
        ),
        ("ratio -j1 / -j16", Cell::Number(suite.ratio_j1_over_j16)),
        (
            "ratio sum of durations / -j16",
            Cell::Number(suite.ratio_sum_of_durations_over_j16),
        ),
        (
            "module builds shared (ms)",
            number(builds.shared.module_builds_ms),
        ),
        (
            "module builds isolated (ms)",
            number(builds.isolated.module_builds_ms),
        ),
        (
            "ratio isolated / shared",
            Cell::Number(builds.ratio_isolated_over_shared),
        ),
        (
            "warm no-op warmup (ms)",
            number(bench.warm_noop_warmup.wall_ms),
        ),
        (
            "warm no-op warmup crates compiled",
            Cell::Count(bench.warm_noop_warmup.crates_compiled.into()),
        ),
        (
            "suite, fresh server per test (ms)",
            number(peer.fresh_server_per_test.wall_ms),
        ),
        (
            "suite, shared servers (ms)",
            number(peer.shared_servers.wall_ms),
        ),
        (
            "ratio fresh / shared",
            Cell::Number(peer.ratio_fresh_over_shared),
        ),
        ("archive size (bytes)", Cell::Count(bench.archive.bytes)),
        ("archive create (ms)", number(bench.archive.create_ms)),
        (
            "archive extract + verify (ms)",
            number(bench.archive.extract_verify_ms),
        ),
        (
            "build the archive holds (ms, its warmup)",
            number(bench.archive.build_ms),
        ),
    ];
    rows.extend(
        fixed
            .into_iter()
            .map(|(label, cell)| (label.to_owned(), cell)),
    );
    if bench.archive.saving_ms_by_shards.is_empty() {
        rows.push((
            "build once vs on each shard: saved (ms)".to_owned(),
            Cell::Number(None),
        ));
        eprintln!(
            "note: the warmup compiled nothing, so building once vs on every shard is not worked out; run the bench on a fresh clone"
        );
    }
    for (shards, saving_ms) in &bench.archive.saving_ms_by_shards {
        rows.push((
            format!("build once vs on each of {shards} shards: saved (ms)"),
            number(*saving_ms),
        ));
    }
    let affected = &bench.affected;
    rows.push((
        format!(
            "--affected after editing {} (ms, {} of {} tests)",
            affected.edited, affected.selected, affected.total
        ),
        number(affected.affected_wall_ms),
    ));
    rows.push((
        "ratio --affected / full run".to_owned(),
        Cell::Number(affected.ratio_affected_over_full),
    ));
    match &affected.coverage_map {
        Some(map) => {
            rows.push(("coverage map build (ms)".to_owned(), number(map.build_ms)));
            rows.push((
                "coverage map size (bytes)".to_owned(),
                Cell::Count(map.bytes),
            ));
        }
        None => eprintln!(
            "note: no coverage map; run `cargo xtask coverage-map` for its build time and size"
        ),
    }
    for balance in &bench.shard_balance {
        rows.push((
            format!(
                "{}:_/{} slowest / mean, predicted",
                balance.kind, balance.shards
            ),
            Cell::Number(balance.predicted_slowest_over_mean),
        ));
        rows.push((
            format!(
                "{}:_/{} slowest / mean, measured",
                balance.kind, balance.shards
            ),
            Cell::Number(balance.measured_slowest_over_mean),
        ));
    }
    eprintln!("\n{:<48} {:>12}", "benchmark", "value");
    for (label, cell) in rows {
        let text = match cell {
            Cell::Count(count) => count.to_string(),
            Cell::Number(Some(number)) => format!("{number:.2}"),
            Cell::Number(None) => "null".to_owned(),
        };
        eprintln!("{label:<48} {text:>12}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistics_are_added_to_every_sample_list() {
        let raw = BenchOverhead {
            iterations: 5,
            samples_ms: vec![5.0, 1.0, 3.0, 2.0, 4.0],
            release_ms: Vec::new(),
            module_code_ms: vec![10.0],
            server_start_ms: vec![2.0, 4.0],
            calls_per_second: 100.0,
            shared_target_dir: true,
        };
        let report = OverheadReport::new(raw);
        assert_eq!(report.samples_ms_median, Some(3.0));
        assert_eq!(report.samples_ms_p95, Some(5.0));
        assert_eq!(report.module_code_ms_median, Some(10.0));
        assert_eq!(report.release_ms_median, None);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["samples_ms_median"], 3.0);
        assert_eq!(json["server_start_ms_p95"], 4.0);
        assert_eq!(json["calls_per_second"], 100.0);
        assert!(json.get("release_ms_median").is_none(), "{json}");
    }

    #[test]
    fn failed_runs_are_named_with_their_problems() {
        use std::time::Duration;

        use crate::smoketest::summary::Outcome;
        let report = |status: TestStatus, infrastructure_errors: Vec<String>| SuiteReport {
            summary: smoketest::Summary {
                outcomes: vec![Outcome {
                    name: "sql::select".to_owned(),
                    status,
                    duration_ms: Some(1.0),
                    detail: None,
                    attempts: Vec::new(),
                    file: None,
                    line: None,
                }],
                ..Default::default()
            },
            builds: Vec::new(),
            timings: Vec::new(),
            wall: Duration::from_millis(5),
            used_nextest: true,
            registered: Some(1),
            affected_headline: None,
            infrastructure_errors,
            interrupted: false,
            selected: None,
            shard: None,
        };
        assert_eq!(
            run_failure("suite -j16", &report(TestStatus::Passed, Vec::new())),
            None
        );
        assert_eq!(
            run_failure("suite -j16", &report(TestStatus::Failed, Vec::new())).unwrap(),
            "suite -j16: 1 failed test(s): sql::select"
        );
        assert_eq!(
            run_failure(
                "suite -j1",
                &report(TestStatus::Passed, vec!["server died".to_owned()])
            )
            .unwrap(),
            "suite -j1: infrastructure: server died"
        );
    }

    #[test]
    fn percentile_uses_nearest_rank() {
        let sorted: Vec<f64> = (1..=20).map(f64::from).collect();
        assert_eq!(percentile(&sorted, 50.0), 10.0);
        assert_eq!(percentile(&sorted, 95.0), 19.0);
        assert_eq!(percentile(&[7.0], 95.0), 7.0);
    }
}
