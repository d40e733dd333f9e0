//! The accept loop: HTTP/1 connections served by hyper, within bounds a hostile client cannot
//! push the server past.
//!
//! - At most `max_connections` are open. At the cap, an idle connection is told to close and
//!   nothing is accepted until it has (new clients wait in the listen backlog): first those
//!   that never completed a request (oldest first), then the least recently active; a
//!   connection with a request running, or younger than half a second, is never closed. So
//!   idle sockets cannot lock out real clients, and file handles stay in reserve for databases.
//! - Headers must arrive within `header_timeout` (which also closes a connection that sends
//!   nothing at all); bodies are timed by the handlers that read them.
//! - hyper's read buffer is capped, so a connection costs a bounded amount of memory.
//! - On shutdown every connection is told to finish its request and close; what still runs
//!   after a grace period is stopped, so the server exits within two seconds under any load.

use std::collections::HashMap;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;
use tokio::task::JoinSet;

use crate::limits::RateLimitedLog;

/// The largest read buffer of one connection (and so the largest request head).
const MAX_READ_BUFFER: usize = 64 << 10;
/// A connection younger than this is never closed to make room: its client has had no time
/// to send a request yet.
const MIN_AGE_TO_CLOSE: Duration = Duration::from_millis(500);
/// How often the loop looks again for an idle connection to close while at the cap.
const RECHECK_AT_CAP: Duration = Duration::from_millis(20);
/// How long requests in progress may finish on their own at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_millis(1_000);
/// How long stopped requests get to answer after that.
const SHUTDOWN_STOP: Duration = Duration::from_millis(500);

/// Bounds of the accept loop, and TLS when it serves `https://`.
#[derive(Clone)]
pub(crate) struct ConnectionLimits {
    pub(crate) max_connections: usize,
    pub(crate) header_timeout: Duration,
    pub(crate) tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Serves `app` on `listener` until `shutdown` resolves; then `stop_work` is called once the
/// grace period is over, to stop what still runs.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    stop_work: impl FnOnce(),
) {
    let table = Arc::new(Table::default());
    let full = RateLimitedLog::new(1);
    let mut tasks = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        // Past the cap nothing is accepted (new clients wait in the listen backlog) until an
        // idle connection, told to close, has closed.
        if table.len() >= limits.max_connections {
            if !table.close_an_idle_one()
                && let Some(left_out) = full.admit()
            {
                tracing::warn!(
                    left_out,
                    "at the connection cap with every connection busy; new connections wait"
                );
            }
            tokio::select! {
                () = &mut shutdown => break,
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                // Young connections become candidates as they age: look again shortly.
                () = tokio::time::sleep(RECHECK_AT_CAP) => {}
            }
            continue;
        }
        tokio::select! {
            () = &mut shutdown => break,
            Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    let connection = table.add();
                    tasks.spawn(serve_connection(stream, peer, app.clone(), limits.clone(), connection, table.clone()));
                }
                Err(error) => {
                    // Out of file handles, most likely: wait for connections to close.
                    tracing::warn!(%error, "could not accept a connection");
                    tokio::select! {
                        () = &mut shutdown => break,
                        Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
                        () = tokio::time::sleep(RECHECK_AT_CAP) => {}
                    }
                }
            },
        }
    }
    drop(listener);
    table.close_all();
    let drained = tokio::time::timeout(SHUTDOWN_GRACE, drain(&mut tasks)).await;
    if drained.is_err() {
        tracing::info!(
            requests = tasks.len(),
            "stopping the requests still running"
        );
        stop_work();
        let _ = tokio::time::timeout(SHUTDOWN_STOP, drain(&mut tasks)).await;
    }
    tasks.abort_all();
}

async fn drain(tasks: &mut JoinSet<()>) {
    while tasks.join_next().await.is_some() {}
}

async fn serve_connection(
    stream: TcpStream,
    peer: SocketAddr,
    app: Router,
    limits: ConnectionLimits,
    connection: Arc<Connection>,
    table: Arc<Table>,
) {
    // Out of the table however the task ends, a panic included: a stale entry marked closing
    // would stop every later eviction.
    let _entry = TableEntry {
        table,
        id: connection.id,
    };
    match limits.tls.clone() {
        None => serve_io(stream, peer, app, &limits, &connection).await,
        Some(acceptor) => {
            // The handshake gets the header timeout too, and ends when the connection is
            // closed to make room: a client that never finishes it holds no slot.
            let handshake = tokio::time::timeout(limits.header_timeout, acceptor.accept(stream));
            tokio::select! {
                handshake = handshake => match handshake {
                    Ok(Ok(tls)) => serve_io(tls, peer, app, &limits, &connection).await,
                    Ok(Err(error)) => tracing::debug!(%peer, %error, "TLS handshake failed"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake timed out"),
                },
                () = connection.close.notified() => {}
            }
        }
    }
}

/// Removes a connection from the table when dropped.
struct TableEntry {
    table: Arc<Table>,
    id: u64,
}

impl Drop for TableEntry {
    fn drop(&mut self) {
        self.table.remove(self.id);
    }
}

/// Serves HTTP/1 on one connection (plain or TLS) until it ends or is told to close.
async fn serve_io<Io>(
    io: Io,
    peer: SocketAddr,
    app: Router,
    limits: &ConnectionLimits,
    connection: &Arc<Connection>,
) where
    Io: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let tracked = connection.clone();
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        request.extensions_mut().insert(ConnectInfo(peer));
        let busy = Busy::start(tracked.clone());
        let response = tower_service::Service::call(&mut app.clone(), request);
        async move {
            let response: Result<axum::response::Response, Infallible> = response.await;
            // Busy until the body is written (or dropped), not only until the handler is done:
            // a slow download is a request running.
            Ok::<_, Infallible>(
                response?.map(|body| axum::body::Body::new(BusyBody { body, _busy: busy })),
            )
        }
    });
    let serving = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(MAX_READ_BUFFER)
        .serve_connection(TokioIo::new(io), service);
    tokio::pin!(serving);
    tokio::select! {
        result = serving.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%peer, %error, "connection ended with an error");
            }
        }
        () = connection.close.notified() => {
            // Closed to make room while idle: nothing to finish, the socket goes at once
            // (waiting would let a half-sent header hold the slot). At shutdown, or if a
            // request has just arrived, the request in progress finishes first.
            let idle = connection.busy.load(Ordering::SeqCst) == 0;
            if !(connection.closing.load(Ordering::Relaxed) && idle) {
                serving.as_mut().graceful_shutdown();
                let _ = serving.await;
            }
        }
    }
}

/// The open connections.
#[derive(Default)]
struct Table {
    connections: Mutex<HashMap<u64, Arc<Connection>>>,
    next_id: AtomicU64,
}

/// What the table knows of one connection.
struct Connection {
    id: u64,
    opened: Instant,
    /// Requests running now.
    busy: AtomicUsize,
    /// Requests answered so far.
    served: AtomicU64,
    /// Nanoseconds after `opened` of the last answer.
    last_active: AtomicU64,
    /// Told to finish and close.
    close: Notify,
    /// Chosen to make room; no longer a candidate.
    closing: AtomicBool,
}

/// A response body that keeps its request marked running until it is done.
struct BusyBody {
    body: axum::body::Body,
    _busy: Busy,
}

impl hyper::body::Body for BusyBody {
    type Data = axum::body::Bytes;
    type Error = axum::Error;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        context: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Self::Data>, Self::Error>>> {
        std::pin::Pin::new(&mut self.body).poll_frame(context)
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> hyper::body::SizeHint {
        self.body.size_hint()
    }
}

/// Marks a request of a connection as running, until dropped.
struct Busy(Arc<Connection>);

impl Busy {
    fn start(connection: Arc<Connection>) -> Busy {
        connection.busy.fetch_add(1, Ordering::SeqCst);
        Busy(connection)
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        let connection = &self.0;
        connection.served.fetch_add(1, Ordering::Relaxed);
        connection.last_active.store(
            connection.opened.elapsed().as_nanos() as u64,
            Ordering::Relaxed,
        );
        connection.busy.fetch_sub(1, Ordering::SeqCst);
    }
}

impl Table {
    fn add(&self) -> Arc<Connection> {
        let connection = Arc::new(Connection {
            id: self.next_id.fetch_add(1, Ordering::Relaxed),
            opened: Instant::now(),
            busy: AtomicUsize::new(0),
            served: AtomicU64::new(0),
            last_active: AtomicU64::new(0),
            close: Notify::new(),
            closing: AtomicBool::new(false),
        });
        self.lock().insert(connection.id, connection.clone());
        connection
    }

    fn remove(&self, id: u64) {
        self.lock().remove(&id);
    }

    fn len(&self) -> usize {
        self.lock().len()
    }

    /// Tells one idle connection to close, to make room for a new one; false when none can
    /// be (every connection is busy, young, or closing already). Those that never completed a
    /// request go first, oldest first; then the least recently active.
    fn close_an_idle_one(&self) -> bool {
        let connections = self.lock();
        if connections
            .values()
            .any(|connection| connection.closing.load(Ordering::Relaxed))
        {
            // One is on its way out: room is coming.
            return true;
        }
        let victim = connections
            .values()
            .filter(|connection| {
                connection.busy.load(Ordering::SeqCst) == 0
                    && connection.opened.elapsed() >= MIN_AGE_TO_CLOSE
            })
            .min_by_key(|connection| {
                let served = connection.served.load(Ordering::Relaxed);
                let last_active = connection
                    .opened
                    .checked_add(Duration::from_nanos(
                        connection.last_active.load(Ordering::Relaxed),
                    ))
                    .unwrap_or(connection.opened);
                (
                    served > 0,
                    if served > 0 {
                        last_active
                    } else {
                        connection.opened
                    },
                )
            });
        match victim {
            Some(victim) => {
                victim.closing.store(true, Ordering::Relaxed);
                victim.close.notify_one();
                true
            }
            None => false,
        }
    }

    fn close_all(&self) {
        for connection in self.lock().values() {
            connection.close.notify_one();
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Connection>>> {
        self.connections
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
