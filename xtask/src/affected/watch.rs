//! `cargo xtask smoketest --watch`: run the affected tests, print a compact result, wait for the next
//! save (the `notify` crate), rebuild what changed (warmup is incremental) and run the tests the saved
//! files can affect; Ctrl-C stops it with nothing left running.
//!
//! The first round counts changes from the last green full run (as `--affected` does); each later
//! round takes the files saved since the round before, plus the tests that failed last time.

use std::{
    collections::BTreeSet,
    path::{Path, PathBuf},
    sync::mpsc,
    time::{Duration, Instant},
};

use anyhow::Context;
use notify::{EventKind, RecursiveMode, Watcher};
use xshell::Shell;

use crate::{flags, process, project_root, smoketest};

/// How long the tree must stay quiet after a save before a round starts (editors write in bursts).
const QUIET: Duration = Duration::from_millis(300);
/// How often the wait checks for Ctrl-C.
const POLL: Duration = Duration::from_millis(200);
/// Top-level entries not watched: build output and git's own files.
const UNWATCHED: &[&str] = &["target", ".git"];

/// Runs rounds until Ctrl-C.
pub(crate) fn run(sh: &Shell, flags: &flags::Smoketest) -> anyhow::Result<()> {
    let root = project_root();
    let (sender, events) = mpsc::channel();
    let mut watcher = notify::recommended_watcher(move |event| {
        let _ = sender.send(event);
    })
    .context("start watching the checkout (inotify)")?;
    watch_sources(&mut watcher, &root)?;
    let mut changed: Option<BTreeSet<PathBuf>> = None;
    loop {
        let round = flags::Smoketest {
            affected: true,
            watch: false,
            changed_files: changed.take().map(|it| it.into_iter().collect()),
            ..flags.clone()
        };
        match smoketest::run_suite(sh, &round, &[]) {
            Ok(report) if report.interrupted => {
                eprintln!("==> watch: interrupted; the round's tests were stopped");
            }
            Ok(report) => eprintln!("==> watch: {}", report.summary.one_line()),
            Err(err) if process::was_interrupted() => return Err(err),
            Err(err) => eprintln!("==> watch: the round failed: {err:#}"),
        }
        if process::was_interrupted() {
            anyhow::bail!("interrupted");
        }
        eprintln!("==> watch: waiting for changes (Ctrl-C stops)");
        changed = Some(wait_for_changes(&events, &root)?);
    }
}

/// Watches the root's own files and every top-level directory but [`UNWATCHED`], recursively.
fn watch_sources(watcher: &mut impl Watcher, root: &Path) -> anyhow::Result<()> {
    watcher
        .watch(root, RecursiveMode::NonRecursive)
        .with_context(|| format!("watch {}", root.display()))?;
    for entry in std::fs::read_dir(root).with_context(|| format!("list {}", root.display()))? {
        let path = entry?.path();
        let name = path
            .file_name()
            .and_then(|it| it.to_str())
            .unwrap_or_default();
        if path.is_dir() && !UNWATCHED.contains(&name) {
            watcher
                .watch(&path, RecursiveMode::Recursive)
                .with_context(|| format!("watch {}", path.display()))?;
        }
    }
    Ok(())
}

/// Blocks until files changed and the tree has been quiet for [`QUIET`]; returns them relative to
/// `root`. Fails on Ctrl-C.
fn wait_for_changes(
    events: &mpsc::Receiver<notify::Result<notify::Event>>,
    root: &Path,
) -> anyhow::Result<BTreeSet<PathBuf>> {
    let mut changed = BTreeSet::new();
    let mut last_change: Option<Instant> = None;
    loop {
        process::check_interrupted()?;
        if last_change.is_some_and(|at| at.elapsed() >= QUIET) {
            return Ok(changed);
        }
        match events.recv_timeout(POLL) {
            Ok(Ok(event)) => {
                let relevant = relevant_paths(&event, root);
                if !relevant.is_empty() {
                    changed.extend(relevant);
                    last_change = Some(Instant::now());
                }
            }
            Ok(Err(err)) => eprintln!("warning: watching files: {err}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => anyhow::bail!("the file watcher stopped"),
        }
    }
}

/// The paths of a content change, relative to `root`, leaving out build output, git and editors'
/// temp files.
fn relevant_paths(event: &notify::Event, root: &Path) -> Vec<PathBuf> {
    if matches!(event.kind, EventKind::Access(_) | EventKind::Other) {
        return Vec::new();
    }
    event
        .paths
        .iter()
        .filter_map(|path| path.strip_prefix(root).ok())
        .filter(|path| {
            let first = path
                .components()
                .next()
                .and_then(|it| it.as_os_str().to_str());
            let name = path
                .file_name()
                .and_then(|it| it.to_str())
                .unwrap_or_default();
            !first.is_some_and(|it| UNWATCHED.contains(&it))
                && !name.ends_with('~')
                && !name.ends_with(".swp")
                && !name.starts_with(".#")
        })
        .map(Path::to_path_buf)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use notify::event::{AccessKind, CreateKind, ModifyKind};

    fn event(kind: EventKind, paths: &[&str]) -> notify::Event {
        notify::Event {
            kind,
            paths: paths.iter().map(PathBuf::from).collect(),
            attrs: Default::default(),
        }
    }

    #[test]
    fn saves_count_and_build_output_git_and_editor_files_do_not() {
        let root = Path::new("/r");
        let modify = EventKind::Modify(ModifyKind::Any);
        assert_eq!(
            relevant_paths(
                &event(
                    modify,
                    &[
                        "/r/crates/a/src/lib.rs",
                        "/r/target/x",
                        "/r/.git/index",
                        "/r/tests/src/a.rs~",
                        "/r/x/.a.rs.swp"
                    ]
                ),
                root
            ),
            [PathBuf::from("crates/a/src/lib.rs")]
        );
        assert_eq!(
            relevant_paths(
                &event(
                    EventKind::Create(CreateKind::File),
                    &["/r/modules/bank/src/new.rs"]
                ),
                root
            ),
            [PathBuf::from("modules/bank/src/new.rs")]
        );
        assert!(
            relevant_paths(
                &event(EventKind::Access(AccessKind::Any), &["/r/README.md"]),
                root
            )
            .is_empty()
        );
    }

    #[test]
    fn a_burst_of_saves_is_one_round_after_the_quiet_period() {
        let (sender, events) = mpsc::channel();
        let root = Path::new("/r");
        for file in ["/r/a.rs", "/r/b.rs", "/r/a.rs"] {
            sender
                .send(Ok(event(EventKind::Modify(ModifyKind::Any), &[file])))
                .unwrap();
        }
        let changed = wait_for_changes(&events, root).unwrap();
        assert_eq!(
            changed,
            BTreeSet::from([PathBuf::from("a.rs"), PathBuf::from("b.rs")])
        );
    }
}
