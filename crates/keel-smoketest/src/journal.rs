//! The scope of one test: its journal of calls and commands, the server logs to show when it
//! fails, and its temp dir. The runner opens a scope per test; a failing test's report is
//! built from it.

use std::cell::RefCell;
use std::fmt::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use keel_artifacts::TestUsage;

use crate::errors::SmoketestError;
use crate::temp::TempDir;

/// How many server log lines a failure report shows.
const LOG_TAIL_LINES: usize = 30;

thread_local! {
    static CURRENT: RefCell<Option<Arc<Scope>>> = const { RefCell::new(None) };
}

/// One test's scope.
pub(crate) struct Scope {
    name: String,
    started: Instant,
    journal: Mutex<Vec<String>>,
    logs: Mutex<Vec<LogSource>>,
    databases: Mutex<Vec<String>>,
    temp: Mutex<Option<TempDir>>,
    usage: Mutex<TestUsage>,
}

/// A server log to show on failure; a shared server's log is filtered to this test's databases.
struct LogSource {
    path: PathBuf,
    shared: bool,
}

impl Scope {
    pub(crate) fn new(name: &str) -> Arc<Scope> {
        Arc::new(Scope {
            name: name.to_owned(),
            started: Instant::now(),
            journal: Mutex::new(Vec::new()),
            logs: Mutex::new(Vec::new()),
            databases: Mutex::new(Vec::new()),
            temp: Mutex::new(None),
            usage: Mutex::new(TestUsage::default()),
        })
    }

    /// Makes `scope` the current one on this thread for the lifetime of the guard.
    pub(crate) fn enter(scope: Arc<Scope>) -> ScopeGuard {
        CURRENT.with(|current| *current.borrow_mut() = Some(scope));
        ScopeGuard
    }

    /// The scope of the running test, or a fresh one outside the runner.
    pub(crate) fn current() -> Arc<Scope> {
        CURRENT
            .with(|current| current.borrow().clone())
            .unwrap_or_else(|| Scope::new("smoketest"))
    }

    pub(crate) fn name(&self) -> &str {
        &self.name
    }

    /// Appends an entry to the journal.
    pub(crate) fn record(&self, entry: impl Into<String>) {
        let elapsed = self.started.elapsed().as_secs_f64() * 1000.0;
        lock(&self.journal).push(format!("[{elapsed:8.1} ms] {}", entry.into()));
    }

    /// Shows `path` in the failure report; `shared` logs are filtered to this test's databases.
    pub(crate) fn watch_log(&self, path: PathBuf, shared: bool) {
        let mut logs = lock(&self.logs);
        if !logs.iter().any(|source| source.path == path) {
            logs.push(LogSource { path, shared });
        }
    }

    /// Remembers a database of this test, to pick its lines out of shared server logs.
    pub(crate) fn note_database(&self, name: &str) {
        lock(&self.databases).push(name.to_owned());
    }

    /// Notes that the test loaded precompiled module `name`.
    pub(crate) fn note_module(&self, name: &str) {
        lock(&self.usage).modules.insert(name.to_owned());
    }

    /// Notes that the test used binary `name` ([`TestUsage::SERVER`], [`TestUsage::CLI`]).
    pub(crate) fn note_binary(&self, name: &str) {
        lock(&self.usage).binaries.insert(name.to_owned());
    }

    /// Notes that the test built a module at run time.
    pub(crate) fn note_module_code(&self) {
        lock(&self.usage).module_code = true;
    }

    /// What the test used so far.
    pub(crate) fn usage(&self) -> TestUsage {
        lock(&self.usage).clone()
    }

    /// The test's temp dir, created on first use.
    pub(crate) fn temp_dir(&self) -> Result<PathBuf, SmoketestError> {
        let mut temp = lock(&self.temp);
        if temp.is_none() {
            *temp = Some(TempDir::new(&keel_api::DatabaseName::sanitize_prefix(
                &self.name, 40,
            ))?);
        }
        Ok(temp.as_ref().expect("created above").path().to_owned())
    }

    /// Ends the scope: removes the temp dir after a pass, keeps it after a failure and returns
    /// the failure report.
    pub(crate) fn finish(&self, failure: Option<&str>) -> Option<String> {
        let Some(message) = failure else {
            lock(&self.temp).take();
            return None;
        };
        let mut report = String::new();
        let _ = writeln!(report, "{message}");
        let journal = lock(&self.journal);
        let _ = writeln!(report, "\n--- what the test did ({} steps)", journal.len());
        for entry in journal.iter() {
            let _ = writeln!(report, "{entry}");
        }
        for source in lock(&self.logs).iter() {
            let tail = log_tail(source, &lock(&self.databases));
            let _ = writeln!(
                report,
                "\n--- server log {} ({}last {} lines)",
                source.path.display(),
                if source.shared {
                    "lines naming this test's databases, "
                } else {
                    ""
                },
                tail.len()
            );
            for line in tail {
                let _ = writeln!(report, "{line}");
            }
        }
        if let Some(mut temp) = lock(&self.temp).take() {
            let kept =
                temp.keep_as_failed(&keel_api::DatabaseName::sanitize_prefix(&self.name, 80));
            let _ = writeln!(report, "\n--- kept temp dir: {}", kept.display());
        }
        Some(report)
    }
}

/// Clears the current scope when dropped.
pub(crate) struct ScopeGuard;

impl Drop for ScopeGuard {
    fn drop(&mut self) {
        CURRENT.with(|current| current.borrow_mut().take());
    }
}

fn log_tail(source: &LogSource, databases: &[String]) -> Vec<String> {
    let Ok(text) = std::fs::read_to_string(&source.path) else {
        return vec!["(log unreadable)".to_owned()];
    };
    let all: Vec<&str> = text.lines().collect();
    let mut lines: Vec<&str> = all
        .iter()
        .copied()
        .filter(|line| {
            !source.shared
                || databases
                    .iter()
                    .any(|database| line.contains(database.as_str()))
        })
        .collect();
    if lines.is_empty() && !all.is_empty() {
        // Nothing names the test's databases: the server's last words may still explain.
        lines = all[all.len().saturating_sub(10)..].to_vec();
        lines.insert(
            0,
            "(no line names this test's databases; the last lines of the log:)",
        );
    }
    lines[lines.len().saturating_sub(LOG_TAIL_LINES)..]
        .iter()
        .map(|line| (*line).to_owned())
        .collect()
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_passing_scope_removes_its_temp_dir() {
        let scope = Scope::new("journal::passing");
        let dir = scope.temp_dir().unwrap();
        assert!(dir.is_dir());
        assert_eq!(scope.finish(None), None);
        assert!(!dir.exists());
    }

    #[test]
    fn a_failing_scope_reports_its_journal_logs_and_kept_dir() {
        let scope = Scope::new("journal::failing");
        let dir = scope.temp_dir().unwrap();
        let log = dir.join("server.log");
        std::fs::write(&log, "line about journal-db-1\nline about another-db\n").unwrap();
        scope.watch_log(log, true);
        scope.note_database("journal-db-1");
        scope.record("call increment [1] -> error: boom");
        let report = scope.finish(Some("assertion failed")).unwrap();
        assert!(report.starts_with("assertion failed"), "{report}");
        assert!(
            report.contains("call increment [1] -> error: boom"),
            "{report}"
        );
        assert!(report.contains("line about journal-db-1"), "{report}");
        assert!(
            !report.contains("another-db"),
            "shared logs are filtered to the test's databases: {report}"
        );
        let kept = report
            .lines()
            .find_map(|line| line.strip_prefix("--- kept temp dir: "))
            .unwrap();
        assert!(
            std::path::Path::new(kept).join("server.log").is_file(),
            "{report}"
        );
        std::fs::remove_dir_all(kept).unwrap();
    }
}
