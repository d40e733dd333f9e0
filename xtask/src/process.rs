//! The xtask's side of child processes: xshell commands run through `keel_process`.
//!
//! Every program the xtask starts goes through here: [`sanitized_command`] turns an xshell command into
//! a [`Command`] without the variables `cargo run` set for the xtask itself (the list lives in
//! `keel_process`), and [`run`], [`read`] and [`run_cargo_json`] start it as a `keel_process::GroupChild`:
//! its own process group, gone with the xtask, stopped and reaped on every path, reached by Ctrl-C.

use std::{
    io::{BufReader, Read},
    path::PathBuf,
    process::{Command, ExitStatus, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, bail};
use cargo_metadata::Message;
use keel_process::GroupChild;
use xshell::Cmd;

use crate::{progress::Progress, project_root};

/// Forwards Ctrl-C and SIGTERM to every child group; a second signal kills them.
pub(crate) fn install_signal_handler() -> anyhow::Result<()> {
    keel_process::install_interrupt_handler(|| {}).context("install the Ctrl-C handler")
}

/// Whether the user interrupted the run (Ctrl-C or SIGTERM reached the xtask).
pub(crate) fn was_interrupted() -> bool {
    keel_process::was_interrupted()
}

/// Fails when the user interrupted the run, so callers stop instead of starting the next step.
pub(crate) fn check_interrupted() -> anyhow::Result<()> {
    if was_interrupted() {
        bail!("interrupted");
    }
    Ok(())
}

/// Turns an xshell command into a [`Command`] without the variables `cargo run` set for the xtask.
pub(crate) fn sanitized_command(cmd: Cmd<'_>) -> Command {
    let mut command = Command::from(cmd);
    keel_process::strip_cargo_run_variables(&mut command, &project_root());
    command
}

/// Runs a command with inherited stdio in its own process group and returns its exit status.
pub(crate) fn run_status(cmd: Cmd<'_>) -> anyhow::Result<ExitStatus> {
    let description = format!("`{cmd}`");
    let mut child = GroupChild::spawn(sanitized_command(cmd), &description)?;
    let status = child.wait()?;
    check_interrupted()?;
    Ok(status)
}

/// Runs a command with inherited stdio and fails unless it succeeds.
pub(crate) fn run(cmd: Cmd<'_>) -> anyhow::Result<()> {
    let description = cmd.to_string();
    let status = run_status(cmd)?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    Ok(())
}

/// Runs a command, captures its stdout (stderr is inherited) and fails unless it succeeds.
pub(crate) fn read(cmd: Cmd<'_>) -> anyhow::Result<String> {
    let description = cmd.to_string();
    let mut command = sanitized_command(cmd);
    command.stdout(Stdio::piped()).stdin(Stdio::null());
    let mut child = GroupChild::spawn(command, &format!("`{description}`"))?;
    let mut stdout = child.take_stdout().expect("stdout is piped");
    let mut output = Vec::new();
    stdout
        .read_to_end(&mut output)
        .with_context(|| format!("read the output of `{description}`"))?;
    let status = child.wait()?;
    check_interrupted()?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    String::from_utf8(output).with_context(|| format!("`{description}` printed invalid UTF-8"))
}

/// What a cargo invocation with `--message-format=json-render-diagnostics` built.
#[derive(Debug, Default)]
pub(crate) struct CargoBuild {
    /// Wall time.
    pub(crate) wall: Duration,
    /// `compiler-artifact` messages with `"fresh": false`.
    pub(crate) crates_compiled: u32,
    /// Test executables of integration-test targets (`[[test]]`), by target name.
    pub(crate) test_executables: Vec<(String, PathBuf)>,
    /// The files of every artifact of a path (workspace) package, build scripts left out: where
    /// their dep-info lies (`dep_info`).
    pub(crate) local_artifacts: Vec<PathBuf>,
}

/// Runs cargo with JSON messages, counting compiled crates and forwarding diagnostics to stderr.
///
/// `cmd` must carry `--message-format=json-render-diagnostics`.
/// On a terminal, cargo's status lines feed the spinner; elsewhere they are printed as they come.
pub(crate) fn run_cargo_json(cmd: Cmd<'_>, progress: &Progress) -> anyhow::Result<CargoBuild> {
    let started = Instant::now();
    let description = cmd.to_string();
    let mut command = sanitized_command(cmd);
    command
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .stdin(Stdio::null());
    let mut child = GroupChild::spawn(command, &format!("`{description}`"))?;
    let stdout = child.take_stdout().expect("stdout is piped");
    let stderr = child.take_stderr().expect("stderr is piped");
    let mut build = CargoBuild::default();
    thread::scope(|scope| {
        scope.spawn(|| {
            use std::io::BufRead;
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                progress.cargo_stderr(&line);
            }
        });
        for message in Message::parse_stream(BufReader::new(stdout)).map_while(Result::ok) {
            record_message(message, &mut build, progress);
        }
    });
    let status = child.wait()?;
    check_interrupted()?;
    if !status.success() {
        bail!("`{description}` failed ({status})");
    }
    build.wall = started.elapsed();
    Ok(build)
}

fn record_message(message: Message, build: &mut CargoBuild, progress: &Progress) {
    let artifact = match message {
        Message::CompilerArtifact(artifact) => artifact,
        Message::TextLine(line) => return progress.println(&line),
        _ => return,
    };
    if !artifact.fresh {
        build.crates_compiled += 1;
        progress.message(&format!("compiled {}", artifact.target.name));
    }
    if artifact.package_id.repr.starts_with("path+") && !artifact.target.is_custom_build() {
        build.local_artifacts.extend(
            artifact
                .filenames
                .iter()
                .map(|it| it.clone().into_std_path_buf()),
        );
    }
    if artifact.target.is_test()
        && let Some(executable) = artifact.executable
    {
        build
            .test_executables
            .push((artifact.target.name, executable.into_std_path_buf()));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_messages_count_compiled_crates_and_find_test_executables() {
        let progress = Progress::start("test");
        let mut build = CargoBuild::default();
        let stream = [
            r#"{"reason":"compiler-artifact","package_id":"path+file:///r/a#0.1.0","manifest_path":"/r/a/Cargo.toml","target":{"kind":["lib"],"crate_types":["lib"],"name":"a","src_path":"/r/a/src/lib.rs","edition":"2024","doc":true,"doctest":true,"test":true},"profile":{"opt_level":"0","debuginfo":0,"debug_assertions":true,"overflow_checks":true,"test":false},"features":[],"filenames":["/r/target/debug/liba.rlib"],"executable":null,"fresh":true}"#,
            r#"{"reason":"compiler-artifact","package_id":"path+file:///r/t#0.1.0","manifest_path":"/r/t/Cargo.toml","target":{"kind":["test"],"crate_types":["bin"],"name":"smoketests","src_path":"/r/t/src/main.rs","edition":"2024","doc":false,"doctest":false,"test":true},"profile":{"opt_level":"0","debuginfo":0,"debug_assertions":true,"overflow_checks":true,"test":true},"features":[],"filenames":["/r/target/debug/deps/smoketests-1"],"executable":"/r/target/debug/deps/smoketests-1","fresh":false}"#,
            r#"{"reason":"build-finished","success":true}"#,
        ]
        .join("\n");
        for message in Message::parse_stream(stream.as_bytes()) {
            record_message(message.unwrap(), &mut build, &progress);
        }
        assert_eq!(build.crates_compiled, 1);
        assert_eq!(
            build.test_executables,
            [(
                "smoketests".to_owned(),
                PathBuf::from("/r/target/debug/deps/smoketests-1")
            )]
        );
    }
}
