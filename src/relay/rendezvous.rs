//! WebSocket mode: a sender connects with `sb-hc-action=connect`; the relay offers the
//! connection to a listener as an `accept` message whose address is on this relay
//! (`sb-hc-action=accept&sb-hc-id=…`, single use, 30 s); the listener opens a WebSocket
//! there and the relay answers the sender's upgrade and relays messages both ways until
//! either side closes. A listener that connects with `sb-hc-statusCode` (or hyco-ws's
//! `statusCode`) rejects the sender, who gets that status; the listener gets 410.

use super::protocol::{Accept, RemoteEndpoint};
use super::{refuse, Relay, SendError, ToListener};
use axum::extract::ws::{Message, WebSocket, WebSocketUpgrade};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::Response;
use futures::{SinkExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;

/// How long a rendezvous address stays valid (the service's "about 30 s").
const ACCEPT_WINDOW: Duration = Duration::from_secs(30);

/// What the listener did with an offered connection.
#[derive(Debug)]
pub(super) enum Outcome {
    Accepted {
        socket: Box<WebSocket>,
        protocol: Option<String>,
    },
    Rejected {
        status: u16,
        description: String,
    },
}

/// Headers of the sender's upgrade that the listener does not get: its token, and
/// extensions this relay does not negotiate.
const NOT_FORWARDED: [&str; 4] = [
    "servicebusauthorization",
    "authorization",
    "sec-websocket-extensions",
    "connection",
];

/// A sender's `sb-hc-action=connect`, already authorised: offer it to a listener and
/// answer the upgrade once one accepts.
pub(super) async fn connect(
    relay: Relay,
    path: String,
    headers: HeaderMap,
    peer: Option<SocketAddr>,
    upgrade: WebSocketUpgrade,
) -> Response {
    let picked = match relay.pick(&path) {
        Ok(p) => p,
        Err(e) => return refuse_send(&e),
    };
    if let Some(latency) = picked.faults.latency {
        tokio::time::sleep(latency.min(ACCEPT_WINDOW)).await;
    }
    let id = picked.exchange.to_string();
    let (tx, rx) = oneshot::channel();
    relay.state().waiting.insert(id.clone(), tx);
    let connect_headers: BTreeMap<String, String> = headers
        .iter()
        .filter(|(k, _)| !NOT_FORWARDED.contains(&k.as_str()))
        .filter_map(|(k, v)| {
            v.to_str()
                .ok()
                .map(|v| (canonical(k.as_str()), v.to_string()))
        })
        .collect();
    let accept = Accept {
        address: format!(
            "ws://{}/$hc/{path}?sb-hc-action=accept&sb-hc-id={id}",
            picked.host
        ),
        id: id.clone(),
        connect_headers,
        remote_endpoint: peer.map(|p| RemoteEndpoint {
            address: p.ip().to_string(),
            port: p.port(),
        }),
    };
    if picked.tx.send(ToListener::Accept(accept)).is_err() {
        relay.state().waiting.remove(&id);
        return refuse_send(&SendError::NoListener(path));
    }
    let outcome = tokio::time::timeout(ACCEPT_WINDOW, rx).await;
    relay.state().waiting.remove(&id);
    match outcome {
        Ok(Ok(Outcome::Accepted { socket, protocol })) => {
            let upgrade = match protocol {
                Some(p) => upgrade.protocols([p]),
                None => upgrade,
            };
            upgrade.on_upgrade(move |sender| join(sender, *socket))
        }
        Ok(Ok(Outcome::Rejected {
            status,
            description,
        })) => refuse(
            StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST),
            &format!("the listener rejected the connection: {description}"),
        ),
        Ok(Err(_)) => refuse_send(&SendError::NoListener(path)),
        Err(_) => refuse(
            StatusCode::GATEWAY_TIMEOUT,
            &format!(
                "no listener accepted the connection within {}s",
                ACCEPT_WINDOW.as_secs()
            ),
        ),
    }
}

/// A listener at a rendezvous address (`sb-hc-action=accept&sb-hc-id=…`): join the
/// waiting sender, or reject it when the listener added a status code.
pub(super) fn accept(
    relay: Relay,
    query: &HashMap<String, String>,
    headers: &HeaderMap,
    upgrade: Option<WebSocketUpgrade>,
) -> Response {
    let id = query.get("sb-hc-id").cloned().unwrap_or_default();
    if !relay.state().waiting.contains_key(&id) {
        return refuse(
            StatusCode::FORBIDDEN,
            "the rendezvous address is not valid (unknown, used or expired sb-hc-id)",
        );
    }
    let status = query
        .get("sb-hc-statusCode")
        .or_else(|| query.get("statusCode"));
    let upgrade = match (status, upgrade) {
        (Some(status), _) => Err(Outcome::Rejected {
            status: status.parse().unwrap_or(400),
            description: query
                .get("sb-hc-statusDescription")
                .or_else(|| query.get("statusDescription"))
                .cloned()
                .unwrap_or_default(),
        }),
        (None, Some(upgrade)) => Ok(upgrade),
        // The sender keeps waiting for a proper accept until its window closes.
        (None, None) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                "a rendezvous is a WebSocket: send an Upgrade request",
            )
        }
    };
    let Some(waiting) = relay.state().waiting.remove(&id) else {
        return refuse(
            StatusCode::FORBIDDEN,
            "the rendezvous address was just used",
        );
    };
    let upgrade = match upgrade {
        Ok(upgrade) => upgrade,
        Err(rejected) => {
            let _ = waiting.send(rejected);
            return refuse(StatusCode::GONE, "the connection was rejected");
        }
    };
    let protocol = headers
        .get(header::SEC_WEBSOCKET_PROTOCOL)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .map(|p| p.trim().to_string())
        .filter(|p| !p.is_empty());
    let upgrade = match &protocol {
        Some(p) => upgrade.protocols([p.clone()]),
        None => upgrade,
    };
    upgrade.on_upgrade(move |socket| async move {
        if let Err(Outcome::Accepted { mut socket, .. }) = waiting.send(Outcome::Accepted {
            socket: Box::new(socket),
            protocol,
        }) {
            // The sender gave up before the listener came.
            let _ = socket.close().await;
        }
    })
}

/// Relay messages between the two sockets until both directions end; a close on one
/// side is passed to the other.
async fn join(sender: WebSocket, listener: WebSocket) {
    let (sender_tx, sender_rx) = sender.split();
    let (listener_tx, listener_rx) = listener.split();
    tokio::join!(pass(sender_rx, listener_tx), pass(listener_rx, sender_tx));
}

async fn pass(
    mut from: futures::stream::SplitStream<WebSocket>,
    mut to: futures::stream::SplitSink<WebSocket, Message>,
) {
    while let Some(Ok(message)) = from.next().await {
        let closing = matches!(message, Message::Close(_));
        // Each hop answers its own pings.
        if matches!(message, Message::Ping(_) | Message::Pong(_)) {
            continue;
        }
        if to.send(message).await.is_err() || closing {
            return;
        }
    }
    let _ = to.close().await;
}

fn refuse_send(e: &SendError) -> Response {
    refuse(
        StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
        &e.to_string(),
    )
}

/// `sec-websocket-key` → `Sec-WebSocket-Key`, as the service writes header names.
fn canonical(name: &str) -> String {
    name.split('-')
        .map(|part| match part {
            "websocket" => "WebSocket".to_string(),
            _ => {
                let mut c = part.chars();
                c.next()
                    .map(|f| f.to_ascii_uppercase().to_string() + c.as_str())
                    .unwrap_or_default()
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}
