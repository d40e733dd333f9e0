//! How the automation calls cargo: one profile and one feature set for every build it makes.
//!
//! Warmup's binaries (`keel`, `keel-standalone`), the smoketests binary, the unit tests of
//! `cargo xtask qa` and the xtask itself (the alias in `.cargo/config.toml`) are all release builds,
//! and `keel-workspace-hack` makes every one of these package selections see the same features of
//! each dependency, so a fresh clone compiles each dependency once. [`SELECTIONS`] lists the
//! selections; `cargo xtask tidy` checks that they agree (`tidy::features`).

/// The profile flag of every cargo build and test run the automation starts.
pub(crate) const PROFILE_FLAG: &str = "--release";

/// The package selections the automation builds, as `cargo tree` arguments (package flags and the
/// dependency kinds the build compiles), each with what builds it.
pub(crate) const SELECTIONS: &[(&str, &[&str])] = &[
    ("warmup's binaries", SHIPPED_BINARIES),
    (
        "warmup's CLI alone (remote mode)",
        &["-p", "keel-cli", "-e", "normal,build"],
    ),
    (
        "the smoketests binary",
        &["-p", "smoketests", "-e", "normal,build,dev"],
    ),
    (
        "`cargo xtask`",
        &["-p", "xtask-smoketest", "-e", "normal,build"],
    ),
    (
        "qa's unit tests",
        &[
            "--workspace",
            "--exclude",
            "smoketests",
            "-e",
            "normal,build,dev",
        ],
    ),
];

/// The shipped binaries, `keel` and `keel-standalone`, as `cargo tree` arguments: what users run,
/// so nothing in it may be left unoptimised (`tidy::profiles`).
pub(crate) const SHIPPED_BINARIES: &[&str] = &[
    "-p",
    "keel-cli",
    "-p",
    "keel-standalone",
    "-e",
    "normal,build",
];

/// The selection every other one must agree with: the whole workspace, all targets (qa's build).
pub(crate) const WHOLE_WORKSPACE: &[&str] = &["--workspace", "-e", "normal,build,dev"];
