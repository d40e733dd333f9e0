//! Keel's smoketests: one libtest-mimic binary. Each module holds the tests of one area; tests
//! register themselves with `smoketest!`, so there is no list to keep here beyond the modules.
//! `support` holds the few helpers the areas share (error assertions, temp files).

mod bad_inputs;
mod basics;
mod cli;
mod concurrency;
mod constraints;
mod errors;
mod faults;
mod guard;
mod https;
mod identity;
mod limits;
mod logs;
mod migrations;
mod module_code;
mod openapi;
mod permissions;
mod publish;
mod reducers;
mod remote;
mod rename;
mod restart;
mod runaway;
mod sql;
mod support;
mod types;

fn main() -> std::process::ExitCode {
    keel_smoketest::runner::main()
}
