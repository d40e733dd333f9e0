//! `wait_until`: the only way a smoketest waits. It polls a condition with a growing backoff
//! until it holds or the timeout passes; there are no bare sleeps in smoketests.

use std::time::{Duration, Instant};

use crate::errors::SmoketestError;

/// Polls `condition` until it returns `Ok(true)`, failing after `timeout`; errors from the
/// condition end the wait at once.
pub fn wait_until<E: Into<anyhow::Error>>(
    what: &str,
    timeout: Duration,
    mut condition: impl FnMut() -> Result<bool, E>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let mut backoff = Duration::from_millis(1);
    loop {
        if condition().map_err(Into::into)? {
            return Ok(());
        }
        if started.elapsed() >= timeout {
            return Err(SmoketestError::Timeout {
                what: what.to_owned(),
                timeout,
            }
            .into());
        }
        std::thread::sleep(backoff.min(timeout.saturating_sub(started.elapsed()))); // wait_until's poll interval
        backoff = (backoff * 2).min(Duration::from_millis(50));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wait_until_returns_once_the_condition_holds() {
        let mut calls = 0;
        wait_until(
            "three calls",
            Duration::from_secs(5),
            || -> anyhow::Result<bool> {
                calls += 1;
                Ok(calls == 3)
            },
        )
        .unwrap();
        assert_eq!(calls, 3);
    }

    #[test]
    fn wait_until_times_out_with_what_it_waited_for() {
        let error = wait_until(
            "never",
            Duration::from_millis(20),
            || -> anyhow::Result<bool> { Ok(false) },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "timed out after 20ms waiting for never");
    }

    #[test]
    fn wait_until_stops_at_the_first_error() {
        let error = wait_until(
            "broken",
            Duration::from_secs(5),
            || -> anyhow::Result<bool> { anyhow::bail!("boom") },
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "boom");
    }
}
