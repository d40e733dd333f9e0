//! Scenario `race`: identities racing publish, delete, rename and reset on the same few names.
//!
//! Every operation is recorded with its interval and answer. Afterwards every database an identity was
//! told it holds (200 to its publish or rename) must still be its own, unless it deleted or renamed it
//! itself (figure: databases lost or stolen, goal 0), and `<data-dir>/databases/` must hold one
//! `.sqlite` file per live database (figure: orphaned files, goal 0).

use std::{
    collections::BTreeMap,
    fs,
    path::Path,
    sync::Mutex,
    thread,
    time::{Duration, Instant},
};

use anyhow::Context;
use keel_client::{Client, ClientError};

use crate::{
    process,
    stress::{Findings, StressContext, report::Figure},
};

/// Identities taking part.
const IDENTITIES: usize = 4;
/// Threads, spread over the identities (two each).
const THREADS: usize = 8;
/// The names they fight over.
const NAMES: [&str; 3] = ["race-a", "race-b", "race-c"];
/// Most operations one thread performs, whatever `--seconds` says.
const MAX_OPS_PER_THREAD: usize = 20_000;
/// Time one request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(15);

/// What an operation did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    Publish,
    Delete,
    Rename,
    Reset,
}

/// How the server answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// A 2xx answer.
    Ok,
    /// An error status.
    Status(u16),
    /// No answer (transport error, timeout): the operation may or may not have happened.
    Unanswered,
}

/// One operation, with its interval since the start of the race.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Op {
    pub(crate) identity: usize,
    pub(crate) kind: OpKind,
    pub(crate) name: String,
    /// The target of a rename.
    pub(crate) new_name: Option<String>,
    pub(crate) start: Duration,
    pub(crate) end: Duration,
    pub(crate) answer: Answer,
}

/// A database an identity was told it holds, and how it went missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Loss {
    pub(crate) identity: usize,
    pub(crate) name: String,
    /// When the claiming publish or rename started.
    pub(crate) claimed_at: Duration,
    pub(crate) how: LossKind,
}

/// How a claimed database went missing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum LossKind {
    /// Gone at the end, and its owner never deleted or renamed it.
    Gone,
    /// Owned by another identity at the end.
    TakenBy(usize),
    /// Its owner's later operation on it was answered with this status (404: gone, 403: not its owner).
    RefusedLater { status: u16, at: Duration },
}

pub(crate) fn run(ctx: &StressContext, findings: &mut Findings) -> anyhow::Result<()> {
    let wasm = ctx.module("counter")?;
    let mut server = ctx.start_server("race", &[])?;
    let clients: Vec<Client> = (0..IDENTITIES)
        .map(|_| {
            server
                .new_identity()
                .map(|it| it.with_timeout(REQUEST_TIMEOUT))
        })
        .collect::<anyhow::Result<_>>()?;
    let duration = Duration::from_secs(ctx.seconds.max(1));
    findings.note(format!(
        "{THREADS} threads, {IDENTITIES} identities, names {NAMES:?}, {}s",
        duration.as_secs()
    ));
    let ops = Mutex::new(Vec::new());
    let started = Instant::now();
    thread::scope(|scope| {
        for thread_idx in 0..THREADS {
            let identity = thread_idx % IDENTITIES;
            let client = &clients[identity];
            let (wasm, ops) = (&wasm, &ops);
            scope.spawn(move || {
                let mut rng = Rng::new(thread_idx as u64);
                let mut mine = Vec::new();
                while started.elapsed() < duration
                    && mine.len() < MAX_OPS_PER_THREAD
                    && !process::was_interrupted()
                {
                    mine.push(random_op(client, identity, wasm, &mut rng, started));
                }
                ops.lock().expect("op log").extend(mine);
            });
        }
    });
    let mut ops = ops.into_inner().expect("op log");
    ops.sort_by_key(|it| it.start);
    process::check_interrupted()?;
    server.ensure_running()?;

    let mut final_owners: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (identity, client) in clients.iter().enumerate() {
        let list = client
            .list()
            .with_context(|| format!("list the databases of identity {identity}"))?;
        for database in list.databases {
            final_owners
                .entry(database.name)
                .or_default()
                .push(identity);
        }
    }
    let n_live: usize = final_owners.values().map(Vec::len).sum();
    let n_files = count_sqlite_files(&server.data_dir().join("databases"))?;

    let count = |answer: fn(&Answer) -> bool| ops.iter().filter(|it| answer(&it.answer)).count();
    findings.note(format!(
        "{} operations: {} answered 2xx, {} refused, {} unanswered, {} answered 5xx; {} publishes answered 404",
        ops.len(),
        count(|it| *it == Answer::Ok),
        count(|it| matches!(it, Answer::Status(_))),
        count(|it| *it == Answer::Unanswered),
        count(|it| matches!(it, Answer::Status(500..))),
        ops.iter()
            .filter(|it| it.kind == OpKind::Publish && it.answer == Answer::Status(404))
            .count(),
    ));
    let losses = verdict(&ops, &final_owners);
    for loss in losses.iter().take(10) {
        findings.note(describe_loss(loss));
    }
    findings.figure(Figure::goal(
        "databases lost or stolen",
        losses.len() as f64,
        "count",
        0.0,
    ));
    findings.note(format!(
        "{n_files} .sqlite files for {n_live} live databases"
    ));
    findings.figure(Figure::goal(
        "orphaned .sqlite files",
        n_files.saturating_sub(n_live) as f64,
        "count",
        0.0,
    ));
    if n_live > n_files {
        findings.note(format!(
            "{} live database(s) have no file",
            n_live - n_files
        ));
    }
    Ok(())
}

/// Every loss the operations and the final owners prove; see the module docs.
///
/// A claim is a 2xx answer to an identity's publish of a name, or to its rename to a name.
/// An identity releases a name by deleting it or renaming it away; an operation without an answer
/// counts as a release too, so that only proven losses are reported.
/// A claim is lost when, with no release by its owner overlapping the time since the claim,
/// a later operation of the owner on the name is answered 404 or 403, or the name is not the owner's at the end.
pub(crate) fn verdict(ops: &[Op], final_owners: &BTreeMap<String, Vec<usize>>) -> Vec<Loss> {
    let mut by_key: BTreeMap<(usize, &str), KeyOps<'_>> = BTreeMap::new();
    for op in ops {
        let key = (op.identity, op.name.as_str());
        if matches!(op.kind, OpKind::Delete | OpKind::Rename)
            && !matches!(op.answer, Answer::Status(_))
        {
            by_key.entry(key).or_default().releases.push(op);
        }
        if matches!(op.answer, Answer::Status(403 | 404)) {
            by_key.entry(key).or_default().refusals.push(op);
        }
        if op.answer == Answer::Ok {
            let claimed = match op.kind {
                OpKind::Publish => Some(op.name.as_str()),
                OpKind::Rename => op.new_name.as_deref(),
                OpKind::Delete | OpKind::Reset => None,
            };
            if let Some(name) = claimed {
                by_key
                    .entry((op.identity, name))
                    .or_default()
                    .claims
                    .push(op);
            }
        }
    }
    let mut losses = Vec::new();
    for ((identity, name), mut key_ops) in by_key {
        let releases = Releases::new(&mut key_ops.releases);
        key_ops.refusals.sort_by_key(|it| it.start);
        let mut consumed = vec![false; key_ops.claims.len()];
        for refusal in &key_ops.refusals {
            let Answer::Status(status) = refusal.answer else {
                continue;
            };
            let mut broken: Option<&Op> = None;
            for (claim_idx, claim) in key_ops.claims.iter().enumerate() {
                if consumed[claim_idx]
                    || claim.end >= refusal.start
                    || releases.any_between(claim.start, refusal.end)
                {
                    continue;
                }
                consumed[claim_idx] = true;
                if broken.is_none_or(|it| it.end < claim.end) {
                    broken = Some(claim);
                }
            }
            if let Some(claim) = broken {
                losses.push(Loss {
                    identity,
                    name: name.to_owned(),
                    claimed_at: claim.start,
                    how: LossKind::RefusedLater {
                        status,
                        at: refusal.start,
                    },
                });
            }
        }
        // The end state: the last open claim.
        let last_open = key_ops
            .claims
            .iter()
            .zip(&consumed)
            .filter(|(_, consumed)| !**consumed)
            .map(|(claim, _)| *claim)
            .max_by_key(|it| it.end);
        let Some(claim) = last_open else {
            continue;
        };
        let owners = final_owners.get(name).map(Vec::as_slice).unwrap_or(&[]);
        if releases.any_between(claim.start, Duration::MAX) || owners.contains(&identity) {
            continue;
        }
        losses.push(Loss {
            identity,
            name: name.to_owned(),
            claimed_at: claim.start,
            how: match owners.first() {
                Some(other) => LossKind::TakenBy(*other),
                None => LossKind::Gone,
            },
        });
    }
    losses.sort_by_key(|it| it.claimed_at);
    losses
}

/// The operations of one identity on one name that matter to the verdict.
#[derive(Default)]
struct KeyOps<'a> {
    claims: Vec<&'a Op>,
    releases: Vec<&'a Op>,
    refusals: Vec<&'a Op>,
}

/// Release intervals sorted by start, with the latest end so far, to ask "any release in (after, before)?".
struct Releases {
    starts: Vec<Duration>,
    max_end_so_far: Vec<Duration>,
}

impl Releases {
    fn new(releases: &mut [&Op]) -> Releases {
        releases.sort_by_key(|it| it.start);
        let mut max_end = Duration::ZERO;
        let max_end_so_far = releases
            .iter()
            .map(|it| {
                max_end = max_end.max(it.end);
                max_end
            })
            .collect();
        Releases {
            starts: releases.iter().map(|it| it.start).collect(),
            max_end_so_far,
        }
    }

    /// Whether some release started before `before` and ended after `after`.
    fn any_between(&self, after: Duration, before: Duration) -> bool {
        let n_started = self.starts.partition_point(|it| *it < before);
        n_started > 0 && self.max_end_so_far[n_started - 1] > after
    }
}

fn describe_loss(loss: &Loss) -> String {
    let claimed = format!(
        "identity {}: `{}` claimed at {:.3}s",
        loss.identity,
        loss.name,
        loss.claimed_at.as_secs_f64()
    );
    match &loss.how {
        LossKind::Gone => format!("{claimed} is gone at the end; its owner never deleted it"),
        LossKind::TakenBy(other) => format!("{claimed} belongs to identity {other} at the end"),
        LossKind::RefusedLater { status, at } => format!(
            "{claimed}: its owner's operation at {:.3}s was answered {status}",
            at.as_secs_f64()
        ),
    }
}

fn random_op(client: &Client, identity: usize, wasm: &[u8], rng: &mut Rng, started: Instant) -> Op {
    let name = NAMES[rng.below(NAMES.len())];
    let roll = rng.below(100);
    let kind = match roll {
        0..40 => OpKind::Publish,
        40..65 => OpKind::Delete,
        65..85 => OpKind::Rename,
        _ => OpKind::Reset,
    };
    let new_name = (kind == OpKind::Rename).then(|| {
        let offset = 1 + rng.below(NAMES.len() - 1);
        let idx = (NAMES.iter().position(|it| *it == name).unwrap_or(0) + offset) % NAMES.len();
        NAMES[idx].to_owned()
    });
    let start = started.elapsed();
    let result: Result<(), ClientError> = match kind {
        OpKind::Publish => client.publish(name, wasm, false).map(drop),
        OpKind::Delete => client.delete(name).map(drop),
        OpKind::Rename => client
            .rename(name, new_name.as_deref().unwrap_or_default())
            .map(drop),
        OpKind::Reset => client.reset(name).map(drop),
    };
    let answer = match &result {
        Ok(()) => Answer::Ok,
        Err(err) => err.status().map_or(Answer::Unanswered, Answer::Status),
    };
    Op {
        identity,
        kind,
        name: name.to_owned(),
        new_name,
        start,
        end: started.elapsed(),
        answer,
    }
}

/// `.sqlite` files directly in `dir` (not `-wal` or `-shm`).
fn count_sqlite_files(dir: &Path) -> anyhow::Result<usize> {
    let mut count = 0;
    for entry in fs::read_dir(dir).with_context(|| format!("read {}", dir.display()))? {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        if entry.file_name().to_string_lossy().ends_with(".sqlite") {
            count += 1;
        }
    }
    Ok(count)
}

/// A small xorshift generator: the race needs variety, not quality, and no dependency.
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Rng {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |it| it.subsec_nanos() as u64);
        Rng((seed + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ nanos | 1)
    }

    pub(crate) fn below(&mut self, bound: usize) -> usize {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % bound as u64) as usize
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(millis: u64) -> Duration {
        Duration::from_millis(millis)
    }

    fn op(identity: usize, kind: OpKind, name: &str, start: u64, end: u64, answer: Answer) -> Op {
        Op {
            identity,
            kind,
            name: name.to_owned(),
            new_name: None,
            start: ms(start),
            end: ms(end),
            answer,
        }
    }

    fn rename(identity: usize, from: &str, to: &str, start: u64, end: u64, answer: Answer) -> Op {
        Op {
            new_name: Some(to.to_owned()),
            ..op(identity, OpKind::Rename, from, start, end, answer)
        }
    }

    fn owners(pairs: &[(&str, usize)]) -> BTreeMap<String, Vec<usize>> {
        let mut map: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (name, identity) in pairs {
            map.entry((*name).to_owned()).or_default().push(*identity);
        }
        map
    }

    #[test]
    fn a_database_still_owned_at_the_end_is_no_loss() {
        let ops = [op(0, OpKind::Publish, "v", 0, 5, Answer::Ok)];
        assert_eq!(verdict(&ops, &owners(&[("v", 0)])), []);
    }

    #[test]
    fn a_database_its_owner_deleted_is_no_loss() {
        let ops = [
            op(0, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(0, OpKind::Delete, "v", 6, 8, Answer::Ok),
        ];
        assert_eq!(verdict(&ops, &owners(&[])), []);
    }

    #[test]
    fn a_delete_that_ended_before_the_claim_releases_nothing() {
        let ops = [
            op(0, OpKind::Delete, "v", 0, 2, Answer::Ok),
            op(0, OpKind::Publish, "v", 3, 5, Answer::Ok),
        ];
        let losses = verdict(&ops, &owners(&[]));
        assert_eq!(losses.len(), 1);
        assert_eq!(losses[0].how, LossKind::Gone);
    }

    #[test]
    fn a_refused_delete_releases_nothing_but_an_unanswered_one_might() {
        let refused = [
            op(0, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(0, OpKind::Delete, "v", 6, 8, Answer::Status(409)),
        ];
        assert_eq!(verdict(&refused, &owners(&[])).len(), 1);
        let unanswered = [
            op(0, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(0, OpKind::Delete, "v", 6, 8, Answer::Unanswered),
        ];
        assert_eq!(verdict(&unanswered, &owners(&[])), []);
    }

    #[test]
    fn another_identity_holding_the_name_is_a_theft() {
        // Issue 8: B publishes `v` and is told it was created; at the end A owns `v`.
        let ops = [
            op(0, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(0, OpKind::Delete, "v", 1, 6, Answer::Status(404)),
            op(1, OpKind::Publish, "v", 2, 4, Answer::Ok),
            op(0, OpKind::Publish, "v", 7, 9, Answer::Ok),
        ];
        let losses = verdict(&ops, &owners(&[("v", 0)]));
        assert_eq!(losses.len(), 1);
        assert_eq!(losses[0].identity, 1);
        assert_eq!(losses[0].how, LossKind::TakenBy(0));
    }

    #[test]
    fn the_owners_later_404_proves_a_loss_once() {
        let ops = [
            op(1, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(1, OpKind::Publish, "v", 6, 7, Answer::Ok),
            op(1, OpKind::Reset, "v", 10, 12, Answer::Status(404)),
            op(1, OpKind::Reset, "v", 13, 14, Answer::Status(404)),
        ];
        let losses = verdict(&ops, &owners(&[]));
        assert_eq!(
            losses,
            [Loss {
                identity: 1,
                name: "v".to_owned(),
                claimed_at: ms(6),
                how: LossKind::RefusedLater {
                    status: 404,
                    at: ms(10)
                },
            }]
        );
    }

    #[test]
    fn a_404_overlapping_the_owners_own_delete_is_no_loss() {
        // Two threads of one identity: one deletes while the other resets.
        let ops = [
            op(0, OpKind::Publish, "v", 0, 5, Answer::Ok),
            op(0, OpKind::Delete, "v", 6, 9, Answer::Ok),
            op(0, OpKind::Reset, "v", 7, 10, Answer::Status(404)),
        ];
        assert_eq!(verdict(&ops, &owners(&[])), []);
    }

    #[test]
    fn a_rename_moves_the_claim_to_the_new_name() {
        let ops = [
            op(0, OpKind::Publish, "a", 0, 5, Answer::Ok),
            rename(0, "a", "b", 6, 8, Answer::Ok),
        ];
        assert_eq!(verdict(&ops, &owners(&[("b", 0)])), []);
        let losses = verdict(&ops, &owners(&[]));
        assert_eq!(losses.len(), 1);
        assert_eq!(losses[0].name, "b");
    }

    #[test]
    fn the_generator_stays_in_bounds() {
        let mut rng = Rng::new(3);
        assert!((0..1000).all(|_| rng.below(3) < 3));
    }
}
