//! When SQL and reducers must stop: a per-database deadline and a server-wide stop flag.
//!
//! SQLite's progress handler, the host's `sql` function and the fuel slices of a reducer call
//! all ask [`Deadline::passed`], so one limit holds inside a statement, across statements and
//! in plain wasm code alike.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The point in time after which the current statement or call is stopped.
#[derive(Debug, Clone)]
pub(crate) struct Deadline {
    base: Instant,
    /// Nanoseconds after `base`; 0 means no deadline.
    nanos: Arc<AtomicU64>,
    /// Set when the server shuts down: everything stops at once.
    stop: StopFlag,
}

/// Set once, when everything running should stop (the server is shutting down).
#[derive(Debug, Clone, Default)]
pub(crate) struct StopFlag(Arc<AtomicBool>);

impl StopFlag {
    pub(crate) fn raise(&self) {
        self.0.store(true, Ordering::Relaxed);
    }

    pub(crate) fn is_raised(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }
}

impl Deadline {
    pub(crate) fn new(stop: StopFlag) -> Deadline {
        Deadline {
            base: Instant::now(),
            nanos: Arc::new(AtomicU64::new(0)),
            stop,
        }
    }

    /// Starts the clock: work stops `limit` from now.
    pub(crate) fn set(&self, limit: Duration) {
        let nanos = (self.base.elapsed() + limit).as_nanos() as u64;
        self.nanos.store(nanos.max(1), Ordering::Relaxed);
    }

    pub(crate) fn clear(&self) {
        self.nanos.store(0, Ordering::Relaxed);
    }

    /// Whether the work in progress must stop now.
    pub(crate) fn passed(&self) -> bool {
        if self.stop.is_raised() {
            return true;
        }
        let nanos = self.nanos.load(Ordering::Relaxed);
        nanos != 0 && self.base.elapsed().as_nanos() as u64 > nanos
    }

    /// Whether the server is shutting down (rather than the time limit having passed).
    pub(crate) fn stopping(&self) -> bool {
        self.stop.is_raised()
    }
}
