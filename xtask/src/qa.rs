//! `cargo xtask qa`: everything CI checks, each step timed, in one final table.
//!
//! Order: tidy, formatting and clippy of both workspaces, the modules build (keel-standalone's
//! integration tests load the precompiled modules), the unit and integration tests, then the smoketests,
//! then the shard check (`shards`: two shards run each selected test once and merge into the full run),
//! then the archive's end-to-end proof (`archive::e2e`: a second clone runs it without cargo),
//! then the remote-mode suite over https against a server it inspects afterwards (`remote_https`),
//! then schemathesis against a fresh server and its OpenAPI description (`openapi_check`).

use std::time::{Duration, Instant};

use anyhow::Context;
use keel_artifacts::smoketest_dir;
use xshell::{Shell, cmd};

use crate::{archive, cargo, flags, openapi_check, process, project_root, smoketest, tidy, warmup};

mod remote_https;
mod shards;
mod workflow;

impl flags::Qa {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        // Fail at once, not after minutes of clippy, when a smoketest run holds the checkout.
        let _lock = if self.skip_smoketest {
            None
        } else {
            Some(smoketest::RunLock::acquire(
                &smoketest_dir(&project_root()),
            )?)
        };
        let cargo = cargo();
        let mut steps: Vec<(&str, Duration)> = Vec::new();
        let result = (|| -> anyhow::Result<()> {
            step(&mut steps, "tidy", || tidy::check(&project_root()))?;
            step(&mut steps, "fmt", || {
                process::run(cmd!(sh, "{cargo} fmt --all --check"))
                    .context("formatting differs; run `cargo fmt --all`")
            })?;
            step(&mut steps, "clippy", || {
                process::run(cmd!(
                    sh,
                    "{cargo} clippy --workspace --all-targets -- -D warnings"
                ))
            })?;
            step(&mut steps, "workflow", || {
                if !workflow::check(sh, &project_root())? {
                    eprintln!(
                        "==> qa: workflow checked without actionlint (see the warning above)"
                    );
                }
                Ok(())
            })?;
            step(&mut steps, "modules fmt", || {
                let _dir = sh.push_dir("modules");
                process::run(cmd!(sh, "{cargo} fmt --all --check"))
                    .context("modules formatting differs; run `cargo fmt --all` in modules/")
            })?;
            step(&mut steps, "modules clippy", || {
                warmup::ensure_wasm_target(sh)?;
                let _dir = sh.push_dir("modules");
                let target = warmup::WASM_TARGET;
                process::run(cmd!(
                    sh,
                    "{cargo} clippy --release --target {target} --workspace -- -D warnings"
                ))
            })?;
            step(&mut steps, "modules build", || {
                warmup::build_modules(sh).map(|_| ())
            })?;
            step(&mut steps, "unit tests", || {
                if smoketest::nextest_available(sh) {
                    process::run(cmd!(
                        sh,
                        "{cargo} nextest run --workspace --exclude smoketests --no-fail-fast"
                    ))
                } else {
                    process::run(cmd!(
                        sh,
                        "{cargo} test --workspace --exclude smoketests --no-fail-fast"
                    ))
                }
            })?;
            if !self.skip_smoketest {
                step(&mut steps, "smoketests", || {
                    let flags = flags::Smoketest::qa_default();
                    let report = smoketest::run_suite(sh, &flags, &[])?;
                    smoketest::finish(&flags, &report)
                })?;
                step(&mut steps, "shards", || shards::check(sh))?;
                // Reuses what the smoketests step built: the archive compiles nothing.
                step(&mut steps, "archive e2e", || archive::e2e::prove(sh))?;
                step(&mut steps, "remote https", || remote_https::check(sh))?;
                step(&mut steps, "openapi", || openapi_check::check(sh))?;
            }
            Ok(())
        })();
        eprintln!("\n{:<16} {:>9}", "qa step", "wall");
        for (name, duration) in &steps {
            eprintln!("{name:<16} {:>8.1}s", duration.as_secs_f64());
        }
        let total: Duration = steps.iter().map(|(_, it)| *it).sum();
        eprintln!("{:<16} {:>8.1}s", "total", total.as_secs_f64());
        result
    }
}

/// Runs one labelled step and records its duration, whether it passes or not.
fn step<'a>(
    steps: &mut Vec<(&'a str, Duration)>,
    name: &'a str,
    body: impl FnOnce() -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    eprintln!("\n==> qa: {name}");
    let started = Instant::now();
    let result = body().with_context(|| format!("qa step {name}"));
    steps.push((name, started.elapsed()));
    result
}
