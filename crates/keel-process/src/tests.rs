//! Tests of process groups, stopping, reaping and interrupts, with real children.
//!
//! Scenarios that install a signal handler or must leave a grandchild behind run in a copy of
//! this test binary ([`helper`] does the work there when `KEEL_PROCESS_TEST_HELPER` is set).

use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::{GroupChild, STOP_GRACE, SpawnError};

const HELPER: &str = "KEEL_PROCESS_TEST_HELPER";

fn sleep_command() -> Command {
    let mut command = Command::new("sleep");
    command.arg("60").stdin(Stdio::null());
    command
}

/// `sleep 60` with SIGTERM ignored (the disposition survives exec).
fn sleep_ignoring_term() -> Command {
    let mut command = sleep_command();
    // SAFETY: signal(2) is async-signal-safe.
    unsafe {
        command.pre_exec(|| {
            libc::signal(libc::SIGTERM, libc::SIG_IGN);
            Ok(())
        });
    }
    command
}

fn exists(pid: u32) -> bool {
    // SAFETY: signal 0 only checks for existence.
    unsafe { libc::kill(pid as i32, 0) == 0 }
}

/// Whether `pid` is gone or a zombie (reaped soon by whoever inherited it).
fn is_dead(pid: u32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, rest)| rest.trim_start().starts_with('Z')),
    }
}

/// This test binary, running only [`helper`] in `scenario`.
fn helper_command(scenario: &str) -> Command {
    let mut command = Command::new(std::env::current_exe().unwrap());
    command
        .args(["--exact", "tests::helper", "--nocapture"])
        .args(["--test-threads", "1"])
        .env(HELPER, scenario);
    command
}

fn run_helper(scenario: &str) -> String {
    let output = helper_command(scenario).output().unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(output.status.success(), "{scenario}: {output:?}");
    stdout
}

fn helper_value(stdout: &str, key: &str) -> String {
    stdout
        .lines()
        // libtest prints `test tests::helper ... ` in front of the first line.
        .find_map(|line| line.split_once(&format!("{key}=")).map(|(_, value)| value))
        .unwrap_or_else(|| panic!("no {key}= in {stdout:?}"))
        .to_owned()
}

#[test]
fn handles_can_be_shared_between_threads() {
    fn is_sync<T: Sync + Send>() {}
    is_sync::<GroupChild>();
    is_sync::<crate::ServerProcess>();
}

#[test]
fn a_stopped_child_is_terminated_and_reaped() {
    let mut child = GroupChild::spawn(sleep_command(), "sleep").unwrap();
    let pid = child.id();
    let started = Instant::now();
    let status = child.stop(STOP_GRACE).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM));
    assert!(started.elapsed() < STOP_GRACE, "SIGTERM ends sleep at once");
    assert!(!exists(pid), "process {pid} still exists");
    assert_eq!(
        child.stop(STOP_GRACE).unwrap(),
        status,
        "stopping twice is harmless"
    );
}

#[test]
fn a_child_that_ignores_sigterm_is_killed_after_the_grace() {
    let mut child = GroupChild::spawn(sleep_ignoring_term(), "stubborn sleep").unwrap();
    let started = Instant::now();
    let status = child.stop(Duration::from_millis(300)).unwrap();
    assert_eq!(status.signal(), Some(libc::SIGKILL));
    assert!(started.elapsed() >= Duration::from_millis(300));
}

#[test]
fn a_child_that_exits_on_its_own_is_waited_for() {
    let mut command = Command::new("true");
    command.stdin(Stdio::null());
    let mut child = GroupChild::spawn(command, "true").unwrap();
    assert!(child.wait().unwrap().success());
    assert!(child.try_wait().unwrap().unwrap().success());
    let mut command = Command::new("false");
    command.stdin(Stdio::null());
    assert_eq!(
        GroupChild::spawn(command, "false")
            .unwrap()
            .wait()
            .unwrap()
            .code(),
        Some(1)
    );
}

#[test]
fn wait_timeout_returns_none_while_the_child_runs() {
    let mut child = GroupChild::spawn(sleep_command(), "sleep").unwrap();
    assert_eq!(child.wait_timeout(Duration::from_millis(50)).unwrap(), None);
    assert_eq!(child.try_wait().unwrap(), None);
    assert_eq!(child.kill().unwrap().signal(), Some(libc::SIGKILL));
}

#[test]
fn dropping_the_handle_stops_the_child() {
    let child = GroupChild::spawn(sleep_command(), "sleep").unwrap();
    let pid = child.id();
    drop(child);
    assert!(!exists(pid), "process {pid} still exists");
}

#[test]
fn a_missing_program_is_a_spawn_error() {
    let error = GroupChild::spawn(Command::new("/no/such/program"), "nothing").unwrap_err();
    assert!(matches!(error, SpawnError::Io { .. }), "{error:?}");
    assert_eq!(error.to_string(), "failed to start nothing");
}

#[test]
fn a_child_outlives_the_thread_that_started_it() {
    // The death signal follows the thread that forks; children must die with the process only.
    let mut child = std::thread::spawn(|| GroupChild::spawn(sleep_command(), "sleep").unwrap())
        .join()
        .unwrap();
    assert_eq!(
        child.wait_timeout(Duration::from_millis(300)).unwrap(),
        None
    );
    child.stop(STOP_GRACE).unwrap();
}

#[test]
fn what_the_leader_leaves_in_its_group_is_killed_when_it_exits() {
    let stdout = run_helper("leave-a-grandchild");
    let grandchild: u32 = helper_value(&stdout, "grandchild").parse().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while !is_dead(grandchild) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(
        is_dead(grandchild),
        "grandchild {grandchild} outlived its group's leader"
    );
}

#[test]
fn interrupts_terminate_children_then_kill_them() {
    let stdout = run_helper("interrupt-twice");
    assert_eq!(helper_value(&stdout, "after-first"), "running");
    assert_eq!(helper_value(&stdout, "after-second"), "9");
    assert_eq!(helper_value(&stdout, "interrupted"), "true");
    assert_eq!(helper_value(&stdout, "spawn-after-interrupt"), "refused");
}

/// Does a scenario's work in a copy of this binary; a no-op in the normal run.
#[test]
fn helper() {
    match std::env::var(HELPER).as_deref() {
        Ok("leave-a-grandchild") => {
            // The leader is another copy of this binary, which starts `sleep` (in the leader's
            // group) and exits at once.
            let mut command = helper_command("start-grandchild-and-exit");
            command.stdout(Stdio::piped());
            let mut leader = GroupChild::spawn(command, "leader").unwrap();
            let mut stdout = leader.take_stdout().unwrap();
            let mut text = String::new();
            std::io::Read::read_to_string(&mut stdout, &mut text).unwrap();
            assert!(leader.wait().unwrap().success());
            println!("grandchild={}", helper_value(&text, "grandchild"));
        }
        Ok("start-grandchild-and-exit") => {
            let grandchild = sleep_command().stdout(Stdio::null()).spawn().unwrap();
            println!("grandchild={}", grandchild.id());
            std::process::exit(0);
        }
        Ok("interrupt-twice") => {
            crate::install_interrupt_handler(|| {}).unwrap();
            let mut child = GroupChild::spawn(sleep_ignoring_term(), "stubborn sleep").unwrap();
            // SAFETY: raise(3) sends a signal to this process; the handler runs on its own thread.
            unsafe { libc::raise(libc::SIGINT) };
            let first = child.wait_timeout(Duration::from_millis(500)).unwrap();
            println!(
                "after-first={}",
                if first.is_none() { "running" } else { "exited" }
            );
            // SAFETY: as above.
            unsafe { libc::raise(libc::SIGINT) };
            let status = child.wait().unwrap();
            println!("after-second={}", status.signal().unwrap_or_default());
            println!("interrupted={}", crate::was_interrupted());
            let refused = matches!(
                GroupChild::spawn(sleep_command(), "late"),
                Err(SpawnError::Interrupted { .. })
            );
            println!(
                "spawn-after-interrupt={}",
                if refused { "refused" } else { "started" }
            );
        }
        _ => {}
    }
}
