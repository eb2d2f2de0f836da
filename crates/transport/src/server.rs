//! Serving an axum application over mutual TLS, with the caller's verified
//! identity attached to every request.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::{GracefulShutdown, Watcher};
use hyper_util::service::TowerToHyperService;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio_rustls::TlsAcceptor;
use tower::ServiceExt;

use crate::identity::peer_of;

/// How long a client may take to complete the TLS handshake.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How long [`serve`] waits for in-flight connections after shutdown begins.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Serves `app` over TLS on `listener` until `shutdown` completes.
///
/// Each accepted connection gets TCP_NODELAY and must finish its TLS
/// handshake within [`HANDSHAKE_TIMEOUT`]; `tls` decides who may connect
/// (use [`server_config`](crate::server_config)). Each request then carries
/// two extensions: the caller's [`PeerIdentity`](crate::PeerIdentity), read
/// from its verified certificate, and `ConnectInfo<SocketAddr>`. HTTP/1.1 and
/// HTTP/2 are both served (chosen by ALPN).
///
/// A failed handshake is logged at debug level and affects no other
/// connection. When `shutdown` completes the listener is closed, connections
/// still in their handshake are dropped, established ones are asked to
/// finish their in-flight requests (HTTP/2 GOAWAY, HTTP/1.1 close after the
/// current response), and `serve` returns once they have or after
/// [`SHUTDOWN_GRACE`], whichever comes first (connections still open then
/// end when the runtime shuts down).
///
/// # Errors
///
/// None at present: accept errors (such as running out of file descriptors)
/// are logged and retried. The `Result` leaves room for fatal listener
/// errors.
pub async fn serve(
    listener: TcpListener,
    tls: Arc<rustls::ServerConfig>,
    app: axum::Router,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let acceptor = TlsAcceptor::from(tls);
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder.http1().timer(TokioTimer::new());
    builder
        .http2()
        .timer(TokioTimer::new())
        .keep_alive_interval(Some(Duration::from_secs(30)));
    let graceful = GracefulShutdown::new();
    // Tells connections still in their TLS handshake to give up at shutdown
    // (established ones are told by `graceful`).
    let (stopping, stop_handshakes) = watch::channel(());
    let mut shutdown = std::pin::pin!(shutdown);

    loop {
        let (tcp, remote) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(pair) => pair,
                Err(e) if is_per_connection(&e) => {
                    tracing::debug!(error = %e, "accept failed");
                    continue;
                }
                Err(e) => {
                    // EMFILE and the like: back off instead of spinning.
                    tracing::error!(error = %e, "accept failed; retrying in 1 s");
                    tokio::select! {
                        () = &mut shutdown => break,
                        () = tokio::time::sleep(Duration::from_secs(1)) => continue,
                    }
                }
            },
        };
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(%remote, error = %e, "cannot set TCP_NODELAY");
        }
        tokio::spawn(connection(
            tcp,
            remote,
            acceptor.clone(),
            builder.clone(),
            app.clone(),
            graceful.watcher(),
            stop_handshakes.clone(),
        ));
    }

    drop(listener);
    stopping.send_replace(());
    tracing::debug!(connections = graceful.count(), "shutting down");
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period; returning anyway");
    }
    Ok(())
}

/// Accept errors that concern one connection only (RST before accept and the like).
fn is_per_connection(e: &std::io::Error) -> bool {
    use std::io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    matches!(
        e.kind(),
        ConnectionRefused | ConnectionAborted | ConnectionReset
    )
}

/// Handshake, identify the peer, then serve HTTP until the connection closes.
async fn connection(
    tcp: TcpStream,
    remote: SocketAddr,
    acceptor: TlsAcceptor,
    builder: auto::Builder<TokioExecutor>,
    app: axum::Router,
    watcher: Watcher,
    mut stopping: watch::Receiver<()>,
) {
    let handshake = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp));
    let stream = tokio::select! {
        outcome = handshake => match outcome {
            Ok(Ok(stream)) => stream,
            Ok(Err(e)) => {
                tracing::debug!(%remote, error = %e, "TLS handshake failed");
                return;
            }
            Err(_) => {
                tracing::debug!(%remote, "TLS handshake timed out");
                return;
            }
        },
        _ = stopping.changed() => {
            tracing::debug!(%remote, "shutting down during the TLS handshake");
            return;
        }
    };
    // The verifier already required a valid identity; this only reads it back.
    let peer = match peer_of(stream.get_ref().1.peer_certificates().unwrap_or_default()) {
        Ok(peer) => peer,
        Err(e) => {
            tracing::debug!(%remote, error = %e, "no peer identity after handshake");
            return;
        }
    };
    tracing::debug!(%remote, %peer, "connection established");

    let service = app.map_request(move |mut request: axum::extract::Request<_>| {
        let extensions = request.extensions_mut();
        extensions.insert(peer.clone());
        extensions.insert(ConnectInfo(remote));
        request
    });
    let connection = builder
        .serve_connection_with_upgrades(TokioIo::new(stream), TowerToHyperService::new(service));
    if let Err(e) = watcher.watch(connection).await {
        tracing::debug!(%remote, error = %e, "connection ended with an error");
    }
}
