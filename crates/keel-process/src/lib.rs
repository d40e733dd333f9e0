//! Child processes, written once for the xtask, the harness and the server's tests.
//!
//! - [`GroupChild`]: a child leading its own process group, sent SIGTERM if this process dies
//!   (Linux `PR_SET_PDEATHSIG`), stopped with SIGTERM, a grace period and SIGKILL while the group
//!   still exists, and always reaped; a failed wait is an error, never a made-up success.
//! - [`install_interrupt_handler`]: Ctrl-C/SIGTERM reaches every live group (SIGTERM, a second
//!   Ctrl-C SIGKILL); [`was_interrupted`] tells the waiting code why its child ended.
//! - [`ServerCommand`]: start `keel-standalone` and read its [`keel_api::ReadyEvent`].
//! - [`strip_cargo_run_variables`]: the one list of variables a nested cargo must not inherit.
//!
//! ```no_run
//! use std::process::Command;
//! use keel_process::{GroupChild, ServerCommand};
//!
//! let mut command = Command::new("sleep");
//! command.arg("60");
//! let mut child = GroupChild::spawn(command, "sleep")?;
//! child.stop(keel_process::STOP_GRACE)?;
//!
//! let server = ServerCommand::new("target/release/keel-standalone", "/tmp/data").start()?;
//! println!("{}", server.url());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]

mod cargo_env;
mod errors;
mod group;
mod interrupt;
mod server;
#[cfg(test)]
mod tests;

pub use cargo_env::{
    LINT_WRAPPER_VARIABLES, is_cargo_run_variable, profile_override_variables,
    strip_cargo_run_variables, strip_lint_wrapper, strip_profile_overrides,
};
pub use errors::{InterruptHandlerError, ServerStartError, SpawnError, WaitError};
pub use group::{GroupChild, STOP_GRACE};
pub use interrupt::{install_interrupt_handler, stop_all, was_interrupted};
pub use server::{READY_TIMEOUT, ServerCommand, ServerProcess, StartingServer, log_tail};
