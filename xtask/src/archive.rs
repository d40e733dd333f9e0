//! `cargo xtask archive` and `xtask extract`: build once, run anywhere.
//!
//! An archive is one `.tar.zst` whose paths are relative to the workspace root (`target/...`, as
//! nextest's are), so `tar --zstd -xf F -C CHECKOUT` unpacks it in place. It holds the smoketests
//! binary, the release `keel` and `keel-standalone`, every module wasm, the artifact manifest,
//! the recorded durations and build timings, the test metadata, a copy of the nextest config, the
//! runner itself (this xtask, at [`RUNNER_PATH`]) and [`ArchiveInfo`] at [`INFO_PATH`]: the format
//! version, the source revision, and the hash of every archived file and of every source file the
//! artifacts were built from.
//!
//! Where nextest is installed, `cargo nextest archive` writes the archive, with our files added
//! through `archive.include` in `.config/nextest.toml`, so plain
//! `cargo-nextest nextest run --archive-file F --workspace-remap DIR` works too. Without nextest the
//! xtask writes the same layout itself (the `tar` and `zstd` crates), minus nextest's metadata.
//!
//! Before a run from an archive, [`verify_checkout`] compares the checkout's sources with the
//! archive's and every archived artifact with its hash; [`extract`] unpacks into a staging
//! directory, verifies, and only then moves the files into place, so a truncated or corrupt archive
//! leaves nothing behind.
//!
//! `e2e` holds the end-to-end proof `cargo xtask qa` runs: an archive in a second clone without cargo.

pub(crate) mod e2e;

use std::{
    collections::BTreeMap,
    fs,
    io::{self, BufReader, BufWriter},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use keel_artifacts::{Manifest, hash_file, hash_input_files, smoketest_dir};
use serde::{Deserialize, Serialize};
use xshell::{Shell, cmd};

use crate::{
    cargo, flags, process, project_root,
    smoketest::{self, RunLock},
    warmup::{self, WarmupPlan},
};

/// The archive format this xtask writes and reads.
pub(crate) const FORMAT_VERSION: u32 = 1;
/// Where [`ArchiveInfo`] lives, relative to the workspace root.
pub(crate) const INFO_PATH: &str = "target/smoketest/archive.json";
/// Where the runner (the xtask binary) lives in an archive, relative to the workspace root.
pub(crate) const RUNNER_PATH: &str = "target/smoketest/bin/xtask";
/// The default archive file, relative to the workspace root.
pub(crate) const DEFAULT_ARCHIVE: &str = "target/smoketest/smoketests.tar.zst";
/// The test metadata (`smoketests --keel-metadata`), relative to the workspace root.
const METADATA_PATH: &str = "target/smoketest/test-metadata.json";
/// The copy of `.config/nextest.toml`, relative to the workspace root.
const NEXTEST_CONFIG_COPY: &str = "target/smoketest/nextest.toml";
/// The nextest tool config that lists our files under `archive.include`, relative to the root.
const INCLUDE_CONFIG: &str = "target/smoketest/archive-include.toml";
/// Records a run rewrites: checked when an archive is extracted, not before every run.
const RECORDS: &[&str] = &[
    "target/smoketest/test-durations.json",
    "target/smoketest/build-timings.json",
];
/// Source trees the runner is built from, beside the inputs the manifest names.
const RUNNER_SOURCES: &[&str] = &[
    "xtask",
    "crates/keel-artifacts",
    "crates/keel-process",
    "crates/keel-client",
    "crates/keel-api",
    ".config/nextest.toml",
];

/// What an archive says about itself (`target/smoketest/archive.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ArchiveInfo {
    /// [`FORMAT_VERSION`] of the xtask that wrote it.
    pub(crate) format_version: u32,
    /// The source revision the archive was built from.
    pub(crate) revision: Revision,
    /// Whether nextest wrote the archive (plain `cargo-nextest nextest run --archive-file` works).
    pub(crate) nextest: bool,
    /// Artifacts (binaries, modules, manifest, metadata, runner, nextest config) by relative path,
    /// with their blake3 hash; checked before every run.
    pub(crate) artifacts: BTreeMap<String, String>,
    /// Records (durations, build timings) by relative path with their hash; checked at extraction.
    pub(crate) records: BTreeMap<String, String>,
    /// The inputs (files and directories) the artifacts were built from, relative to the root.
    pub(crate) source_inputs: Vec<PathBuf>,
    /// Every source file under [`ArchiveInfo::source_inputs`], by relative path, with its hash.
    pub(crate) sources: BTreeMap<String, String>,
}

/// The git revision of a build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Revision {
    /// `git rev-parse HEAD`, when git could tell.
    pub(crate) commit: Option<String>,
    /// Whether the tree had uncommitted changes (`git status --porcelain` printed something).
    pub(crate) dirty: bool,
}

impl std::fmt::Display for Revision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let commit = self
            .commit
            .as_deref()
            .map_or("unknown", |it| &it[..it.len().min(12)]);
        let dirty = if self.dirty { ", dirty" } else { "" };
        write!(f, "{commit}{dirty}")
    }
}

/// What [`create`] made.
#[derive(Debug)]
pub(crate) struct Created {
    /// The archive file (absolute).
    pub(crate) path: PathBuf,
    /// Its size in bytes.
    pub(crate) bytes: u64,
    /// Wall time from the end of warmup to the written archive.
    pub(crate) wall: Duration,
    /// What it says about itself.
    pub(crate) info: ArchiveInfo,
}

impl flags::Archive {
    pub(crate) fn run(self, sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let _lock = RunLock::acquire(&smoketest_dir(&root))?;
        let path = match &self.archive_file {
            Some(path) => std::env::current_dir()
                .context("find the current directory")?
                .join(path),
            None => root.join(DEFAULT_ARCHIVE),
        };
        warmup::warmup(sh, WarmupPlan { server: true })?;
        if self.prove {
            e2e::prove(sh)?;
            return Ok(());
        }
        let created = create(sh, &root, &path)?;
        print_created(&root, &created);
        Ok(())
    }
}

impl flags::Extract {
    pub(crate) fn run(self, _sh: &Shell) -> anyhow::Result<()> {
        let root = project_root();
        let _lock = RunLock::acquire(&smoketest_dir(&root))?;
        let started = Instant::now();
        let info = extract(&self.archive_file, &root)?;
        eprintln!(
            "==> extracted {} ({} artifacts, revision {}) into {} and verified in {:.2}s",
            self.archive_file.display(),
            info.artifacts.len(),
            info.revision,
            root.display(),
            started.elapsed().as_secs_f64()
        );
        Ok(())
    }
}

/// Writes the archive of the last warmup's artifacts to `path` (warmup must have run).
pub(crate) fn create(sh: &Shell, root: &Path, path: &Path) -> anyhow::Result<Created> {
    let started = Instant::now();
    let manifest = Manifest::load(root)?;
    let test_binary = smoketest::fresh_binary(root, &manifest, "smoketests")?;
    for name in ["keel", "keel-standalone"] {
        smoketest::fresh_binary(root, &manifest, name)?;
    }
    for (name, module) in &manifest.modules {
        module
            .check_fresh(root)
            .with_context(|| format!("module {name}"))?;
    }

    // The files beside the artifacts: metadata, the runner, the nextest config.
    let metadata = smoketest::read_metadata(sh, &test_binary, None)?;
    write_file(
        &root.join(METADATA_PATH),
        &serde_json::to_vec_pretty(&metadata)?,
    )?;
    copy_runner(root)?;
    fs::copy(
        root.join(".config/nextest.toml"),
        root.join(NEXTEST_CONFIG_COPY),
    )
    .context("copy .config/nextest.toml")?;

    let mut artifact_paths: Vec<PathBuf> = manifest
        .binaries
        .values()
        .chain(manifest.modules.values())
        .map(|it| it.path.clone())
        .collect();
    artifact_paths.extend(
        [
            "target/smoketest/manifest.json",
            METADATA_PATH,
            NEXTEST_CONFIG_COPY,
            RUNNER_PATH,
        ]
        .map(PathBuf::from),
    );
    let record_paths: Vec<PathBuf> = RECORDS
        .iter()
        .map(PathBuf::from)
        .filter(|it| root.join(it).is_file())
        .collect();
    let mut inputs: Vec<PathBuf> = manifest
        .binaries
        .values()
        .chain(manifest.modules.values())
        .flat_map(|it| it.inputs.iter().cloned())
        .collect();
    inputs.extend(RUNNER_SOURCES.iter().map(PathBuf::from));
    inputs.sort();
    inputs.dedup();

    let nextest = smoketest::nextest_available(sh);
    let info = ArchiveInfo {
        format_version: FORMAT_VERSION,
        revision: revision(sh),
        nextest,
        artifacts: hash_all(root, &artifact_paths)?,
        records: hash_all(root, &record_paths)?,
        sources: hash_input_files(root, &inputs).context("hash the sources")?,
        source_inputs: inputs,
    };
    write_file(&root.join(INFO_PATH), &serde_json::to_vec_pretty(&info)?)?;

    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let mut files: Vec<PathBuf> = artifact_paths;
    files.extend(record_paths);
    files.push(PathBuf::from(INFO_PATH));
    if nextest {
        // Our files go in through nextest's `archive.include`, listed one by one in a tool config
        // (the module list changes with `modules/`, so it is written here, not kept by hand).
        let include = root.join(INCLUDE_CONFIG);
        write_file(&include, archive_include(&files)?.as_bytes())?;
        let tool_config = format!("keel:{}", include.display());
        let cargo = cargo();
        let profile = crate::builds::PROFILE_FLAG;
        process::run(cmd!(
            sh,
            "{cargo} nextest archive {profile} -p smoketests --archive-file {path} --tool-config-file {tool_config}"
        ))
        .context("write the archive with `cargo nextest archive`")?;
    } else {
        write_tar_zst(root, &files, path)?;
    }
    let bytes = fs::metadata(path)
        .with_context(|| format!("read the size of {}", path.display()))?
        .len();
    Ok(Created {
        path: path.to_path_buf(),
        bytes,
        wall: started.elapsed(),
        info,
    })
}

/// Prints what went into the archive and its size.
pub(crate) fn print_created(root: &Path, created: &Created) {
    let info = &created.info;
    eprintln!("\n==> archive {}", created.path.display());
    let mut total_bytes = 0;
    for path in info.artifacts.keys().chain(info.records.keys()) {
        let bytes = fs::metadata(root.join(path)).map_or(0, |it| it.len());
        total_bytes += bytes;
        eprintln!("    {:>10}  {path}", human_bytes(bytes));
    }
    if info.nextest {
        eprintln!("    {:>10}  target/nextest/ (nextest's metadata)", "");
    }
    eprintln!(
        "    format version {}, revision {}, {} source files recorded, made by {}",
        info.format_version,
        info.revision,
        info.sources.len(),
        if info.nextest {
            "cargo nextest archive (plain `cargo-nextest nextest run --archive-file` works)"
        } else {
            "the xtask (nextest is not installed: only the orchestrated flow can run it)"
        }
    );
    eprintln!(
        "    {} in, {} compressed, in {:.1}s",
        human_bytes(total_bytes),
        human_bytes(created.bytes),
        created.wall.as_secs_f64()
    );
}

/// Unpacks `archive` into the checkout at `root`: into a staging directory under `target/`
/// first, then verifies format, hashes and sources, then moves the files into place.
/// On any error nothing of the archive is left in the checkout.
pub(crate) fn extract(archive: &Path, root: &Path) -> anyhow::Result<ArchiveInfo> {
    let target = root.join("target");
    fs::create_dir_all(&target).with_context(|| format!("create {}", target.display()))?;
    let staging = tempfile::Builder::new()
        .prefix(".archive-extract-")
        .tempdir_in(&target)
        .context("create a staging directory")?;
    unpack(archive, staging.path())
        .with_context(|| format!("{} is truncated or corrupt", archive.display()))?;
    let info = read_info(staging.path())?;
    check_hashes(staging.path(), info.artifacts.iter().chain(&info.records))?;
    check_sources(root, &info)?;
    let mut files = Vec::new();
    list_files(staging.path(), staging.path(), &mut files)?;
    for relative in files {
        let destination = root.join(&relative);
        if let Some(parent) = destination.parent() {
            fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
        }
        fs::rename(staging.path().join(&relative), &destination)
            .with_context(|| format!("move {} into place", relative.display()))?;
    }
    Ok(info)
}

/// Before a `--no-build` run: when the checkout holds an extracted archive (its info and the
/// manifest it recorded), refuses an unknown format, sources that differ from the archive's
/// (naming the files) and artifacts that do not match their hashes. Returns the info, or `None`
/// when the artifacts are a local warmup's.
pub(crate) fn verify_checkout(root: &Path) -> anyhow::Result<Option<ArchiveInfo>> {
    if !root.join(INFO_PATH).is_file() {
        return Ok(None);
    }
    let info = read_info(root)?;
    let manifest = "target/smoketest/manifest.json";
    let recorded = info.artifacts.get(manifest);
    if recorded.is_none() || hash_file(&root.join(manifest)).ok().as_ref() != recorded {
        // A warmup ran since: the artifacts are this checkout's own.
        return Ok(None);
    }
    check_sources(root, &info)?;
    check_hashes(root, info.artifacts.iter())?;
    Ok(Some(info))
}

fn read_info(root: &Path) -> anyhow::Result<ArchiveInfo> {
    let path = root.join(INFO_PATH);
    let text = fs::read_to_string(&path).with_context(|| {
        format!("read {INFO_PATH}: not an archive made by `cargo xtask archive`")
    })?;
    #[derive(Deserialize)]
    struct Version {
        format_version: u32,
    }
    let version: Version =
        serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))?;
    if version.format_version != FORMAT_VERSION {
        bail!(
            "the archive's format version is {}, this runner reads version {FORMAT_VERSION}; make the archive with the same revision's `cargo xtask archive`",
            version.format_version
        );
    }
    serde_json::from_str(&text).with_context(|| format!("parse {}", path.display()))
}

fn check_hashes<'a>(
    root: &Path,
    files: impl Iterator<Item = (&'a String, &'a String)>,
) -> anyhow::Result<()> {
    let mut bad = Vec::new();
    for (path, expected) in files {
        match hash_file(&root.join(path)) {
            Ok(hash) if &hash == expected => {}
            Ok(_) => bad.push(format!("{path} (changed)")),
            Err(_) => bad.push(format!("{path} (missing)")),
        }
    }
    if !bad.is_empty() {
        bail!(
            "archived files do not match their hashes: {}; extract the archive again",
            bad.join(", ")
        );
    }
    Ok(())
}

/// Refuses a checkout whose sources differ from the archive's, naming the files.
fn check_sources(root: &Path, info: &ArchiveInfo) -> anyhow::Result<()> {
    let here =
        hash_input_files(root, &info.source_inputs).context("hash the checkout's sources")?;
    let differing = diff_sources(&info.sources, &here);
    if !differing.is_empty() {
        bail!(
            "the checkout's sources differ from the archive's revision {}: {}; check out that revision (or make a new archive with `cargo xtask archive`)",
            info.revision,
            differing.join(", ")
        );
    }
    Ok(())
}

/// The differences between the archive's sources and the checkout's, one phrase per file.
pub(crate) fn diff_sources(
    archived: &BTreeMap<String, String>,
    here: &BTreeMap<String, String>,
) -> Vec<String> {
    let mut differing = Vec::new();
    for (path, hash) in archived {
        match here.get(path) {
            Some(it) if it == hash => {}
            Some(_) => differing.push(format!("{path} (changed)")),
            None => differing.push(format!("{path} (missing here)")),
        }
    }
    for path in here.keys().filter(|it| !archived.contains_key(*it)) {
        differing.push(format!("{path} (not in the archive's revision)"));
    }
    differing
}

/// nextest's `archive.include` for `files` (relative to the workspace root, all under `target/`).
fn archive_include(files: &[PathBuf]) -> anyhow::Result<String> {
    let mut text = String::from(
        "# Written by `cargo xtask archive`: the files nextest's archive carries beside the test binary.\n[profile.default]\narchive.include = [\n",
    );
    for file in files {
        let Ok(relative) = file.strip_prefix("target") else {
            bail!("{} is not under target/", file.display());
        };
        text.push_str(&format!(
            "    {{ path = {}, relative-to = \"target\", on-missing = \"error\" }},\n",
            serde_json::to_string(&slashes(relative))?
        ));
    }
    text.push_str("]\n");
    Ok(text)
}

fn hash_all(root: &Path, paths: &[PathBuf]) -> anyhow::Result<BTreeMap<String, String>> {
    paths
        .iter()
        .map(|path| {
            let hash =
                hash_file(&root.join(path)).with_context(|| format!("hash {}", path.display()))?;
            Ok((slashes(path), hash))
        })
        .collect()
}

fn slashes(path: &Path) -> String {
    path.components()
        .map(|it| it.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Copies the running xtask to [`RUNNER_PATH`]; `cargo xtask` rebuilt it from these sources just
/// before it started, so it is the runner of this revision.
///
/// The bytes come from `/proc/self/exe`, which stays readable when a build replaces the binary
/// file while it runs (qa's build rebuilds `target/release/xtask`): its path then names a deleted
/// file.
fn copy_runner(root: &Path) -> anyhow::Result<()> {
    let exe = std::env::current_exe().context("find the running xtask")?;
    let destination = root.join(RUNNER_PATH);
    if same_file(&exe, &destination) {
        // The archived runner itself, making an archive again.
        return Ok(());
    }
    let proc_exe = Path::new("/proc/self/exe");
    let exe = if proc_exe.exists() {
        proc_exe.to_path_buf()
    } else {
        exe
    };
    if let Some(parent) = destination.parent() {
        fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    fs::copy(&exe, &destination)
        .with_context(|| format!("copy {} to {RUNNER_PATH}", exe.display()))?;
    Ok(())
}

/// Whether both paths name one existing file; a path that names nothing (a deleted running
/// binary, a runner not copied yet) is no match.
fn same_file(a: &Path, b: &Path) -> bool {
    matches!((a.canonicalize(), b.canonicalize()), (Ok(a), Ok(b)) if a == b)
}

fn revision(sh: &Shell) -> Revision {
    let commit = process::read(cmd!(sh, "git rev-parse HEAD").quiet().ignore_stderr())
        .ok()
        .map(|it| it.trim().to_owned());
    let dirty = process::read(cmd!(sh, "git status --porcelain").quiet().ignore_stderr())
        .is_ok_and(|it| !it.trim().is_empty());
    Revision { commit, dirty }
}

fn write_file(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    fs::write(path, bytes).with_context(|| format!("write {}", path.display()))
}

/// Writes `files` (relative to `root`) into a zstd-compressed tarball at `path`, atomically.
pub(crate) fn write_tar_zst(root: &Path, files: &[PathBuf], path: &Path) -> anyhow::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let temp = tempfile::NamedTempFile::new_in(dir).context("create the archive file")?;
    {
        let mut encoder = zstd::Encoder::new(BufWriter::new(temp.as_file()), 3)?;
        encoder.include_checksum(true)?;
        let mut builder = tar::Builder::new(encoder);
        for file in files {
            builder
                .append_path_with_name(root.join(file), file)
                .with_context(|| format!("add {} to the archive", file.display()))?;
        }
        builder.into_inner()?.finish()?;
    }
    temp.persist(path)
        .with_context(|| format!("write {}", path.display()))?;
    Ok(())
}

fn unpack(archive: &Path, into: &Path) -> anyhow::Result<()> {
    let file = fs::File::open(archive).with_context(|| format!("open {}", archive.display()))?;
    let decoder = zstd::Decoder::with_buffer(BufReader::new(file))?;
    let mut tar = tar::Archive::new(decoder);
    for entry in tar.entries()? {
        let mut entry = entry?;
        if !entry.unpack_in(into)? {
            bail!(
                "refused an entry outside the workspace: {}",
                entry.path()?.display()
            );
        }
    }
    // A tarball cut after its last entry reads as complete: read the zstd stream to its end,
    // which fails when the frame is cut or its checksum does not match.
    io::copy(&mut tar.into_inner(), &mut io::sink())?;
    Ok(())
}

fn list_files(base: &Path, dir: &Path, files: &mut Vec<PathBuf>) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let path = entry.path();
        if entry.file_type()?.is_dir() {
            list_files(base, &path, files)?;
        } else {
            files.push(path.strip_prefix(base).expect("below base").to_path_buf());
        }
    }
    Ok(())
}

fn human_bytes(bytes: u64) -> String {
    match bytes {
        0..1024 => format!("{bytes} B"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_runner_is_copied_even_when_the_running_binary_was_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let (gone, missing) = (
            dir.path().join("xtask (deleted)"),
            dir.path().join("bin/xtask"),
        );
        assert!(
            !same_file(&gone, &missing),
            "two missing files are not the same file"
        );
        let file = dir.path().join("x");
        fs::write(&file, "x").unwrap();
        assert!(same_file(&file, &dir.path().join("./x")));
        assert!(!same_file(&file, &missing));
    }

    /// A checkout with sources and one artifact, and an archive of it in `<dir>/a.tar.zst`.
    fn fixture() -> (tempfile::TempDir, PathBuf, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let build = dir.path().join("build");
        let checkout = dir.path().join("checkout");
        for root in [&build, &checkout] {
            fs::create_dir_all(root.join("tests/src")).unwrap();
            fs::write(root.join("tests/src/main.rs"), "fn main() {}").unwrap();
            fs::write(root.join("Cargo.toml"), "[workspace]").unwrap();
        }
        fs::create_dir_all(build.join("target/release")).unwrap();
        fs::write(build.join("target/release/keel"), "binary").unwrap();
        let artifacts = vec![PathBuf::from("target/release/keel")];
        let source_inputs = vec![PathBuf::from("tests"), PathBuf::from("Cargo.toml")];
        let info = ArchiveInfo {
            format_version: FORMAT_VERSION,
            revision: Revision {
                commit: Some("0123456789abcdef".to_owned()),
                dirty: false,
            },
            nextest: false,
            artifacts: hash_all(&build, &artifacts).unwrap(),
            records: BTreeMap::new(),
            sources: hash_input_files(&build, &source_inputs).unwrap(),
            source_inputs,
        };
        write_file(
            &build.join(INFO_PATH),
            &serde_json::to_vec_pretty(&info).unwrap(),
        )
        .unwrap();
        let archive = dir.path().join("a.tar.zst");
        let mut files = artifacts;
        files.push(PathBuf::from(INFO_PATH));
        write_tar_zst(&build, &files, &archive).unwrap();
        (dir, checkout, archive)
    }

    #[test]
    fn an_archive_extracts_in_place_and_verifies() {
        let (_dir, checkout, archive) = fixture();
        let info = extract(&archive, &checkout).unwrap();
        assert_eq!(info.format_version, FORMAT_VERSION);
        assert_eq!(
            fs::read_to_string(checkout.join("target/release/keel")).unwrap(),
            "binary"
        );
        assert!(checkout.join(INFO_PATH).is_file());
    }

    #[test]
    fn differing_sources_are_refused_by_name() {
        let (_dir, checkout, archive) = fixture();
        fs::write(checkout.join("tests/src/main.rs"), "fn main() { edited() }").unwrap();
        fs::write(checkout.join("tests/src/new.rs"), "").unwrap();
        let err = format!("{:#}", extract(&archive, &checkout).unwrap_err());
        assert!(
            err.contains("sources differ from the archive's revision 0123456789ab")
                && err.contains("tests/src/main.rs (changed)")
                && err.contains("tests/src/new.rs (not in the archive's revision)"),
            "{err}"
        );
        assert_left_nothing(&checkout);
    }

    #[test]
    fn a_truncated_archive_leaves_nothing_behind() {
        let (_dir, checkout, archive) = fixture();
        let bytes = fs::read(&archive).unwrap();
        for cut in [bytes.len() / 2, bytes.len() - 3] {
            fs::write(&archive, &bytes[..cut]).unwrap();
            let err = format!("{:#}", extract(&archive, &checkout).unwrap_err());
            assert!(err.contains("truncated or corrupt"), "{err}");
            assert_left_nothing(&checkout);
        }
    }

    #[test]
    fn a_corrupt_archive_leaves_nothing_behind() {
        let (_dir, checkout, archive) = fixture();
        let mut bytes = fs::read(&archive).unwrap();
        let middle = bytes.len() / 2;
        for byte in &mut bytes[middle..middle + 16] {
            *byte ^= 0x5a;
        }
        fs::write(&archive, &bytes).unwrap();
        let err = format!("{:#}", extract(&archive, &checkout).unwrap_err());
        assert!(
            err.contains("truncated or corrupt") || err.contains("do not match their hashes"),
            "{err}"
        );
        assert_left_nothing(&checkout);
    }

    #[test]
    fn an_unknown_format_version_is_refused() {
        let (dir, checkout, _archive) = fixture();
        let build = dir.path().join("build");
        let text = fs::read_to_string(build.join(INFO_PATH)).unwrap();
        let text = text.replace(
            &format!("\"format_version\": {FORMAT_VERSION}"),
            "\"format_version\": 99",
        );
        fs::write(build.join(INFO_PATH), text).unwrap();
        let archive = dir.path().join("future.tar.zst");
        write_tar_zst(&build, &[PathBuf::from(INFO_PATH)], &archive).unwrap();
        let err = format!("{:#}", extract(&archive, &checkout).unwrap_err());
        assert!(
            err.contains("format version is 99, this runner reads version 1"),
            "{err}"
        );
        assert_left_nothing(&checkout);
    }

    #[test]
    fn an_artifact_that_changed_after_extraction_is_refused_before_a_run() {
        let (_dir, checkout, archive) = fixture();
        // verify_checkout looks at extracted archives only: one with the manifest it recorded.
        extract(&archive, &checkout).unwrap();
        let mut info = read_info(&checkout).unwrap();
        write_file(&checkout.join("target/smoketest/manifest.json"), b"{}").unwrap();
        info.artifacts.insert(
            "target/smoketest/manifest.json".to_owned(),
            hash_file(&checkout.join("target/smoketest/manifest.json")).unwrap(),
        );
        write_file(
            &checkout.join(INFO_PATH),
            &serde_json::to_vec_pretty(&info).unwrap(),
        )
        .unwrap();
        assert!(verify_checkout(&checkout).unwrap().is_some());
        fs::write(checkout.join("target/release/keel"), "other").unwrap();
        let err = format!("{:#}", verify_checkout(&checkout).unwrap_err());
        assert!(err.contains("target/release/keel (changed)"), "{err}");
        // After a local warmup (another manifest) the archive's info no longer applies.
        write_file(
            &checkout.join("target/smoketest/manifest.json"),
            b"{\"v\":2}",
        )
        .unwrap();
        assert!(verify_checkout(&checkout).unwrap().is_none());
    }

    #[test]
    fn nextest_includes_every_file_relative_to_the_target_dir() {
        let text = archive_include(&[
            PathBuf::from("target/release/keel"),
            PathBuf::from(INFO_PATH),
        ])
        .unwrap();
        assert!(
            text.contains(
                r#"{ path = "release/keel", relative-to = "target", on-missing = "error" },"#
            ) && text.contains(r#"path = "smoketest/archive.json""#),
            "{text}"
        );
        assert!(archive_include(&[PathBuf::from("Cargo.toml")]).is_err());
    }

    fn assert_left_nothing(checkout: &Path) {
        let target = checkout.join("target");
        let left: Vec<PathBuf> = fs::read_dir(&target)
            .map(|it| it.map(|entry| entry.unwrap().path()).collect())
            .unwrap_or_default();
        assert!(left.is_empty(), "left behind: {left:?}");
    }
}
