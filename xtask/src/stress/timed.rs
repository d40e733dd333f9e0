//! [`timed`]: one request, its duration and a short description of its answer.

use std::time::{Duration, Instant};

use keel_client::ClientError;

/// A timed request: how long it took and what it answered.
#[derive(Debug)]
pub(crate) struct Timed {
    /// Wall time of the request.
    pub(crate) elapsed: Duration,
    /// No answer within the bound: the request was given up, so the true duration is longer.
    pub(crate) cut_off: bool,
    /// `200`, `400 (message)` or `nothing (why)`.
    pub(crate) answer: String,
}

/// Runs `request`, which gives up after `bound` (the client's timeout), and times it.
pub(crate) fn timed<T>(bound: Duration, request: impl FnOnce() -> Result<T, ClientError>) -> Timed {
    let started = Instant::now();
    let result = request();
    let elapsed = started.elapsed();
    let answer = match &result {
        Ok(_) => "200".to_owned(),
        Err(err) => match (err.status(), err.api_error()) {
            (Some(status), Some(body)) => format!("{status} ({})", first_line(&body.error)),
            (Some(status), None) => status.to_string(),
            (None, _) => format!("nothing ({})", first_line(&format!("{err:#}"))),
        },
    };
    let status = result.as_ref().err().and_then(ClientError::status);
    let cut_off =
        result.is_err() && status.is_none() && elapsed + Duration::from_millis(100) >= bound;
    Timed {
        elapsed,
        cut_off,
        answer,
    }
}

/// The first line of `text`, cut to 100 characters.
pub(crate) fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    match line.char_indices().nth(100) {
        Some((cut, _)) => format!("{}...", &line[..cut]),
        None => line.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_answers_are_cut_to_one_short_line() {
        assert_eq!(first_line("too big\nsecond"), "too big");
        let long = "x".repeat(300);
        assert_eq!(first_line(&long).len(), 103);
    }
}
