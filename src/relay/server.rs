//! The relay's HTTP/WebSocket surface on axum: the listener control channel
//! (`GET /$hc/{path}?sb-hc-action=listen`, upgraded to a WebSocket, one task each), the
//! WebSocket sender and rendezvous (`connect`, `accept`: [`super::rendezvous`]) and the
//! HTTP sender endpoint (`/{path}[/…]`, any method). Handshake failures are plain HTTP
//! answers, as the service gives them: 404 unknown path, 401 missing/malformed/invalid or
//! expired token, 403 a token without the right or for another path, 503 when down.

use super::protocol::{close, ControlMessage};
use super::{refuse, rendezvous, HttpRequest, HttpResponse, Relay, Rights};
use crate::sas;
use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{ConnectInfo, Path, Query, State};
use axum::http::{header, HeaderMap, HeaderName, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response as AxumResponse};
use axum::routing::{any, get};
use axum::Router;
use chrono::{DateTime, Utc};
use futures::{SinkExt, StreamExt};
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_util::sync::CancellationToken;

pub fn router(relay: Relay) -> Router {
    Router::new()
        .route("/$hc/{path}", get(hybrid_connection))
        .route("/{path}", any(sender))
        .route("/{path}/{*rest}", any(sender))
        .with_state(relay)
}

/// Serve the relay on an already-bound listener until `shutdown` is cancelled; open
/// control channels are then closed with 1001 (going away).
pub async fn serve(
    relay: Relay,
    listener: TcpListener,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let app = router(relay.clone());
    let stop = shutdown.clone();
    // Nagle's algorithm holds a small response frame back until the peer's delayed ACK
    // (40 ms on loopback), once per relayed request; every hop disables it.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let served = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(async move { stop.cancelled().await });
    let closer = async {
        shutdown.cancelled().await;
        relay.close_listeners(close::GOING_AWAY, "relay shutting down");
    };
    let (r, ()) = tokio::join!(served, closer);
    r
}

/// The token of a request: `sb-hc-token` query, `ServiceBusAuthorization` or `Authorization`.
fn token_of(query: &HashMap<String, String>, headers: &HeaderMap) -> Option<String> {
    query
        .get("sb-hc-token")
        .cloned()
        .or_else(|| {
            headers
                .get("ServiceBusAuthorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
        .or_else(|| {
            headers
                .get("Authorization")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        })
}

impl Relay {
    /// Check a token for `path` and `wanted`; its expiry on success.
    pub(super) fn authorize(
        &self,
        path: &str,
        token: Option<&str>,
        wanted: Rights,
    ) -> Result<DateTime<Utc>, (StatusCode, String)> {
        let unauthorized = |why: &str| (StatusCode::UNAUTHORIZED, why.to_string());
        let token = token.ok_or_else(|| unauthorized("the request has no SAS token (sb-hc-token, ServiceBusAuthorization or Authorization)"))?;
        let t = sas::parse(token).map_err(|e| unauthorized(&format!("malformed token: {e}")))?;
        let policy = self
            .config()
            .policies
            .iter()
            .find(|p| p.name == t.key_name)
            .ok_or_else(|| unauthorized(&format!("unknown key name `{}`", t.key_name)))?;
        if !sas::verify(&t, &policy.key) {
            return Err(unauthorized("the token signature is invalid"));
        }
        let expires = DateTime::from_timestamp(t.expiry, 0).unwrap_or_default();
        if expires <= self.inner.clock.now() {
            return Err(unauthorized("the token has expired"));
        }
        let strip = |s: &str| {
            let s = s.to_ascii_lowercase();
            let s = s.split_once("://").map(|(_, r)| r.to_string()).unwrap_or(s);
            s.trim_end_matches('/').to_string()
        };
        let resource = strip(&t.resource);
        let wanted_resource = strip(&format!("{}/{path}", self.config().namespace));
        let namespace = strip(&self.config().namespace);
        if resource != wanted_resource
            && resource != namespace
            && !wanted_resource.starts_with(&format!("{resource}/"))
        {
            return Err((
                StatusCode::FORBIDDEN,
                format!("the token is for `{}`, not `{path}`", t.resource),
            ));
        }
        if !policy.rights.allows(wanted) {
            return Err((
                StatusCode::FORBIDDEN,
                format!("the key `{}` does not grant {wanted:?}", policy.name),
            ));
        }
        Ok(expires)
    }

    /// Close every control channel with `code`.
    pub fn close_listeners(&self, code: u16, reason: &str) {
        let mut st = self.state();
        for (_, ls) in st.listeners.drain() {
            for l in ls {
                let _ =
                    l.tx.send(super::ToListener::Close(code, reason.to_string()));
            }
        }
    }
}

/// `/$hc/{path}`: a listener's control channel (`listen`), a WebSocket sender (`connect`)
/// or a listener at a rendezvous address (`accept`).
async fn hybrid_connection(
    State(relay): State<Relay>,
    Path(path): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    headers: HeaderMap,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> AxumResponse {
    if !relay.path_exists(&path) {
        return refuse(
            StatusCode::NOT_FOUND,
            &format!("the hybrid connection `{path}` does not exist"),
        );
    }
    let action = query.get("sb-hc-action").map(String::as_str);
    if action == Some("accept") {
        // The rendezvous id is the listener's credential.
        return rendezvous::accept(relay, &query, &headers, upgrade.ok());
    }
    let wanted = match action {
        Some("listen") => Rights::Listen,
        Some("connect") => Rights::Send,
        Some(other) => {
            return refuse(
                StatusCode::BAD_REQUEST,
                &format!("sb-hc-action={other} is not served by this relay; listeners use `listen`, WebSocket senders `connect`, HTTP senders send to /{path}"),
            )
        }
        None => return refuse(StatusCode::BAD_REQUEST, "sb-hc-action is missing"),
    };
    if relay.faults().down {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the relay is unavailable (fault)",
        );
    }
    let expires = match relay.authorize(&path, token_of(&query, &headers).as_deref(), wanted) {
        Ok(e) => e,
        Err((status, why)) => return refuse(status, &why),
    };
    let Ok(upgrade) = upgrade else {
        return refuse(
            StatusCode::BAD_REQUEST,
            "a hybrid connection is a WebSocket here: send an Upgrade request",
        );
    };
    if wanted == Rights::Send {
        return rendezvous::connect(relay, path, headers, Some(peer), upgrade).await;
    }
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .unwrap_or(relay.config().namespace.as_str())
        .to_string();
    upgrade.on_upgrade(move |socket| listener_task(relay, path, expires, host, socket))
}

async fn listener_task(
    relay: Relay,
    path: String,
    expires: DateTime<Utc>,
    host: String,
    socket: WebSocket,
) {
    let (id, mut rx) = relay.register(&path, expires, host);
    let (mut sink, mut stream) = socket.split();
    let mut pending: HashMap<String, oneshot::Sender<HttpResponse>> = HashMap::new();
    let mut awaiting_body: Option<(String, HttpResponse)> = None;
    let close = |code: u16, reason: String| {
        Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }))
    };
    loop {
        tokio::select! {
            cmd = rx.recv() => match cmd {
                Some(super::ToListener::Request { request, body, reply }) => {
                    pending.insert(request.id.clone(), reply);
                    let text = serde_json::to_string(&ControlMessage::Request(request)).unwrap_or_default();
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                    if !body.is_empty() && sink.send(Message::Binary(body.into())).await.is_err() {
                        break;
                    }
                }
                Some(super::ToListener::Accept(accept)) => {
                    let text = serde_json::to_string(&ControlMessage::Accept(accept)).unwrap_or_default();
                    if sink.send(Message::Text(text.into())).await.is_err() {
                        break;
                    }
                }
                Some(super::ToListener::Close(code, reason)) => {
                    let _ = sink.send(close(code, reason)).await;
                    break;
                }
                None => break,
            },
            msg = stream.next() => match msg {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break,
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ControlMessage>(&text) {
                    Ok(ControlMessage::Response(r)) => {
                        let id = r.request_id.clone();
                        let body = r.body;
                        let resp = HttpResponse::from(r);
                        if body {
                            awaiting_body = Some((id, resp));
                        } else if let Some(reply) = pending.remove(&id) {
                            let _ = reply.send(resp);
                        }
                    }
                    Ok(ControlMessage::RenewToken(t)) => match relay.authorize(&path, Some(&t.token), Rights::Listen) {
                        Ok(e) => relay.renew(&path, id, e),
                        Err((_, why)) => {
                            let _ = sink.send(close(close::POLICY_VIOLATION, format!("renewToken refused: {why}"))).await;
                            break;
                        }
                    },
                    Ok(ControlMessage::Request(_) | ControlMessage::Accept(_)) | Err(_) => {
                        let _ = sink.send(close(close::POLICY_VIOLATION, "not a response or renewToken message".into())).await;
                        break;
                    }
                },
                Some(Ok(Message::Binary(bytes))) => {
                    if let Some((rid, mut resp)) = awaiting_body.take() {
                        resp.body = bytes.to_vec();
                        if let Some(reply) = pending.remove(&rid) {
                            let _ = reply.send(resp);
                        }
                    }
                }
                Some(Ok(_)) => {}
            },
        }
    }
    relay.unregister(&path, id);
}

async fn sender(
    State(relay): State<Relay>,
    method: Method,
    uri: Uri,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
    body: Bytes,
) -> AxumResponse {
    let path_and_rest = uri.path().trim_start_matches('/').to_string();
    let (path, rest) = path_and_rest
        .split_once('/')
        .unwrap_or((path_and_rest.as_str(), ""));
    if !relay.path_exists(path) {
        return refuse(
            StatusCode::NOT_FOUND,
            &format!("the hybrid connection `{path}` does not exist"),
        );
    }
    if relay.faults().down {
        return refuse(
            StatusCode::SERVICE_UNAVAILABLE,
            "the relay is unavailable (fault)",
        );
    }
    if let Err((status, why)) =
        relay.authorize(path, token_of(&query, &headers).as_deref(), Rights::Send)
    {
        return refuse(status, &why);
    }
    let kept_query: Vec<String> = uri
        .query()
        .unwrap_or_default()
        .split('&')
        .filter(|kv| !kv.is_empty() && !kv.starts_with("sb-hc-"))
        .map(str::to_string)
        .collect();
    let mut target = format!("/{rest}");
    if !kept_query.is_empty() {
        target = format!("{target}?{}", kept_query.join("&"));
    }
    let request = HttpRequest {
        method: method.to_string(),
        target,
        headers: headers
            .iter()
            .filter(|(k, _)| !k.as_str().eq_ignore_ascii_case("authorization"))
            .filter_map(|(k, v)| v.to_str().ok().map(|v| (k.to_string(), v.to_string())))
            .collect::<BTreeMap<_, _>>(),
        body: body.to_vec(),
    };
    match relay.send(path, request).await {
        Ok(resp) => {
            let mut out = (
                StatusCode::from_u16(resp.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                resp.body,
            )
                .into_response();
            for (k, v) in resp.headers {
                if let (Ok(k), Ok(v)) = (
                    HeaderName::try_from(k.as_str()),
                    HeaderValue::try_from(v.as_str()),
                ) {
                    out.headers_mut().insert(k, v);
                }
            }
            if let Ok(via) = HeaderValue::try_from(format!("1.1 {}", relay.config().namespace)) {
                out.headers_mut().insert("via", via);
            }
            out
        }
        Err(e) => refuse(
            StatusCode::from_u16(e.status()).unwrap_or(StatusCode::BAD_GATEWAY),
            &e.to_string(),
        ),
    }
}
