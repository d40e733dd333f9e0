//! One test's profiles into lines: `llvm-profdata merge -sparse` of its `.profraw` files into
//! `merged.profdata` (the raw files are then removed), `llvm-cov export -format=lcov` of that
//! against the instrumented server and CLI, and the lcov read back, workspace sources only.
//! The tools' messages (such as llvm-cov's "functions have mismatched data" for the few
//! functions both binaries hold under one name) go to the test's log.

use std::{
    collections::BTreeMap,
    fs,
    io::Read,
    path::{Path, PathBuf},
    process::Stdio,
};

use anyhow::{Context, bail};
use keel_process::GroupChild;
use xshell::{Cmd, Shell, cmd};

use crate::{
    coverage::{
        build::InstrumentedBinaries,
        lcov::{self, FileLines},
        run::Profiles,
        tools::LlvmTools,
    },
    process,
};

/// Files `llvm-cov` need not export at all: dependencies, the standard library, and code build
/// scripts generate under `target/`. Only saves work: see [`is_source`].
pub(crate) const IGNORED_FILES: &str = r"/\.cargo/(registry|git)/|^/rustc/|/target/";

/// The file name of a test's merged profile, in its profile directory ([`run::profile_dir`]).
///
/// [`run::profile_dir`]: crate::coverage::run::profile_dir
pub(crate) const MERGED_PROFILE: &str = "merged.profdata";

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
    /// The workspace sources the test's processes instrumented and executed, by path relative to
    /// the workspace root. Fails when no server left a profile: every test talks to a server.
    pub(crate) fn export(
        &self,
        profiles: &Profiles,
    ) -> anyhow::Result<BTreeMap<PathBuf, FileLines>> {
        let sh = Shell::new()?;
        let merged = profiles.dir.join(MERGED_PROFILE);
        let profdata = &self.tools.profdata;
        let raw = &profiles.raw;
        read_logging_stderr(
            cmd!(sh, "{profdata} merge -sparse {raw...} -o {merged}"),
            &profiles.log,
        )
        .context("merge the profiles with llvm-profdata")?;
        for file in raw {
            fs::remove_file(file).with_context(|| format!("remove {}", file.display()))?;
        }
        let cov = &self.tools.cov;
        let server = &self.binaries.server;
        let cli = &self.binaries.cli;
        let lcov = read_logging_stderr(
            cmd!(
                sh,
                "{cov} export -format=lcov -instr-profile={merged} -ignore-filename-regex={IGNORED_FILES} -object {server} -object {cli}"
            ),
            &profiles.log,
        )
        .context("export the profile as lcov with llvm-cov")?;
        let roots: Vec<&Path> = self.roots.iter().map(PathBuf::as_path).collect();
        let mut files = lcov::parse(&lcov, &roots).context("read llvm-cov's lcov export")?;
        files.retain(|path, _| is_source(path));
        let server_main = &self.binaries.server_main;
        if files
            .get(server_main)
            .is_none_or(|it| it.executed.is_empty())
        {
            bail!(
                "no server left a coverage profile ({} never ran): did the harness start the instrumented keel-standalone with LLVM_PROFILE_FILE?",
                server_main.display()
            );
        }
        Ok(files)
    }
}

/// Whether `path` (relative to the workspace root) is a source file, not code generated under
/// `target/` by a build script.
fn is_source(path: &Path) -> bool {
    !path.starts_with("target")
}

/// Runs `cmd` in its own process group, returns its stdout, and appends its stderr to `log`;
/// fails unless it succeeds.
pub(crate) fn read_logging_stderr(cmd: Cmd<'_>, log: &Path) -> anyhow::Result<String> {
    let description = cmd.to_string();
    let stderr = fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(log)
        .with_context(|| format!("open {}", log.display()))?;
    let mut command = process::sanitized_command(cmd);
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(stderr);
    let mut child = GroupChild::spawn(command, &format!("`{description}`"))?;
    let mut output = Vec::new();
    child
        .take_stdout()
        .expect("stdout is piped")
        .read_to_end(&mut output)
        .with_context(|| format!("read the output of `{description}`"))?;
    let status = child.wait()?;
    process::check_interrupted()?;
    if !status.success() {
        bail!(
            "`{description}` failed ({status}); its messages are in {}",
            log.display()
        );
    }
    String::from_utf8(output).with_context(|| format!("`{description}` printed invalid UTF-8"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_code_under_target_is_no_source() {
        assert!(is_source(Path::new("crates/keel-host/src/guard.rs")));
        assert!(!is_source(Path::new(
            "target/coverage/x86_64-unknown-linux-gnu/release/build/wasmi_ir-1/out/op.rs"
        )));
        assert!(is_source(Path::new("targets/a.rs")));
    }

    #[test]
    fn stderr_goes_to_the_log_and_stdout_is_returned() {
        let dir = tempfile::tempdir().unwrap();
        let log = dir.path().join("test.log");
        fs::write(&log, "earlier\n").unwrap();
        let sh = Shell::new().unwrap();
        let output = read_logging_stderr(cmd!(sh, "ls {log}"), &log).unwrap();
        assert_eq!(output, format!("{}\n", log.display()));
        assert_eq!(fs::read_to_string(&log).unwrap(), "earlier\n");
        let missing = dir.path().join("missing");
        let error = read_logging_stderr(cmd!(sh, "ls {missing}"), &log).unwrap_err();
        assert!(
            error.to_string().contains("failed (exit status: 2)"),
            "{error}"
        );
        let logged = fs::read_to_string(&log).unwrap();
        assert!(
            logged.starts_with("earlier\n") && logged.contains("missing"),
            "{logged}"
        );
    }
}
