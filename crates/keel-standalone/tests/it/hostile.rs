//! Regression tests of a hostile-client campaign: each reproduces, bounded and on loopback,
//! a way the server once failed (issue 8), and checks that it no longer does.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use keel_api::http::ErrorKind;
use keel_client::{Client, ClientError};
use serde_json::json;

use crate::expect_kind;
use crate::support::{Server, module};

/// A tiny deterministic generator, so a failing interleaving's choices can be replayed.
struct Choices(u64);

impl Choices {
    fn next(&mut self, below: u64) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) % below
    }
}

const RACE_NAMES: [&str; 3] = ["v0", "v1", "v2"];

/// What one identity believes it owns; it alone changes what it owns, so after each of its
/// own operations the belief is exact, whatever the others do.
fn race_identity(client: Client, seed: u64, operations: usize) -> Result<Vec<String>, String> {
    let wasm = module("counter");
    let mut choices = Choices(seed);
    let mut owned: Vec<String> = Vec::new();
    for step in 0..operations {
        let name = RACE_NAMES[choices.next(3) as usize].to_owned();
        let mine = owned.contains(&name);
        let what = choices.next(5);
        let context = |operation: &str, error: &ClientError| {
            format!("step {step}: {operation} `{name}` (mine: {mine}): {error}")
        };
        match what {
            0 | 1 => match client.publish(&name, &wasm, false) {
                Ok(_) => {
                    if !mine {
                        owned.push(name.clone());
                    }
                }
                Err(error) if !mine && error.kind() == Some(ErrorKind::Forbidden) => {}
                Err(error) => return Err(context("publish", &error)),
            },
            2 => match client.delete(&name) {
                Ok(_) if mine => owned.retain(|owned_name| *owned_name != name),
                Err(error) if !mine && error.status().is_some_and(|s| s == 403 || s == 404) => {}
                Ok(_) => {
                    return Err(format!(
                        "step {step}: deleted `{name}`, which it did not own"
                    ));
                }
                Err(error) => return Err(context("delete", &error)),
            },
            3 => match client.reset(&name) {
                Ok(_) if mine => client
                    .publish(&name, &wasm, false)
                    .map(drop)
                    .map_err(|error| context("publish after reset", &error))?,
                Err(error) if !mine && error.status().is_some_and(|s| s == 403 || s == 404) => {}
                Ok(_) => return Err(format!("step {step}: reset `{name}`, which it did not own")),
                Err(error) => return Err(context("reset", &error)),
            },
            _ => {
                let new_name = RACE_NAMES[choices.next(3) as usize];
                match client.rename(&name, new_name) {
                    Ok(_) if mine => {
                        owned.retain(|owned_name| *owned_name != name);
                        owned.push(new_name.to_owned());
                    }
                    Err(error)
                        if (!mine && error.status().is_some_and(|s| s == 403 || s == 404))
                            || (mine && error.kind() == Some(ErrorKind::Conflict)) => {}
                    Ok(_) => {
                        return Err(format!(
                            "step {step}: renamed `{name}`, which it did not own"
                        ));
                    }
                    Err(error) => return Err(context("rename", &error)),
                }
            }
        }
        // Everything it believes it owns is there, with it as owner, and answers a call.
        for owned_name in &owned {
            let info = client
                .describe(owned_name)
                .map_err(|error| format!("step {step}: its `{owned_name}` vanished: {error}"))?;
            let me = client.whoami().map_err(|error| error.to_string())?.identity;
            if info.owner != me {
                return Err(format!(
                    "step {step}: its `{owned_name}` is owned by {}",
                    info.owner
                ));
            }
        }
    }
    Ok(owned)
}

/// An attacker's thread: publishes, deletes and resets the race names in a loop, as fast as
/// it can, with another thread of the same identity doing the same. A publish is never told
/// the database does not exist.
fn race_attacker(client: Client, seed: u64, operations: usize) -> Result<(), String> {
    let wasm = module("counter");
    let mut choices = Choices(seed);
    for step in 0..operations {
        let name = RACE_NAMES[choices.next(3) as usize];
        let (operation, result) = match choices.next(3) {
            0 => ("publish", client.publish(name, &wasm, false).map(drop)),
            1 => ("reset", client.reset(name).map(drop)),
            _ => ("delete", client.delete(name).map(drop)),
        };
        let refused_as_missing = operation == "publish"
            && result
                .as_ref()
                .is_err_and(|error| error.status() == Some(404));
        let server_error = result
            .as_ref()
            .is_err_and(|error| error.status().is_none_or(|status| status >= 500));
        if refused_as_missing || server_error {
            let error = result.unwrap_err();
            return Err(format!(
                "attacker step {step}: {operation} `{name}`: {error}"
            ));
        }
    }
    Ok(())
}

/// Two identities, two threads each, publish and delete the same three names in loops while
/// three others publish, rename, reset and delete them one operation at a time: no identity
/// loses a database it did not delete or give away, none takes another's, and the data dir
/// holds exactly one file per live database.
#[test]
fn racing_identities_never_lose_or_take_each_others_databases() {
    let server = Server::start(&[]);
    let attackers: Vec<Client> = (0..2).map(|_| server.identity()).collect();
    let victims: Vec<Client> = (0..3).map(|_| server.identity()).collect();
    type Outcomes = (Vec<Result<(), String>>, Vec<Result<Vec<String>, String>>);
    let (attacks, owned): Outcomes = std::thread::scope(|scope| {
        let attacks: Vec<_> = (0..4)
            .map(|index| {
                let client = attackers[index % 2].clone();
                scope.spawn(move || race_attacker(client, 100 + index as u64, 500))
            })
            .collect();
        let workers: Vec<_> = victims
            .iter()
            .enumerate()
            .map(|(index, client)| {
                let client = client.clone();
                scope.spawn(move || race_identity(client, 7 + index as u64, 150))
            })
            .collect();
        (
            attacks.into_iter().map(|it| it.join().unwrap()).collect(),
            workers.into_iter().map(|it| it.join().unwrap()).collect(),
        )
    });
    for attack in attacks {
        attack.unwrap_or_else(|failure| panic!("{failure}"));
    }
    let mut live = 0;
    for (client, owned) in victims.iter().zip(owned) {
        let mut owned = owned.unwrap_or_else(|failure| panic!("{failure}"));
        let mut listed: Vec<String> = client
            .list()
            .unwrap()
            .databases
            .into_iter()
            .map(|database| database.name)
            .collect();
        owned.sort();
        listed.sort();
        assert_eq!(listed, owned, "what the identity owns is what it believes");
        live += owned.len();
    }
    for attacker in &attackers {
        live += attacker.list().unwrap().databases.len();
    }
    let files = std::fs::read_dir(server.data_dir().join("databases"))
        .unwrap()
        .filter(|file| {
            file.as_ref()
                .unwrap()
                .file_name()
                .to_string_lossy()
                .ends_with(".sqlite")
        })
        .count();
    assert_eq!(files, live, "one database file per live database");
}

/// A reducer that loops on cheap statements is stopped at the time limit, not by its fuel.
#[test]
fn a_reducer_looping_on_statements_stops_at_the_time_limit() {
    let server = Server::start(&[
        "--sql-time-limit-ms",
        "300",
        "--fuel-per-call",
        "100000000000000",
    ]);
    let client = server.identity();
    client.publish("loop", &module("sql-loop"), false).unwrap();
    let message = expect_kind(
        client.call("loop", "select_many", &json!([u64::MAX >> 12])),
        ErrorKind::TimeLimit,
    );
    assert!(message.contains("time limit of 300 ms"), "{message}");
    client.call("loop", "ok", &json!([])).unwrap();
}

/// Another identity's failed calls do not reach the owner's module log.
#[test]
fn other_identities_cannot_write_to_the_owners_log() {
    let server = Server::start(&[]);
    let owner = server.identity();
    let other = server.identity();
    owner.publish("counter", &module("counter"), false).unwrap();
    for _ in 0..30 {
        expect_kind(
            other.call(
                "counter",
                "made-up-by-another",
                &json!(["text the other chose"]),
            ),
            ErrorKind::NotFound,
        );
    }
    expect_kind(
        owner.call("counter", "owners-typo", &json!([])),
        ErrorKind::NotFound,
    );
    let records = owner.logs("counter", 1_000).unwrap();
    assert!(
        records
            .iter()
            .all(|record| !record.message.contains("made-up-by-another")),
        "{records:?}"
    );
    assert!(
        records
            .iter()
            .any(|record| record.message.contains("owners-typo")),
        "the owner's own failure is logged: {records:?}"
    );
}

/// The server's resident memory, in bytes.
fn rss_bytes(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/PID/status");
    kib << 10
}

fn open_files(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .unwrap()
        .count()
}

/// Anonymous connections sending most of a large publish hold no body memory: the missing
/// token decides before the body is read, and what is read is dropped.
#[test]
fn anonymous_large_bodies_are_not_buffered() {
    let server = Server::start(&[]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let before = rss_bytes(server.pid());
    let chunk = vec![b'a'; 1 << 20];
    let mut connections = Vec::new();
    for index in 0..48 {
        let mut stream = TcpStream::connect(&address).unwrap();
        write!(
            stream,
            "POST /v1/databases/big{index} HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n",
            16 << 20
        )
        .unwrap();
        for _ in 0..4 {
            stream.write_all(&chunk).unwrap();
        }
        connections.push(stream);
    }
    // Everything sent has been received: the server answers a ping after it.
    Client::new(&server.url).unwrap().ping().unwrap();
    let grown = rss_bytes(server.pid()).saturating_sub(before);
    assert!(
        grown < 48 << 20,
        "48 connections with 4 MiB each grew the server by {} MiB",
        grown >> 20
    );
    drop(connections);
}

/// Idle connections past the cap cannot lock out new clients or existing callers: the ones
/// that never sent a request are closed to admit new ones, and file handles stay for databases.
#[test]
fn idle_connections_cannot_lock_out_clients() {
    let server = Server::start(&[
        "--max-connections",
        "64",
        "--max-open-databases",
        "8",
        "--header-timeout-secs",
        "2",
    ]);
    // Fewer file handles than the idle sockets below would need.
    let limit = libc::rlimit {
        rlim_cur: 200,
        rlim_max: 200,
    };
    // SAFETY: prlimit only reads the struct; the pid is our child's.
    let set = unsafe {
        libc::prlimit(
            server.pid() as libc::pid_t,
            libc::RLIMIT_NOFILE,
            &limit,
            std::ptr::null_mut(),
        )
    };
    assert_eq!(set, 0, "prlimit on the server");
    let caller = server.identity();
    caller
        .publish("counter", &module("counter"), false)
        .unwrap();
    caller.call("counter", "increment", &json!([1])).unwrap();
    let address = server.url.trim_start_matches("http://").to_owned();
    let idle: Vec<TcpStream> = (0..300)
        .map(|_| TcpStream::connect(&address).unwrap())
        .collect();
    let ping = Client::new(&server.url)
        .unwrap()
        .with_timeout(Duration::from_secs(20));
    ping.ping().unwrap();
    caller.call("counter", "increment", &json!([1])).unwrap();
    let other = server.identity();
    other.publish("second", &module("counter"), false).unwrap();
    assert!(
        open_files(server.pid()) < 200,
        "{} files open",
        open_files(server.pid())
    );
    drop(idle);
}

/// A connection that sends half a request head is closed after the header timeout.
#[test]
fn half_sent_headers_are_not_held() {
    let server = Server::start(&["--header-timeout-secs", "1"]);
    let address = server.url.trim_start_matches("http://").to_owned();
    let mut stream = TcpStream::connect(address).unwrap();
    stream
        .write_all(b"GET /v1/ping HTTP/1.1\r\nHost: x\r\n")
        .unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .unwrap();
    let mut answer = Vec::new();
    let read = stream.read_to_end(&mut answer);
    assert!(
        read.is_ok(),
        "the server still held the connection after 15 s: {read:?}"
    );
}

/// SIGTERM stops the server promptly while reducers run that would go on for a minute.
#[test]
fn sigterm_stops_the_server_under_load() {
    let mut server = Server::start(&[
        "--sql-time-limit-ms",
        "60000",
        "--fuel-per-call",
        "100000000000000",
    ]);
    let client = server.identity();
    client
        .publish("runaway", &module("runaway"), false)
        .unwrap();
    let callers: Vec<_> = (0..4)
        .map(|_| {
            let client = client.clone();
            std::thread::spawn(move || client.call("runaway", "spin", &json!([])))
        })
        .collect();
    // The calls are running once the server has spent CPU time on them.
    let pid = server.pid();
    let cpu_ticks = || -> u64 {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
        let fields: Vec<&str> = stat
            .rsplit(')')
            .next()
            .unwrap()
            .split_whitespace()
            .collect();
        fields[11].parse::<u64>().unwrap() + fields[12].parse::<u64>().unwrap()
    };
    let started = cpu_ticks();
    let waiting = Instant::now();
    while cpu_ticks() < started + 50 {
        assert!(
            waiting.elapsed() < Duration::from_secs(60),
            "the calls never ran"
        );
        std::thread::yield_now();
    }
    let stopping = Instant::now();
    let status = server.stop(Duration::from_secs(20));
    let took = stopping.elapsed();
    assert!(status.success(), "the server was killed: {status:?}");
    assert!(took < Duration::from_secs(5), "SIGTERM took {took:?}");
    for caller in callers {
        assert!(
            caller.join().unwrap().is_err(),
            "a stopped call reports failure"
        );
    }
}

/// Identities per client address and databases per identity are bounded.
#[test]
fn identity_creation_and_database_ownership_are_bounded() {
    let server = Server::start(&[
        "--max-new-identities-per-minute",
        "3",
        "--max-databases-per-identity",
        "2",
    ]);
    let first = server.identity();
    let second = server.identity();
    server.identity();
    let anonymous = Client::new(&server.url).unwrap();
    let error = anonymous.create_identity().unwrap_err();
    assert_eq!(error.kind(), Some(ErrorKind::TooManyRequests), "{error}");
    let wasm = module("counter");
    first.publish("a1", &wasm, false).unwrap();
    first.publish("a2", &wasm, false).unwrap();
    expect_kind(first.publish("a3", &wasm, false), ErrorKind::Forbidden);
    second.publish("b1", &wasm, false).unwrap();
    second.publish("b2", &wasm, false).unwrap();
    let receiver = second.whoami().unwrap().identity;
    let message = expect_kind(
        first.rename_and_transfer("a1", "a1", &receiver),
        ErrorKind::Forbidden,
    );
    assert!(message.contains("already owns 2 databases"), "{message}");
    let owned: HashMap<String, usize> = [(&first, "first"), (&second, "second")]
        .into_iter()
        .map(|(client, label)| (label.to_owned(), client.list().unwrap().databases.len()))
        .collect();
    assert_eq!(owned["first"], 2);
    assert_eq!(owned["second"], 2);
}
