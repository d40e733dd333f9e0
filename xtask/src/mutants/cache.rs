//! Outcomes of mutants already judged, by mutant and source: `target/smoketest/strength/mutants.json`.
//! The key is the mutant's name and diff, the hash of the mutated file and the hash of what judges it
//! (the tests, the harness, the modules, the lock file, and whether the whole suite ran). A change to
//! other server code does not invalidate an outcome; delete the file to judge everything again.
//! A caught mutant is also kept under a second key, [`caught_key`], made from the files of the tests
//! that caught it instead of the whole suite: tests added or changed elsewhere (to kill a survivor,
//! say) do not make it run again, since the same tests still fail on it.

use std::{
    collections::BTreeMap,
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::Context;
use keel_artifacts::{hash_bytes, smoketest_dir};

use super::{MutantResult, list::Mutant};

/// Judged mutants by key.
#[derive(Debug, Default)]
pub(crate) struct Cache {
    results: BTreeMap<String, MutantResult>,
}

/// The cache key of `mutant`, given the hash of its file and of what judges it.
pub(crate) fn key(mutant: &Mutant, file_hash: &str, judge_key: &str) -> String {
    hash_bytes(format!("{}\n{}\n{file_hash}\n{judge_key}", mutant.name, mutant.diff).as_bytes())
}

/// The second key of a caught `mutant`: its file's hash and the hash of the tests that caught
/// it (`Scratch::catchers_key`), with how the suite was chosen (`whole_suite`).
pub(crate) fn caught_key(
    mutant: &Mutant,
    file_hash: &str,
    catchers_key: &str,
    whole_suite: bool,
) -> String {
    key(
        mutant,
        file_hash,
        &format!("caught by {catchers_key} whole-suite={whole_suite}"),
    )
}

impl Cache {
    fn path(root: &Path) -> PathBuf {
        smoketest_dir(root).join("strength/mutants.json")
    }

    /// The cache; none yet is empty, a damaged one is an error naming the file.
    pub(crate) fn load(root: &Path) -> anyhow::Result<Cache> {
        let path = Cache::path(root);
        match fs::read(&path) {
            Ok(bytes) => Ok(Cache {
                results: serde_json::from_slice(&bytes).with_context(|| {
                    format!(
                        "parse {} (delete it to judge every mutant again)",
                        path.display()
                    )
                })?,
            }),
            Err(err) if err.kind() == io::ErrorKind::NotFound => Ok(Cache::default()),
            Err(err) => Err(err).with_context(|| format!("read {}", path.display())),
        }
    }

    /// The outcome cached under `key`.
    pub(crate) fn get(&self, key: &str) -> Option<&MutantResult> {
        self.results.get(key)
    }

    /// Remembers an outcome.
    pub(crate) fn insert(&mut self, key: String, result: MutantResult) {
        self.results.insert(key, result);
    }

    /// The caught outcomes whose catching tests' files `catchers_key` can hash, for the
    /// [`caught_key`] lookup: every cached outcome of `mutant` that was caught, with who caught it.
    pub(crate) fn caught_candidates<'a>(
        &'a self,
        mutant: &'a Mutant,
    ) -> impl Iterator<Item = &'a MutantResult> {
        self.results.values().filter(move |result| {
            result.verdict == super::Verdict::Caught
                && result.name == mutant.name
                && !result.caught_by.is_empty()
        })
    }

    /// Writes the cache atomically (after every mutant, so an interrupted run keeps what it judged).
    pub(crate) fn save(&self, root: &Path) -> anyhow::Result<()> {
        let path = Cache::path(root);
        keel_artifacts::write_atomic(&path, &serde_json::to_vec_pretty(&self.results)?)
            .with_context(|| format!("write {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mutants::Verdict;

    /// Mutant `m` of `f.rs`.
    fn mutant() -> Mutant {
        Mutant {
            name: "m".to_owned(),
            file: "f.rs".to_owned(),
            diff: "d".to_owned(),
        }
    }

    /// `m`, caught by `a::b`.
    fn caught() -> MutantResult {
        MutantResult {
            name: "m".to_owned(),
            file: "f.rs".to_owned(),
            verdict: Verdict::Caught,
            caught_by: vec!["a::b".to_owned()],
            tests_run: 1,
            cached: false,
            declared_equivalent: None,
        }
    }

    #[test]
    fn outcomes_survive_a_reload_and_keys_follow_every_input() {
        let dir = tempfile::tempdir().unwrap();
        let mutant = mutant();
        let first = key(&mutant, "file-1", "judge-1");
        assert_ne!(first, key(&mutant, "file-2", "judge-1"));
        assert_ne!(first, key(&mutant, "file-1", "judge-2"));
        let mut cache = Cache::load(dir.path()).unwrap();
        assert!(cache.get(&first).is_none());
        let result = caught();
        cache.insert(first.clone(), result.clone());
        cache.save(dir.path()).unwrap();
        assert_eq!(Cache::load(dir.path()).unwrap().get(&first), Some(&result));
    }

    #[test]
    fn a_caught_outcome_is_found_by_who_caught_it() {
        let mutant = mutant();
        let second = caught_key(&mutant, "file-1", "catchers-1", false);
        assert_ne!(second, caught_key(&mutant, "file-2", "catchers-1", false));
        assert_ne!(second, caught_key(&mutant, "file-1", "catchers-2", false));
        assert_ne!(second, caught_key(&mutant, "file-1", "catchers-1", true));
        assert_ne!(second, key(&mutant, "file-1", "catchers-1"));
        let caught = caught();
        let missed = MutantResult {
            verdict: Verdict::Missed,
            caught_by: Vec::new(),
            ..caught.clone()
        };
        let mut cache = Cache::default();
        cache.insert("one".to_owned(), caught.clone());
        cache.insert("two".to_owned(), missed);
        let other = Mutant {
            name: "other".to_owned(),
            ..mutant.clone()
        };
        assert_eq!(
            cache.caught_candidates(&mutant).collect::<Vec<_>>(),
            [&caught]
        );
        assert_eq!(cache.caught_candidates(&other).count(), 0);
    }
}
