//! The run summary: results merged from test records and `--keel-metadata`, printed and written as reports.
//!
//! The selected tests are the ones the test binary lists for the run's arguments (`selection.rs`).
//! A selected test without a record counts as failed ("no result recorded"), unless it is local-only in
//! remote mode, where it is skipped with the reason from its metadata, or `--fail-fast` stopped the run
//! after a failure, where it is skipped with the reason `fail-fast`. Nothing is silently a pass.
//! After an interrupt, the tests that did not finish are counted apart and the summary says so.
//! Every attempt of a test leaves a record: a test that failed and then passed is flaky, listed in its
//! own section and as `flakyFailure` in JUnit, and counted as failed under `--flaky-result fail`.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    fs,
    path::Path,
    time::Duration,
};

use anyhow::Context;
use keel_artifacts::{BuildTiming, ModuleBuildRecord, TestMeta, TestRecord};
use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestRerun, TestSuite};
use serde::{Deserialize, Serialize};

/// How a selected test ended: from its record if it ran, else from its metadata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum TestStatus {
    /// It ran and succeeded at the first attempt.
    Passed,
    /// It ran and failed at its last attempt, or left no record.
    Failed,
    /// It did not run (local-only in remote mode, or `fail-fast`); the detail says why.
    Skipped,
    /// It failed, then passed at a retry; the detail is the first failure.
    Flaky,
}

/// One test's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Outcome {
    /// The test name.
    pub(crate) name: String,
    /// Passed, failed, skipped or flaky.
    pub(crate) status: TestStatus,
    /// How long its last attempt ran; none when it left no record.
    pub(crate) duration_ms: Option<f64>,
    /// The failure message or the skip reason.
    pub(crate) detail: Option<String>,
    /// Every attempt, in order; empty when it left no record.
    #[serde(default)]
    pub(crate) attempts: Vec<Attempt>,
    /// Where the test is registered (from its metadata), for annotations.
    #[serde(default)]
    pub(crate) file: Option<String>,
    /// The line of the registration in `file`.
    #[serde(default)]
    pub(crate) line: Option<u32>,
}

/// One try of a test, from its record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct Attempt {
    /// From 1.
    pub(crate) attempt: u32,
    /// Wall time of this try.
    pub(crate) duration_ms: f64,
    /// Why it failed; none when it passed.
    pub(crate) failure: Option<String>,
}

/// All outcomes of a run, sorted by name.
#[derive(Debug, Clone, Default)]
pub(crate) struct Summary {
    /// The outcomes.
    pub(crate) outcomes: Vec<Outcome>,
    /// Whether the run was interrupted (Ctrl-C, SIGTERM).
    pub(crate) interrupted: bool,
    /// Selected tests that did not finish before the interrupt.
    pub(crate) not_finished: usize,
    /// `--flaky-result fail`: flaky tests count as failed.
    pub(crate) flaky_fails: bool,
}

/// How a run went, as far as the summary needs to know.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct RunKind {
    /// Against a remote server: local-only tests are skipped.
    pub(crate) remote: bool,
    /// Stopped by Ctrl-C or SIGTERM: tests without a record did not finish.
    pub(crate) interrupted: bool,
    /// `--fail-fast`: after a failure, tests without a record were not run because of it.
    pub(crate) fail_fast: bool,
    /// `--flaky-result fail`.
    pub(crate) flaky_fails: bool,
}

/// Merges the records with the `selected` tests (as the test binary listed them) and their metadata.
pub(crate) fn summarize(
    metadata: Option<&[TestMeta]>,
    records: Vec<TestRecord>,
    selected: &BTreeSet<String>,
    run: RunKind,
) -> Summary {
    let RunKind {
        remote,
        interrupted,
        fail_fast,
        flaky_fails,
    } = run;
    let meta_of = |name: &str| {
        metadata
            .unwrap_or_default()
            .iter()
            .find(|meta| meta.name == name)
    };
    let mut attempts_by_name: BTreeMap<String, Vec<Attempt>> = BTreeMap::new();
    for record in records {
        attempts_by_name
            .entry(record.name)
            .or_default()
            .push(Attempt {
                attempt: record.attempt,
                duration_ms: record.duration_ms,
                failure: record.failure,
            });
    }
    let mut outcomes: Vec<Outcome> = attempts_by_name
        .into_iter()
        .map(|(name, mut attempts)| {
            attempts.sort_by_key(|it| it.attempt);
            let last = attempts.last().expect("a record per entry");
            let first_failure = attempts.iter().find_map(|it| it.failure.clone());
            let (status, detail) = match (&last.failure, first_failure) {
                (Some(failure), _) => (TestStatus::Failed, Some(failure.clone())),
                (None, Some(failure)) => (TestStatus::Flaky, Some(failure)),
                (None, None) => (TestStatus::Passed, None),
            };
            let meta = meta_of(&name);
            Outcome {
                status,
                detail,
                duration_ms: Some(last.duration_ms),
                file: meta.map(|it| it.file.clone()).filter(|it| !it.is_empty()),
                line: meta.map(|it| it.line).filter(|it| *it > 0),
                name,
                attempts,
            }
        })
        .collect();
    let stopped_by_fail_fast =
        fail_fast && outcomes.iter().any(|it| it.status == TestStatus::Failed);
    let mut not_finished = 0;
    for name in selected {
        if outcomes.iter().any(|it| &it.name == name) {
            continue;
        }
        let meta = meta_of(name);
        let local_only = meta.and_then(|meta| meta.local_only.as_deref());
        // Skipped where the binary runs (no cargo), as it said in `--keel-metadata`.
        let skipped = meta.and_then(|meta| meta.skipped.clone());
        let (status, detail) = match local_only {
            Some(reason) if remote => (TestStatus::Skipped, format!("local only: {reason}")),
            _ if skipped.is_some() => (TestStatus::Skipped, skipped.unwrap_or_default()),
            _ if interrupted => {
                not_finished += 1;
                continue;
            }
            _ if stopped_by_fail_fast => (TestStatus::Skipped, "fail-fast".to_owned()),
            _ => (
                TestStatus::Failed,
                "no result recorded (crashed or timed out)".to_owned(),
            ),
        };
        outcomes.push(Outcome {
            name: name.clone(),
            status,
            duration_ms: None,
            detail: Some(detail),
            attempts: Vec::new(),
            file: meta.map(|it| it.file.clone()).filter(|it| !it.is_empty()),
            line: meta.map(|it| it.line).filter(|it| *it > 0),
        });
    }
    outcomes.sort_by(|a, b| a.name.cmp(&b.name));
    Summary {
        outcomes,
        interrupted,
        not_finished,
        flaky_fails,
    }
}

impl Summary {
    /// Outcomes with `status`.
    pub(crate) fn with_status(&self, status: TestStatus) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(move |it| it.status == status)
    }

    /// The outcomes that fail the run: failed tests, and flaky ones under `--flaky-result fail`.
    pub(crate) fn failing(&self) -> impl Iterator<Item = &Outcome> {
        self.outcomes.iter().filter(|it| {
            it.status == TestStatus::Failed || (self.flaky_fails && it.status == TestStatus::Flaky)
        })
    }

    /// Number of tests that fail the run.
    pub(crate) fn n_failed(&self) -> usize {
        self.failing().count()
    }

    /// `3 passed, 1 failed (a::b), 0 flaky, 2 skipped`: watch mode's compact result.
    pub(crate) fn one_line(&self) -> String {
        let count = |status| self.with_status(status).count();
        let failing: Vec<&str> = self.failing().map(|it| it.name.as_str()).collect();
        let mut line = format!(
            "{} passed, {} failed",
            count(TestStatus::Passed),
            failing.len()
        );
        if !failing.is_empty() {
            line.push_str(&format!(" ({})", failing.join(", ")));
        }
        line.push_str(&format!(
            ", {} flaky, {} skipped",
            count(TestStatus::Flaky),
            count(TestStatus::Skipped)
        ));
        line
    }

    /// Sum of recorded test durations.
    pub(crate) fn total_duration_ms(&self) -> f64 {
        self.outcomes
            .iter()
            .filter_map(|it| it.duration_ms)
            .fold(0.0, |total, it| total + it)
    }

    /// Outcomes with a duration, slowest first.
    pub(crate) fn slowest(&self) -> Vec<&Outcome> {
        let mut timed: Vec<&Outcome> = self
            .outcomes
            .iter()
            .filter(|it| it.duration_ms.is_some())
            .collect();
        timed.sort_by(|a, b| {
            b.duration_ms
                .partial_cmp(&a.duration_ms)
                .unwrap_or(std::cmp::Ordering::Equal)
        });
        timed
    }

    /// The human-readable summary.
    pub(crate) fn render(&self, builds: &[ModuleBuildRecord], timings: &[BuildTiming]) -> String {
        let mut out = String::new();
        let n_flaky = self.with_status(TestStatus::Flaky).count();
        let n_passed = self.with_status(TestStatus::Passed).count()
            + if self.flaky_fails { 0 } else { n_flaky };
        let n_skipped = self.with_status(TestStatus::Skipped).count();
        if self.interrupted {
            let _ = writeln!(
                out,
                "\nsmoketests INTERRUPTED: counting only the tests that finished; {} selected test(s) did not",
                self.not_finished
            );
        }
        let _ = writeln!(
            out,
            "\nsmoketests{}: {n_passed} passed, {} failed, {n_skipped} skipped",
            if self.interrupted {
                " (interrupted)"
            } else {
                ""
            },
            self.n_failed()
        );
        if n_skipped > 0 {
            let _ = writeln!(out, "\nskipped:");
            for outcome in self.with_status(TestStatus::Skipped) {
                let _ = writeln!(
                    out,
                    "  {} ({})",
                    outcome.name,
                    outcome.detail.as_deref().unwrap_or("no reason given")
                );
            }
        }
        if n_flaky > 0 {
            let _ = writeln!(
                out,
                "\nflaky (failed, then passed at a retry; {} under --flaky-result {}):",
                if self.flaky_fails {
                    "failing"
                } else {
                    "passing"
                },
                if self.flaky_fails { "fail" } else { "pass" }
            );
            for outcome in self.with_status(TestStatus::Flaky) {
                let detail = headline(outcome.detail.as_deref().unwrap_or(""));
                let _ = writeln!(
                    out,
                    "{}",
                    format!(
                        "  {} (passed at attempt {}) {detail}",
                        outcome.name,
                        outcome.attempts.len()
                    )
                    .trim_end()
                );
            }
        }
        if self.with_status(TestStatus::Failed).count() > 0 {
            let _ = writeln!(out, "\nfailed:");
            for outcome in self.with_status(TestStatus::Failed) {
                let detail = headline(outcome.detail.as_deref().unwrap_or(""));
                let _ = writeln!(out, "{}", format!("  {} {detail}", outcome.name).trim_end());
            }
        }
        let slowest = self.slowest();
        if !slowest.is_empty() {
            let _ = writeln!(out, "\nslowest tests:");
            for outcome in slowest.iter().take(10) {
                let _ = writeln!(
                    out,
                    "  {:>9.2}s  {}",
                    outcome.duration_ms.unwrap_or(0.0) / 1000.0,
                    outcome.name
                );
            }
        }
        if !timings.is_empty() {
            let _ = writeln!(out, "\nbuild timings:");
            for timing in timings {
                let _ = writeln!(
                    out,
                    "  {:<20} {:>8.2}s {:>4} crates compiled",
                    timing.step,
                    timing.wall_ms / 1000.0,
                    timing.crates_compiled
                );
            }
        }
        if !builds.is_empty() {
            let total_ms = builds
                .iter()
                .map(|it| it.duration_ms)
                .fold(0.0, |total, it| total + it);
            let shared = builds.iter().filter(|it| it.shared_target_dir).count();
            let _ = writeln!(
                out,
                "\nmodule_code builds: {} ({shared} in the shared target dir, {} isolated), {:.2}s in total",
                builds.len(),
                builds.len() - shared,
                total_ms / 1000.0
            );
            for build in builds {
                let _ = writeln!(
                    out,
                    "  {:>9.2}s {:>4} crates {} {} / {}",
                    build.duration_ms / 1000.0,
                    build.crates_compiled,
                    if build.success { "ok    " } else { "FAILED" },
                    build.test,
                    build.module
                );
            }
        }
        out
    }

    /// Writes `test-durations.json` and `test-durations.md` into `dir`.
    pub(crate) fn write_durations(&self, dir: &Path) -> anyhow::Result<()> {
        fs::create_dir_all(dir).with_context(|| format!("create {}", dir.display()))?;
        let slowest = self.slowest();
        let json = serde_json::to_string_pretty(&slowest)?;
        let json_path = dir.join("test-durations.json");
        fs::write(&json_path, json).with_context(|| format!("write {}", json_path.display()))?;
        let mut markdown = String::from("| test | status | duration (s) |\n| --- | --- | ---: |\n");
        for outcome in slowest {
            let status = format!("{:?}", outcome.status).to_lowercase();
            let _ = writeln!(
                markdown,
                "| `{}` | {status} | {:.3} |",
                outcome.name,
                outcome.duration_ms.unwrap_or(0.0) / 1000.0
            );
        }
        let md_path = dir.join("test-durations.md");
        fs::write(&md_path, markdown).with_context(|| format!("write {}", md_path.display()))
    }

    /// The JUnit report of this run.
    pub(crate) fn junit(&self) -> Report {
        let mut suite = TestSuite::new("smoketests");
        for outcome in &self.outcomes {
            let failed = outcome.status == TestStatus::Failed
                || (self.flaky_fails && outcome.status == TestStatus::Flaky);
            let mut status = match outcome.status {
                TestStatus::Passed | TestStatus::Flaky if !failed => TestCaseStatus::success(),
                TestStatus::Skipped => TestCaseStatus::skipped(),
                _ => TestCaseStatus::non_success(NonSuccessKind::Failure),
            };
            if outcome.status != TestStatus::Flaky
                && let Some(detail) = &outcome.detail
            {
                status.set_message(detail.as_str());
            }
            // As nextest writes them: the failed earlier attempts are `flakyFailure` entries of
            // a passing test case and `rerunFailure` entries of a failing one.
            let earlier = outcome.attempts.len().saturating_sub(1);
            for attempt in outcome.attempts.iter().take(earlier) {
                let Some(failure) = &attempt.failure else {
                    continue;
                };
                let mut rerun = TestRerun::new(NonSuccessKind::Failure);
                rerun
                    .set_message(headline(failure))
                    .set_description(failure.as_str())
                    .set_time(Duration::from_secs_f64(
                        attempt.duration_ms.max(0.0) / 1000.0,
                    ));
                status.add_rerun(rerun);
            }
            if outcome.status == TestStatus::Flaky && failed {
                status.set_message("flaky: failed, then passed at a retry (--flaky-result fail)");
            }
            let mut case = TestCase::new(outcome.name.as_str(), status);
            case.set_classname("smoketests");
            if let Some(duration_ms) = outcome.duration_ms {
                case.set_time(Duration::from_secs_f64(duration_ms.max(0.0) / 1000.0));
            }
            suite.add_test_case(case);
        }
        let mut report = Report::new("smoketests");
        report.add_test_suite(suite);
        report
    }

    /// Writes the JUnit report to `path`.
    pub(crate) fn write_junit(&self, path: &Path) -> anyhow::Result<()> {
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        }
        let xml = self
            .junit()
            .to_string()
            .context("render the JUnit report")?;
        fs::write(path, xml).with_context(|| format!("write JUnit report {}", path.display()))
    }
}

/// The longest failure headline the summary prints, in characters.
const HEADLINE_CHARS: usize = 200;

/// The failure message in one line: its first line, or, when that is only a heading (`...:`), up to
/// three lines joined with " / "; stops at the report's `--- ` sections and keeps ~200 characters.
pub(crate) fn headline(message: &str) -> String {
    let lines: Vec<&str> = message
        .lines()
        .map(str::trim)
        .filter(|it| !it.is_empty())
        .take_while(|it| !it.starts_with("--- "))
        .collect();
    let Some(first) = lines.first() else {
        return String::new();
    };
    let line = if first.ends_with(':') {
        lines
            .iter()
            .take(3)
            .copied()
            .collect::<Vec<_>>()
            .join(" / ")
    } else {
        (*first).to_owned()
    };
    if line.chars().count() <= HEADLINE_CHARS {
        return line;
    }
    let mut short: String = line.chars().take(HEADLINE_CHARS - 1).collect();
    short.push('…');
    short
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(name: &str, status: TestStatus, duration_ms: f64) -> TestRecord {
        TestRecord {
            name: name.to_owned(),
            duration_ms,
            failure: (status == TestStatus::Failed).then(|| "assertion failed".to_owned()),
            attempt: 1,
            usage: keel_artifacts::TestUsage::default(),
        }
    }

    fn meta(name: &str, local_only: Option<&str>) -> TestMeta {
        TestMeta {
            name: name.to_owned(),
            local_only: local_only.map(str::to_owned),
            serial: None,
            file: "tests/src/fixture.rs".to_owned(),
            line: 7,
            skipped: None,
        }
    }

    #[test]
    fn tests_the_binary_skips_are_skipped_with_its_reason() {
        let metadata = vec![TestMeta {
            skipped: Some(keel_artifacts::SKIP_NEEDS_CARGO.to_owned()),
            ..meta("module_code::builds", None)
        }];
        let selected = BTreeSet::from(["module_code::builds".to_owned()]);
        let summary = summarize(Some(&metadata), Vec::new(), &selected, RunKind::default());
        let outcome = &summary.outcomes[0];
        assert_eq!(outcome.status, TestStatus::Skipped);
        assert_eq!(
            outcome.detail.as_deref(),
            Some("needs cargo: builds a module at run time")
        );
    }

    fn fixture_records(dir: &Path) -> Vec<TestRecord> {
        record("sql::select", TestStatus::Passed, 120.0)
            .write(dir)
            .unwrap();
        record("cli::publish", TestStatus::Failed, 900.0)
            .write(dir)
            .unwrap();
        record("logs::tail", TestStatus::Passed, 40.0)
            .write(dir)
            .unwrap();
        TestRecord::read_all(dir).unwrap()
    }

    fn fixture_metadata() -> Vec<TestMeta> {
        vec![
            meta("sql::select", None),
            meta("cli::publish", None),
            meta("logs::tail", None),
            meta("restart::keeps_data", Some("restarts the server")),
            meta("crash::no_record", None),
        ]
    }

    fn all_of(metadata: &[TestMeta]) -> BTreeSet<String> {
        metadata.iter().map(|it| it.name.clone()).collect()
    }

    fn status_of(summary: &Summary, name: &str) -> Option<(TestStatus, Option<String>)> {
        summary
            .outcomes
            .iter()
            .find(|it| it.name == name)
            .map(|it| (it.status, it.detail.clone()))
    }

    #[test]
    fn selected_tests_without_records_fail() {
        let dir = tempfile::tempdir().unwrap();
        let records = fixture_records(dir.path());
        let summary = summarize(
            Some(&fixture_metadata()),
            records,
            &all_of(&fixture_metadata()),
            RunKind::default(),
        );
        assert_eq!(summary.outcomes.len(), 5);
        assert_eq!(summary.n_failed(), 3, "{summary:?}");
        let (status, detail) = status_of(&summary, "crash::no_record").unwrap();
        assert_eq!(status, TestStatus::Failed);
        assert!(detail.unwrap().contains("no result recorded"));
    }

    #[test]
    fn local_only_tests_are_skipped_with_reason_in_remote_mode() {
        let dir = tempfile::tempdir().unwrap();
        let records = fixture_records(dir.path());
        let summary = summarize(
            Some(&fixture_metadata()),
            records,
            &all_of(&fixture_metadata()),
            RunKind {
                remote: true,
                ..RunKind::default()
            },
        );
        let (status, detail) = status_of(&summary, "restart::keeps_data").unwrap();
        assert_eq!(status, TestStatus::Skipped);
        assert_eq!(detail.as_deref(), Some("local only: restarts the server"));
        let rendered = summary.render(&[], &[]);
        assert!(
            rendered.contains("2 passed, 2 failed, 1 skipped"),
            "{rendered}"
        );
        assert!(
            rendered.contains("restart::keeps_data (local only: restarts the server)"),
            "{rendered}"
        );
    }

    #[test]
    fn only_the_listed_tests_count() {
        // `cargo xtask smoketest -- --exact basics::counter_increments`: the binary lists one test.
        let dir = tempfile::tempdir().unwrap();
        let mut metadata = fixture_metadata();
        metadata.push(meta("basics::counter_increments", None));
        metadata.push(meta("basics::counter_increments_twice", None));
        record("basics::counter_increments", TestStatus::Passed, 30.0)
            .write(dir.path())
            .unwrap();
        let records = TestRecord::read_all(dir.path()).unwrap();
        let selected =
            crate::smoketest::selection::parse_list("basics::counter_increments: test\n");
        let summary = summarize(Some(&metadata), records, &selected, RunKind::default());
        let names: Vec<_> = summary.outcomes.iter().map(|it| it.name.as_str()).collect();
        assert_eq!(names, ["basics::counter_increments"]);
        let rendered = summary.render(&[], &[]);
        assert!(
            rendered.contains("smoketests: 1 passed, 0 failed, 0 skipped"),
            "{rendered}"
        );
    }

    #[test]
    fn a_test_that_fails_then_passes_is_flaky() {
        let dir = tempfile::tempdir().unwrap();
        let mut first = record("sql::select", TestStatus::Failed, 10.0);
        first.failure = Some("timed out waiting".to_owned());
        first.write(dir.path()).unwrap();
        TestRecord {
            attempt: 2,
            ..record("sql::select", TestStatus::Passed, 12.0)
        }
        .write(dir.path())
        .unwrap();
        record("logs::tail", TestStatus::Passed, 40.0)
            .write(dir.path())
            .unwrap();
        let selected = BTreeSet::from(["sql::select".to_owned(), "logs::tail".to_owned()]);
        let summarize_with = |flaky_fails| {
            summarize(
                Some(&fixture_metadata()),
                TestRecord::read_all(dir.path()).unwrap(),
                &selected,
                RunKind {
                    flaky_fails,
                    ..RunKind::default()
                },
            )
        };
        let passing = summarize_with(false);
        let (status, detail) = status_of(&passing, "sql::select").unwrap();
        assert_eq!(status, TestStatus::Flaky);
        assert_eq!(detail.as_deref(), Some("timed out waiting"));
        assert_eq!(passing.n_failed(), 0);
        let rendered = passing.render(&[], &[]);
        assert!(
            rendered.contains("smoketests: 2 passed, 0 failed, 0 skipped")
                && rendered.contains("flaky (failed, then passed at a retry; passing")
                && rendered.contains("sql::select (passed at attempt 2) timed out waiting"),
            "{rendered}"
        );
        let xml = passing.junit().to_string().unwrap();
        assert!(
            xml.contains("<flakyFailure") && xml.contains(r#"failures="0""#),
            "{xml}"
        );

        let failing = summarize_with(true);
        assert_eq!(failing.n_failed(), 1);
        assert!(
            failing
                .render(&[], &[])
                .contains("smoketests: 1 passed, 1 failed, 0 skipped")
        );
        let xml = failing.junit().to_string().unwrap();
        assert!(
            xml.contains("<rerunFailure") && xml.contains(r#"failures="1""#),
            "{xml}"
        );
    }

    #[test]
    fn tests_fail_fast_did_not_run_are_skipped_with_that_reason() {
        let dir = tempfile::tempdir().unwrap();
        let records = fixture_records(dir.path());
        let summary = summarize(
            Some(&fixture_metadata()),
            records,
            &all_of(&fixture_metadata()),
            RunKind {
                fail_fast: true,
                ..RunKind::default()
            },
        );
        let (status, detail) = status_of(&summary, "crash::no_record").unwrap();
        assert_eq!(
            (status, detail.as_deref()),
            (TestStatus::Skipped, Some("fail-fast"))
        );
        assert_eq!(summary.n_failed(), 1);
        // Without a recorded failure, fail-fast stopped nothing: a missing record is a failure.
        let passed = tempfile::tempdir().unwrap();
        record("sql::select", TestStatus::Passed, 1.0)
            .write(passed.path())
            .unwrap();
        let summary = summarize(
            Some(&fixture_metadata()),
            TestRecord::read_all(passed.path()).unwrap(),
            &all_of(&fixture_metadata()),
            RunKind {
                fail_fast: true,
                ..RunKind::default()
            },
        );
        assert_eq!(
            status_of(&summary, "crash::no_record").unwrap().0,
            TestStatus::Failed
        );
    }

    #[test]
    fn interrupted_runs_count_only_finished_tests() {
        let dir = tempfile::tempdir().unwrap();
        let records = fixture_records(dir.path());
        let summary = summarize(
            Some(&fixture_metadata()),
            records,
            &all_of(&fixture_metadata()),
            RunKind {
                interrupted: true,
                ..RunKind::default()
            },
        );
        assert_eq!(summary.outcomes.len(), 3);
        assert_eq!(summary.not_finished, 2);
        assert_eq!(summary.n_failed(), 1);
        let rendered = summary.render(&[], &[]);
        assert!(
            rendered.contains("INTERRUPTED")
                && rendered.contains("2 selected test(s) did not")
                && rendered.contains("smoketests (interrupted): 2 passed, 1 failed, 0 skipped"),
            "{rendered}"
        );
    }

    #[test]
    fn failure_headlines_skip_bare_headings() {
        assert_eq!(
            headline("the CLI command failed:\nkeel publish counter\nexit status 2\nstderr: boom"),
            "the CLI command failed: / keel publish counter / exit status 2"
        );
        assert_eq!(
            headline("\n  expected 3, got 4\nmore detail"),
            "expected 3, got 4"
        );
        assert_eq!(
            headline("heading:\n\n--- what the test did (2 steps)\ncall x"),
            "heading:"
        );
        let long = headline(&"x".repeat(500));
        assert_eq!(long.chars().count(), HEADLINE_CHARS);
        assert!(long.ends_with('…'));
        assert_eq!(headline(""), "");
        let dir = tempfile::tempdir().unwrap();
        let mut failed = record("cli::publish", TestStatus::Failed, 5.0);
        failed.failure = Some("the CLI command failed:\nCliOutput { status: 2 }".to_owned());
        failed.write(dir.path()).unwrap();
        let summary = summarize(
            None,
            TestRecord::read_all(dir.path()).unwrap(),
            &BTreeSet::new(),
            RunKind::default(),
        );
        assert!(
            summary
                .render(&[], &[])
                .contains("  cli::publish the CLI command failed: / CliOutput { status: 2 }"),
            "{}",
            summary.render(&[], &[])
        );
    }

    #[test]
    fn durations_and_junit_are_written() {
        let dir = tempfile::tempdir().unwrap();
        let records = fixture_records(&dir.path().join("results"));
        let summary = summarize(
            Some(&fixture_metadata()),
            records,
            &all_of(&fixture_metadata()),
            RunKind {
                remote: true,
                ..RunKind::default()
            },
        );
        summary.write_durations(dir.path()).unwrap();
        let durations: Vec<serde_json::Value> = serde_json::from_str(
            &fs::read_to_string(dir.path().join("test-durations.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(durations.len(), 3);
        assert_eq!(durations[0]["name"], "cli::publish");
        let markdown = fs::read_to_string(dir.path().join("test-durations.md")).unwrap();
        assert!(
            markdown.contains("| `cli::publish` | failed | 0.900 |"),
            "{markdown}"
        );

        let junit_path = dir.path().join("reports/junit.xml");
        summary.write_junit(&junit_path).unwrap();
        let xml = fs::read_to_string(junit_path).unwrap();
        assert!(
            xml.contains(r#"tests="5""#) && xml.contains(r#"failures="2""#),
            "{xml}"
        );
        assert!(
            xml.contains(r#"<skipped message="local only: restarts the server""#)
                && xml.contains("no result recorded"),
            "{xml}"
        );
    }

    #[test]
    fn render_lists_slowest_and_module_builds() {
        let dir = tempfile::tempdir().unwrap();
        let summary = summarize(
            None,
            fixture_records(dir.path()),
            &BTreeSet::new(),
            RunKind::default(),
        );
        let builds = [ModuleBuildRecord {
            test: "module_code::bad_import".to_owned(),
            module: "bad".to_owned(),
            shared_target_dir: true,
            duration_ms: 2500.0,
            crates_compiled: 4,
            success: false,
        }];
        let timings = [BuildTiming {
            step: "modules".to_owned(),
            wall_ms: 300.0,
            crates_compiled: 0,
            fresh: true,
        }];
        let rendered = summary.render(&builds, &timings);
        let slowest = rendered.find("slowest tests").unwrap();
        assert!(
            rendered[slowest..].find("cli::publish").unwrap()
                < rendered[slowest..].find("logs::tail").unwrap()
        );
        assert!(
            rendered.contains("module_code builds: 1 (1 in the shared target dir, 0 isolated)"),
            "{rendered}"
        );
        assert!(rendered.contains("modules"), "{rendered}");
        assert_eq!(summary.total_duration_ms(), 1060.0);
    }
}
