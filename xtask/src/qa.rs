//! `cargo xtask qa`: everything CI checks, each step timed, in one final table.
//!
//! Every build qa makes is one release build (`builds`): clippy runs as the workspace's rustc wrapper
//! (`clippy-driver`, warnings denied) while that build compiles, instead of as a separate check
//! build, so a fresh clone compiles each crate once; schemathesis installs in the background meanwhile.
//! Order: tidy, the feature check, formatting, the build with clippy, the workflow, the modules' build
//! with clippy (keel-standalone's integration tests load the precompiled modules), the unit and
//! integration tests, then the smoketests,
//! then the shard check (`shards`: two shards run each selected test once and merge into the full run),
//! then the archive's end-to-end proof (`archive::e2e`: a second clone runs it without cargo),
//! then the remote-mode suite over https against a server it inspects afterwards (`remote_https`),
//! then schemathesis against a fresh server and its OpenAPI description (`openapi_check`).

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use keel_artifacts::smoketest_dir;
use xshell::{Shell, cmd};

use crate::workspace_graph::WorkspaceGraph;
use crate::{
    archive, builds, cargo, flags, openapi_check, process, project_root, smoketest, tidy, warmup,
};

mod affected_scenarios;
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
        let profile = builds::PROFILE_FLAG;
        // pip works while cargo compiles; the openapi step waits for it.
        let schemathesis = (!self.skip_smoketest).then(|| {
            std::thread::spawn(|| {
                Shell::new()
                    .map_err(anyhow::Error::from)
                    .and_then(|sh| openapi_check::install(&sh))
                    .map_err(|err| format!("{err:#}"))
            })
        });
        let mut steps = Steps {
            done: Vec::new(),
            only: self.only.clone(),
        };
        let result = (|| -> anyhow::Result<()> {
            steps.run("tidy", || tidy::check(&project_root()))?;
            steps.run("features", || {
                tidy::features::check(sh)?;
                tidy::profiles::check(sh)
            })?;
            steps.run("fmt", || {
                process::run(cmd!(sh, "{cargo} fmt --all --check"))
                    .context("formatting differs; run `cargo fmt --all`")
            })?;
            lint_while_building(sh)?;
            steps.run("build + clippy", || {
                process::run(cmd!(
                    sh,
                    "{cargo} build {profile} --workspace --all-targets"
                ))
                .context("the build or clippy failed; `cargo clippy --workspace --all-targets` shows the lints")
            })?;
            steps.run("workflow", || {
                if !workflow::check(sh, &project_root())? {
                    eprintln!(
                        "==> qa: workflow checked without actionlint (see the warning above)"
                    );
                }
                Ok(())
            })?;
            steps.run("modules fmt", || {
                let _dir = sh.push_dir("modules");
                process::run(cmd!(sh, "{cargo} fmt --all --check"))
                    .context("modules formatting differs; run `cargo fmt --all` in modules/")
            })?;
            steps.run("modules + clippy", || {
                let graph = WorkspaceGraph::load(sh, &project_root())?;
                warmup::build_modules(sh, &graph).map(|_| ())
            })?;
            steps.run("unit tests", || {
                if smoketest::nextest_available(sh) {
                    process::run(cmd!(
                        sh,
                        "{cargo} nextest run {profile} --workspace --exclude smoketests --no-fail-fast"
                    ))
                } else {
                    process::run(cmd!(
                        sh,
                        "{cargo} test {profile} --workspace --exclude smoketests --no-fail-fast"
                    ))
                }
            })?;
            if !self.skip_smoketest {
                steps.run("smoketests", || {
                    let flags = flags::Smoketest::qa_default();
                    let report = smoketest::run_suite(sh, &flags, &[])?;
                    smoketest::finish(&flags, &report)
                })?;
                steps.run("affected", || affected_scenarios::check(sh))?;
                steps.run("shards", || shards::check(sh))?;
                // Reuses what the smoketests step built: the archive compiles nothing.
                steps.run("archive e2e", || archive::e2e::prove(sh))?;
                steps.run("remote https", || remote_https::check(sh))?;
                steps.run("openapi", || {
                    if let Some(install) = schemathesis
                        && let Err(err) = install.join().expect("the install thread panicked")
                    {
                        bail!("install schemathesis: {err}");
                    }
                    openapi_check::check(sh)
                })?;
            }
            Ok(())
        })();
        eprintln!("\n{:<16} {:>9}", "qa step", "wall");
        for (name, duration) in &steps.done {
            eprintln!("{name:<16} {:>8.1}s", duration.as_secs_f64());
        }
        let total: Duration = steps.done.iter().map(|(_, it)| *it).sum();
        eprintln!("{:<16} {:>8.1}s", "total", total.as_secs_f64());
        result
    }
}

/// Makes every cargo command `sh` runs from here on compile the workspace's crates through
/// `clippy-driver` with warnings denied: clippy's lints, without a second (check) build.
///
/// `CLIPPY_ARGS` is how `cargo clippy` hands its arguments to the driver (joined by
/// `__CLIPPY_HACKERY__`). The harness removes both variables before it builds a test's module
/// (`keel_process::strip_lint_wrapper`): a module built at run time is not the workspace's code.
fn lint_while_building(sh: &Shell) -> anyhow::Result<()> {
    let sysroot =
        process::read(cmd!(sh, "rustc --print sysroot")).context("find the rust sysroot")?;
    let driver = std::path::Path::new(sysroot.trim()).join("bin/clippy-driver");
    if !driver.is_file() {
        bail!(
            "clippy is not installed for this toolchain ({} is missing); run `rustup component add clippy`",
            driver.display()
        );
    }
    sh.set_var(keel_process::LINT_WRAPPER_VARIABLES[0], &driver);
    sh.set_var(keel_process::LINT_WRAPPER_VARIABLES[1], CLIPPY_ARGS);
    Ok(())
}

/// What qa hands clippy through `CLIPPY_ARGS` (clippy-driver's own protocol: arguments joined by
/// `__CLIPPY_HACKERY__`): every warning is an error. `.ci/run` sets the same before `cargo xtask qa`.
const CLIPPY_ARGS: &str = "-D__CLIPPY_HACKERY__warnings__CLIPPY_HACKERY__";

/// The steps run so far, and which to run.
struct Steps {
    /// Each step that ran, with its wall time.
    done: Vec<(&'static str, Duration)>,
    /// `--only`: the names of the steps to run; empty runs all.
    only: Vec<String>,
}

impl Steps {
    /// Runs one labelled step (unless `--only` leaves it out) and records its duration, whether it
    /// passes or not.
    fn run(
        &mut self,
        name: &'static str,
        body: impl FnOnce() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        if !self.only.is_empty() && !self.only.iter().any(|it| it == name) {
            return Ok(());
        }
        eprintln!("\n==> qa: {name}");
        let started = Instant::now();
        let result = body().with_context(|| format!("qa step {name}"));
        self.done.push((name, started.elapsed()));
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `.ci/run` builds the xtask with qa's lint wrapper, so qa's build finds it fresh; if the two
    /// differ, CI compiles the xtask and its workspace dependencies twice.
    #[test]
    fn ci_run_sets_the_lint_wrapper_qa_sets() {
        let script = std::fs::read_to_string(project_root().join(".ci/run")).unwrap();
        let [wrapper, args] = keel_process::LINT_WRAPPER_VARIABLES;
        assert!(
            script.contains(&format!("export {args}=\"{CLIPPY_ARGS}\"")),
            "{args} in .ci/run differs from qa's"
        );
        assert!(
            script.contains(&format!("export {wrapper}=\"$driver\""))
                && script.contains("driver=\"$(rustc --print sysroot)/bin/clippy-driver\""),
            "{wrapper} in .ci/run differs from qa's"
        );
        assert!(script.trim_end().ends_with("cargo xtask qa"));
    }
}
