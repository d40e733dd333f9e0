//! The test runner: tests register themselves with [`crate::smoketest!`]; [`main`] runs them
//! with libtest-mimic, so the binary works under `cargo test` and `cargo nextest run` with
//! `--list`, filters and `--exact`.
//!
//! Extra entry points, answered before libtest-mimic sees the arguments:
//! - `--keel-metadata` prints every test's [`keel_artifacts::TestMeta`] as a JSON array;
//! - `--keel-bench-overhead N` measures the per-test overhead and prints JSON.
//!
//! Tests skipped where the binary runs are marked ignored when the trials are listed, before any
//! test runs, which both `cargo test` and nextest report as skipped: local-only tests in remote
//! mode, and tests tagged `module_code` (they build a module at run time) where no cargo can be run
//! (a machine that runs an archive). The reason is printed here, given in `--keel-metadata`
//! (`TestMeta::skipped`) and shown in the xtask's summary.

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use keel_artifacts::{BenchOverhead, SKIP_NEEDS_CARGO, TestMeta, TestRecord};
use libtest_mimic::{Arguments, Failed, Trial};

use crate::env;
use crate::journal::Scope;
use crate::smoketest::{Smoketest, stop_process_server};

/// One registered smoketest. Created by [`crate::smoketest!`].
#[derive(Debug)]
pub struct TestCase {
    /// `module_path!()` of the test.
    pub path: &'static str,
    /// Function name.
    pub name: &'static str,
    /// Why the test needs a local server, if it does.
    pub local_only: Option<&'static str>,
    /// Why the test must run alone, if it must.
    pub serial: Option<&'static str>,
    /// `file!()` of the registration.
    pub file: &'static str,
    /// `line!()` of the registration.
    pub line: u32,
    /// Free-form tags.
    pub tags: &'static [&'static str],
    /// The test body.
    pub run: fn() -> crate::TestResult,
}

inventory::collect!(TestCase);

impl TestCase {
    /// The test name as listed: the module path without the crate, then the function.
    pub fn full_name(&self) -> String {
        match self.path.split_once("::") {
            Some((_, module)) => format!("{module}::{}", self.name),
            None => self.name.to_owned(),
        }
    }
}

/// Every registered test, sorted by name.
pub fn registered() -> Vec<&'static TestCase> {
    let mut cases: Vec<&TestCase> = inventory::iter::<TestCase>.into_iter().collect();
    cases.sort_by_key(|case| case.full_name());
    cases
}

/// Entry point of a smoketests binary.
pub fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let environment = Environment::here();
    if args.iter().any(|arg| arg == "--keel-metadata") {
        let metadata: Vec<TestMeta> = registered()
            .into_iter()
            .map(|case| TestMeta {
                name: case.full_name(),
                local_only: case.local_only.map(str::to_owned),
                serial: case.serial.map(str::to_owned),
                file: case.file.to_owned(),
                line: case.line,
                skipped: skip_reason(case, &environment),
            })
            .collect();
        println!(
            "{}",
            serde_json::to_string_pretty(&metadata).expect("metadata serializes")
        );
        return ExitCode::SUCCESS;
    }
    if let Some(position) = args.iter().position(|arg| arg == "--keel-bench-overhead") {
        return match sample_count(args.get(position + 1).map(String::as_str)) {
            Ok(iterations) => bench_overhead(iterations),
            Err(message) => {
                eprintln!("error: {message}");
                ExitCode::FAILURE
            }
        };
    }
    install_interrupt_handler();
    let arguments = Arguments::from_args();
    let cases = registered();
    if !arguments.list {
        for case in &cases {
            if let Some(reason) = skip_reason(case, &environment) {
                eprintln!("skipped: {} ({reason})", case.full_name());
            }
        }
    }
    let trials = cases
        .into_iter()
        .map(|case| {
            let kind = case.tags.first().copied().unwrap_or_default();
            Trial::test(case.full_name(), move || run_case(case))
                .with_kind(kind)
                .with_ignored_flag(skip_reason(case, &environment).is_some())
        })
        .collect();
    let conclusion = libtest_mimic::run(&arguments, trials);
    stop_process_server();
    conclusion.exit_code()
}

/// What decides, before any test runs, which tests this binary skips.
#[derive(Debug, Clone, Copy)]
struct Environment {
    /// Against a remote server: local-only tests are skipped.
    remote: bool,
    /// Whether cargo can be run: without it, tests that build a module at run time are skipped.
    cargo: bool,
}

impl Environment {
    fn here() -> Environment {
        Environment {
            remote: env::is_remote(),
            cargo: env::cargo_available(),
        }
    }
}

impl TestCase {
    /// Whether the test builds a module at run time (tag `module_code`), which needs cargo.
    pub fn needs_cargo(&self) -> bool {
        self.tags.contains(&"module_code")
    }
}

/// Why `case` is skipped in `environment`, if it is.
fn skip_reason(case: &TestCase, environment: &Environment) -> Option<String> {
    match case.local_only {
        Some(reason) if environment.remote => Some(format!("local only: {reason}")),
        _ if case.needs_cargo() && !environment.cargo => Some(SKIP_NEEDS_CARGO.to_owned()),
        _ => None,
    }
}

fn run_case(case: &TestCase) -> Result<(), Failed> {
    let name = case.full_name();
    let scope = Scope::new(&name);
    let _entered = Scope::enter(scope.clone());
    let started = Instant::now();
    let outcome = std::panic::catch_unwind(AssertUnwindSafe(case.run));
    let duration_ms = started.elapsed().as_secs_f64() * 1000.0;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(error)) => Some(error_chain(&error)),
        Err(panic) => Some(format!("panicked: {}", panic_message(&panic))),
    };
    let report = scope.finish(failure.as_deref());
    if let Some(dir) = env::results_dir() {
        let mut usage = scope.usage();
        // `keel build` compiles a module through the CLI, out of the harness's sight.
        usage.module_code |= case.needs_cargo();
        let record = TestRecord {
            name,
            duration_ms,
            failure,
            attempt: env::attempt(),
            usage,
        };
        let _ = record.write(&dir);
    }
    match report {
        None => Ok(()),
        Some(report) => Err(report.into()),
    }
}

/// The error and its causes, one per line (no backtrace: the journal says what happened).
fn error_chain(error: &anyhow::Error) -> String {
    let mut text = error.to_string();
    for cause in error.chain().skip(1) {
        text.push_str(&format!("\n  caused by: {cause}"));
    }
    text
}

fn panic_message(panic: &Box<dyn std::any::Any + Send>) -> String {
    panic
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| {
            panic
                .downcast_ref::<&str>()
                .map(|message| (*message).to_owned())
        })
        .unwrap_or_else(|| "(no message)".to_owned())
}

/// Ctrl-C or SIGTERM: stop every child process group (SIGTERM, [`INTERRUPT_GRACE`], SIGKILL),
/// remove the temp dirs, then exit 130.
fn install_interrupt_handler() {
    let _ = keel_process::install_interrupt_handler(|| {
        keel_process::stop_all(INTERRUPT_GRACE);
        crate::temp::remove_all();
        eprintln!("interrupted: stopped child processes and removed temp dirs");
        std::process::exit(130);
    });
}

/// How long children get to exit after SIGTERM when the test binary is interrupted.
const INTERRUPT_GRACE: Duration = Duration::from_secs(2);

/// The `N` of `--keel-bench-overhead N`: a positive number, no default.
fn sample_count(arg: Option<&str>) -> Result<usize, String> {
    match arg.map(str::parse::<usize>) {
        Some(Ok(count)) if count > 0 => Ok(count),
        _ => Err(format!(
            "--keel-bench-overhead takes the number of samples (a positive integer), got {arg:?}"
        )),
    }
}

/// Measures the per-test overhead: acquire a database and identity, publish the precompiled
/// `counter`, make the first call (then release, timed apart); then one client's sequential
/// reducer calls per second, the start-to-ready time of a fresh server, and the same module
/// built with `module_code()` once, for comparison.
fn bench_overhead(iterations: usize) -> ExitCode {
    install_interrupt_handler();
    let scope = Scope::new("bench::overhead");
    let _entered = Scope::enter(scope.clone());
    let result = (|| -> anyhow::Result<BenchOverhead> {
        let mut samples_ms = Vec::with_capacity(iterations);
        let mut release_ms = Vec::with_capacity(iterations);
        // The first iteration starts the server when none was handed over; it is not a sample.
        drop(Smoketest::builder().precompiled_module("counter").build()?);
        for _ in 0..iterations {
            let started = Instant::now();
            let t = Smoketest::builder().precompiled_module("counter").build()?;
            t.call("increment", serde_json::json!([1]))?;
            samples_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            let released = Instant::now();
            drop(t);
            release_ms.push(released.elapsed().as_secs_f64() * 1000.0);
        }
        // One client, sequential calls: the server's reducer throughput as a test sees it.
        let t = Smoketest::builder().precompiled_module("counter").build()?;
        let n_calls = 2_000;
        let started = Instant::now();
        for _ in 0..n_calls {
            t.client()
                .call(t.db(), "increment", &serde_json::json!([1]))?;
        }
        let calls_per_second = n_calls as f64 / started.elapsed().as_secs_f64();
        drop(t);
        // Start-to-ready of a fresh server process (what a per-test server costs elsewhere).
        let mut server_start_ms = Vec::new();
        for _ in 0..10 {
            let dir = crate::temp::TempDir::new("bench-server")?;
            let started = Instant::now();
            let server = crate::server::LocalServer::start(dir.path(), &[])?;
            server_start_ms.push(started.elapsed().as_secs_f64() * 1000.0);
            drop(server);
        }
        // A comment unique to this run makes cargo compile the module crate itself (its
        // dependencies come from the target dir, as in any module_code() test).
        let counter_source =
            std::fs::read_to_string(env::workspace_root()?.join("modules/counter/src/lib.rs"))?
                + &format!("\n// bench run {}\n", crate::temp::random_suffix());
        let started = Instant::now();
        let t = Smoketest::builder().module_code(&counter_source).build()?;
        t.call("increment", serde_json::json!([1]))?;
        let module_code_ms = started.elapsed().as_secs_f64() * 1000.0;
        drop(t);
        Ok(BenchOverhead {
            iterations,
            samples_ms,
            release_ms,
            module_code_ms: vec![module_code_ms],
            server_start_ms,
            calls_per_second,
            shared_target_dir: env::use_shared_target_dir(),
        })
    })();
    stop_process_server();
    let failure = result.as_ref().err().map(|error| format!("{error:?}"));
    let _ = scope.finish(failure.as_deref());
    match result {
        Ok(overhead) => {
            println!(
                "{}",
                serde_json::to_string(&overhead).expect("the overhead serializes")
            );
            ExitCode::SUCCESS
        }
        Err(error) => {
            eprintln!("error: bench failed: {error:?}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(local_only: Option<&'static str>, tags: &'static [&'static str]) -> TestCase {
        TestCase {
            path: "smoketests::area",
            name: "a_test",
            local_only,
            serial: None,
            file: "tests/src/area.rs",
            line: 1,
            tags,
            run: || Ok(()),
        }
    }

    #[test]
    fn skips_are_decided_from_the_environment_before_running() {
        let everywhere = Environment {
            remote: false,
            cargo: true,
        };
        let no_cargo = Environment {
            remote: false,
            cargo: false,
        };
        let remote = Environment {
            remote: true,
            cargo: true,
        };
        let module_code = case(None, &["module_code"]);
        assert_eq!(skip_reason(&module_code, &everywhere), None);
        assert_eq!(
            skip_reason(&module_code, &no_cargo).as_deref(),
            Some("needs cargo: builds a module at run time")
        );
        let restart = case(Some("restarts the server"), &["restart"]);
        assert_eq!(skip_reason(&restart, &no_cargo), None);
        assert_eq!(
            skip_reason(&restart, &remote).as_deref(),
            Some("local only: restarts the server")
        );
    }

    #[test]
    fn the_sample_count_is_a_positive_number_without_default() {
        assert_eq!(sample_count(Some("20")), Ok(20));
        for bad in [None, Some(""), Some("many"), Some("0"), Some("-3")] {
            let message = sample_count(bad).unwrap_err();
            assert!(message.contains("number of samples"), "{message}");
        }
    }
}
