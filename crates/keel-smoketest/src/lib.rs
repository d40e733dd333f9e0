//! The harness for Keel smoketests: fast, isolated end-to-end tests against a real server.
//!
//! ```no_run
//! use keel_smoketest::{Smoketest, smoketest};
//! use serde_json::json;
//!
//! smoketest! {
//!     /// Calling `increment` adds to the counter.
//!     fn counter_increments() {
//!         let t = Smoketest::builder().precompiled_module("counter").build()?;
//!         t.call("increment", json!([5]))?;
//!         t.assert_sql("SELECT value FROM counter", "value\n-----\n5")?;
//!         Ok(())
//!     }
//! }
//! ```
//!
//! - [`Smoketest`] is one test's view of the server: its own identity, its own databases (from a
//!   pool, wiped and returned when it ends), its own CLI config.
//! - Servers are acquired in this order: an explicit URL on the builder, `KEEL_REMOTE_SERVER`
//!   (remote mode), the shared servers the xtask started (`KEEL_SMOKETEST_SERVERS`), else a
//!   server this process spawns. Tests that control the process get a private server.
//! - [`smoketest!`] registers a test with its metadata; [`runner::main`] runs them with
//!   libtest-mimic, under `cargo test` and `cargo nextest run` alike.

mod binaries;
mod cli;
mod cli_output;
mod env;
mod errors;
mod journal;
mod module_code;
mod modules;
mod pool;
pub mod runner;
mod server;
mod smoketest;
mod temp;
mod wait;

pub use cli_output::CliOutput;
pub use env::is_remote;
pub use errors::SmoketestError;
pub use smoketest::{Identity, Smoketest, SmoketestBuilder};
pub use wait::wait_until;

#[doc(hidden)]
pub use {anyhow, inventory};

/// Result of a smoketest body.
pub type TestResult = anyhow::Result<()>;

/// Declares and registers a smoketest.
///
/// Attributes, in this order, all optional: doc comments; `#[local_only = "reason"]` for tests
/// that need a local server (reported as skipped, with the reason, in remote mode);
/// `#[serial = "reason"]` for tests that must not share the machine with another test (both
/// runners and every shard run them one at a time); `#[tags("a", "b")]`.
/// The body returns [`TestResult`]. The registration records its `file!()` and `line!()`.
#[macro_export]
macro_rules! smoketest {
    (
        $(#[doc = $doc:literal])*
        $(#[local_only = $reason:literal])?
        $(#[serial = $serial:literal])?
        $(#[tags($($tag:literal),* $(,)?)])?
        fn $name:ident() $body:block
    ) => {
        $(#[doc = $doc])*
        fn $name() -> $crate::TestResult $body

        $crate::inventory::submit! {
            $crate::runner::TestCase {
                path: module_path!(),
                name: stringify!($name),
                local_only: $crate::__local_only!($($reason)?),
                serial: $crate::__local_only!($($serial)?),
                file: file!(),
                line: line!(),
                tags: &[$($($tag),*)?],
                run: $name,
            }
        }
    };
}

/// `Some(reason)` for an optional attribute that was given, else `None`.
#[doc(hidden)]
#[macro_export]
macro_rules! __local_only {
    () => {
        None
    };
    ($reason:literal) => {
        Some($reason)
    };
}
