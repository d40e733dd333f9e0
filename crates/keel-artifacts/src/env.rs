//! The environment variables between the xtask, the harness and whoever runs them: one set of
//! names, so a typo is a compile error and not a variable nobody reads.

/// Remote mode: the URL of a server the run does not control.
pub const REMOTE_SERVER: &str = "KEEL_REMOTE_SERVER";
/// Shared local servers started by the xtask (comma-separated URLs).
pub const SHARED_SERVERS: &str = "KEEL_SMOKETEST_SERVERS";
/// The log files of [`SHARED_SERVERS`], same order, comma-separated.
pub const SHARED_SERVER_LOGS: &str = "KEEL_SMOKETEST_SERVER_LOGS";
/// The cross-process database pool of the shared servers.
pub const POOL_DIR: &str = "KEEL_SMOKETEST_POOL_DIR";
/// Where each test writes its result record.
pub const RESULTS_DIR: &str = "KEEL_SMOKETEST_RESULTS_DIR";
/// Every test gets a fresh server process (the peer baseline of the benchmark).
pub const FRESH_SERVER: &str = "KEEL_SMOKETEST_FRESH_SERVER";
/// Shared (`true`, default) or isolated (`false`) target dir for `module_code()` builds.
pub const USE_SHARED_TARGET_DIR: &str = "USE_SHARED_TARGET_DIR";
/// The workspace root, when it cannot be found from the current directory or executable.
pub const WORKSPACE_ROOT: &str = "KEEL_WORKSPACE_ROOT";
/// The attempt number the xtask gives a test under the `cargo test` fallback (nextest sets
/// `NEXTEST_ATTEMPT`, which the harness reads first).
pub const ATTEMPT: &str = "KEEL_SMOKETEST_ATTEMPT";
/// nextest's attempt number of the running test, from 1.
pub const NEXTEST_ATTEMPT: &str = "NEXTEST_ATTEMPT";
/// Overrides the `keel-standalone` binary the manifest names.
pub const STANDALONE_BIN: &str = "KEEL_STANDALONE_BIN";
/// Overrides the `keel` binary the manifest names.
pub const CLI_BIN: &str = "KEEL_CLI_BIN";

/// Where a coverage-instrumented binary writes its profile (LLVM's own variable): `cargo xtask
/// coverage-map` sets it for each test process, and the servers and CLI runs it starts inherit it.
pub const LLVM_PROFILE_FILE: &str = "LLVM_PROFILE_FILE";

/// Set (to `1`) by `cargo xtask coverage-map` on its instrumented cargo build, whose
/// `RUSTC_WORKSPACE_WRAPPER` is the xtask itself: the xtask then acts as that wrapper.
pub const COVERAGE_RUSTC_WRAPPER: &str = "KEEL_COVERAGE_RUSTC_WRAPPER";

/// The variables that name a run's servers; the xtask clears them before it sets its own.
pub const SERVER_VARIABLES: &[&str] =
    &[REMOTE_SERVER, SHARED_SERVERS, SHARED_SERVER_LOGS, POOL_DIR];
