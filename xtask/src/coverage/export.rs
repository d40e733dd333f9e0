//! One test's profiles into lines: `llvm-profdata merge -sparse` of its `.profraw` files into
//! `merged.profdata` (the raw files are then removed), `llvm-cov export -format=lcov` of that
//! against the instrumented server and CLI, and the lcov read back, workspace files only.

use std::{
    collections::BTreeMap,
    fs,
    path::{Path, PathBuf},
};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::{
    coverage::{
        build::InstrumentedBinaries,
        lcov::{self, FileLines},
        run::Profiles,
        tools::LlvmTools,
    },
    process,
};

/// Files `llvm-cov` need not export at all (dependencies and the standard library); the lcov
/// reader keeps only workspace files anyway, this only saves the work.
const IGNORED_FILES: &str = r"/\.cargo/(registry|git)/|^/rustc/";

/// What exporting needs.
#[derive(Debug)]
pub(crate) struct Exporter<'a> {
    /// `llvm-profdata` and `llvm-cov`.
    pub(crate) tools: &'a LlvmTools,
    /// The binaries the profiles were written by.
    pub(crate) binaries: &'a InstrumentedBinaries,
    /// The workspace root as the xtask found it, and as the file system spells it.
    pub(crate) roots: Vec<PathBuf>,
}

impl Exporter<'_> {
    /// The workspace files the test's processes instrumented and executed, by path relative to
    /// the workspace root. Fails when the server left no profile: every test talks to a server,
    /// which writes its profile only when it shuts down gracefully.
    pub(crate) fn export(&self, profiles: &Profiles) -> anyhow::Result<BTreeMap<PathBuf, FileLines>> {
        let sh = Shell::new()?;
        let merged = profiles.dir.join("merged.profdata");
        let profdata = &self.tools.profdata;
        let raw = &profiles.raw;
        process::read(cmd!(sh, "{profdata} merge -sparse {raw...} -o {merged}").quiet())
            .context("merge the profiles with llvm-profdata")?;
        for file in raw {
            fs::remove_file(file).with_context(|| format!("remove {}", file.display()))?;
        }
        let cov = &self.tools.cov;
        let server = &self.binaries.server;
        let cli = &self.binaries.cli;
        let lcov = process::read(
            cmd!(
                sh,
                "{cov} export -format=lcov -instr-profile={merged} -ignore-filename-regex={IGNORED_FILES} -object {server} -object {cli}"
            )
            .quiet(),
        )
        .context("export the profile as lcov with llvm-cov")?;
        let roots: Vec<&Path> = self.roots.iter().map(PathBuf::as_path).collect();
        let files = lcov::parse(&lcov, &roots).context("read llvm-cov's lcov export")?;
        let server_main = &self.binaries.server_main;
        if !files.get(server_main).is_some_and(|it| !it.executed.is_empty()) {
            bail!(
                "its server left no coverage profile ({} never ran): it did not shut down gracefully before its test process ended",
                server_main.display()
            );
        }
        Ok(files)
    }
}
