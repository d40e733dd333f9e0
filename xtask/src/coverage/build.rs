//! The coverage-instrumented `keel-standalone` and `keel`: a release build into
//! `target/coverage`, so the normal builds stay untouched and a second map build recompiles only
//! what changed. The workspace's crates get `-C instrument-coverage` from the xtask acting as
//! cargo's `RUSTC_WORKSPACE_WRAPPER` (see `rustc_wrapper` for why not RUSTFLAGS); the user's own
//! RUSTFLAGS apply to every crate as in any build, with a `--cfg` that names what the wrapper adds.
//!
//! The build names the host triple with `--target`, which is how the wrapper tells the binaries'
//! code from build scripts and proc macros (built without one, never instrumented).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use cargo_metadata::{Metadata, TargetKind};
use xshell::{Shell, cmd};

use crate::{cargo, coverage::rustc_wrapper, process, progress::Progress, project_root};

/// The target dir of the instrumented build, relative to the workspace root.
pub(crate) const TARGET_DIR: &str = "target/coverage";

/// The server: package and binary.
const SERVER: (&str, &str) = ("keel-standalone", "keel-standalone");
/// The CLI: package and binary.
const CLI: (&str, &str) = ("keel-cli", "keel");

/// What the instrumented build produced.
#[derive(Debug, Clone)]
pub(crate) struct InstrumentedBinaries {
    /// `keel-standalone`, absolute.
    pub(crate) server: PathBuf,
    /// `keel`, absolute.
    pub(crate) cli: PathBuf,
    /// The server's `main.rs`, relative to the workspace root: every server executes some of
    /// it, so a test whose profiles miss it did not profile its server.
    pub(crate) server_main: PathBuf,
}

/// Builds both binaries for `host` with coverage instrumentation.
pub(crate) fn build(sh: &Shell, host: &str) -> anyhow::Result<InstrumentedBinaries> {
    let root = project_root();
    let cargo = cargo();
    let metadata = crate::workspace_graph::read_metadata(sh, &root.join("Cargo.toml"))?;
    let server_main = binary_source(&metadata, SERVER)?;
    binary_source(&metadata, CLI)?;
    let server_main = server_main
        .strip_prefix(&root)
        .map(Path::to_path_buf)
        .unwrap_or(server_main);

    let progress = Progress::start("instrumented binaries");
    let wrapper_env = rustc_wrapper::cargo_env()?;
    let target_dir = root.join(TARGET_DIR);
    let color: &[&str] = if progress.is_fancy() {
        &["--color=always"]
    } else {
        &[]
    };
    let (server_package, server_bin) = SERVER;
    let (cli_package, cli_bin) = CLI;
    let build = process::run_cargo_json(
        cmd!(
            sh,
            "{cargo} build --release -p {server_package} -p {cli_package} --target {host} --target-dir {target_dir} --message-format=json-render-diagnostics {color...}"
        )
        .envs(wrapper_env),
        &progress,
    )
    .context("build keel-standalone and keel with coverage instrumentation")?;
    let out_dir = target_dir.join(host).join("release");
    let binaries = InstrumentedBinaries {
        server: out_dir.join(server_bin),
        cli: out_dir.join(cli_bin),
        server_main,
    };
    for binary in [&binaries.server, &binaries.cli] {
        if !binary.is_file() {
            bail!("cargo succeeded but built no {}", binary.display());
        }
    }
    progress.finish(&match build.crates_compiled {
        0 => "fresh".to_owned(),
        n => format!("{n} crate(s) compiled"),
    });
    Ok(binaries)
}

/// The source file of binary `bin` of package `package`.
fn binary_source(metadata: &Metadata, (package, bin): (&str, &str)) -> anyhow::Result<PathBuf> {
    metadata
        .workspace_packages()
        .into_iter()
        .filter(|it| it.name.as_str() == package)
        .flat_map(|it| &it.targets)
        .find(|target| target.name == bin && target.kind.contains(&TargetKind::Bin))
        .map(|target| target.src_path.clone().into_std_path_buf())
        .with_context(|| format!("the workspace has no binary `{bin}` in package `{package}`"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binaries_are_found_in_the_workspace_metadata() {
        let sh = Shell::new().unwrap();
        sh.change_dir(project_root());
        let metadata =
            crate::workspace_graph::read_metadata(&sh, &project_root().join("Cargo.toml")).unwrap();
        let server = binary_source(&metadata, SERVER).unwrap();
        assert!(
            server.ends_with("crates/keel-standalone/src/main.rs"),
            "{}",
            server.display()
        );
        assert!(
            binary_source(&metadata, CLI)
                .unwrap()
                .ends_with("crates/keel-cli/src/main.rs")
        );
        let error = binary_source(&metadata, ("keel-cli", "nope")).unwrap_err();
        assert_eq!(
            error.to_string(),
            "the workspace has no binary `nope` in package `keel-cli`"
        );
    }
}
