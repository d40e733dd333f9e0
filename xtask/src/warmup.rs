//! `cargo xtask warmup`: build everything the smoketests use and record it in the artifact manifest.
//!
//! Steps: make sure the wasm32 target is installed, release-build `keel` and `keel-standalone`, build the
//! `modules/` workspace to wasm, build the smoketests binary without running it, then write
//! `target/smoketest/manifest.json` and `target/smoketest/build-timings.json`.
//! The smoketests binary is built with exactly the cargo arguments `cargo nextest run --release -p
//! smoketests` and `cargo test --release -p smoketests` use, so the later run finds it fresh.
//! Each artifact's inputs (what its freshness hash covers) come from `cargo metadata`
//! ([`WorkspaceGraph`]): its package's path-dependency closure plus the workspace files.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use keel_artifacts::{Artifact, BuildTiming, Manifest, module_wasm_path};
use xshell::{Shell, cmd};

use crate::{
    cargo, dep_info, flags, process, progress::Progress, project_root,
    workspace_graph::WorkspaceGraph,
};

/// The wasm target modules are built for.
pub(crate) const WASM_TARGET: &str = "wasm32-unknown-unknown";

/// What to build.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WarmupPlan {
    /// Build `keel-standalone` too (not needed against a remote server).
    pub(crate) server: bool,
}

/// What warmup produced.
#[derive(Debug)]
pub(crate) struct WarmupOutput {
    /// The smoketests test binary (absolute).
    pub(crate) test_binary: PathBuf,
    /// Per-step timings, as written to build-timings.json.
    pub(crate) timings: Vec<BuildTiming>,
}

impl flags::Warmup {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let output = warmup(sh, WarmupPlan { server: true })?;
        print_timings(&output.timings);
        Ok(())
    }
}

/// Runs every warmup step and writes the manifest and the timings.
pub(crate) fn warmup(sh: &Shell, plan: WarmupPlan) -> anyhow::Result<WarmupOutput> {
    let root = project_root();
    let mut timings = Vec::new();

    let progress = Progress::start("wasm target");
    let started = Instant::now();
    ensure_wasm_target(sh)?;
    timings.push(timing("wasm target", started.elapsed(), 0));
    progress.finish(&format!("{WASM_TARGET} installed"));

    let graph = WorkspaceGraph::load(sh, &root)?;
    timings.push(build_binaries(sh, plan).context("build the keel binaries")?);
    let (modules_timing, module_dirs) =
        build_modules(sh, &graph).context("build the modules workspace")?;
    timings.push(modules_timing);
    let (tests_timing, test_binary, test_artifacts) =
        build_test_binary(sh).context("build the smoketests binary")?;
    timings.push(tests_timing);

    let progress = Progress::start("manifest");
    let started = Instant::now();
    let test_sources = dep_info::sources(&root, &test_artifacts);
    let manifest = record_manifest(
        &root,
        &graph,
        plan,
        &module_dirs,
        &test_binary,
        test_sources,
    )?;
    manifest
        .save(&root)
        .context("write the artifact manifest")?;
    timings.push(timing("manifest", started.elapsed(), 0));
    BuildTiming::save_all(&root, &timings).context("write target/smoketest/build-timings.json")?;
    progress.finish(&format!(
        "{} binaries, {} modules recorded in {}",
        manifest.binaries.len(),
        manifest.modules.len(),
        relative(&root, &Manifest::path(&root)).display()
    ));
    Ok(WarmupOutput {
        test_binary,
        timings,
    })
}

/// Installs `wasm32-unknown-unknown` with rustup unless it is already there.
pub(crate) fn ensure_wasm_target(sh: &Shell) -> anyhow::Result<()> {
    if which::which("rustup").is_err() {
        let sysroot =
            process::read(cmd!(sh, "rustc --print sysroot")).context("find the rust sysroot")?;
        if Path::new(sysroot.trim())
            .join("lib/rustlib")
            .join(WASM_TARGET)
            .is_dir()
        {
            return Ok(());
        }
        bail!(
            "the {WASM_TARGET} target is missing and rustup is not installed; install rustup (https://rustup.rs) or the target for your toolchain"
        );
    }
    let installed = process::read(cmd!(sh, "rustup target list --installed"))
        .context("list installed targets with `rustup target list --installed`")?;
    if installed.lines().any(|line| line.trim() == WASM_TARGET) {
        return Ok(());
    }
    process::run(cmd!(sh, "rustup target add {WASM_TARGET}"))
        .with_context(|| format!("install the {WASM_TARGET} target; run `rustup target add {WASM_TARGET}` by hand to see why it fails"))
}

/// Release-builds `keel` (and `keel-standalone` when the plan needs a server).
fn build_binaries(sh: &Shell, plan: WarmupPlan) -> anyhow::Result<BuildTiming> {
    let cargo = cargo();
    let profile = crate::builds::PROFILE_FLAG;
    let progress = Progress::start("binaries");
    let packages: &[&str] = if plan.server {
        &["-p", "keel-cli", "-p", "keel-standalone"]
    } else {
        &["-p", "keel-cli"]
    };
    let color = color_arg(&progress);
    let build = process::run_cargo_json(
        cmd!(
            sh,
            "{cargo} build {profile} {packages...} --message-format=json-render-diagnostics {color...}"
        ),
        &progress,
    )?;
    progress.finish(&crates_outcome(build.crates_compiled));
    Ok(timing("binaries", build.wall, build.crates_compiled))
}

/// Builds the `modules/` workspace to wasm and returns the module directory names.
pub(crate) fn build_modules(
    sh: &Shell,
    graph: &WorkspaceGraph,
) -> anyhow::Result<(BuildTiming, Vec<String>)> {
    let cargo = cargo();
    let root = project_root();
    if !root.join("modules/Cargo.toml").is_file() {
        bail!(
            "modules/Cargo.toml is missing; the precompiled modules workspace must exist (DESIGN §4)"
        );
    }
    ensure_wasm_target(sh)?;
    let _dir = sh.push_dir(root.join("modules"));
    let progress = Progress::start("modules");
    let module_dirs = graph.module_dirs();
    let color = color_arg(&progress);
    let mut build = cmd!(
        sh,
        "{cargo} build --release --target {WASM_TARGET} --workspace --message-format=json-render-diagnostics {color...}"
    );
    // The modules' profile is theirs (modules/.cargo/config.toml), whatever overrides the
    // workspace's builds get.
    for key in keel_process::profile_override_variables() {
        build = build.env_remove(key);
    }
    let build = process::run_cargo_json(build, &progress)?;
    for dir in &module_dirs {
        let wasm = root.join(module_wasm_path(dir));
        if !wasm.is_file() {
            bail!(
                "module {dir} built but {} is missing; is its crate a `cdylib` named smoketest-module-{dir}?",
                wasm.display()
            );
        }
    }
    progress.finish(&format!(
        "{} modules, {}",
        module_dirs.len(),
        crates_outcome(build.crates_compiled)
    ));
    Ok((
        timing("modules", build.wall, build.crates_compiled),
        module_dirs,
    ))
}

/// Builds the smoketests binary the way the test runners will, without running it.
/// Also returns the files of every workspace artifact the build made: the smoketests binary's graph.
fn build_test_binary(sh: &Shell) -> anyhow::Result<(BuildTiming, PathBuf, Vec<PathBuf>)> {
    let cargo = cargo();
    let profile = crate::builds::PROFILE_FLAG;
    let progress = Progress::start("smoketests binary");
    let color = color_arg(&progress);
    let build = process::run_cargo_json(
        cmd!(
            sh,
            "{cargo} test {profile} -p smoketests --no-run --message-format=json-render-diagnostics {color...}"
        ),
        &progress,
    )?;
    let Some((_, binary)) = build
        .test_executables
        .iter()
        .find(|(name, _)| name == "smoketests")
    else {
        bail!("cargo built no test executable named `smoketests`");
    };
    progress.finish(&crates_outcome(build.crates_compiled));
    Ok((
        timing("smoketests binary", build.wall, build.crates_compiled),
        binary.clone(),
        build.local_artifacts,
    ))
}

fn record_manifest(
    root: &Path,
    graph: &WorkspaceGraph,
    plan: WarmupPlan,
    module_dirs: &[String],
    test_binary: &Path,
    test_sources: BTreeSet<PathBuf>,
) -> anyhow::Result<Manifest> {
    // Keep entries a partial warmup (remote mode) did not rebuild; they stay subject to freshness checks.
    let mut manifest = Manifest::load(root).unwrap_or_default();
    let binaries: Vec<(&str, PathBuf)> = [
        Some(("keel", PathBuf::from("target/release/keel"))),
        plan.server.then(|| {
            (
                "keel-standalone",
                PathBuf::from("target/release/keel-standalone"),
            )
        }),
        Some(("smoketests", relative(root, test_binary))),
    ]
    .into_iter()
    .flatten()
    .collect();
    for (name, path) in binaries {
        // The uplifted binaries' dep-info lists every workspace file they were built from; the
        // smoketests binary is not uplifted, so its build's artifacts say it.
        let sources = if name == "smoketests" {
            test_sources.clone()
        } else {
            dep_info::sources(root, &[root.join(&path)])
        };
        let mut artifact = Artifact::record(root, path, graph.binary_inputs(name)?)
            .with_context(|| format!("hash binary {name}"))?;
        artifact.sources = sources.into_iter().collect();
        manifest.binaries.insert(name.to_owned(), artifact);
    }
    manifest.modules.clear();
    for dir in module_dirs {
        let inputs = graph.module_inputs(dir);
        let artifact = Artifact::record(root, module_wasm_path(dir), inputs)
            .with_context(|| format!("hash module {dir}"))?;
        manifest.modules.insert(dir.clone(), artifact);
    }
    Ok(manifest)
}

/// Prints the build timing table.
pub(crate) fn print_timings(timings: &[BuildTiming]) {
    eprintln!();
    eprintln!("{:<20} {:>9} {:>8}", "warmup step", "wall", "compiled");
    let mut total = 0.0;
    for timing in timings {
        total += timing.wall_ms;
        eprintln!(
            "{:<20} {:>8.2}s {:>8}",
            timing.step,
            timing.wall_ms / 1000.0,
            timing.crates_compiled
        );
    }
    let compiled: u32 = timings.iter().map(|it| it.crates_compiled).sum();
    eprintln!("{:<20} {:>8.2}s {:>8}", "total", total / 1000.0, compiled);
}

fn timing(step: &str, wall: Duration, crates_compiled: u32) -> BuildTiming {
    BuildTiming {
        step: step.to_owned(),
        wall_ms: wall.as_secs_f64() * 1000.0,
        crates_compiled,
        fresh: crates_compiled == 0,
    }
}

fn crates_outcome(crates_compiled: u32) -> String {
    match crates_compiled {
        0 => "fresh".to_owned(),
        1 => "1 crate compiled".to_owned(),
        n => format!("{n} crates compiled"),
    }
}

fn color_arg(progress: &Progress) -> Vec<&'static str> {
    if progress.is_fancy() {
        vec!["--color=always"]
    } else {
        Vec::new()
    }
}

/// `path` relative to `root` when it lies below it.
pub(crate) fn relative(root: &Path, path: &Path) -> PathBuf {
    path.strip_prefix(root)
        .map_or_else(|_| path.to_path_buf(), Path::to_path_buf)
}
