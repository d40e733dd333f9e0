//! qa's proof of `--affected`: scripted edits in a throwaway clone of the checkout, each judged by
//! the same rules a real `--affected` run applies, with the usage the full smoketest run just
//! recorded, and compared with the expected set written down here.
//!
//! When a test is added or starts using another module, an expected set below changes with it: that
//! is the point (the sets are the rules' answers a person checked, not the rules' own output).

use std::{collections::BTreeSet, fs, path::Path};

use anyhow::{Context, bail, ensure};
use keel_artifacts::{Manifest, TestMeta};
use xshell::{Shell, cmd};

use crate::{
    affected::{
        changes,
        rules::{self, Inputs},
        store::UsageStore,
    },
    process, project_root,
    smoketest::{self, fresh_binary},
    workspace_graph::WorkspaceGraph,
};

/// What a scenario expects.
enum Expected {
    /// Exactly these tests.
    Tests(&'static [&'static str]),
    /// Every test but these (which use no server, say).
    AllBut(&'static [&'static str]),
}

/// One scripted edit: in `file`, replace `find` by `replace` (or append when `find` is empty).
struct Scenario {
    name: &'static str,
    file: &'static str,
    find: &'static str,
    replace: &'static str,
    /// A test the edit adds, as the rebuilt binary would register it.
    new_test: Option<&'static str>,
    expected: Expected,
}

/// The tests that load the precompiled `bank` module (directly or through `errors.rs`'s helper).
const BANK_USERS: &[&str] = &[
    "cli::cli_reducer_failure_exit_code",
    "concurrency::concurrent_transfers_keep_the_total",
    "errors::failed_transfer_rolls_back",
    "errors::successful_transfer_commits",
    "errors::transfer_to_missing_account_rolls_back_the_debit",
    "restart::deletes_and_rollbacks_survive_a_restart",
];
/// The tests that run the `keel` CLI (`remote::` makes an identity with `keel identity new`).
const CLI_USERS: &[&str] = &[
    "cli::cli_bad_input_exit_codes",
    "cli::cli_build_failure_exit_code",
    "cli::cli_call_takes_json_arguments",
    "cli::cli_describe_prints_the_schema",
    "cli::cli_identity_new_and_show_with_fresh_config",
    "cli::cli_incompatible_publish_conflicts_until_clear",
    "cli::cli_list_and_delete",
    "cli::cli_logs_last_n_and_json",
    "cli::cli_publish_call_and_sql",
    "cli::cli_reducer_failure_exit_code",
    "cli::cli_server_ping",
    "cli::cli_sql_prints_tables_and_json",
    "https::https_server_serves_the_api_to_clients_that_trust_it",
    "remote::remote_tests_leave_no_identity_or_database_behind",
];
/// The tests that use no server at all: none today, every test talks to one.
const SERVERLESS: &[&str] = &[];

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "edit one module's reducer",
        file: "modules/bank/src/lib.rs",
        find: "",
        replace: "\n// an edit of the bank module\n",
        new_test: None,
        expected: Expected::Tests(BANK_USERS),
    },
    Scenario {
        name: "edit a function on the SQL path of keel-host",
        file: "crates/keel-host/src/sql/mod.rs",
        find: "",
        replace: "\n// an edit of the SQL path\n",
        new_test: None,
        expected: Expected::AllBut(SERVERLESS),
    },
    Scenario {
        name: "edit a CLI output function",
        file: "crates/keel-cli/src/output.rs",
        find: "",
        replace: "\n// an edit of the CLI's output\n",
        new_test: None,
        expected: Expected::Tests(CLI_USERS),
    },
    Scenario {
        name: "edit Cargo.lock",
        file: "Cargo.lock",
        find: "",
        replace: "\n",
        new_test: None,
        expected: Expected::AllBut(&[]),
    },
    Scenario {
        name: "add a new test",
        file: "tests/src/basics.rs",
        find: "",
        replace: "\nsmoketest! {\n    /// A new test.\n    fn a_new_test() {\n        Ok(())\n    }\n}\n",
        new_test: Some("basics::a_new_test"),
        expected: Expected::Tests(&[
            "basics::a_new_test",
            "basics::counter_increments",
            "basics::restart_keeps_data",
        ]),
    },
    Scenario {
        name: "edit only README.md",
        file: "README.md",
        find: "",
        replace: "\nAn edit of the README.\n",
        new_test: None,
        expected: Expected::Tests(&[]),
    },
];

/// Runs every scenario; fails with each one whose selection differs from what it expects.
pub(crate) fn check(sh: &Shell) -> anyhow::Result<()> {
    let root = project_root();
    let Some(store) = UsageStore::load(&root)? else {
        bail!(
            "no usage records in {}; the smoketests step writes them",
            UsageStore::path(&root).display()
        );
    };
    let manifest = Manifest::load(&root)?;
    let sources = crate::affected::binary_sources(&manifest);
    let metadata =
        smoketest::read_metadata(sh, &fresh_binary(&root, &manifest, "smoketests")?, None)?;
    let scratch = tempfile::tempdir().context("make a scratch dir")?;
    let clone = scratch.path().join("checkout");
    process::run(cmd!(sh, "git clone --quiet --shared {root} {clone}"))
        .context("clone the checkout for the scenarios")?;
    let clone_sh = Shell::new()?;
    clone_sh.change_dir(&clone);
    let graph = WorkspaceGraph::load(&clone_sh, &clone)?;
    let mut failures = Vec::new();
    for scenario in SCENARIOS {
        process::run(cmd!(clone_sh, "git checkout --quiet -- ."))?;
        process::run(cmd!(clone_sh, "git clean --quiet -fd"))?;
        apply(&clone, scenario)?;
        let changed = changes::changed_files(&clone_sh, "HEAD")?;
        let mut tests = metadata.clone();
        if let Some(name) = scenario.new_test {
            tests.push(TestMeta {
                name: name.to_owned(),
                local_only: None,
                serial: None,
                file: scenario.file.to_owned(),
                line: 1,
                skipped: None,
            });
        }
        let selection = rules::select(&Inputs {
            changed: &changed,
            graph: &graph,
            sources: &sources,
            tests: &tests,
            store: Some(&store),
            store_mismatch: None,
            coverage: None,
        });
        let got: BTreeSet<&str> = selection.selected.keys().map(String::as_str).collect();
        let want: BTreeSet<&str> = match &scenario.expected {
            Expected::Tests(tests) => tests.iter().copied().collect(),
            Expected::AllBut(except) => tests
                .iter()
                .map(|it| it.name.as_str())
                .filter(|it| !except.contains(it))
                .collect(),
        };
        eprintln!(
            "affected scenario {:?}: {}",
            scenario.name,
            selection.headline()
        );
        if got != want {
            let extra: Vec<&&str> = got.difference(&want).collect();
            let missing: Vec<&&str> = want.difference(&got).collect();
            failures.push(format!(
                "{:?}: selected {} test(s) it should not: {extra:?}; missed {missing:?}",
                scenario.name,
                extra.len()
            ));
        }
    }
    ensure!(
        failures.is_empty(),
        "affected-test scenarios failed:\n  {}",
        failures.join("\n  ")
    );
    eprintln!("affected scenarios: {} passed", SCENARIOS.len());
    Ok(())
}

fn apply(clone: &Path, scenario: &Scenario) -> anyhow::Result<()> {
    let path = clone.join(scenario.file);
    let text = fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let edited = if scenario.find.is_empty() {
        format!("{text}{}", scenario.replace)
    } else {
        ensure!(
            text.contains(scenario.find),
            "{} no longer contains {:?}",
            scenario.file,
            scenario.find
        );
        text.replacen(scenario.find, scenario.replace, 1)
    };
    fs::write(&path, edited).with_context(|| format!("write {}", path.display()))
}
