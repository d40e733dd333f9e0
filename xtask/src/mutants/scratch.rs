//! The scratch copy mutants are applied in: a clone of the checkout's `HEAD` under
//! `target/smoketest/strength/checkout` with a target dir of its own, kept between runs so each
//! mutant rebuilds incrementally. The user's tree is never touched.
//!
//! Each mutant: reset the clone, apply the diff (`git apply`), `cargo xtask warmup` there (a failure
//! is an unviable mutant), then `cargo xtask smoketest --no-build --affected --since HEAD` (or the
//! whole suite), under a time limit; its `run.json` names the tests that caught it. The clone gets
//! the checkout's usage records and coverage map (same revision, so the map places the mutant's
//! hunk) afresh before every mutant, so one mutant's failures never steer the next one's selection.
//! Builds there use release with opt-level 1 and incremental compilation: a mutant is judged by
//! behaviour, and that is several times faster to rebuild.

use std::{
    fs,
    path::{Path, PathBuf},
    time::Duration,
};

use anyhow::{Context, bail};
use keel_artifacts::{hash_file, hash_inputs, smoketest_dir};
use keel_process::GroupChild;
use xshell::{Shell, cmd};

use super::{MutantResult, Verdict, list::Mutant};
use crate::{cargo, process, smoketest::shard::RunRecord};

/// The longest a mutant's tests may run before it counts as timed out (an endless loop, say).
const TEST_TIME_LIMIT: Duration = Duration::from_secs(600);
/// What judges a mutant besides the mutated file: the suite, its harness, the modules, the lock.
const JUDGE_INPUTS: &[&str] = &["tests", "crates/keel-smoketest", "modules", "Cargo.lock"];
/// What the tests that caught a mutant stand on, besides their own files: [`JUDGE_INPUTS`] without
/// the other tests, and the suite's shared files.
const FIXTURE_INPUTS: &[&str] = &[
    "crates/keel-smoketest",
    "modules",
    "Cargo.lock",
    "tests/Cargo.toml",
    "tests/src/main.rs",
    "tests/src/support.rs",
];
/// The clone's builds: behaviour is what counts, and these rebuild several times faster.
const PROFILE: [(&str, &str); 2] = [
    ("CARGO_PROFILE_RELEASE_OPT_LEVEL", "1"),
    ("CARGO_PROFILE_RELEASE_INCREMENTAL", "true"),
];
/// `command` with the clone's build profile ([`PROFILE`]).
fn with_profile(command: xshell::Cmd<'_>) -> xshell::Cmd<'_> {
    PROFILE
        .iter()
        .fold(command, |command, (key, value)| command.env(key, value))
}

/// Files the clone gets from the checkout before each mutant.
const COPIED_RECORDS: &[&str] = &["usage.json", "coverage-map.json"];

/// The clone.
pub(crate) struct Scratch {
    root: PathBuf,
    dir: PathBuf,
}

impl Scratch {
    /// Clones the checkout, or brings the existing clone to the checkout's `HEAD`.
    pub(crate) fn prepare(sh: &Shell, root: &Path) -> anyhow::Result<Scratch> {
        let dir = smoketest_dir(root).join("strength/checkout");
        let head = process::read(cmd!(sh, "git rev-parse HEAD"))
            .context("find the checkout's HEAD")?
            .trim()
            .to_owned();
        if !process::read(cmd!(sh, "git status --porcelain --untracked-files=no"))?
            .trim()
            .is_empty()
        {
            eprintln!(
                "warning: the mutants are made from HEAD ({}); uncommitted changes are not in them",
                &head[..12]
            );
        }
        if dir.join(".git").is_dir() {
            let _dir = sh.push_dir(&dir);
            process::run(cmd!(sh, "git fetch --quiet origin"))?;
            process::run(cmd!(sh, "git checkout --quiet --force --detach {head}"))?;
        } else {
            if let Some(parent) = dir.parent() {
                fs::create_dir_all(parent)
                    .with_context(|| format!("create {}", parent.display()))?;
            }
            process::run(cmd!(sh, "git clone --quiet --shared {root} {dir}"))
                .context("clone the checkout for the mutants")?;
            let _dir = sh.push_dir(&dir);
            process::run(cmd!(sh, "git checkout --quiet --detach {head}"))?;
        }
        Ok(Scratch {
            root: root.to_path_buf(),
            dir,
        })
    }

    /// Builds the unmutated clone (the first time: every crate), so that a failing build later
    /// is the mutant's, and runs the whole suite there, which must pass: a test that fails
    /// without any mutant would "catch" every mutant it is selected for.
    pub(crate) fn baseline(&self, sh: &Shell) -> anyhow::Result<()> {
        let _dir = sh.push_dir(&self.dir);
        let cargo = cargo();
        let warmup = with_profile(cmd!(sh, "{cargo} xtask warmup"));
        process::run(warmup).context(
            "build the unmutated scratch copy; it must build before any mutant can be judged",
        )?;
        self.copy_records()?;
        let suite = with_profile(cmd!(sh, "{cargo} xtask smoketest --no-build"));
        process::run(suite).with_context(|| {
            format!(
                "the unmutated suite fails in the scratch copy {}, so no mutant can be judged; run `cargo xtask smoketest` there to see why",
                self.dir.display()
            )
        })
    }

    /// The clone's workspace root.
    pub(crate) fn dir(&self) -> &Path {
        &self.dir
    }

    /// The hash of `file` in the clone (the unmutated source).
    pub(crate) fn file_hash(&self, file: &str) -> anyhow::Result<String> {
        hash_file(&self.dir.join(file)).with_context(|| format!("hash {file}"))
    }

    /// The hash of what judges every mutant.
    pub(crate) fn judge_key(&self, whole_suite: bool) -> anyhow::Result<String> {
        let inputs: Vec<PathBuf> = JUDGE_INPUTS.iter().map(PathBuf::from).collect();
        let hash = hash_inputs(&self.dir, &inputs).context("hash the suite")?;
        Ok(format!("{hash} whole-suite={whole_suite}"))
    }

    /// The hash of what the tests named in `caught_by` are: their files (`tests/src/<area>.rs` for
    /// `area::test`), the harness, the modules and the lock. While it is unchanged the same tests
    /// still fail on the same mutant, whatever other tests were added or changed. `None` when a
    /// test's file cannot be told from its name.
    pub(crate) fn catchers_key(&self, caught_by: &[String]) -> anyhow::Result<Option<String>> {
        let mut inputs: Vec<PathBuf> = FIXTURE_INPUTS.iter().map(PathBuf::from).collect();
        for test in caught_by {
            let Some((area, _)) = test.split_once("::") else {
                return Ok(None);
            };
            let file = PathBuf::from(format!("tests/src/{area}.rs"));
            if !self.dir.join(&file).is_file() {
                return Ok(None);
            }
            inputs.push(file);
        }
        inputs.sort();
        inputs.dedup();
        let hash = hash_inputs(&self.dir, &inputs).context("hash the catching tests")?;
        Ok(Some(hash))
    }

    /// Applies `mutant` in the clone, rebuilds, runs the tests, and restores the clone.
    pub(crate) fn judge(
        &self,
        sh: &Shell,
        mutant: &Mutant,
        whole_suite: bool,
    ) -> anyhow::Result<MutantResult> {
        let _dir = sh.push_dir(&self.dir);
        process::run(cmd!(sh, "git checkout --quiet -- ."))?;
        self.copy_records()?;
        let patch = smoketest_dir(&self.dir).join("strength-mutant.diff");
        fs::create_dir_all(smoketest_dir(&self.dir))?;
        fs::write(&patch, applicable_diff(mutant))
            .with_context(|| format!("write {}", patch.display()))?;
        process::run(cmd!(sh, "git apply -p0 {patch}"))
            .with_context(|| format!("apply mutant {}", mutant.name))?;
        let result = |verdict, caught_by: Vec<String>, tests_run| MutantResult {
            name: mutant.name.clone(),
            file: mutant.file.clone(),
            verdict,
            caught_by,
            tests_run,
            cached: false,
            declared_equivalent: None,
        };
        let cargo = cargo();
        let warmup = with_profile(
            cmd!(sh, "{cargo} xtask warmup")
                .ignore_stdout()
                .ignore_stderr(),
        );
        let built = process::run(warmup).is_ok();
        process::check_interrupted()?;
        let judged = if !built {
            result(Verdict::Unviable, Vec::new(), 0)
        } else {
            let selection: &[&str] = if whole_suite {
                &[]
            } else {
                &["--affected", "--since", "HEAD"]
            };
            let run = with_profile(
                cmd!(sh, "{cargo} xtask smoketest --no-build {selection...}").ignore_stdout(),
            );
            let mut command = process::sanitized_command(run);
            command.stderr(std::process::Stdio::null());
            let mut child = GroupChild::spawn(command, "the mutant's smoketests")?;
            match child.wait_timeout(TEST_TIME_LIMIT)? {
                None => {
                    child.kill()?;
                    result(Verdict::TimedOut, Vec::new(), 0)
                }
                Some(status) => {
                    process::check_interrupted()?;
                    let record = RunRecord::read(&smoketest_dir(&self.dir))?;
                    let failed: Vec<String> = record
                        .outcomes
                        .iter()
                        .filter(|it| it.status == crate::smoketest::TestStatus::Failed)
                        .map(|it| it.name.clone())
                        .collect();
                    match (status.success(), failed.is_empty()) {
                        (true, _) => result(Verdict::Missed, Vec::new(), record.assigned.len()),
                        (false, false) => result(Verdict::Caught, failed, record.assigned.len()),
                        (false, true) if !record.infrastructure_errors.is_empty() => result(
                            Verdict::Caught,
                            vec![format!(
                                "(the run itself: {})",
                                record.infrastructure_errors[0]
                            )],
                            record.assigned.len(),
                        ),
                        (false, true) => bail!(
                            "the smoketests of mutant {} failed without a failing test; see {}",
                            mutant.name,
                            self.dir.display()
                        ),
                    }
                }
            }
        };
        process::run(cmd!(sh, "git checkout --quiet -- ."))?;
        Ok(judged)
    }

    /// Gives the clone the checkout's usage records and coverage map.
    fn copy_records(&self) -> anyhow::Result<()> {
        let (from, to) = (smoketest_dir(&self.root), smoketest_dir(&self.dir));
        fs::create_dir_all(&to).with_context(|| format!("create {}", to.display()))?;
        for name in COPIED_RECORDS {
            let source = from.join(name);
            if source.is_file() {
                fs::copy(&source, to.join(name))
                    .with_context(|| format!("copy {}", source.display()))?;
            } else if name == &"usage.json" {
                bail!(
                    "{} is missing; run `cargo xtask smoketest` once so --affected has records",
                    source.display()
                );
            }
        }
        Ok(())
    }
}

/// The mutant's diff with a `+++` header `git apply` reads: cargo-mutants writes what the mutant
/// does there (`+++ replace f with ()`), not the file.
fn applicable_diff(mutant: &Mutant) -> String {
    let mut diff: String = mutant
        .diff
        .lines()
        .map(|line| {
            if line.starts_with("+++ ") {
                format!("+++ {}", mutant.file)
            } else {
                line.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    diff.push('\n');
    diff
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_diff_names_the_file_on_both_sides() {
        let mutant = Mutant {
            name: "m".to_owned(),
            file: "crates/a/src/lib.rs".to_owned(),
            diff: "--- crates/a/src/lib.rs\n+++ replace f with ()\n@@ -1 +1 @@\n-x\n+y".to_owned(),
        };
        assert_eq!(
            applicable_diff(&mutant),
            "--- crates/a/src/lib.rs\n+++ crates/a/src/lib.rs\n@@ -1 +1 @@\n-x\n+y\n"
        );
    }
}
