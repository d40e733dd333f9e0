//! The selection rules of `--affected`: from the changed files, the dependency graph, what the
//! binaries are built from and what each test used, which tests a change can affect, and why.
//!
//! Pure: git, cargo and the files are read by the caller, so every rule is tested here.

use std::{
    collections::{BTreeMap, BTreeSet},
    fmt,
    path::{Path, PathBuf},
};

use keel_artifacts::{TestMeta, TestUsage};

use super::store::{LastOutcome, UsageStore};
use crate::workspace_graph::WorkspaceGraph;

/// Files no test reads: documentation and CI plumbing.
const INERT_FILE_NAMES: &[&str] = &[
    "justfile",
    ".gitignore",
    "LICENSE",
    "LICENSE-MIT",
    "LICENSE-APACHE",
];
/// Directories no test reads.
const INERT_DIRS: &[&str] = &["docs", ".github", ".ci"];
/// Files whose change can change any test: the lock file, the root manifest (versions, features,
/// profiles), the toolchain, cargo's and nextest's configuration.
const GLOBAL_FILES: &[&str] = &[
    "Cargo.lock",
    "Cargo.toml",
    "rust-toolchain",
    "rust-toolchain.toml",
];
/// Directories whose change can change any test.
const GLOBAL_DIRS: &[&str] = &[".cargo", ".config"];
/// Packages that run or orchestrate every test.
const EVERYTHING_PACKAGES: &[&str] = &["xtask-smoketest", "keel-workspace-hack"];

/// Why a test is selected.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Reason {
    /// Every test is: the change can affect any (or nothing is known).
    Everything(String),
    /// It is registered in a changed file.
    TestSource(PathBuf),
    /// It loaded a changed precompiled module.
    UsedModule(String),
    /// It builds or loads modules, and the guest SDK (or what it depends on) changed.
    UsedSdk(PathBuf),
    /// It used a binary built from a changed file.
    UsedBinary { binary: String, file: PathBuf },
    /// It executed changed lines (the coverage map), or any line of a file edited where no line runs.
    Covered { file: PathBuf, file_wide: bool },
    /// It has no usage record: new, or never run.
    NoRecord,
    /// It failed the last time it ran.
    FailedLastTime,
    /// It was flaky the last time it ran.
    FlakyLastTime,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Reason::Everything(why) => write!(f, "everything: {why}"),
            Reason::TestSource(file) => write!(f, "its source {} changed", file.display()),
            Reason::UsedModule(module) => write!(f, "it used module {module}, which changed"),
            Reason::UsedSdk(file) => write!(
                f,
                "it builds or loads modules, and {} changed",
                file.display()
            ),
            Reason::UsedBinary { binary, file } => {
                write!(
                    f,
                    "it used {binary}, which is built from {}",
                    file.display()
                )
            }
            Reason::Covered {
                file,
                file_wide: false,
            } => {
                write!(f, "it executed changed lines of {}", file.display())
            }
            Reason::Covered {
                file,
                file_wide: true,
            } => write!(
                f,
                "it executed {}, changed where no line runs (a declaration)",
                file.display()
            ),
            Reason::NoRecord => write!(f, "it has no usage record (new or never run)"),
            Reason::FailedLastTime => write!(f, "it failed last time"),
            Reason::FlakyLastTime => write!(f, "it was flaky last time"),
        }
    }
}

impl Reason {
    /// The reason's kind, for the per-reason counts of the summary.
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Reason::Everything(_) => "everything",
            Reason::TestSource(_) => "test source changed",
            Reason::UsedModule(_) => "used a changed module",
            Reason::UsedSdk(_) => "guest SDK changed",
            Reason::UsedBinary { .. } => "used a changed binary",
            Reason::Covered { .. } => "executed changed code",
            Reason::NoRecord => "no record",
            Reason::FailedLastTime => "failed last time",
            Reason::FlakyLastTime => "flaky last time",
        }
    }
}

/// What the coverage map says about one changed file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CoverageVerdict {
    /// The map does not cover the file, or there is no map.
    NotMapped,
    /// The map placed every hunk: these tests executed them (`file_wide`: a hunk touched lines that
    /// do not run, so these are all the tests that executed any line of the file).
    Tests {
        tests: BTreeSet<String>,
        file_wide: bool,
    },
    /// The map covers the file but cannot place the hunks (the file differs from the map's copy).
    Unplaceable(String),
}

/// Answers [`CoverageVerdict`]s for changed files.
pub(crate) trait CoverageLookup {
    /// The verdict for `file` (relative to the root).
    fn verdict(&self, file: &Path) -> CoverageVerdict;
    /// The tests the map covers: a test outside the map is judged by its usage alone.
    fn mapped_tests(&self) -> BTreeSet<String>;
}

/// Everything the rules read.
pub(crate) struct Inputs<'a> {
    /// Changed files, relative to the workspace root.
    pub(crate) changed: &'a BTreeSet<PathBuf>,
    /// Both workspaces' packages.
    pub(crate) graph: &'a WorkspaceGraph,
    /// Per binary of the manifest, the files it is built from (dep-info); empty when unknown.
    pub(crate) sources: &'a BTreeMap<String, BTreeSet<PathBuf>>,
    /// The registered tests.
    pub(crate) tests: &'a [TestMeta],
    /// The usage records; none when there are none.
    pub(crate) store: Option<&'a UsageStore>,
    /// Why the records cannot be trusted (a fingerprint mismatch), if they cannot.
    pub(crate) store_mismatch: Option<String>,
    /// The coverage map, when there is one.
    pub(crate) coverage: Option<&'a dyn CoverageLookup>,
}

/// The outcome: per selected test, its reasons; plus what each changed file did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Selection {
    /// Selected tests with their reasons.
    pub(crate) selected: BTreeMap<String, BTreeSet<Reason>>,
    /// Every registered test.
    pub(crate) total: usize,
    /// What each changed file was taken for.
    pub(crate) files: BTreeMap<PathBuf, String>,
}

/// What a changed file can affect.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Effect {
    /// Nothing any test reads.
    Nothing(&'static str),
    /// Any test.
    Everything(String),
    /// The tests registered in it.
    TestSource,
    /// The tests that loaded this precompiled module.
    Module(String),
    /// The tests that load modules whose build includes this package, and `module_code` tests.
    Sdk(PathBuf),
    /// The tests that used these binaries (built from this file or package).
    Binaries(Vec<String>),
    /// Compiled into nothing the smoketests run (another crate's tests, say).
    Unused,
}

/// Applies the rules.
pub(crate) fn select(inputs: &Inputs<'_>) -> Selection {
    let mut selection = Selection {
        total: inputs.tests.len(),
        ..Selection::default()
    };
    let all = |selection: &mut Selection, why: String| {
        for test in inputs.tests {
            selection.add(&test.name, Reason::Everything(why.clone()));
        }
    };
    let Some(store) = inputs.store else {
        all(
            &mut selection,
            "no usage records yet; a full run writes them".to_owned(),
        );
        return selection;
    };
    if let Some(why) = &inputs.store_mismatch {
        all(&mut selection, why.clone());
        return selection;
    }
    for test in inputs.tests {
        match store.tests.get(&test.name).map(|it| it.outcome) {
            None => selection.add(&test.name, Reason::NoRecord),
            Some(LastOutcome::Failed) => selection.add(&test.name, Reason::FailedLastTime),
            Some(LastOutcome::Flaky) => selection.add(&test.name, Reason::FlakyLastTime),
            Some(LastOutcome::Passed) => {}
        }
    }
    let usage = |name: &str| store.tests.get(name).map(|it| &it.usage);
    for file in inputs.changed {
        let effects = effects(inputs, file);
        selection.files.insert(file.clone(), describe(&effects));
        for effect in effects {
            match effect {
                Effect::Nothing(_) | Effect::Unused => {}
                Effect::Everything(why) => all(&mut selection, why),
                Effect::TestSource => {
                    for test in inputs.tests.iter().filter(|it| Path::new(&it.file) == file) {
                        selection.add(&test.name, Reason::TestSource(file.clone()));
                    }
                }
                Effect::Module(module) => {
                    for test in inputs.tests {
                        if usage(&test.name).is_some_and(|it| it.modules.contains(&module)) {
                            selection.add(&test.name, Reason::UsedModule(module.clone()));
                        }
                    }
                }
                Effect::Sdk(package) => {
                    let modules: BTreeSet<String> = inputs
                        .graph
                        .module_dirs()
                        .into_iter()
                        .filter(|it| inputs.graph.module_closure(it).contains(&package))
                        .collect();
                    for test in inputs.tests {
                        if usage(&test.name).is_some_and(|it| {
                            it.module_code || it.modules.iter().any(|m| modules.contains(m))
                        }) {
                            selection.add(&test.name, Reason::UsedSdk(file.clone()));
                        }
                    }
                }
                Effect::Binaries(binaries) => {
                    select_binary_users(inputs, &mut selection, file, &binaries, &usage);
                }
            }
        }
    }
    selection
}

/// The tests that used one of `binaries`, narrowed by the coverage map where it can place the change.
fn select_binary_users<'s>(
    inputs: &Inputs<'_>,
    selection: &mut Selection,
    file: &Path,
    binaries: &[String],
    usage: &dyn Fn(&str) -> Option<&'s TestUsage>,
) {
    let users = inputs.tests.iter().filter(|test| {
        usage(&test.name).is_some_and(|it| binaries.iter().any(|b| it.binaries.contains(b)))
    });
    let verdict = inputs
        .coverage
        .filter(|_| file.extension().is_some_and(|it| it == "rs"))
        .map(|map| (map.verdict(file), map.mapped_tests()));
    for test in users {
        match &verdict {
            Some((CoverageVerdict::Tests { tests, file_wide }, mapped))
                if mapped.contains(&test.name) =>
            {
                if tests.contains(&test.name) {
                    selection.add(
                        &test.name,
                        Reason::Covered {
                            file: file.to_path_buf(),
                            file_wide: *file_wide,
                        },
                    );
                }
            }
            _ => selection.add(
                &test.name,
                Reason::UsedBinary {
                    binary: binaries.join(" and "),
                    file: file.to_path_buf(),
                },
            ),
        }
    }
    if let Some((CoverageVerdict::Unplaceable(why), _)) = &verdict {
        let entry = selection.files.entry(file.to_path_buf()).or_default();
        entry.push_str(&format!(" (coverage map: {why})"));
    }
}

/// What `file` can affect, by the rules in order.
fn effects(inputs: &Inputs<'_>, file: &Path) -> Vec<Effect> {
    let name = file
        .file_name()
        .and_then(|it| it.to_str())
        .unwrap_or_default();
    let first_dir = file
        .components()
        .next()
        .and_then(|it| it.as_os_str().to_str())
        .unwrap_or_default();
    if file.extension().is_some_and(|it| it == "md") {
        return vec![Effect::Nothing("documentation")];
    }
    if INERT_FILE_NAMES.contains(&name) && file.components().count() == 1
        || INERT_DIRS.contains(&first_dir)
    {
        return vec![Effect::Nothing("not read by any test")];
    }
    if GLOBAL_FILES.iter().any(|it| file == Path::new(it)) || GLOBAL_DIRS.contains(&first_dir) {
        return vec![Effect::Everything(format!(
            "{} can change every build",
            file.display()
        ))];
    }
    if name == "build.rs" {
        return vec![Effect::Everything(format!(
            "build script {} changed",
            file.display()
        ))];
    }
    let Some(owner) = inputs.graph.owner(file) else {
        return vec![Effect::Everything(format!(
            "{} belongs to no package",
            file.display()
        ))];
    };
    if EVERYTHING_PACKAGES.contains(&owner.name.as_str()) {
        return vec![Effect::Everything(format!(
            "{} runs every test",
            owner.name
        ))];
    }
    if owner.module {
        let dir = owner
            .dir
            .file_name()
            .and_then(|it| it.to_str())
            .unwrap_or_default();
        return vec![Effect::Module(dir.to_owned())];
    }
    if owner.name == "smoketests" {
        if inputs.tests.iter().any(|it| Path::new(&it.file) == file) {
            return vec![Effect::TestSource];
        }
        return vec![Effect::Everything(format!(
            "{} is shared code of the smoketests binary",
            file.display()
        ))];
    }
    let in_package_manifest = file == owner.dir.join("Cargo.toml");
    let mut effects = Vec::new();
    let mut binaries = Vec::new();
    for (binary, _, _) in crate::workspace_graph::BINARY_PACKAGES {
        let sources = inputs.sources.get(*binary).filter(|it| !it.is_empty());
        let built_from = match sources {
            // The compiler's own list, unless the file is new or a manifest (not in any dep-info).
            Some(sources) if !in_package_manifest => {
                sources.contains(file)
                    || (!sources.iter().any(|it| it.starts_with(&owner.dir))
                        && closure_contains(inputs, binary, &owner.dir))
            }
            _ => closure_contains(inputs, binary, &owner.dir),
        };
        if built_from {
            if *binary == "smoketests" {
                return vec![Effect::Everything(format!(
                    "{} is compiled into the smoketests binary, which runs every test",
                    file.display()
                ))];
            }
            binaries.push((*binary).to_owned());
        }
    }
    if !binaries.is_empty() {
        effects.push(Effect::Binaries(binaries));
    }
    let sdk = inputs
        .graph
        .module_dirs()
        .iter()
        .any(|module| inputs.graph.module_closure(module).contains(&owner.dir));
    if sdk {
        effects.push(Effect::Sdk(owner.dir.clone()));
    }
    if effects.is_empty() {
        effects.push(Effect::Unused);
    }
    effects
}

fn closure_contains(inputs: &Inputs<'_>, binary: &str, dir: &Path) -> bool {
    inputs
        .graph
        .binary_closure(binary)
        .is_ok_and(|closure| closure.contains(dir))
}

fn describe(effects: &[Effect]) -> String {
    effects
        .iter()
        .map(|effect| match effect {
            Effect::Nothing(why) => format!("nothing ({why})"),
            Effect::Everything(why) => format!("every test ({why})"),
            Effect::TestSource => "its tests".to_owned(),
            Effect::Module(module) => format!("the users of module {module}"),
            Effect::Sdk(_) => "the tests that build or load modules".to_owned(),
            Effect::Binaries(binaries) => format!("the users of {}", binaries.join(" and ")),
            Effect::Unused => "nothing (compiled into nothing the smoketests run)".to_owned(),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

impl Selection {
    fn add(&mut self, test: &str, reason: Reason) {
        self.selected
            .entry(test.to_owned())
            .or_default()
            .insert(reason);
    }

    /// Whether every test is selected because of one blanket reason.
    pub(crate) fn everything(&self) -> Option<&str> {
        self.selected
            .values()
            .next()
            .and_then(|reasons| {
                reasons.iter().find_map(|it| match it {
                    Reason::Everything(why) => Some(why.as_str()),
                    _ => None,
                })
            })
            .filter(|_| self.selected.len() == self.total)
    }

    /// "N of M tests selected" and the count per reason kind.
    pub(crate) fn headline(&self) -> String {
        let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
        for reasons in self.selected.values() {
            for kind in reasons.iter().map(Reason::kind).collect::<BTreeSet<_>>() {
                *kinds.entry(kind).or_default() += 1;
            }
        }
        let counts: Vec<String> = kinds
            .iter()
            .map(|(kind, n)| format!("{n} {kind}"))
            .collect();
        let mut line = format!("{} of {} tests selected", self.selected.len(), self.total);
        if !counts.is_empty() {
            line.push_str(&format!(" ({})", counts.join(", ")));
        }
        line
    }

    /// Why `test` is or is not selected.
    pub(crate) fn explain(&self, test: &str, inputs: &Inputs<'_>) -> String {
        if !inputs.tests.iter().any(|it| it.name == test) {
            return format!("{test}: no such test (see `cargo xtask smoketest -- --list`)");
        }
        if let Some(reasons) = self.selected.get(test) {
            let lines: Vec<String> = reasons.iter().map(|it| format!("  - {it}")).collect();
            return format!("{test}: selected\n{}", lines.join("\n"));
        }
        let used = inputs
            .store
            .and_then(|it| it.tests.get(test))
            .map(|entry| {
                format!(
                    "it used modules [{}], binaries [{}]{}, and is registered in {}",
                    entry
                        .usage
                        .modules
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    entry
                        .usage
                        .binaries
                        .iter()
                        .cloned()
                        .collect::<Vec<_>>()
                        .join(", "),
                    if entry.usage.module_code {
                        ", built modules at run time"
                    } else {
                        ""
                    },
                    entry.file
                )
            })
            .unwrap_or_default();
        format!(
            "{test}: not selected: none of the {} changed file(s) can affect it; {used}",
            inputs.changed.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::affected::store::{Fingerprint, STORE_VERSION, TestEntry};

    fn graph() -> WorkspaceGraph {
        WorkspaceGraph::for_tests(&[
            ("keel-api", "crates/keel-api", &[], false),
            (
                "keel-module",
                "crates/keel-module",
                &["crates/keel-api"],
                false,
            ),
            (
                "keel-client",
                "crates/keel-client",
                &["crates/keel-api"],
                false,
            ),
            (
                "keel-cli",
                "crates/keel-cli",
                &["crates/keel-client"],
                false,
            ),
            ("keel-host", "crates/keel-host", &["crates/keel-api"], false),
            (
                "keel-standalone",
                "crates/keel-standalone",
                &["crates/keel-host"],
                false,
            ),
            (
                "keel-smoketest",
                "crates/keel-smoketest",
                &["crates/keel-cli"],
                false,
            ),
            ("smoketests", "tests", &["crates/keel-smoketest"], false),
            ("xtask-smoketest", "xtask", &[], false),
            (
                "smoketest-module-bank",
                "modules/bank",
                &["crates/keel-module"],
                true,
            ),
            (
                "smoketest-module-kv",
                "modules/kv",
                &["crates/keel-module"],
                true,
            ),
        ])
    }

    fn sources() -> BTreeMap<String, BTreeSet<PathBuf>> {
        let set = |files: &[&str]| files.iter().map(PathBuf::from).collect::<BTreeSet<_>>();
        BTreeMap::from([
            (
                "keel".to_owned(),
                set(&[
                    "crates/keel-cli/src/main.rs",
                    "crates/keel-cli/src/output.rs",
                    "crates/keel-cli/src/lib.rs",
                    "crates/keel-client/src/lib.rs",
                    "crates/keel-api/src/lib.rs",
                ]),
            ),
            (
                "keel-standalone".to_owned(),
                set(&[
                    "crates/keel-standalone/src/main.rs",
                    "crates/keel-host/src/sql.rs",
                    "crates/keel-host/src/lib.rs",
                    "crates/keel-api/src/lib.rs",
                ]),
            ),
            (
                "smoketests".to_owned(),
                set(&[
                    "tests/src/main.rs",
                    "tests/src/sql.rs",
                    "tests/src/cli.rs",
                    "crates/keel-smoketest/src/lib.rs",
                    "crates/keel-cli/src/lib.rs",
                    "crates/keel-client/src/lib.rs",
                    "crates/keel-api/src/lib.rs",
                ]),
            ),
        ])
    }

    fn meta(name: &str, file: &str) -> TestMeta {
        TestMeta {
            name: name.to_owned(),
            local_only: None,
            serial: None,
            file: file.to_owned(),
            line: 1,
            skipped: None,
        }
    }

    fn tests() -> Vec<TestMeta> {
        vec![
            meta("sql::bank", "tests/src/sql.rs"),
            meta("sql::kv", "tests/src/sql.rs"),
            meta("cli::publish", "tests/src/cli.rs"),
            meta("cli::code", "tests/src/cli.rs"),
        ]
    }

    fn store() -> UsageStore {
        let entry = |file: &str, modules: &[&str], cli: bool, module_code: bool| TestEntry {
            file: file.to_owned(),
            outcome: LastOutcome::Passed,
            usage: TestUsage {
                modules: modules.iter().map(|it| (*it).to_owned()).collect(),
                module_code,
                binaries: [Some(TestUsage::SERVER), cli.then_some(TestUsage::CLI)]
                    .into_iter()
                    .flatten()
                    .map(str::to_owned)
                    .collect(),
            },
        };
        UsageStore {
            version: STORE_VERSION,
            fingerprint: Fingerprint::default(),
            green_revision: Some("abc".to_owned()),
            tests: BTreeMap::from([
                (
                    "sql::bank".to_owned(),
                    entry("tests/src/sql.rs", &["bank"], false, false),
                ),
                (
                    "sql::kv".to_owned(),
                    entry("tests/src/sql.rs", &["kv"], false, false),
                ),
                (
                    "cli::publish".to_owned(),
                    entry("tests/src/cli.rs", &["kv"], true, false),
                ),
                (
                    "cli::code".to_owned(),
                    entry("tests/src/cli.rs", &[], true, true),
                ),
            ]),
        }
    }

    fn run(
        changed: &[&str],
        store: Option<&UsageStore>,
        coverage: Option<&dyn CoverageLookup>,
    ) -> BTreeSet<String> {
        let changed: BTreeSet<PathBuf> = changed.iter().map(PathBuf::from).collect();
        let tests = tests();
        let (graph, sources) = (graph(), sources());
        select(&Inputs {
            changed: &changed,
            graph: &graph,
            sources: &sources,
            tests: &tests,
            store,
            store_mismatch: None,
            coverage,
        })
        .selected
        .into_keys()
        .collect()
    }

    fn names(items: &[&str]) -> BTreeSet<String> {
        items.iter().map(|it| (*it).to_owned()).collect()
    }

    #[test]
    fn each_kind_of_change_selects_its_tests() {
        let store = store();
        let all = names(&["sql::bank", "sql::kv", "cli::publish", "cli::code"]);
        assert_eq!(
            run(&["modules/bank/src/lib.rs"], Some(&store), None),
            names(&["sql::bank"])
        );
        assert_eq!(
            run(&["tests/src/cli.rs"], Some(&store), None),
            names(&["cli::publish", "cli::code"])
        );
        // In the CLI binary only: the CLI's users. In its library, which the harness links: all.
        assert_eq!(
            run(&["crates/keel-cli/src/output.rs"], Some(&store), None),
            names(&["cli::publish", "cli::code"])
        );
        assert_eq!(
            run(&["crates/keel-cli/src/lib.rs"], Some(&store), None),
            all
        );
        assert_eq!(
            run(&["crates/keel-host/src/sql.rs"], Some(&store), None),
            all
        );
        // The guest SDK: the tests that load modules or build them.
        assert_eq!(
            run(&["crates/keel-module/src/lib.rs"], Some(&store), None),
            all
        );
        for global in [
            "Cargo.lock",
            ".cargo/config.toml",
            "crates/keel-host/build.rs",
            "xtask/src/main.rs",
            "tests/src/main.rs",
            "crates/keel-smoketest/src/lib.rs",
            "newdir/file.rs",
        ] {
            assert_eq!(run(&[global], Some(&store), None), all, "{global}");
        }
        for inert in [
            "README.md",
            "crates/keel-host/README.md",
            ".github/workflows/x.yml",
            "justfile",
        ] {
            assert!(run(&[inert], Some(&store), None).is_empty(), "{inert}");
        }
        // Another crate's own tests are compiled into nothing the smoketests run.
        assert!(run(&["crates/keel-host/tests/it/main.rs"], Some(&store), None).is_empty());
    }

    #[test]
    fn a_crate_manifest_change_follows_the_dependency_graph() {
        let store = store();
        assert_eq!(
            run(&["crates/keel-standalone/Cargo.toml"], Some(&store), None).len(),
            4
        );
        assert_eq!(
            run(&["modules/kv/Cargo.toml"], Some(&store), None),
            names(&["sql::kv", "cli::publish"])
        );
    }

    #[test]
    fn no_record_failed_and_flaky_tests_always_run() {
        let mut store = store();
        store.tests.remove("sql::kv");
        store.tests.get_mut("cli::code").unwrap().outcome = LastOutcome::Failed;
        store.tests.get_mut("sql::bank").unwrap().outcome = LastOutcome::Flaky;
        assert_eq!(
            run(&["README.md"], Some(&store), None),
            names(&["sql::kv", "cli::code", "sql::bank"])
        );
        // Without records, everything.
        assert_eq!(run(&[], None, None).len(), 4);
    }

    #[test]
    fn a_fingerprint_mismatch_selects_everything_and_says_why() {
        let store = store();
        let (graph, sources, tests) = (graph(), sources(), tests());
        let selection = select(&Inputs {
            changed: &BTreeSet::new(),
            graph: &graph,
            sources: &sources,
            tests: &tests,
            store: Some(&store),
            store_mismatch: Some("the usage records were made with another Cargo.lock".to_owned()),
            coverage: None,
        });
        assert_eq!(selection.selected.len(), 4);
        assert_eq!(
            selection.everything(),
            Some("the usage records were made with another Cargo.lock")
        );
        assert!(
            selection
                .headline()
                .starts_with("4 of 4 tests selected (4 everything)"),
            "{}",
            selection.headline()
        );
    }

    struct Map(CoverageVerdict, BTreeSet<String>);

    impl CoverageLookup for Map {
        fn verdict(&self, _file: &Path) -> CoverageVerdict {
            self.0.clone()
        }
        fn mapped_tests(&self) -> BTreeSet<String> {
            self.1.clone()
        }
    }

    #[test]
    fn the_coverage_map_narrows_a_binary_change_to_the_tests_that_ran_it() {
        let store = store();
        let mapped = names(&["sql::bank", "sql::kv", "cli::publish"]);
        let map = Map(
            CoverageVerdict::Tests {
                tests: names(&["sql::kv"]),
                file_wide: false,
            },
            mapped.clone(),
        );
        // cli::code is not in the map (it failed under instrumentation, say): its usage decides.
        assert_eq!(
            run(&["crates/keel-host/src/sql.rs"], Some(&store), Some(&map)),
            names(&["sql::kv", "cli::code"])
        );
        let unplaceable = Map(
            CoverageVerdict::Unplaceable("differs from the map's copy".to_owned()),
            mapped.clone(),
        );
        assert_eq!(
            run(
                &["crates/keel-host/src/sql.rs"],
                Some(&store),
                Some(&unplaceable)
            )
            .len(),
            4
        );
        let not_mapped = Map(CoverageVerdict::NotMapped, mapped);
        assert_eq!(
            run(
                &["crates/keel-host/src/sql.rs"],
                Some(&store),
                Some(&not_mapped)
            )
            .len(),
            4
        );
    }

    #[test]
    fn explain_says_why_and_why_not() {
        let store = store();
        let changed: BTreeSet<PathBuf> = [PathBuf::from("modules/bank/src/lib.rs")].into();
        let (graph, sources, tests) = (graph(), sources(), tests());
        let inputs = Inputs {
            changed: &changed,
            graph: &graph,
            sources: &sources,
            tests: &tests,
            store: Some(&store),
            store_mismatch: None,
            coverage: None,
        };
        let selection = select(&inputs);
        assert!(
            selection
                .explain("sql::bank", &inputs)
                .contains("it used module bank, which changed")
        );
        let not = selection.explain("sql::kv", &inputs);
        assert!(
            not.contains("not selected") && not.contains("modules [kv]"),
            "{not}"
        );
        assert!(selection.explain("nope", &inputs).contains("no such test"));
    }
}
