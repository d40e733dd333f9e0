//! The command line of `cargo xtask`, declared once with clap derive; each `///` line is help text.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand};
use keel_artifacts::env;

use crate::smoketest::partition::Partition;

/// Keel's orchestrator: builds artifacts, runs the smoketests, checks the tree.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
pub(crate) struct Xtask {
    /// The task to run; without one, the list of tasks is printed.
    #[command(subcommand)]
    pub(crate) command: Option<Command>,
}

/// The tasks.
#[derive(Debug, Subcommand)]
pub(crate) enum Command {
    /// Build everything the smoketests need and record it in target/smoketest/manifest.json.
    Warmup(Warmup),
    /// Warm up, start shared servers, run the smoketests and print a summary.
    Smoketest(Smoketest),
    /// Formatting, lints, unit tests and the smoketests: what CI runs.
    Qa(Qa),
    /// Measure the smoke-test machinery and write target/smoketest/bench.json.
    Bench(Bench),
    /// Check the tree's hygiene rules (module docs, whitespace, no shell strings, ...).
    Tidy(Tidy),
    /// Run the reliability scenarios against fresh servers and write target/smoketest/stress.json.
    Stress(Stress),
    /// Work with the reports of runs: `report merge` joins the shards of one run.
    Report(Report),
    /// Warm up, then write one .tar.zst holding everything a run needs, for a machine without Rust.
    Archive(Archive),
    /// Unpack an archive of `cargo xtask archive` into this checkout, verifying it first.
    Extract(Extract),
    /// Fuzz a fresh server against its OpenAPI description with schemathesis (a step of qa).
    OpenapiCheck(OpenapiCheck),
    /// Measure --affected by mutation: every test a mutation fails must be selected (minutes).
    AffectedRecall(AffectedRecall),
    /// Run every smoketest against coverage-instrumented binaries and write
    /// target/smoketest/coverage-map.json: the lines of server and CLI code each test executed.
    CoverageMap(CoverageMap),
    /// How strong the smoketests are: their coverage of the server's and the CLI's crates, per
    /// file, with the uncovered regions, in target/smoketest/strength.json and strength.md; with
    /// --mutants also the mutation score (minutes).
    Strength(Strength),
}

/// Flags of `cargo xtask affected-recall`: none; the mutations are listed in `affected/recall.rs`.
#[derive(Debug, Args)]
pub(crate) struct AffectedRecall {}

/// Flags of `cargo xtask warmup`: none; it builds the same artifacts for every kind of run.
#[derive(Debug, Args)]
pub(crate) struct Warmup {}

/// Flags of `cargo xtask archive`.
#[derive(Debug, Args)]
pub(crate) struct Archive {
    /// Where to write the archive [default: target/smoketest/smoketests.tar.zst].
    #[arg(long, value_name = "FILE")]
    pub(crate) archive_file: Option<PathBuf>,
    /// Then prove it (as `cargo xtask qa` does): run it in a second clone without cargo on PATH.
    #[arg(long, conflicts_with = "archive_file")]
    pub(crate) prove: bool,
}

/// Flags of `xtask extract`.
#[derive(Debug, Args)]
pub(crate) struct Extract {
    /// The archive to unpack (made by `cargo xtask archive` from this checkout's revision).
    #[arg(long, value_name = "FILE")]
    pub(crate) archive_file: PathBuf,
}

/// Flags of `cargo xtask smoketest`.
#[derive(Debug, Args, Clone)]
pub(crate) struct Smoketest {
    /// Run only tests whose names contain one of these filters.
    pub(crate) filters: Vec<String>,
    /// Run against this remote server instead of local ones (passed to the tests as KEEL_REMOTE_SERVER).
    #[arg(long, env = env::REMOTE_SERVER, value_name = "URL")]
    pub(crate) server: Option<String>,
    /// Tests run in parallel.
    #[arg(short = 'j', long = "jobs", default_value_t = 16, value_name = "N")]
    pub(crate) jobs: u32,
    /// Stop at the first failing test (the default runs everything).
    #[arg(long)]
    pub(crate) fail_fast: bool,
    /// Do not build; use the artifacts of the last warmup.
    #[arg(long)]
    pub(crate) no_build: bool,
    /// Where to write the JUnit XML report [default: target/smoketest/junit.xml].
    #[arg(long, value_name = "PATH")]
    pub(crate) junit: Option<PathBuf>,
    /// Whether runtime module builds share target/smoketest-modules and the global CARGO_HOME.
    #[arg(long, env = env::USE_SHARED_TARGET_DIR, default_value_t = true, action = ArgAction::Set, value_name = "BOOL")]
    pub(crate) shared_target_dir: bool,
    /// Number of shared local servers to start.
    #[arg(long, default_value_t = 1, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) servers: u32,
    /// Run one shard of the selected tests: hash:M/N and slice:M/N as nextest deals them,
    /// duration:M/N balanced by the recorded durations; reports go to target/smoketest/shards/KIND-M-of-N/.
    #[arg(long, value_name = "KIND:M/N")]
    pub(crate) partition: Option<Partition>,
    /// Run a failing test again up to N times; one that then passes is flaky.
    #[arg(long, default_value_t = 0, value_name = "N", value_parser = clap::value_parser!(u32).range(0..=20))]
    pub(crate) retries: u32,
    /// Whether a flaky test passes or fails the run.
    #[arg(long, value_enum, default_value_t = FlakyResult::Pass, value_name = "RESULT")]
    pub(crate) flaky_result: FlakyResult,
    /// Use the cargo test fallback even where nextest is installed.
    #[arg(long)]
    pub(crate) no_nextest: bool,
    /// The nextest profile (.config/nextest.toml); the cargo test fallback has none.
    #[arg(long, default_value = "ci", value_name = "P")]
    pub(crate) profile: String,
    /// Run only the tests the changes since the last green full run can affect (see README).
    #[arg(long)]
    pub(crate) affected: bool,
    /// Count the changes from this revision instead of the last green full run (implies --affected).
    #[arg(long, value_name = "REV")]
    pub(crate) since: Option<String>,
    /// List the --affected selection and why, without running it (implies --affected).
    #[arg(long)]
    pub(crate) dry_run: bool,
    /// Say why TEST is or is not selected by --affected (implies --affected --dry-run).
    #[arg(long, value_name = "TEST")]
    pub(crate) explain: Option<String>,
    /// Re-run the affected tests on every save (Ctrl-C stops).
    #[arg(long, conflicts_with_all = ["partition", "dry_run", "explain"])]
    pub(crate) watch: bool,
    /// Watch mode's saved files, which replace git's changes in a round.
    #[arg(skip)]
    pub(crate) changed_files: Option<Vec<PathBuf>>,
    /// Leave the usage records alone (runs of a mutated tree must not become records).
    #[arg(skip)]
    pub(crate) no_usage_records: bool,
    /// Extra arguments for the test binary (after `--`), such as `--exact` or `--skip NAME`.
    #[arg(last = true)]
    pub(crate) extra_args: Vec<String>,
}

/// What a flaky test (failed, then passed at a retry) does to the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum FlakyResult {
    /// It counts as passed, listed in its own section.
    Pass,
    /// It counts as failed.
    Fail,
}

impl FlakyResult {
    /// Whether flaky tests fail the run.
    pub(crate) fn fails(self) -> bool {
        self == FlakyResult::Fail
    }
}

/// Flags of `cargo xtask report`.
#[derive(Debug, Args)]
pub(crate) struct Report {
    /// What to do with the reports.
    #[command(subcommand)]
    pub(crate) command: ReportCommand,
}

/// The subcommands of `cargo xtask report`.
#[derive(Debug, Subcommand)]
pub(crate) enum ReportCommand {
    /// Merge the reports of the shards of one run into one summary, JUnit and durations file;
    /// a selected test that ran in no shard or in two is an error.
    Merge(Merge),
}

/// Flags of `cargo xtask report merge`.
#[derive(Debug, Args)]
pub(crate) struct Merge {
    /// The shards' report directories, each holding the run.json a partitioned run writes.
    #[arg(required = true, value_name = "DIR")]
    pub(crate) dirs: Vec<PathBuf>,
    /// Where to write the merged junit.xml, test-durations.{json,md} and run.json.
    #[arg(long, default_value = "target/smoketest", value_name = "DIR")]
    pub(crate) out: PathBuf,
    /// Whether a flaky test passes or fails the merged run.
    #[arg(long, value_enum, default_value_t = FlakyResult::Pass, value_name = "RESULT")]
    pub(crate) flaky_result: FlakyResult,
}

/// Flags of `cargo xtask qa`.
#[derive(Debug, Args)]
pub(crate) struct Qa {
    /// Stop after the unit tests, without running the smoketests.
    #[arg(long)]
    pub(crate) skip_smoketest: bool,
    /// Run only this step (repeatable), e.g. `--only affected`; it expects what earlier steps built.
    #[arg(long, value_name = "STEP")]
    pub(crate) only: Vec<String>,
}

/// Flags of `cargo xtask openapi-check`.
#[derive(Debug, Args)]
pub(crate) struct OpenapiCheck {
    /// Do not build; use the server and modules of the last warmup (they must be fresh).
    #[arg(long)]
    pub(crate) no_build: bool,
}

/// Flags of `cargo xtask coverage-map`.
#[derive(Debug, Args)]
pub(crate) struct CoverageMap {
    /// Map only tests whose names contain one of these filters (as `cargo xtask smoketest` filters).
    pub(crate) filters: Vec<String>,
    /// Test processes run in parallel (each with its own instrumented server).
    #[arg(short = 'j', long = "jobs", default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) jobs: u32,
    /// Build nothing and run nothing: print which tests of the existing map executed FILE (or its
    /// lines A-B), as the affected-test selection would select them.
    #[arg(long, value_name = "FILE[:A[-B]]", conflicts_with_all = ["filters", "jobs"])]
    pub(crate) query: Option<String>,
}

/// Flags of `cargo xtask strength`.
#[derive(Debug, Args)]
pub(crate) struct Strength {
    /// Test processes run in parallel when the coverage map must be built again (each with its
    /// own instrumented server); a fresh map is reused and runs nothing.
    #[arg(short = 'j', long = "jobs", default_value_t = 2, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=64))]
    pub(crate) jobs: u32,
    /// Measure the mutation score too: cargo-mutants' mutants, each judged in a scratch copy.
    #[arg(long)]
    pub(crate) mutants: bool,
    /// Mutate this file (repeatable; default: guard.rs, migration.rs, auth.rs, routes.rs).
    #[arg(long = "file", value_name = "FILE", requires = "mutants")]
    pub(crate) files: Vec<PathBuf>,
    /// Judge each mutant by the whole suite instead of the tests --affected selects for it.
    #[arg(long, requires = "mutants")]
    pub(crate) all: bool,
}

/// Flags of `cargo xtask bench`.
#[derive(Debug, Args)]
pub(crate) struct Bench {
    /// Samples for the per-test overhead measurement.
    #[arg(long, default_value_t = 20, value_name = "N")]
    pub(crate) samples: u32,
    /// Restrict the suite-level comparisons to tests matching these filters.
    pub(crate) filters: Vec<String>,
}

/// Flags of `cargo xtask tidy`.
#[derive(Debug, Args)]
pub(crate) struct Tidy {}

/// Flags of `cargo xtask stress`.
#[derive(Debug, Args)]
pub(crate) struct Stress {
    /// Run only this scenario (repeatable); without it, all of them.
    #[arg(long = "scenario", value_name = "NAME", value_enum)]
    pub(crate) scenarios: Vec<crate::stress::Scenario>,
    /// Seconds of the timed scenarios (`race`, the load of `sigterm-under-load`).
    #[arg(long, default_value_t = 5, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=600))]
    pub(crate) seconds: u64,
    /// `--sql-time-limit-ms` of the servers in the SQL scenarios (readers get a fifth of it).
    #[arg(long, default_value_t = 2000, value_name = "MS", value_parser = clap::value_parser!(u64).range(100..=60_000))]
    pub(crate) sql_time_limit_ms: u64,
    /// Anonymous connections of `anonymous-bodies`.
    #[arg(long, default_value_t = 256, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub(crate) connections: u32,
    /// Idle connections of `idle-connections`.
    #[arg(long, default_value_t = 5000, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=20_000))]
    pub(crate) idle_connections: u32,
    /// Do not build; use the artifacts of the last warmup, with a warning where they are stale.
    #[arg(long)]
    pub(crate) no_build: bool,
}

/// Where the tests run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Target {
    /// Shared local servers started by the xtask.
    Local {
        /// How many.
        servers: u32,
    },
    /// A server somebody else runs.
    Remote {
        /// Its URL.
        url: String,
    },
}

impl Smoketest {
    /// Local servers or the remote one.
    pub(crate) fn target(&self) -> Target {
        match &self.server {
            Some(url) => Target::Remote { url: url.clone() },
            None => Target::Local {
                servers: self.servers,
            },
        }
    }

    /// The smoketest run `cargo xtask qa` performs: everything, with default settings.
    pub(crate) fn qa_default() -> Smoketest {
        Smoketest {
            filters: Vec::new(),
            server: None,
            jobs: 16,
            fail_fast: false,
            no_build: false,
            junit: None,
            shared_target_dir: true,
            servers: 1,
            partition: None,
            retries: 0,
            flaky_result: FlakyResult::Pass,
            profile: "ci".to_owned(),
            no_nextest: false,
            affected: false,
            since: None,
            dry_run: false,
            explain: None,
            watch: false,
            changed_files: None,
            no_usage_records: false,
            extra_args: Vec::new(),
        }
    }

    /// Whether `--affected` (or `--since`, `--dry-run` or `--explain`, which imply it) is on.
    pub(crate) fn selects_affected(&self) -> bool {
        self.affected || self.since.is_some() || self.dry_run || self.explain.is_some()
    }

    /// Whether the run only lists what it would run.
    pub(crate) fn lists_only(&self) -> bool {
        self.dry_run || self.explain.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Xtask, clap::Error> {
        Xtask::try_parse_from(std::iter::once("xtask").chain(args.iter().copied()))
    }

    fn smoketest(args: &[&str]) -> Smoketest {
        match parse(args).unwrap().command {
            Some(Command::Smoketest(it)) => it,
            other => panic!("not a smoketest command: {other:?}"),
        }
    }

    #[test]
    fn no_arguments_means_no_task() {
        assert!(parse(&[]).unwrap().command.is_none());
    }

    #[test]
    fn smoketest_defaults() {
        let flags = smoketest(&["smoketest"]);
        assert_eq!(flags.jobs, 16);
        assert!(!flags.fail_fast && !flags.no_build);
        assert_eq!(flags.target(), Target::Local { servers: 1 });
        assert!(flags.filters.is_empty() && flags.extra_args.is_empty());
    }

    #[test]
    fn smoketest_all_flags() {
        let flags = smoketest(&[
            "smoketest",
            "sql::",
            "cli::",
            "--server",
            "http://example.test:3000",
            "-j",
            "4",
            "--fail-fast",
            "--no-build",
            "--junit",
            "out.xml",
            "--shared-target-dir",
            "false",
            "--",
            "--exact",
        ]);
        assert_eq!(flags.filters, ["sql::", "cli::"]);
        assert_eq!(
            flags.target(),
            Target::Remote {
                url: "http://example.test:3000".to_owned()
            }
        );
        assert_eq!(flags.jobs, 4);
        assert!(flags.fail_fast && flags.no_build && !flags.shared_target_dir);
        assert_eq!(flags.junit, Some(PathBuf::from("out.xml")));
        assert_eq!(flags.extra_args, ["--exact"]);
    }

    #[test]
    fn runner_options_are_flags_and_words_after_the_separator_stay_the_binarys() {
        let flags = smoketest(&[
            "smoketest",
            "--partition",
            "duration:2/4",
            "--retries",
            "2",
            "--flaky-result",
            "fail",
            "--profile",
            "default",
            "--",
            "--partition",
        ]);
        assert_eq!(flags.partition.unwrap().to_string(), "duration:2/4");
        assert_eq!((flags.retries, flags.flaky_result), (2, FlakyResult::Fail));
        assert_eq!(flags.profile, "default");
        assert_eq!(flags.extra_args, ["--partition"]);
        let defaults = smoketest(&["smoketest"]);
        assert_eq!(
            (defaults.partition, defaults.retries, defaults.flaky_result),
            (None, 0, FlakyResult::Pass)
        );
        assert!(parse(&["smoketest", "--partition", "hash:3/2"]).is_err());
        assert!(parse(&["smoketest", "--flaky-result", "maybe"]).is_err());
    }

    #[test]
    fn report_merge_takes_directories() {
        let Some(Command::Report(Report {
            command: ReportCommand::Merge(merge),
        })) = parse(&["report", "merge", "a", "b", "--out", "m"])
            .unwrap()
            .command
        else {
            panic!("not a report merge command")
        };
        assert_eq!(merge.dirs, [PathBuf::from("a"), PathBuf::from("b")]);
        assert_eq!(merge.out, PathBuf::from("m"));
        assert!(parse(&["report", "merge"]).is_err());
    }

    #[test]
    fn zero_servers_is_refused() {
        assert!(parse(&["smoketest", "--servers", "0"]).is_err());
        assert_eq!(
            smoketest(&["smoketest", "--servers", "3"]).target(),
            Target::Local { servers: 3 }
        );
    }

    #[test]
    fn warmup_takes_no_flags() {
        assert!(parse(&["warmup"]).is_ok());
        assert!(parse(&["warmup", "--shared-target-dir", "false"]).is_err());
    }

    #[test]
    fn stress_scenarios_are_named_and_deduplicated() {
        use crate::stress::Scenario;
        let Some(Command::Stress(flags)) = parse(&["stress"]).unwrap().command else {
            panic!("not a stress command")
        };
        assert_eq!(flags.selection().len(), 7);
        assert_eq!(
            (flags.seconds, flags.connections, flags.idle_connections),
            (5, 256, 5000)
        );
        let Some(Command::Stress(flags)) = parse(&[
            "stress",
            "--scenario",
            "log-flood",
            "--scenario",
            "race",
            "--scenario",
            "race",
        ])
        .unwrap()
        .command
        else {
            panic!("not a stress command")
        };
        assert_eq!(flags.selection(), [Scenario::Race, Scenario::LogFlood]);
        assert!(parse(&["stress", "--scenario", "everything"]).is_err());
        assert!(parse(&["stress", "--connections", "1001"]).is_err());
    }

    #[test]
    fn coverage_map_takes_filters_and_jobs_or_a_query() {
        let Some(Command::CoverageMap(flags)) = parse(&["coverage-map"]).unwrap().command else {
            panic!("not a coverage-map command")
        };
        assert_eq!((flags.jobs, flags.filters.len(), flags.query), (2, 0, None));
        let Some(Command::CoverageMap(flags)) =
            parse(&["coverage-map", "sql::", "cli::", "-j", "4"])
                .unwrap()
                .command
        else {
            panic!("not a coverage-map command")
        };
        assert_eq!(
            (flags.jobs, flags.filters),
            (4, vec!["sql::".to_owned(), "cli::".to_owned()])
        );
        let Some(Command::CoverageMap(flags)) = parse(&[
            "coverage-map",
            "--query",
            "crates/keel-host/src/guard.rs:3-9",
        ])
        .unwrap()
        .command
        else {
            panic!("not a coverage-map command")
        };
        assert_eq!(
            flags.query.as_deref(),
            Some("crates/keel-host/src/guard.rs:3-9")
        );
        assert!(parse(&["coverage-map", "-j", "0"]).is_err());
        assert!(parse(&["coverage-map", "sql::", "--query", "a.rs"]).is_err());
    }

    #[test]
    fn strength_takes_the_jobs_of_a_map_build() {
        let Some(Command::Strength(flags)) = parse(&["strength"]).unwrap().command else {
            panic!("not a strength command")
        };
        assert_eq!(flags.jobs, 2);
        let Some(Command::Strength(flags)) = parse(&["strength", "-j", "3"]).unwrap().command
        else {
            panic!("not a strength command")
        };
        assert_eq!(flags.jobs, 3);
        assert!(parse(&["strength", "-j", "0"]).is_err());
        assert!(parse(&["strength", "sql::"]).is_err());
    }

    #[test]
    fn unknown_task_is_refused() {
        assert!(parse(&["frobnicate"]).is_err());
    }
}
