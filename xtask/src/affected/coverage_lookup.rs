//! The coverage map as the rules ask it: for a changed file, the tests that executed its changed
//! lines. The hunks are taken against the revision the map was built from, and only when the file
//! at that revision is the copy the map saw (same blake3); otherwise the map cannot place them and
//! says so, and the rules fall back to the file's binary users.

use std::{collections::BTreeSet, path::Path};

use xshell::Shell;

use super::{
    changes,
    rules::{CoverageLookup, CoverageVerdict},
};
use crate::coverage::map::CoverageMap;

/// A loaded map and the shell to ask git with.
pub(crate) struct MapLookup<'a> {
    /// Runs git in the checkout.
    pub(crate) sh: &'a Shell,
    /// The map of the last `cargo xtask coverage-map`.
    pub(crate) map: &'a CoverageMap,
}

impl CoverageLookup for MapLookup<'_> {
    fn verdict(&self, file: &Path) -> CoverageVerdict {
        let Some(hash) = self.map.file_hash(file) else {
            return CoverageVerdict::NotMapped;
        };
        let shown = file.to_string_lossy();
        let revision = self.map.revision();
        let short = &revision[..revision.len().min(12)];
        if changes::content_hash_at(self.sh, revision, &shown).as_deref() != Some(hash) {
            return CoverageVerdict::Unplaceable(format!(
                "{shown} is not the copy the map was built from at {short}; run `cargo xtask coverage-map` again"
            ));
        }
        match changes::hunks(self.sh, revision, &shown) {
            Ok(hunks) => {
                let selection = self.map.tests_for_hunks(file, &hunks);
                CoverageVerdict::Tests {
                    tests: selection.tests,
                    file_wide: selection.file_wide,
                }
            }
            Err(err) => CoverageVerdict::Unplaceable(format!("{err:#}")),
        }
    }

    fn mapped_tests(&self) -> BTreeSet<String> {
        self.map.tests().into_iter().map(str::to_owned).collect()
    }
}
