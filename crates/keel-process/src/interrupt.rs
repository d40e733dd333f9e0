//! The registry of live process groups and the Ctrl-C/SIGTERM handler that signals them.
//!
//! A group is registered from its spawn until just before its leader is reaped, and both happen
//! under the registry lock; so the handler only ever signals a group whose leader is alive or a
//! zombie of ours, never an id the system may have handed to somebody else.

use std::sync::Mutex;
use std::sync::MutexGuard;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use crate::errors::InterruptHandlerError;

/// Process group ids of live children (each child leads its own group, so pgid = its pid).
static GROUPS: Mutex<Vec<i32>> = Mutex::new(Vec::new());
/// Interrupts received so far.
static INTERRUPTS: AtomicU32 = AtomicU32::new(0);

/// Installs the Ctrl-C/SIGTERM handler for this process.
///
/// The first signal sends SIGTERM to every live group, then calls `on_interrupt` (on the
/// handler's thread); a second signal sends SIGKILL to every group still registered.
/// Code waiting on a child then returns, its guards run, and nothing outlives the process.
pub fn install_interrupt_handler(
    on_interrupt: impl Fn() + Send + 'static,
) -> Result<(), InterruptHandlerError> {
    ctrlc::set_handler(move || {
        if INTERRUPTS.fetch_add(1, Ordering::SeqCst) == 0 {
            signal_all(libc::SIGTERM);
            on_interrupt();
        } else {
            signal_all(libc::SIGKILL);
        }
    })
    .map_err(InterruptHandlerError)
}

/// Whether Ctrl-C or SIGTERM reached this process (after [`install_interrupt_handler`]).
pub fn was_interrupted() -> bool {
    INTERRUPTS.load(Ordering::SeqCst) > 0
}

/// Stops every live group: SIGTERM, up to `grace` for their leaders to exit, then SIGKILL.
///
/// For a process about to exit (an interrupted test binary); the leaders are left to the
/// owners of their handles, or to the system, to reap.
pub fn stop_all(grace: Duration) {
    signal_all(libc::SIGTERM);
    let deadline = Instant::now() + grace;
    while Instant::now() < deadline && !lock().iter().all(|pgid| leader_has_exited(*pgid)) {
        std::thread::sleep(Duration::from_millis(10));
    }
    signal_all(libc::SIGKILL);
}

/// Registers a new group and runs `spawn` under the registry lock, so an interrupt either
/// happened before (and `spawn` is not run) or signals the new group too.
pub(crate) fn register_while<T>(
    spawn: impl FnOnce() -> std::io::Result<(T, i32)>,
) -> Option<std::io::Result<T>> {
    let mut groups = lock();
    if was_interrupted() {
        return None;
    }
    Some(spawn().map(|(value, pgid)| {
        groups.push(pgid);
        value
    }))
}

/// Sends `signal` to the group and unregisters it; the caller reaps the leader afterwards.
pub(crate) fn signal_and_unregister(pgid: i32, signal: i32) {
    let mut groups = lock();
    signal_group(pgid, signal);
    groups.retain(|it| *it != pgid);
}

/// Sends `signal` to one registered group.
pub(crate) fn signal_registered(pgid: i32, signal: i32) {
    let groups = lock();
    if groups.contains(&pgid) {
        signal_group(pgid, signal);
    }
}

fn signal_all(signal: i32) {
    for pgid in lock().iter() {
        signal_group(*pgid, signal);
    }
}

fn signal_group(pgid: i32, signal: i32) {
    // SAFETY: kill(2) with a negative pid signals a process group; it has no memory-safety preconditions.
    unsafe {
        libc::kill(-pgid, signal);
    }
}

/// Whether child `pid` has exited, without reaping it.
fn leader_has_exited(pid: i32) -> bool {
    // SAFETY: waitid writes only the siginfo_t passed to it; WNOWAIT leaves the child waitable.
    unsafe {
        let mut info: libc::siginfo_t = std::mem::zeroed();
        let rc = libc::waitid(
            libc::P_PID,
            pid as libc::id_t,
            &mut info,
            libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
        );
        rc != 0 || info.si_pid() != 0
    }
}

fn lock() -> MutexGuard<'static, Vec<i32>> {
    GROUPS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}
