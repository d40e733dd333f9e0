//! `cargo xtask stress`: the reliability suite, one bounded scenario per failure of issue 8, on loopback.
//!
//! Each scenario starts a fresh `keel-standalone` (the release build warmup recorded in the manifest) on
//! `127.0.0.1:0` with its own data dir under `target/smoketest/stress/<scenario>/`, does a bounded amount
//! of hostile work, stops the server and reports figures, each against its goal.
//! Submodules: `server` (the server under stress), `report` (figures, verdicts, `stress.json`), `os`
//! (`/proc` readings, the open-file limit), and one module per scenario.
//! A scenario that fails to run is reported with its error; it never stops the others.

mod anonymous_bodies;
mod hostile_sql;
mod idle_connections;
mod log_flood;
mod os;
mod race;
mod reducer_sql_loop;
mod report;
mod server;
mod sigterm_under_load;
mod timed;

use std::{
    collections::BTreeMap,
    fs,
    panic::{self, AssertUnwindSafe},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use keel_artifacts::{Artifact, Manifest, env::STANDALONE_BIN, smoketest_dir};
use xshell::Shell;

pub(crate) use self::report::Findings;
use self::{
    report::{ScenarioReport, StressReport},
    server::StressServer,
};
use crate::{
    flags, process, project_root, smoketest,
    warmup::{self, WarmupPlan},
};

/// The scenarios, in the order a full run takes them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub(crate) enum Scenario {
    /// Identities racing publish/delete/rename/reset on the same names: databases lost or stolen, orphaned files.
    Race,
    /// A non-owner's SQL doing huge work inside one VM step: how long it holds the database, and SIGTERM meanwhile.
    HostileSql,
    /// A reducer looping on cheap SQL statements: how long the call runs.
    ReducerSqlLoop,
    /// Anonymous connections each sending most of a large publish body: server RSS growth.
    AnonymousBodies,
    /// Many idle connections and a half-sent header: handles held, ping and an existing caller answered.
    IdleConnections,
    /// Another identity's failed calls: records in the owner's module log.
    LogFlood,
    /// SIGTERM while 64 clients call reducers: seconds until the server exits.
    SigtermUnderLoad,
}

/// What every scenario gets: the server binary, the modules, where to put its files, the flags.
pub(crate) struct StressContext {
    root: PathBuf,
    binary: PathBuf,
    manifest: Manifest,
    out_dir: PathBuf,
    /// Seconds for the timed scenarios.
    pub(crate) seconds: u64,
    /// `--sql-time-limit-ms` given to the servers of the SQL scenarios.
    pub(crate) sql_time_limit: Duration,
    /// Connections of `anonymous-bodies`.
    pub(crate) connections: u32,
    /// Idle connections of `idle-connections`.
    pub(crate) idle_connections: u32,
    /// `--no-build`: stale artifacts are used, with a warning.
    no_build: bool,
}

impl flags::Stress {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let out_dir = smoketest_dir(&root);
        // The scenarios measure the machine: a suite run at the same time would spoil both.
        let _lock = smoketest::RunLock::acquire(&out_dir)?;
        if !self.no_build {
            warmup::warmup(sh, WarmupPlan { server: true })
                .context("warm up before the stress run")?;
        }
        let manifest = Manifest::load(&root)?;
        let binary = match std::env::var_os(STANDALONE_BIN) {
            Some(path) => {
                let path = PathBuf::from(path);
                if !path.is_file() {
                    bail!("{STANDALONE_BIN}={} is not a file", path.display());
                }
                eprintln!(
                    "==> stress: server {} (from {STANDALONE_BIN})",
                    path.display()
                );
                path
            }
            None => artifact_path(&root, &manifest.binaries, "keel-standalone", self.no_build)?,
        };
        let ctx = StressContext {
            root: root.clone(),
            binary,
            manifest,
            out_dir: out_dir.join("stress"),
            seconds: self.seconds,
            sql_time_limit: Duration::from_millis(self.sql_time_limit_ms),
            connections: self.connections,
            idle_connections: self.idle_connections,
            no_build: self.no_build,
        };
        let scenarios = self.selection();
        let mut report = StressReport::new(&ctx);
        for scenario in scenarios {
            if process::was_interrupted() {
                break;
            }
            eprintln!("\n==> stress: {}", scenario.name());
            let scenario_report = run_scenario(&ctx, scenario);
            eprint!("{}", scenario_report.render());
            report.scenarios.push(scenario_report);
        }
        report.finish(process::was_interrupted());
        let path = out_dir.join("stress.json");
        fs::write(&path, serde_json::to_string_pretty(&report)?)
            .with_context(|| format!("write {}", path.display()))?;
        eprint!("\n{}", report.render_table());
        eprintln!("\nwritten: {}", path.display());
        process::check_interrupted()?;
        let failed = report.failed_scenarios();
        if !failed.is_empty() {
            bail!(
                "{} stress scenario(s) missed a goal or failed to run: {}",
                failed.len(),
                failed.join(", ")
            );
        }
        Ok(())
    }

    /// The scenarios to run: those named with `--scenario`, or all, each once, in the usual order.
    pub(crate) fn selection(&self) -> Vec<Scenario> {
        use clap::ValueEnum;
        let mut scenarios = if self.scenarios.is_empty() {
            Scenario::value_variants().to_vec()
        } else {
            self.scenarios.clone()
        };
        scenarios.sort();
        scenarios.dedup();
        scenarios
    }
}

impl Scenario {
    /// The name on the command line and in `stress.json`.
    pub(crate) fn name(self) -> String {
        use clap::ValueEnum;
        self.to_possible_value()
            .map(|it| it.get_name().to_owned())
            .unwrap_or_default()
    }

    fn run(self, ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
        match self {
            Scenario::Race => race::run(ctx, findings),
            Scenario::HostileSql => hostile_sql::run(ctx, findings),
            Scenario::ReducerSqlLoop => reducer_sql_loop::run(ctx, findings),
            Scenario::AnonymousBodies => anonymous_bodies::run(ctx, findings),
            Scenario::IdleConnections => idle_connections::run(ctx, findings),
            Scenario::LogFlood => log_flood::run(ctx, findings),
            Scenario::SigtermUnderLoad => sigterm_under_load::run(ctx, findings),
        }
    }
}

impl StressContext {
    /// Starts a fresh server for `label` (a scenario, or a phase of one) with `extra_args`;
    /// its data dir and log go to `target/smoketest/stress/<label>/`, cleared first.
    pub(crate) fn start_server(
        &self,
        label: &str,
        extra_args: &[String],
    ) -> anyhow::Result<StressServer> {
        let dir = self.out_dir.join(label);
        if dir.exists() {
            fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
        }
        StressServer::start(&self.binary, &dir, extra_args)
    }

    /// The wasm bytes of fixture module `name`, as warmup built it.
    pub(crate) fn module(&self, name: &str) -> anyhow::Result<Vec<u8>> {
        let path = artifact_path(&self.root, &self.manifest.modules, name, self.no_build)?;
        fs::read(&path).with_context(|| format!("read module {}", path.display()))
    }

    /// `--sql-time-limit-ms N` for a server.
    pub(crate) fn sql_time_limit_args(&self) -> Vec<String> {
        vec![
            "--sql-time-limit-ms".to_owned(),
            self.sql_time_limit.as_millis().to_string(),
        ]
    }
}

/// Runs one scenario; an error or a panic becomes the report's error, with the figures measured so far.
fn run_scenario(ctx: &StressContext, scenario: Scenario) -> ScenarioReport {
    let mut findings = Findings::default();
    let started = Instant::now();
    let outcome = panic::catch_unwind(AssertUnwindSafe(|| scenario.run(ctx, &mut findings)));
    let error = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(err)) => Some(format!("{err:#}")),
        Err(payload) => Some(format!("panicked: {}", panic_message(payload.as_ref()))),
    };
    let error = match (error, process::was_interrupted()) {
        (None, true) => Some("interrupted".to_owned()),
        (error, _) => error,
    };
    ScenarioReport::new(scenario.name(), findings, error, started.elapsed())
}

fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    if let Some(text) = payload.downcast_ref::<&str>() {
        (*text).to_owned()
    } else if let Some(text) = payload.downcast_ref::<String>() {
        text.clone()
    } else {
        "(no message)".to_owned()
    }
}

/// The absolute path of artifact `name` from the manifest: it must be fresh, unless `no_build`
/// (`--no-build` measures whatever the last warmup left, and says so when it is stale).
fn artifact_path(
    root: &Path,
    artifacts: &BTreeMap<String, Artifact>,
    name: &str,
    no_build: bool,
) -> anyhow::Result<PathBuf> {
    let Some(artifact) = artifacts.get(name) else {
        bail!("the artifact manifest has no {name}; run `cargo xtask warmup`");
    };
    match artifact.check_fresh(root) {
        Ok(path) => Ok(path),
        Err(staleness) if no_build => {
            eprintln!("warning: --no-build uses a stale {name}: {staleness}");
            Ok(root.join(&artifact.path))
        }
        Err(staleness) => Err(staleness.into()),
    }
}
