//! An axum router served over HTTPS on a listener already bound: rustls (through the
//! [`crate::tls`] material) in front of hyper's HTTP/1.1 server, one task per connection,
//! until the shutdown token is cancelled. Handshakes that stall are dropped after
//! `handshake_timeout`, so a silent client cannot hold a slot.

use crate::tls::TlsMaterial;
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

/// Serve `router` over TLS on `listener` until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    tls: TlsMaterial,
    handshake_timeout: Option<Duration>,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let connections = tokio_util::task::TaskTracker::new();
    loop {
        let (tcp, _) = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "HTTPS accept failed");
                    continue;
                }
            },
        };
        let _ = tcp.set_nodelay(true);
        let acceptor = tls.acceptor.clone();
        let service = TowerToHyperService::new(router.clone());
        let stop = shutdown.clone();
        connections.spawn(async move {
            let handshake = acceptor.accept(tcp);
            let stream = match handshake_timeout {
                Some(limit) => match tokio::time::timeout(limit, handshake).await {
                    Ok(s) => s,
                    Err(_) => return,
                },
                None => handshake.await,
            };
            let Ok(stream) = stream else { return };
            let builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
            let conn = builder.serve_connection_with_upgrades(TokioIo::new(stream), service);
            tokio::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => {}
                _ = stop.cancelled() => {
                    conn.as_mut().graceful_shutdown();
                    let _ = conn.await;
                }
            }
        });
    }
    connections.close();
    connections.wait().await;
    Ok(())
}
