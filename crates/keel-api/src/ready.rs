//! The ready line: what `keel-standalone` prints on stdout (and writes to `--ready-file`) once it
//! listens, and what every launcher of the server reads back.

use std::net::SocketAddr;

use serde::{Deserialize, Serialize};

/// `{"event":"ready","addr":"127.0.0.1:PORT"}`: the server listens on `addr`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "Event", into = "Event")]
pub struct ReadyEvent {
    /// The address the server is bound to (the real port when `--listen` asked for port 0).
    pub addr: SocketAddr,
}

/// The wire shape: an internally tagged enum, so that reading checks `"event": "ready"`
/// (a tag on a struct is written but not checked).
#[derive(Serialize, Deserialize)]
#[serde(tag = "event", rename_all = "lowercase")]
enum Event {
    Ready { addr: SocketAddr },
}

impl From<Event> for ReadyEvent {
    fn from(event: Event) -> ReadyEvent {
        match event {
            Event::Ready { addr } => ReadyEvent { addr },
        }
    }
}

impl From<ReadyEvent> for Event {
    fn from(ready: ReadyEvent) -> Event {
        Event::Ready { addr: ready.addr }
    }
}

impl ReadyEvent {
    /// The event as one JSON line, without the newline.
    pub fn to_line(&self) -> String {
        serde_json::to_string(self).expect("a ready event serializes")
    }

    /// Parses a ready line (surrounding white space is ignored).
    pub fn parse(line: &str) -> Result<ReadyEvent, serde_json::Error> {
        serde_json::from_str(line.trim())
    }

    /// `http://ADDR`, the base URL of the server.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_line_is_exactly_the_documented_json() {
        let ready = ReadyEvent {
            addr: "127.0.0.1:4321".parse().unwrap(),
        };
        assert_eq!(
            ready.to_line(),
            r#"{"event":"ready","addr":"127.0.0.1:4321"}"#
        );
        assert_eq!(
            ReadyEvent::parse(&format!("{}\n", ready.to_line())).unwrap(),
            ready
        );
        assert_eq!(ready.url(), "http://127.0.0.1:4321");
    }

    #[test]
    fn other_events_and_text_are_refused() {
        assert!(ReadyEvent::parse(r#"{"event":"starting","addr":"127.0.0.1:1"}"#).is_err());
        assert!(ReadyEvent::parse(r#"{"event":"ready"}"#).is_err());
        assert!(ReadyEvent::parse(r#"{"event":"ready","addr":"nowhere"}"#).is_err());
        assert!(ReadyEvent::parse("listening on 4321").is_err());
    }
}
