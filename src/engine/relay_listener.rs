//! The outbound relay listener: opens the Hybrid Connections control channel with a SAS
//! token (Listen right), answers each `request` by running the password operation, renews
//! its token when asked, and reconnects with exponential backoff whenever the channel
//! closes — all outbound, as the article says: no inbound firewall rule.

use super::config::EngineConfig;
use super::history::History;
use super::password;
use crate::clock::Clock;
use crate::hybrid_connections::{ControlMessage, RenewToken, Response};
use crate::sas;
use crate::writeback_protocol::PasswordRequest;
use futures::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

pub struct Shared {
    pub cfg: EngineConfig,
    pub clock: Arc<dyn Clock>,
    pub history: History,
    pub connected: AtomicBool,
}

fn token(s: &Shared) -> String {
    let expiry = s.clock.now().timestamp() + s.cfg.relay_token_lifetime.as_secs() as i64;
    let resource = format!("http://{}/{}", s.cfg.relay_namespace, s.cfg.relay_path);
    sas::token(&resource, &s.cfg.relay_key_name, &s.cfg.relay_key, expiry)
}

fn listen_url(s: &Shared) -> String {
    let token = token(s);
    let t = percent_encoding::utf8_percent_encode(&token, percent_encoding::NON_ALPHANUMERIC);
    format!(
        "{}/$hc/{}?sb-hc-action=listen&sb-hc-token={t}",
        s.cfg.relay_url.trim_end_matches('/'),
        s.cfg.relay_path
    )
}

/// Keep a control channel open until `shutdown`.
pub async fn run(
    shared: Arc<Shared>,
    mut renew: mpsc::UnboundedReceiver<()>,
    shutdown: CancellationToken,
) {
    let (first, max) = shared.cfg.reconnect_backoff;
    let mut backoff = first;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        match tokio_tungstenite::connect_async_with_config(listen_url(&shared), None, true).await {
            Ok((ws, _)) => {
                backoff = first;
                shared.connected.store(true, Ordering::SeqCst);
                tracing::info!(path = %shared.cfg.relay_path, "relay listener connected");
                serve(&shared, ws, &mut renew, &shutdown).await;
                shared.connected.store(false, Ordering::SeqCst);
                if shutdown.is_cancelled() {
                    break;
                }
                tracing::warn!("relay listener disconnected; reconnecting");
            }
            Err(e) => tracing::debug!(error = %e, "relay listener could not connect"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(max);
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(
    shared: &Shared,
    ws: Ws,
    renew: &mut mpsc::UnboundedReceiver<()>,
    shutdown: &CancellationToken,
) {
    let (mut sink, mut stream) = ws.split();
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
            Some(()) = renew.recv() => {
                let m = ControlMessage::RenewToken(RenewToken { token: token(shared) });
                if sink.send(Message::Text(serde_json::to_string(&m).unwrap_or_default().into())).await.is_err() {
                    return;
                }
                continue;
            }
            msg = stream.next() => msg,
        };
        let text = match msg {
            Some(Ok(Message::Text(t))) => t,
            Some(Ok(
                Message::Ping(_) | Message::Pong(_) | Message::Binary(_) | Message::Frame(_),
            )) => continue,
            _ => return,
        };
        let Ok(ControlMessage::Request(req)) = serde_json::from_str::<ControlMessage>(&text) else {
            tracing::warn!("unexpected control message from the relay");
            continue;
        };
        let body = if req.body {
            match stream.next().await {
                Some(Ok(Message::Binary(b))) => b.to_vec(),
                _ => return,
            }
        } else {
            Vec::new()
        };
        let (status, reply) = match serde_json::from_slice::<PasswordRequest>(&body) {
            Ok(pr) => {
                let answer =
                    password::handle(&shared.cfg, shared.clock.as_ref(), &shared.history, pr).await;
                (200, serde_json::to_vec(&answer).unwrap_or_default())
            }
            Err(e) => (
                400,
                format!("{{\"error\":\"not a password request: {e}\"}}").into_bytes(),
            ),
        };
        let head = ControlMessage::Response(Response {
            request_id: req.id,
            status_code: status,
            status_description: None,
            response_headers: BTreeMap::from([(
                "Content-Type".to_string(),
                "application/json".to_string(),
            )]),
            body: true,
        });
        if sink
            .send(Message::Text(
                serde_json::to_string(&head).unwrap_or_default().into(),
            ))
            .await
            .is_err()
            || sink.send(Message::Binary(reply.into())).await.is_err()
        {
            return;
        }
    }
}
