//! Bounds on what clients can make the server hold: identities created per client address,
//! bytes of request bodies in memory over all requests, and lines of server log written for
//! other identities' failures.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use keel_api::http::ErrorKind;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::api_error::AppError;

/// A token bucket per client address for new identities: a burst of `per_minute`, refilled
/// evenly over a minute.
pub(crate) struct IdentityRate {
    per_minute: u32,
    buckets: Mutex<HashMap<IpAddr, Bucket>>,
}

struct Bucket {
    tokens: f64,
    updated: Instant,
}

/// Past this many tracked addresses, full buckets (addresses idle for a minute) are dropped.
const MAX_TRACKED_ADDRESSES: usize = 10_000;

impl IdentityRate {
    pub(crate) fn new(per_minute: u32) -> IdentityRate {
        IdentityRate {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one identity from `address`'s bucket, or says why not.
    pub(crate) fn take(&self, address: IpAddr) -> Result<(), AppError> {
        let capacity = f64::from(self.per_minute);
        let per_second = capacity / 60.0;
        let now = Instant::now();
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if buckets.len() > MAX_TRACKED_ADDRESSES {
            buckets.retain(|_, bucket| {
                bucket.tokens + now.duration_since(bucket.updated).as_secs_f64() * per_second
                    < capacity
            });
        }
        let bucket = buckets.entry(address).or_insert(Bucket {
            tokens: capacity,
            updated: now,
        });
        bucket.tokens = (bucket.tokens
            + now.duration_since(bucket.updated).as_secs_f64() * per_second)
            .min(capacity);
        bucket.updated = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        Err(AppError::new(
            ErrorKind::TooManyRequests,
            format!(
                "this address created its {} identities of the last minute",
                self.per_minute
            ),
        )
        .with_hint("reuse an identity, or try again in a few seconds (the limit is keel-standalone's --max-new-identities-per-minute)"))
    }
}

/// Memory for request bodies, shared by every request: a body is read only once its size is
/// granted, so uploads together never hold more than the budget.
#[derive(Clone)]
pub(crate) struct BodyBudget {
    kib: Arc<Semaphore>,
    total_kib: u32,
}

impl BodyBudget {
    pub(crate) fn new(bytes: usize) -> BodyBudget {
        let total_kib = u32::try_from(bytes >> 10).unwrap_or(u32::MAX).max(1);
        BodyBudget {
            kib: Arc::new(Semaphore::new(total_kib as usize)),
            total_kib,
        }
    }

    /// Grants `bytes` of the budget, waiting up to `timeout` for room.
    pub(crate) async fn grant(
        &self,
        bytes: usize,
        timeout: Duration,
    ) -> Result<OwnedSemaphorePermit, AppError> {
        let kib = u32::try_from(bytes.div_ceil(1024))
            .unwrap_or(u32::MAX)
            .clamp(1, self.total_kib);
        match tokio::time::timeout(timeout, self.kib.clone().acquire_many_owned(kib)).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::new(
                ErrorKind::Unavailable,
                "the server is receiving too many request bodies at once",
            )
            .with_hint("try again shortly")),
        }
    }
}

/// Lets at most a few lines a second through; counts the rest, so the next line says how
/// many were left out. For failures of identities other than a database's owner, which go
/// to the server's log instead of the owner's module log.
pub(crate) struct RateLimitedLog {
    lines_per_second: u32,
    window: Mutex<Window>,
}

struct Window {
    started: Instant,
    lines: u32,
    suppressed: u64,
}

impl RateLimitedLog {
    pub(crate) fn new(lines_per_second: u32) -> RateLimitedLog {
        RateLimitedLog {
            lines_per_second,
            window: Mutex::new(Window {
                started: Instant::now(),
                lines: 0,
                suppressed: 0,
            }),
        }
    }

    /// `Some(lines left out since the last one)` when a line may be written now.
    pub(crate) fn admit(&self) -> Option<u64> {
        let mut window = self
            .window
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if window.started.elapsed() >= Duration::from_secs(1) {
            window.started = Instant::now();
            window.lines = 0;
        }
        if window.lines < self.lines_per_second {
            window.lines += 1;
            Some(std::mem::take(&mut window.suppressed))
        } else {
            window.suppressed += 1;
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_buckets_are_per_address() {
        let rate = IdentityRate::new(3);
        let first: IpAddr = "127.0.0.1".parse().unwrap();
        let second: IpAddr = "127.0.0.2".parse().unwrap();
        for _ in 0..3 {
            rate.take(first).unwrap();
        }
        let error = rate.take(first).unwrap_err();
        assert!(
            format!("{error:?}").contains("TooManyRequests"),
            "{error:?}"
        );
        rate.take(second).unwrap();
    }

    #[test]
    fn the_log_admits_a_few_lines_a_second_and_counts_the_rest() {
        let log = RateLimitedLog::new(2);
        assert_eq!(log.admit(), Some(0));
        assert_eq!(log.admit(), Some(0));
        assert_eq!(log.admit(), None);
        assert_eq!(log.admit(), None);
        log.window.lock().unwrap().started -= Duration::from_secs(1);
        assert_eq!(log.admit(), Some(2));
    }
}
