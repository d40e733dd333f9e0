//! Running the suite where no cargo can be run: a checkout that holds an extracted archive.
//!
//! The runner still speaks in cargo command lines (`runner` builds them); here each one becomes the
//! program that does the same work without cargo. `cargo nextest run ARGS` becomes
//! `cargo-nextest nextest run ARGS` over the archived nextest metadata (`target/nextest/*.json`),
//! remapped to this checkout; `cargo test -p smoketests ... -- ARGS` becomes the archived smoketests
//! binary with `ARGS` (it finds the workspace root from the current directory, as under cargo).

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use keel_artifacts::Manifest;
use xshell::{Cmd, Shell, cmd};

use crate::{cargo, process};

/// nextest's metadata in an archive, relative to the workspace root.
const BINARIES_METADATA: &str = "target/nextest/binaries-metadata.json";
const CARGO_METADATA: &str = "target/nextest/cargo-metadata.json";

/// Whether cargo can be run: `$CARGO` when it names an existing file, else `cargo` on `PATH`.
pub(crate) fn cargo_available() -> bool {
    let cargo = cargo();
    if cargo.components().count() > 1 {
        return cargo.is_file();
    }
    which::which(&cargo).is_ok()
}

/// Whether `cargo-nextest` can run the archived smoketests here without cargo.
pub(crate) fn nextest_available(sh: &Shell, root: &Path) -> bool {
    root.join(BINARIES_METADATA).is_file()
        && root.join(CARGO_METADATA).is_file()
        && process::read(
            cmd!(sh, "cargo-nextest nextest --version")
                .quiet()
                .ignore_stderr(),
        )
        .is_ok()
}

/// The command that runs `cargo ARGS`: cargo itself when it is there, else its equivalent.
pub(crate) fn command<'a>(sh: &'a Shell, root: &Path, args: &[String]) -> anyhow::Result<Cmd<'a>> {
    if cargo_available() {
        let cargo = cargo();
        return Ok(cmd!(sh, "{cargo} {args...}"));
    }
    let (program, args) = translate(root, args, &test_binary(root)?)?;
    Ok(cmd!(sh, "{program} {args...}"))
}

/// The program and arguments doing what `cargo ARGS` would, with the archived artifacts.
fn translate(
    root: &Path,
    args: &[String],
    test_binary: &Path,
) -> anyhow::Result<(PathBuf, Vec<String>)> {
    match args.first().map(String::as_str) {
        Some("nextest") => {
            let mut translated: Vec<String> = args[1..2.min(args.len())].to_vec();
            let path = |relative: &str| root.join(relative).display().to_string();
            translated.extend([
                "--binaries-metadata".to_owned(),
                path(BINARIES_METADATA),
                "--cargo-metadata".to_owned(),
                path(CARGO_METADATA),
                "--workspace-remap".to_owned(),
                root.display().to_string(),
                "--target-dir-remap".to_owned(),
                path("target"),
            ]);
            // The metadata names the binaries: nextest refuses package selection beside it.
            let mut rest = args.iter().skip(2);
            while let Some(arg) = rest.next() {
                match arg.as_str() {
                    "-p" | "--package" => {
                        rest.next();
                    }
                    // The archived binaries are already built, in the profile they name.
                    "--workspace" | "--release" => {}
                    "--cargo-profile" => {
                        rest.next();
                    }
                    _ if arg.starts_with("--cargo-profile=") => {}
                    _ => translated.push(arg.clone()),
                }
            }
            let mut full = vec!["nextest".to_owned()];
            full.extend(translated);
            Ok((PathBuf::from("cargo-nextest"), full))
        }
        Some("test") => {
            let binary_args = match args.iter().position(|it| it == "--") {
                Some(position) => args[position + 1..].to_vec(),
                None => Vec::new(),
            };
            Ok((test_binary.to_path_buf(), binary_args))
        }
        _ => bail!(
            "cannot run `cargo {}` without cargo; install Rust or run from an archive's runner",
            args.join(" ")
        ),
    }
}

fn test_binary(root: &Path) -> anyhow::Result<PathBuf> {
    let manifest = Manifest::load(root).context("read the artifact manifest")?;
    super::fresh_binary(root, &manifest, "smoketests")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn owned(items: &[&str]) -> Vec<String> {
        items.iter().map(|it| (*it).to_owned()).collect()
    }

    #[test]
    fn nextest_runs_over_the_archived_metadata() {
        let (program, args) = translate(
            Path::new("/checkout"),
            &owned(&[
                "nextest",
                "run",
                "-p",
                "smoketests",
                "--profile",
                "ci",
                "sql::",
            ]),
            Path::new("/checkout/target/debug/deps/smoketests-abc"),
        )
        .unwrap();
        assert_eq!(program, PathBuf::from("cargo-nextest"));
        assert_eq!(
            args,
            owned(&[
                "nextest",
                "run",
                "--binaries-metadata",
                "/checkout/target/nextest/binaries-metadata.json",
                "--cargo-metadata",
                "/checkout/target/nextest/cargo-metadata.json",
                "--workspace-remap",
                "/checkout",
                "--target-dir-remap",
                "/checkout/target",
                "--profile",
                "ci",
                "sql::"
            ])
        );
    }

    #[test]
    fn cargo_test_runs_the_binary_with_the_words_after_the_separator() {
        let binary = Path::new("/checkout/target/debug/deps/smoketests-abc");
        let (program, args) = translate(
            Path::new("/checkout"),
            &owned(&[
                "test",
                "-p",
                "smoketests",
                "--no-fail-fast",
                "--",
                "sql::",
                "--test-threads",
                "16",
            ]),
            binary,
        )
        .unwrap();
        assert_eq!(program, binary);
        assert_eq!(args, owned(&["sql::", "--test-threads", "16"]));
    }

    #[test]
    fn other_cargo_commands_are_refused() {
        let err = translate(Path::new("/c"), &owned(&["build"]), Path::new("/b")).unwrap_err();
        assert!(err.to_string().contains("without cargo"), "{err}");
    }
}
