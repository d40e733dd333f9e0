//! `cargo xtask openapi-check`, also a step of `cargo xtask qa`: schemathesis fuzzes a fresh
//! `keel-standalone` against the OpenAPI description it serves at `/v1/openapi.json`.
//!
//! schemathesis (pinned, [`SCHEMATHESIS`]) is installed with pip into a virtualenv under
//! `target/tools/schemathesis` when it is missing. The server is the release build warmup recorded
//! in the manifest, started by `keel_process` on `127.0.0.1:0` with its data dir, log and the
//! schemathesis reports under `target/smoketest/openapi-check/`. The step makes an identity (its
//! token goes into every request) and a database holding the `args` fixture, then runs [`PASSES`]:
//! every operation but the removals with generated names, the operations on that database, the
//! removals, and last the description itself and the identity's deletion. Each pass is bounded (a fixed seed, [`MAX_EXAMPLES`] examples
//! per operation, one worker) and checks that no answer is a 5xx and that every status, content
//! type and body is one the description allows; any failure, error, or a token that stopped
//! working fails the step.

use std::{
    fs::{self, File},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail, ensure};
use keel_artifacts::{Manifest, smoketest_dir};
use keel_process::{GroupChild, ServerCommand};
use serde::Deserialize;
use xshell::{Shell, cmd};

use crate::{
    flags, process, project_root, smoketest,
    warmup::{self, WarmupPlan},
};

/// The schemathesis release the step installs; its CLI changes between releases.
pub(crate) const SCHEMATHESIS: &str = "4.32.5";
/// Examples per operation and pass (schemathesis' coverage phase adds its own boundary cases).
const MAX_EXAMPLES: u32 = 10;
/// The seed of every pass, so that a run can be repeated.
const SEED: u32 = 20_261;
/// What every answer is checked for.
const CHECKS: &str = "not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance";
/// The database the step publishes the fixture module to.
const DATABASE: &str = "fuzz";
/// The fixture module of that database, and the reducer the database passes call (any value).
const MODULE: &str = "args";
const REDUCER: &str = "take_json";
/// Lines of a failing pass's output printed to the terminal (the log has them all).
const MAX_FINDING_LINES: usize = 120;
/// How long the server gets to stop afterwards.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// One schemathesis run over some operations.
struct Pass {
    name: &'static str,
    /// Operation ids (`keel_api::routes::Endpoint` names) it covers, or all but `exclude`.
    include: &'static [&'static str],
    exclude: &'static [&'static str],
    /// Path names are the step's database and reducer instead of generated ones.
    on_database: bool,
    /// It deletes the identity, so answers of only 401 are expected.
    ends_token: bool,
}

/// The operations that remove a database or the identity.
const REMOVALS: &[&str] = &["Rename", "Reset", "DeleteDatabase", "DeleteIdentity"];

/// The passes, in order. schemathesis reuses names it reads in answers, so the removals wait
/// until the database passes are done; deleting the identity, which ends the token, comes last.
const PASSES: &[Pass] = &[
    Pass {
        name: "every operation",
        include: &[],
        exclude: REMOVALS,
        on_database: false,
        ends_token: false,
    },
    Pass {
        name: "on a database",
        include: &["Publish", "Call", "Sql", "Logs", "Schema"],
        exclude: &[],
        on_database: true,
        ends_token: false,
    },
    Pass {
        name: "removals",
        include: &["Rename", "Reset", "DeleteDatabase"],
        exclude: &[],
        on_database: true,
        ends_token: false,
    },
    // schemathesis leaves the description's own route out unless it is named.
    Pass {
        name: "description, identity deletion",
        include: &["OpenApi", "DeleteIdentity"],
        exclude: &[],
        on_database: false,
        ends_token: true,
    },
];

/// Sends module uploads (`application/wasm`) as schemathesis sends `application/octet-stream`.
const HOOKS: &str = "\"\"\"schemathesis hooks of `cargo xtask openapi-check`.\"\"\"\n\
import schemathesis\n\
\n\
schemathesis.serializer.alias(\"application/wasm\", \"application/octet-stream\")\n";

impl flags::OpenapiCheck {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let _lock = smoketest::RunLock::acquire(&smoketest_dir(&root))?;
        if !self.no_build {
            warmup::warmup(sh, WarmupPlan { server: true })
                .context("warm up before the OpenAPI check")?;
        }
        check(sh)
    }
}

/// The whole check, on the artifacts of the last warmup (the caller holds the run lock).
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    let manifest = Manifest::load(&root)?;
    let binary = smoketest::fresh_binary(&root, &manifest, "keel-standalone")?;
    let Some(module) = manifest.modules.get(MODULE) else {
        bail!("the artifact manifest has no module {MODULE}; run `cargo xtask warmup`");
    };
    let module =
        fs::read(module.check_fresh(&root)?).with_context(|| format!("read module {MODULE}"))?;
    let schemathesis = install(sh)?;

    let dir = smoketest_dir(&root).join("openapi-check");
    if dir.exists() {
        fs::remove_dir_all(&dir).with_context(|| format!("clear {}", dir.display()))?;
    }
    fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let hooks = dir.join("hooks.py");
    fs::write(&hooks, HOOKS).with_context(|| format!("write {}", hooks.display()))?;
    let mut server = ServerCommand::new(binary, dir.join("data"))
        .name("openapi-check server")
        .log_file(dir.join("server.log"))
        .start()
        .context("start keel-standalone")?;
    let url = server.url();
    let client = keel_client::Client::new(&url)?;
    let token = client
        .create_identity()
        .context("create an identity")?
        .token;
    let client = client.with_token(&token);
    client
        .publish(DATABASE, &module, false)
        .with_context(|| format!("publish {MODULE} to {DATABASE}"))?;

    let mut outcomes = Vec::new();
    for (index, pass) in PASSES.iter().enumerate() {
        let outcome = run_pass(sh, &schemathesis, &dir, &hooks, &url, &token, index, pass)?;
        eprintln!("{}", outcome.render(pass.name));
        outcomes.push((pass, outcome));
        process::check_interrupted()?;
    }
    let exited = server.try_wait().context("check on the server")?;
    ensure!(
        exited.is_none(),
        "the server exited during the check ({exited:?}); see {}",
        dir.join("server.log").display()
    );
    server.stop(STOP_GRACE).context("stop the server")?;

    let failed: Vec<String> = outcomes
        .iter()
        .filter_map(|(pass, outcome)| outcome.problem().map(|it| format!("{}: {it}", pass.name)))
        .collect();
    let generated: u64 = outcomes
        .iter()
        .map(|(_, it)| it.report.test_cases.generated)
        .sum();
    if !failed.is_empty() {
        for (pass, outcome) in &outcomes {
            if outcome.problem().is_some() {
                eprintln!(
                    "\n==> openapi-check pass {:?}:\n{}",
                    pass.name,
                    outcome.findings()
                );
            }
        }
        bail!(
            "schemathesis found problems ({}); the passes' output and JSON reports are in {}",
            failed.join("; "),
            dir.display()
        );
    }
    eprintln!(
        "==> openapi-check: {} passes, {generated} test cases, 0 failures (schemathesis {SCHEMATHESIS}, seed {SEED}, {MAX_EXAMPLES} examples per operation)",
        PASSES.len()
    );
    Ok(())
}

/// The schemathesis program, installed into `target/tools/schemathesis` unless it is there already.
/// `cargo xtask qa` calls it early, beside the build, so the install does not wait for the step.
pub(crate) fn install(sh: &Shell) -> anyhow::Result<PathBuf> {
    let venv = project_root().join("target/tools/schemathesis");
    let program = venv.join("bin/schemathesis");
    let installed = program.is_file()
        && process::read(cmd!(sh, "{program} --version"))
            .is_ok_and(|version| version.trim().ends_with(SCHEMATHESIS));
    if installed {
        return Ok(program);
    }
    let started = Instant::now();
    eprintln!(
        "==> openapi-check: installing schemathesis {SCHEMATHESIS} into {}",
        venv.display()
    );
    if venv.exists() {
        fs::remove_dir_all(&venv).with_context(|| format!("clear {}", venv.display()))?;
    }
    process::run(cmd!(sh, "python3 -m venv {venv}"))
        .context("make a virtualenv for schemathesis (python3 with its venv module is needed)")?;
    let python = venv.join("bin/python");
    let requirement = format!("schemathesis=={SCHEMATHESIS}");
    process::run(cmd!(
        sh,
        "{python} -m pip install --quiet --disable-pip-version-check {requirement}"
    ))
    .with_context(|| format!("pip install {requirement}"))?;
    ensure!(program.is_file(), "pip installed no {}", program.display());
    eprintln!(
        "==> openapi-check: schemathesis installed in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(program)
}

/// Runs one pass; its output goes to `NAME.log` and its JSON report to `NAME.json` in `dir`.
#[expect(clippy::too_many_arguments, reason = "one pass of one check")]
fn run_pass(
    sh: &Shell,
    schemathesis: &Path,
    dir: &Path,
    hooks: &Path,
    url: &str,
    token: &str,
    index: usize,
    pass: &Pass,
) -> anyhow::Result<Outcome> {
    let stem = format!("pass-{}", index + 1);
    let config = dir.join(format!("{stem}.toml"));
    let mut toml = format!("hooks = {:?}\n", hooks.display().to_string());
    if pass.on_database {
        toml.push_str(&format!(
            "\n[parameters]\n\"path.name\" = {DATABASE:?}\n\"path.reducer\" = {REDUCER:?}\n"
        ));
    }
    fs::write(&config, toml).with_context(|| format!("write {}", config.display()))?;
    let report = dir.join(format!("{stem}.json"));
    let log = dir.join(format!("{stem}.log"));
    let mut filters = Vec::new();
    for id in pass.include {
        filters.extend(["--include-operation-id".to_owned(), (*id).to_owned()]);
    }
    for id in pass.exclude {
        filters.extend(["--exclude-operation-id".to_owned(), (*id).to_owned()]);
    }
    let description = format!("{url}{}", keel_api::routes::OPENAPI);
    let authorization = format!("Authorization: Bearer {token}");
    let (seed, examples) = (SEED.to_string(), MAX_EXAMPLES.to_string());
    let _dir = sh.push_dir(dir);
    // One worker: passes repeat with their seed, and this Python's parser is not thread-safe
    // (several workers crash hypothesis' lambda descriptions now and then).
    let command = cmd!(
        sh,
        "{schemathesis} --no-color --config-file {config} run {description}
            -H {authorization} --seed {seed} -n {examples} -w 1 --checks {CHECKS}
            --generation-database none --report json --report-json-path {report} {filters...}"
    );
    let mut command = process::sanitized_command(command);
    let output = File::create(&log).with_context(|| format!("create {}", log.display()))?;
    command
        .stdout(output.try_clone()?)
        .stderr(output)
        .stdin(std::process::Stdio::null());
    let started = Instant::now();
    let mut child = GroupChild::spawn(command, &format!("schemathesis ({})", pass.name))?;
    let status = child.wait()?;
    process::check_interrupted()?;
    let text = fs::read_to_string(&report)
        .with_context(|| format!("schemathesis wrote no report; see {}", log.display()))?;
    let report: Report = serde_json::from_str(&text)
        .with_context(|| format!("parse the schemathesis report {}", log.display()))?;
    Ok(Outcome {
        success: status.success(),
        report,
        log,
        wall: started.elapsed(),
        expects_auth: !pass.ends_token,
    })
}

/// What one pass did.
struct Outcome {
    success: bool,
    report: Report,
    log: PathBuf,
    wall: Duration,
    /// Whether an answer of only 401s is a problem (the token must work until the last pass).
    expects_auth: bool,
}

impl Outcome {
    fn render(&self, name: &str) -> String {
        let report = &self.report;
        format!(
            "==> openapi-check pass {name:?}: {} operations, {} test cases, {} failures, {} errors, {:.1} s",
            report.operations.tested,
            report.test_cases.generated,
            report.test_cases.unique_failures,
            report.errors.len(),
            self.wall.as_secs_f64()
        )
    }

    /// The failures and errors schemathesis printed (at most [`MAX_FINDING_LINES`] lines), or
    /// the end of its output when it printed neither.
    fn findings(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        let start = lines
            .iter()
            .position(|line| line.contains("= ERRORS =") || line.contains("= FAILURES ="));
        let start = start.unwrap_or(lines.len().saturating_sub(MAX_FINDING_LINES));
        lines[start..]
            .iter()
            .take_while(|line| !line.contains("= WARNINGS =") && !line.contains("= SUMMARY ="))
            .take(MAX_FINDING_LINES)
            .copied()
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// Why the pass fails, if it does.
    fn problem(&self) -> Option<String> {
        let report = &self.report;
        let log = self.log.display();
        if report.test_cases.unique_failures > 0 || !report.failures.is_empty() {
            return Some(format!(
                "{} failing test cases, see {log}",
                report.test_cases.unique_failures
            ));
        }
        if !report.errors.is_empty() {
            return Some(format!("{} errors, see {log}", report.errors.len()));
        }
        if !report.warnings.unmatched_filter.is_empty() {
            return Some(format!(
                "filters that match no operation: {:?}",
                report.warnings.unmatched_filter
            ));
        }
        if self.expects_auth && !report.warnings.missing_auth.is_empty() {
            return Some(format!(
                "only 401/403 answers from {:?}: the token did not work",
                report.warnings.missing_auth
            ));
        }
        if !self.success {
            return Some(format!(
                "schemathesis exited with {}, see {log}",
                report.exit_code
            ));
        }
        None
    }
}

/// The parts of schemathesis' JSON run report (`--report json`) the step reads.
#[derive(Debug, Deserialize)]
struct Report {
    exit_code: i32,
    operations: Operations,
    test_cases: TestCases,
    failures: Vec<serde_json::Value>,
    errors: Vec<serde_json::Value>,
    warnings: Warnings,
}

#[derive(Debug, Deserialize)]
struct Operations {
    tested: u64,
}

#[derive(Debug, Deserialize)]
struct TestCases {
    generated: u64,
    unique_failures: u64,
}

#[derive(Debug, Deserialize)]
struct Warnings {
    #[serde(default)]
    missing_auth: Vec<serde_json::Value>,
    #[serde(default)]
    unmatched_filter: Vec<serde_json::Value>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use keel_api::routes::Endpoint;

    #[test]
    fn the_passes_name_real_operations_and_cover_every_one() {
        let names: Vec<&str> = Endpoint::ALL.iter().map(|it| it.name()).collect();
        for pass in PASSES {
            for id in pass.include.iter().chain(pass.exclude) {
                assert!(names.contains(id), "{}: no operation {id}", pass.name);
            }
        }
        for name in names {
            let passes = PASSES
                .iter()
                .filter(|pass| {
                    (pass.include.is_empty() || pass.include.contains(&name))
                        && !pass.exclude.contains(&name)
                })
                .count();
            assert!(passes > 0, "no pass covers {name}");
        }
        let last = PASSES.last().unwrap();
        assert!(last.ends_token && last.include.contains(&"DeleteIdentity"));
        assert!(
            PASSES
                .iter()
                .all(|pass| pass.ends_token == (pass.name == last.name))
        );
    }
}
