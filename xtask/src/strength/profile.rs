//! The suite's profile: the merged profile of every mapped test
//! (`target/coverage/profiles/<test>/merged.profdata`) merged into one,
//! `target/coverage/strength/suite.profdata`, and `llvm-cov export -format=text` (JSON) of it
//! against the instrumented `keel-standalone` and `keel`. The tools' messages go to
//! `target/coverage/strength/llvm.log`.

use std::{
    fs, io,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::coverage::{
    Prepared, build,
    export::{IGNORED_FILES, MERGED_PROFILE, read_logging_stderr},
    map::CoverageMap,
    run,
};

/// Where the suite's profile and the tools' log go, under `target/coverage`.
const WORK_DIR: &str = "strength";

/// The merged profile of test `name` in the checkout at `root`, as `cargo xtask coverage-map`
/// leaves it.
pub(crate) fn test_profile(root: &Path, name: &str) -> PathBuf {
    run::profile_dir(&root.join(build::TARGET_DIR), name).join(MERGED_PROFILE)
}

/// Merges the profiles of `map`'s tests and returns llvm-cov's JSON export of them.
pub(crate) fn export_suite(
    root: &Path,
    prepared: &Prepared,
    map: &CoverageMap,
) -> anyhow::Result<String> {
    let dir = root.join(build::TARGET_DIR).join(WORK_DIR);
    fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    let log = dir.join("llvm.log");
    match fs::remove_file(&log) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => {
            return Err(error).with_context(|| format!("remove {}", log.display()));
        }
        _ => {}
    }
    let profiles: Vec<PathBuf> = map
        .tests()
        .into_iter()
        .map(|test| test_profile(root, test))
        .collect();
    if profiles.is_empty() {
        bail!("the coverage map holds no test; build it with `cargo xtask coverage-map`");
    }
    let sh = Shell::new()?;
    let suite = dir.join("suite.profdata");
    let profdata = &prepared.tools.profdata;
    read_logging_stderr(
        cmd!(sh, "{profdata} merge -sparse {profiles...} -o {suite}"),
        &log,
    )
    .context("merge the tests' profiles with llvm-profdata")?;
    let cov = &prepared.tools.cov;
    let server = &prepared.binaries.server;
    let cli = &prepared.binaries.cli;
    read_logging_stderr(
        cmd!(
            sh,
            "{cov} export -format=text -skip-functions -instr-profile={suite} -ignore-filename-regex={IGNORED_FILES} -object {server} -object {cli}"
        ),
        &log,
    )
    .context("export the suite's profile as JSON with llvm-cov")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_tests_profile_is_where_the_coverage_map_leaves_it() {
        assert_eq!(
            test_profile(Path::new("/w"), "sql::joins_across_tables"),
            Path::new("/w/target/coverage/profiles/sql--joins_across_tables/merged.profdata")
        );
    }
}
