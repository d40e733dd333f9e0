//! The LLVM tools that read coverage profiles, `llvm-profdata` and `llvm-cov`, from the
//! toolchain's `llvm-tools` component (installed with rustup when missing), so they match the
//! LLVM that rustc instruments with.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use xshell::{Shell, cmd};

use crate::process;

/// The rustup component that ships the tools.
const COMPONENT: &str = "llvm-tools";

/// Where the toolchain's `llvm-profdata` and `llvm-cov` are.
#[derive(Debug, Clone)]
pub(crate) struct LlvmTools {
    /// Merges raw profiles (`.profraw`) into an indexed one (`.profdata`).
    pub(crate) profdata: PathBuf,
    /// Exports an indexed profile, read against the instrumented binaries, as lcov.
    pub(crate) cov: PathBuf,
}

/// The host triple rustc compiles for by default (`host:` of `rustc -vV`).
pub(crate) fn host_triple(sh: &Shell) -> anyhow::Result<String> {
    let version = process::read(cmd!(sh, "rustc -vV").quiet()).context("run `rustc -vV`")?;
    parse_host(&version)
}

/// Finds the tools of the toolchain for `host`, installing the `llvm-tools` component with
/// rustup when they are missing.
pub(crate) fn ensure(sh: &Shell, host: &str) -> anyhow::Result<LlvmTools> {
    let sysroot = process::read(cmd!(sh, "rustc --print sysroot").quiet())
        .context("find the rust sysroot with `rustc --print sysroot`")?;
    let bin_dir = Path::new(sysroot.trim())
        .join("lib/rustlib")
        .join(host)
        .join("bin");
    if let Some(tools) = found(&bin_dir) {
        return Ok(tools);
    }
    if which::which("rustup").is_err() {
        bail!(
            "llvm-profdata and llvm-cov are missing from {} and rustup is not installed; install your toolchain's {COMPONENT} (with rustup: `rustup component add {COMPONENT}`)",
            bin_dir.display()
        );
    }
    eprintln!("==> installing the {COMPONENT} component (llvm-profdata, llvm-cov)");
    process::run(cmd!(sh, "rustup component add {COMPONENT}")).with_context(|| {
        format!("install the {COMPONENT} component; run `rustup component add {COMPONENT}` by hand to see why it fails")
    })?;
    found(&bin_dir).with_context(|| {
        format!(
            "`rustup component add {COMPONENT}` succeeded but llvm-profdata and llvm-cov are still not in {}; is rustc another toolchain than rustup's?",
            bin_dir.display()
        )
    })
}

/// The tools in `bin_dir`, when both are there.
fn found(bin_dir: &Path) -> Option<LlvmTools> {
    let tools = LlvmTools {
        profdata: bin_dir.join("llvm-profdata"),
        cov: bin_dir.join("llvm-cov"),
    };
    (tools.profdata.is_file() && tools.cov.is_file()).then_some(tools)
}

/// The `host:` line of `rustc -vV` output.
fn parse_host(version: &str) -> anyhow::Result<String> {
    version
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(|host| host.trim().to_owned())
        .with_context(|| format!("`rustc -vV` printed no `host:` line:\n{version}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_host_triple_comes_from_rustc_verbose_version() {
        let version = "rustc 1.95.0 (59807616e 2026-04-14)\nbinary: rustc\nhost: x86_64-unknown-linux-gnu\nrelease: 1.95.0\nLLVM version: 22.1.2\n";
        assert_eq!(parse_host(version).unwrap(), "x86_64-unknown-linux-gnu");
        assert!(parse_host("rustc 1.95.0\n").is_err());
    }

    #[test]
    fn tools_are_found_only_when_both_exist() {
        let dir = tempfile::tempdir().unwrap();
        assert!(found(dir.path()).is_none());
        std::fs::write(dir.path().join("llvm-profdata"), "").unwrap();
        assert!(found(dir.path()).is_none());
        std::fs::write(dir.path().join("llvm-cov"), "").unwrap();
        let tools = found(dir.path()).unwrap();
        assert_eq!(tools.cov, dir.path().join("llvm-cov"));
    }
}
