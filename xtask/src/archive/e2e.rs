//! The end-to-end proof of the archive, a step of `cargo xtask qa`: the archive `cargo xtask archive`
//! makes runs in a second clone at another path, with cargo, rustc and rustup removed from `PATH`.
//!
//! The clone is `git clone` of this checkout plus the working tree's uncommitted changes (copied
//! over, deletions applied), so it holds exactly the sources the archive was built from, on CI's
//! clean clone and during development alike. The archive is extracted with [`super::extract`], then
//! the archived runner runs a subset that uses every kind of archived artifact: [`FILTERS`].
//! Where nextest is installed, plain `cargo-nextest nextest run --archive-file` runs a smaller subset too.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::{Context, bail, ensure};
use keel_artifacts::{SKIP_NEEDS_CARGO, TestMeta};
use xshell::{Shell, cmd};

use crate::{process, project_root};

/// The subset the archived runner runs: the `module_code` tests and `keel build` (skipped without
/// cargo), shared-server tests on precompiled modules, restarts (a private archived
/// `keel-standalone`) and a CLI test (the archived `keel`). Every archived artifact is used, and
/// the run stays a few seconds.
const FILTERS: &[&str] = &[
    "module_code::",
    "basics::",
    "restart::",
    "cli::cli_build_failure",
    "cli::cli_server_ping",
];
/// What plain nextest runs from the archive file.
const NEXTEST_FILTERS: &[&str] = &["module_code::", "basics::"];
/// Programs a machine without Rust does not have.
const TOOLCHAIN: &[&str] = &["cargo", "rustc", "rustup"];

/// Makes the archive, clones, extracts and runs; fails unless every test that does not need cargo
/// passed and every one that does was skipped with the reason.
pub(crate) fn prove(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    let archive = root.join(super::DEFAULT_ARCHIVE);
    let created = super::create(sh, &root, &archive)?;
    super::print_created(&root, &created);

    let temp = tempfile::Builder::new()
        .prefix("keel-archive-e2e-")
        .tempdir()
        .context("create the second clone's directory")?;
    let clone = temp.path().join("checkout");
    clone_with_changes(sh, &root, &clone)?;
    let started = Instant::now();
    super::extract(&archive, &clone).context("extract the archive into the clone")?;
    eprintln!(
        "==> archive extracted and verified in {} in {:.2}s",
        clone.display(),
        started.elapsed().as_secs_f64()
    );
    let path = path_without_toolchain(&temp.path().join("bin"))?;

    // What the archived binary skips without cargo, as it says itself.
    let test_binary = clone.join(&created_test_binary(&clone)?);
    let metadata: Vec<TestMeta> = {
        let json = process::read(toolchain_free(
            cmd!(sh, "{test_binary} --keel-metadata").quiet(),
            &path,
        ))?;
        serde_json::from_str(&json).context("parse --keel-metadata")?
    };

    let junit = temp.path().join("junit.xml");
    let runner = clone.join(super::RUNNER_PATH);
    let filters: Vec<&str> = FILTERS.to_vec();
    let started = Instant::now();
    {
        let _dir = sh.push_dir(&clone);
        process::run(toolchain_free(
            cmd!(
                sh,
                "{runner} smoketest --no-build {filters...} --junit {junit}"
            ),
            &path,
        ))
        .context("the archived runner failed in the clone")?;
    }
    let run_s = started.elapsed().as_secs_f64();
    let outcomes = junit_outcomes(
        &fs::read_to_string(&junit).with_context(|| format!("read {}", junit.display()))?,
    );
    let expected_skips: Vec<&str> = metadata
        .iter()
        .filter(|meta| FILTERS.iter().any(|filter| meta.name.contains(filter)))
        .filter(|meta| meta.skipped.as_deref() == Some(SKIP_NEEDS_CARGO))
        .map(|meta| meta.name.as_str())
        .collect();
    let (passed, skipped) = check_outcomes(&outcomes, &expected_skips)?;
    eprintln!(
        "==> archive e2e: {passed} passed, {skipped} skipped ({SKIP_NEEDS_CARGO}), 0 failed, in {run_s:.1}s without cargo"
    );

    if created.info.nextest {
        let filters: Vec<&str> = NEXTEST_FILTERS.to_vec();
        let _dir = sh.push_dir(&clone);
        let nextest = |verb: &str| {
            let filters = &filters;
            toolchain_free(
                cmd!(
                    sh,
                    "cargo-nextest nextest {verb} --archive-file {archive} --workspace-remap {clone} {filters...}"
                ),
                &path,
            )
        };
        // The skips are decided at listing time: nextest lists them as ignored.
        let listing = process::read(nextest("list").arg("--message-format").arg("json"))
            .context("plain nextest could not list the archive in the clone")?;
        let (listed, ignored) = nextest_listing(&listing)?;
        let expected = metadata
            .iter()
            .filter(|meta| {
                NEXTEST_FILTERS
                    .iter()
                    .any(|filter| meta.name.contains(filter))
            })
            .filter(|meta| meta.skipped.is_some())
            .count();
        ensure!(
            ignored == expected && ignored > 0,
            "plain nextest lists {ignored} skipped tests, the binary skips {expected}"
        );
        process::run(nextest("run")).context("plain nextest failed on the archive in the clone")?;
        let summary = format!("{} passed, {ignored} skipped", listed - ignored);
        eprintln!("==> plain nextest from the archive: {summary}");
    }
    Ok(())
}

fn created_test_binary(clone: &Path) -> anyhow::Result<PathBuf> {
    let manifest = keel_artifacts::Manifest::load(clone)?;
    match manifest.binaries.get("smoketests") {
        Some(artifact) => Ok(artifact.path.clone()),
        None => bail!("the archived manifest has no smoketests binary"),
    }
}

/// `git clone` of `root` into `clone`, then the working tree's changes on top.
pub(crate) fn clone_with_changes(sh: &Shell, root: &Path, clone: &Path) -> anyhow::Result<()> {
    process::run(cmd!(sh, "git clone --quiet {root} {clone}"))?;
    let changed = process::read(
        cmd!(sh, "git -C {root} diff --name-only -z HEAD")
            .quiet()
            .ignore_stderr(),
    )?;
    let untracked = process::read(
        cmd!(sh, "git -C {root} ls-files -z --others --exclude-standard")
            .quiet()
            .ignore_stderr(),
    )?;
    for name in changed
        .split('\0')
        .chain(untracked.split('\0'))
        .filter(|it| !it.is_empty())
    {
        let from = root.join(name);
        let to = clone.join(name);
        if from.is_file() {
            if let Some(parent) = to.parent() {
                fs::create_dir_all(parent)?;
            }
            fs::copy(&from, &to).with_context(|| format!("copy {name} into the clone"))?;
        } else if to.is_file() {
            fs::remove_file(&to).with_context(|| format!("remove {name} from the clone"))?;
        }
    }
    Ok(())
}

/// A `PATH` without cargo, rustc and rustup: the entries that hold none of them, after `bin`,
/// which gets a link to `cargo-nextest` when it lives beside cargo.
fn path_without_toolchain(bin: &Path) -> anyhow::Result<String> {
    fs::create_dir_all(bin)?;
    if let Ok(nextest) = which::which("cargo-nextest") {
        std::os::unix::fs::symlink(&nextest, bin.join("cargo-nextest"))
            .context("link cargo-nextest")?;
    }
    let current = std::env::var_os("PATH").unwrap_or_default();
    let kept: Vec<PathBuf> = std::iter::once(bin.to_path_buf())
        .chain(
            std::env::split_paths(&current)
                .filter(|dir| !TOOLCHAIN.iter().any(|tool| dir.join(tool).exists())),
        )
        .collect();
    let path = std::env::join_paths(kept)?.to_string_lossy().into_owned();
    Ok(path)
}

/// `command` with `path` as `PATH` and nothing that names a toolchain.
fn toolchain_free<'a>(command: xshell::Cmd<'a>, path: &str) -> xshell::Cmd<'a> {
    let mut command = command.env("PATH", path);
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if key == "CARGO"
            || key.starts_with("RUSTUP")
            || key.starts_with("KEEL_")
            || key.starts_with("CARGO_")
            || key.starts_with("NEXTEST")
        {
            command = command.env_remove(key);
        }
    }
    command
}

/// Tests of [`NEXTEST_FILTERS`] in `nextest list --message-format json`, and how many are ignored.
fn nextest_listing(json: &str) -> anyhow::Result<(usize, usize)> {
    let listing: serde_json::Value =
        serde_json::from_str(json).context("parse nextest's test list")?;
    let mut listed = 0;
    let mut ignored = 0;
    for suite in listing["rust-suites"]
        .as_object()
        .into_iter()
        .flat_map(|it| it.values())
    {
        for (name, case) in suite["testcases"].as_object().into_iter().flatten() {
            // nextest reports an ignored test as a filter mismatch; the filters decide here.
            if !NEXTEST_FILTERS.iter().any(|filter| name.contains(filter)) {
                continue;
            }
            listed += 1;
            if case["ignored"] == true {
                ignored += 1;
            }
        }
    }
    Ok((listed, ignored))
}

/// Each test case of a JUnit report with `None` (passed), `Some("skipped: why")` or `Some("failed")`.
fn junit_outcomes(xml: &str) -> BTreeMap<String, Option<String>> {
    let mut outcomes = BTreeMap::new();
    for case in xml.split("<testcase ").skip(1) {
        let attribute = |text: &str, name: &str| {
            text.split(&format!("{name}=\"")[..])
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(str::to_owned)
        };
        let Some(name) = attribute(case, "name") else {
            continue;
        };
        let body = case.split("</testcase>").next().unwrap_or(case);
        let outcome = if let Some(skipped) = body.split("<skipped").nth(1) {
            Some(format!(
                "skipped: {}",
                attribute(skipped, "message").unwrap_or_default()
            ))
        } else if body.contains("<failure") || body.contains("<error") {
            Some("failed".to_owned())
        } else {
            None
        };
        outcomes.insert(name, outcome);
    }
    outcomes
}

/// Passed and skipped counts, or an error naming what went wrong.
fn check_outcomes(
    outcomes: &BTreeMap<String, Option<String>>,
    expected_skips: &[&str],
) -> anyhow::Result<(usize, usize)> {
    ensure!(
        !expected_skips.is_empty(),
        "no selected test needs cargo, so the proof would prove nothing"
    );
    let reason = format!("skipped: {SKIP_NEEDS_CARGO}");
    let mut passed = 0;
    let mut skipped = 0;
    let mut wrong = Vec::new();
    for (name, outcome) in outcomes {
        let needs_cargo = expected_skips.contains(&name.as_str());
        match (outcome.as_deref(), needs_cargo) {
            (None, false) => passed += 1,
            (Some(it), true) if it == reason => skipped += 1,
            (other, _) => wrong.push(format!("{name}: {}", other.unwrap_or("passed"))),
        }
    }
    for name in expected_skips {
        if !outcomes.contains_key(*name) {
            wrong.push(format!("{name}: not reported"));
        }
    }
    if !wrong.is_empty() {
        bail!("from the archive without cargo: {}", wrong.join("; "));
    }
    ensure!(passed > 0, "no test passed from the archive");
    Ok((passed, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    const JUNIT: &str = r#"<testsuites><testsuite name="smoketests">
<testcase name="basics::a" classname="smoketests" time="0.1">
</testcase>
<testcase name="module_code::b" classname="smoketests">
<skipped message="needs cargo: builds a module at run time"/>
</testcase>
<testcase name="cli::c"><failure message="boom"/></testcase>
</testsuite></testsuites>"#;

    #[test]
    fn junit_outcomes_are_read_per_case() {
        let outcomes = junit_outcomes(JUNIT);
        assert_eq!(outcomes["basics::a"], None);
        assert_eq!(
            outcomes["module_code::b"].as_deref(),
            Some("skipped: needs cargo: builds a module at run time")
        );
        assert_eq!(outcomes["cli::c"].as_deref(), Some("failed"));
    }

    #[test]
    fn the_proof_needs_passes_and_exact_skips() {
        let mut outcomes = junit_outcomes(JUNIT);
        let err = check_outcomes(&outcomes, &["module_code::b"]).unwrap_err();
        assert!(err.to_string().contains("cli::c: failed"), "{err}");
        outcomes.remove("cli::c");
        assert_eq!(
            check_outcomes(&outcomes, &["module_code::b"]).unwrap(),
            (1, 1)
        );
        // A cargo-needing test that passed would be a lie.
        let err = check_outcomes(&outcomes, &["module_code::b", "basics::a"]).unwrap_err();
        assert!(err.to_string().contains("basics::a: passed"), "{err}");
        assert!(check_outcomes(&outcomes, &[]).is_err());
    }
}
