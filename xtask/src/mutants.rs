//! The mutation half of `cargo xtask strength --mutants`: how many of cargo-mutants' mutants of a file
//! set the smoketests catch.
//!
//! `list` asks cargo-mutants for the mutants and their diffs (installing it when missing); `scratch`
//! keeps a clone of the checkout under `target/smoketest/strength/checkout`, where each mutant is
//! applied (never in the user's tree), rebuilt through the clone's warmup and judged by its
//! `cargo xtask smoketest --affected` (or the whole suite with `--all`); `cache` remembers each
//! outcome by mutant and source hash, so a second run tries only what changed; `equivalent` reads the
//! declared equivalent mutants (`.config/equivalent-mutants.toml`), each with its reason.

mod cache;
mod equivalent;
mod list;
mod scratch;

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt::Write as _,
    path::PathBuf,
    time::Instant,
};

use serde::{Deserialize, Serialize};
use xshell::Shell;

use crate::{process, project_root};

/// The default file set (issue 12): the SQL guard, migrations, authentication and the routes.
pub(crate) const DEFAULT_FILES: &[&str] = &[
    "crates/keel-host/src/guard.rs",
    "crates/keel-host/src/migration.rs",
    "crates/keel-standalone/src/auth.rs",
    "crates/keel-standalone/src/routes.rs",
];

/// How one mutant went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Verdict {
    /// A test failed with it.
    Caught,
    /// Every selected test passed.
    Missed,
    /// It does not build.
    Unviable,
    /// The tests ran past the time limit.
    TimedOut,
}

/// One mutant's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct MutantResult {
    /// cargo-mutants' name of the mutant (`file:line:col: replace ... with ...`).
    pub(crate) name: String,
    /// The mutated file.
    pub(crate) file: String,
    /// How it went.
    pub(crate) verdict: Verdict,
    /// The tests that failed with it (what caught it).
    pub(crate) caught_by: Vec<String>,
    /// How many tests were run against it.
    pub(crate) tests_run: usize,
    /// Whether the result came from the cache.
    pub(crate) cached: bool,
    /// The declared reason, when the mutant is declared equivalent.
    pub(crate) declared_equivalent: Option<String>,
}

/// Every mutant of a run, and the score.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct MutantsReport {
    /// The files mutated.
    pub(crate) files: Vec<String>,
    /// Whether the whole suite judged each mutant (`--all`), not the affected tests.
    pub(crate) whole_suite: bool,
    /// Per mutant.
    pub(crate) mutants: Vec<MutantResult>,
    /// caught / (viable and not declared equivalent).
    pub(crate) score: Option<f64>,
    /// Wall time of the run.
    pub(crate) wall_ms: f64,
}

/// `cargo xtask strength --mutants`: runs the mutants and writes `target/smoketest/strength-mutants.json`
/// and `.md`; fails while a survivor is not declared equivalent.
pub(crate) fn command(sh: &Shell, flags: &crate::flags::Strength) -> anyhow::Result<()> {
    anyhow::ensure!(
        flags.mutants,
        "`cargo xtask strength` measures mutants with --mutants"
    );
    let report = run(sh, &flags.files, flags.all)?;
    let dir = keel_artifacts::smoketest_dir(&project_root());
    keel_artifacts::write_atomic(
        &dir.join("strength-mutants.json"),
        &serde_json::to_vec_pretty(&report)?,
    )?;
    keel_artifacts::write_atomic(
        &dir.join("strength-mutants.md"),
        report.markdown().as_bytes(),
    )?;
    eprint!("{}", report.markdown());
    eprintln!(
        "
written: {}",
        dir.join("strength-mutants.md").display()
    );
    for wrong in report.wrongly_declared() {
        eprintln!(
            "warning: {} is declared equivalent but {} caught it",
            wrong.name,
            wrong.caught_by.join(", ")
        );
    }
    let survivors: Vec<&str> = report.survivors().map(|it| it.name.as_str()).collect();
    anyhow::ensure!(
        survivors.is_empty(),
        "{} mutant(s) survived; kill each with a test or declare it in {} with its reason:\n  {}",
        survivors.len(),
        equivalent::FILE,
        survivors.join("\n  ")
    );
    Ok(())
}

/// Lists, applies and judges every mutant of `files` (the default set when empty).
pub(crate) fn run(
    sh: &Shell,
    files: &[PathBuf],
    whole_suite: bool,
) -> anyhow::Result<MutantsReport> {
    let started = Instant::now();
    let root = project_root();
    let files: Vec<String> = if files.is_empty() {
        DEFAULT_FILES.iter().map(|it| (*it).to_owned()).collect()
    } else {
        files.iter().map(|it| it.display().to_string()).collect()
    };
    let equivalents = equivalent::load(&root)?;
    let scratch = scratch::Scratch::prepare(sh, &root)?;
    let mutants = list::mutants(sh, scratch.dir(), &files)?;
    // Built and tested before the first mutant that is not cached: a run with nothing new to
    // judge needs neither.
    let mut baseline_passed = false;
    eprintln!(
        "==> strength: {} mutants of {} file(s)",
        mutants.len(),
        files.len()
    );
    let mut cache = cache::Cache::load(&root)?;
    let judge_key = scratch.judge_key(whole_suite)?;
    let mut results = Vec::new();
    for (index, mutant) in mutants.iter().enumerate() {
        process::check_interrupted()?;
        let file_hash = scratch.file_hash(&mutant.file)?;
        let key = cache::key(mutant, &file_hash, &judge_key);
        let (result, cached) =
            match cached_outcome(&cache, &scratch, mutant, &key, &file_hash, whole_suite)? {
                Some(result) => (result, true),
                None => {
                    eprintln!(
                        "==> strength: mutant {}/{}: {}",
                        index + 1,
                        mutants.len(),
                        mutant.name
                    );
                    if !baseline_passed {
                        scratch.baseline(sh)?;
                        baseline_passed = true;
                    }
                    let result = scratch.judge(sh, mutant, whole_suite)?;
                    if result.verdict == Verdict::Caught
                        && let Some(catchers) = scratch.catchers_key(&result.caught_by)?
                    {
                        let second = cache::caught_key(mutant, &file_hash, &catchers, whole_suite);
                        cache.insert(second, result.clone());
                    }
                    cache.insert(key, result.clone());
                    cache.save(&root)?;
                    (result, false)
                }
            };
        results.push(MutantResult {
            cached,
            declared_equivalent: equivalents.get(&mutant.name).cloned(),
            ..result
        });
    }
    let report = MutantsReport {
        score: score(&results),
        files,
        whole_suite,
        mutants: results,
        wall_ms: started.elapsed().as_secs_f64() * 1000.0,
    };
    let unknown: Vec<&String> = equivalents
        .keys()
        .filter(|name| !report.mutants.iter().any(|it| &it.name == *name))
        .collect();
    for name in unknown {
        eprintln!("warning: {name} is declared equivalent but cargo-mutants no longer makes it");
    }
    Ok(report)
}

/// The cached outcome of `mutant`: under its full key (same file, same suite), or, for a mutant
/// caught before, under [`cache::caught_key`] when the tests that caught it are unchanged.
fn cached_outcome(
    cache: &cache::Cache,
    scratch: &scratch::Scratch,
    mutant: &list::Mutant,
    key: &str,
    file_hash: &str,
    whole_suite: bool,
) -> anyhow::Result<Option<MutantResult>> {
    if let Some(result) = cache.get(key) {
        return Ok(Some(result.clone()));
    }
    for candidate in cache.caught_candidates(mutant) {
        let Some(catchers) = scratch.catchers_key(&candidate.caught_by)? else {
            continue;
        };
        let second = cache::caught_key(mutant, file_hash, &catchers, whole_suite);
        if let Some(result) = cache.get(&second) {
            return Ok(Some(result.clone()));
        }
    }
    Ok(None)
}

/// caught / (caught + missed + timed out), leaving out the unviable and the declared equivalent.
fn score(results: &[MutantResult]) -> Option<f64> {
    let judged: Vec<&MutantResult> = results
        .iter()
        .filter(|it| it.verdict != Verdict::Unviable && it.declared_equivalent.is_none())
        .collect();
    let caught = judged
        .iter()
        .filter(|it| it.verdict == Verdict::Caught)
        .count();
    (!judged.is_empty()).then(|| caught as f64 / judged.len() as f64)
}

impl MutantsReport {
    /// Counts per verdict.
    pub(crate) fn counts(&self) -> BTreeMap<Verdict, usize> {
        let mut counts = BTreeMap::new();
        for mutant in &self.mutants {
            *counts.entry(mutant.verdict).or_default() += 1;
        }
        counts
    }

    /// The mutants that survived and are not declared equivalent: what a test is missing.
    pub(crate) fn survivors(&self) -> impl Iterator<Item = &MutantResult> {
        self.mutants.iter().filter(|it| {
            matches!(it.verdict, Verdict::Missed | Verdict::TimedOut)
                && it.declared_equivalent.is_none()
        })
    }

    /// Declared equivalent, yet caught: the declaration is wrong.
    pub(crate) fn wrongly_declared(&self) -> impl Iterator<Item = &MutantResult> {
        self.mutants
            .iter()
            .filter(|it| it.verdict == Verdict::Caught && it.declared_equivalent.is_some())
    }

    /// The markdown section of `strength.md`.
    pub(crate) fn markdown(&self) -> String {
        let mut text = String::from("## Mutants\n\n");
        let counts = self.counts();
        let count = |verdict| counts.get(&verdict).copied().unwrap_or_default();
        let _ = writeln!(
            text,
            "{} mutants of {}; judged by {}: {} caught, {} missed, {} unviable, {} timed out; {} declared equivalent; score {}\n",
            self.mutants.len(),
            self.files.join(", "),
            if self.whole_suite {
                "the whole suite"
            } else {
                "the affected tests"
            },
            count(Verdict::Caught),
            count(Verdict::Missed),
            count(Verdict::Unviable),
            count(Verdict::TimedOut),
            self.mutants
                .iter()
                .filter(|it| it.declared_equivalent.is_some())
                .count(),
            self.score
                .map_or("n/a".to_owned(), |it| format!("{:.1} %", it * 100.0)),
        );
        text.push_str("| mutant | verdict | caught by |\n| --- | --- | --- |\n");
        for mutant in &self.mutants {
            let verdict = match (&mutant.declared_equivalent, mutant.verdict) {
                (Some(reason), Verdict::Missed | Verdict::TimedOut) => {
                    format!("equivalent: {reason}")
                }
                (Some(_), Verdict::Caught) => "caught, but declared equivalent".to_owned(),
                (_, verdict) => format!("{verdict:?}").to_lowercase(),
            };
            let caught_by: BTreeSet<&str> = mutant
                .caught_by
                .iter()
                .map(String::as_str)
                .take(3)
                .collect();
            let _ = writeln!(
                text,
                "| `{}` | {verdict} | {} |",
                mutant.name.replace('|', "\\|"),
                caught_by.into_iter().collect::<Vec<_>>().join(", ")
            );
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(name: &str, verdict: Verdict, equivalent: Option<&str>) -> MutantResult {
        MutantResult {
            name: name.to_owned(),
            file: "f.rs".to_owned(),
            verdict,
            caught_by: if verdict == Verdict::Caught {
                vec!["a::b".to_owned()]
            } else {
                Vec::new()
            },
            tests_run: 3,
            cached: false,
            declared_equivalent: equivalent.map(str::to_owned),
        }
    }

    #[test]
    fn the_score_leaves_out_unviable_and_declared_equivalent_mutants() {
        let results = [
            result("a", Verdict::Caught, None),
            result("b", Verdict::Missed, None),
            result("c", Verdict::Unviable, None),
            result("d", Verdict::Missed, Some("the default arm refuses too")),
            result("e", Verdict::TimedOut, None),
            result("f", Verdict::Caught, None),
        ];
        assert_eq!(score(&results), Some(0.5));
        assert_eq!(score(&[]), None);
        let report = MutantsReport {
            files: vec!["f.rs".to_owned()],
            whole_suite: false,
            score: score(&results),
            mutants: results.to_vec(),
            wall_ms: 1.0,
        };
        let survivors: Vec<&str> = report.survivors().map(|it| it.name.as_str()).collect();
        assert_eq!(survivors, ["b", "e"]);
        let markdown = report.markdown();
        assert!(
            markdown.contains(
                "2 caught, 2 missed, 1 unviable, 1 timed out; 1 declared equivalent; score 50.0 %"
            ),
            "{markdown}"
        );
        assert!(markdown.contains("equivalent: the default arm refuses too"));
    }

    #[test]
    fn a_caught_mutant_declared_equivalent_is_reported() {
        let report = MutantsReport {
            files: Vec::new(),
            whole_suite: true,
            score: None,
            mutants: vec![
                result("x", Verdict::Caught, Some("claimed")),
                result("y", Verdict::Missed, Some("ok")),
            ],
            wall_ms: 0.0,
        };
        let wrong: Vec<&str> = report
            .wrongly_declared()
            .map(|it| it.name.as_str())
            .collect();
        assert_eq!(wrong, ["x"]);
    }
}
