//! The shutdown signal: SIGTERM, SIGINT, or the end of standard input when asked.

use std::io::Read;

use tokio::signal::unix::{SignalKind, signal as unix_signal};

/// Resolves when the server should stop accepting requests and drain.
pub(crate) async fn signal(exit_on_stdin_close: bool) {
    let mut terminate = unix_signal(SignalKind::terminate()).expect("install SIGTERM handler");
    let mut interrupt = unix_signal(SignalKind::interrupt()).expect("install SIGINT handler");
    let (stdin_closed_tx, stdin_closed_rx) = tokio::sync::oneshot::channel::<()>();
    if exit_on_stdin_close {
        std::thread::spawn(move || {
            let mut sink = [0u8; 256];
            let mut stdin = std::io::stdin().lock();
            while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
            let _ = stdin_closed_tx.send(());
        });
    } else {
        std::mem::forget(stdin_closed_tx);
    }
    tokio::select! {
        _ = terminate.recv() => tracing::info!("SIGTERM received, shutting down"),
        _ = interrupt.recv() => tracing::info!("SIGINT received, shutting down"),
        _ = stdin_closed_rx => tracing::info!("standard input closed, shutting down"),
    }
}
