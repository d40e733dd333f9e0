//! Keel's smoketests: one libtest-mimic binary. Each module holds the tests of one area; tests
//! register themselves with `smoketest!`, so there is no list to keep here beyond the modules.

mod basics;

fn main() -> std::process::ExitCode {
    keel_smoketest::runner::main()
}
