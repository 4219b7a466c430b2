//! The outbound relay listener: opens the Hybrid Connections control channel with a SAS
//! token (Listen right), answers each `request` by running the password operation, renews
//! its token when the scheduler asks, and reconnects with exponential backoff whenever the
//! channel closes — all outbound, as the article says: no inbound firewall rule.

use super::config::EngineConfig;
use super::history::History;
use super::password;
use crate::clock::Clock;
use crate::hybrid_connections::{ControlMessage, RenewToken, Response};
use crate::sas;
use crate::writeback_protocol::{Outcome, PasswordRequest, PasswordResponse, SealError, Sealed};
use chrono::{DateTime, Utc};
use futures::stream::FuturesUnordered;
use futures::{SinkExt, StreamExt};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use tokio::sync::{mpsc, oneshot, watch, Notify};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;

/// What the engine's tasks share.
pub struct Shared {
    pub cfg: EngineConfig,
    pub clock: Arc<dyn Clock>,
    pub history: History,
    /// The control channel is open (a watch: the world waits for it to open).
    pub connected: watch::Sender<bool>,
    /// When the token the relay holds expires (while connected): the scheduler renews it
    /// before then.
    pub token_expires: Mutex<Option<DateTime<Utc>>>,
    /// Wakes the scheduler when something it plans by changed (a new connection).
    pub poke: Notify,
    /// Microsoft Graph as the configuration names it (one client: its token lasts).
    pub graph: Option<super::graph_client::GraphClient>,
    /// How many adds an export sends ahead ([`EngineState::export_ahead`]).
    ///
    /// [`EngineState::export_ahead`]: super::EngineState::export_ahead
    pub export_ahead: super::export::ExportAhead,
}

impl Shared {
    pub fn new(
        cfg: EngineConfig,
        clock: Arc<dyn Clock>,
        history: History,
        pool: &super::graph_client::HttpPool,
        export_ahead: super::export::ExportAhead,
    ) -> Self {
        Self {
            graph: super::graph_client::GraphClient::from_config(&cfg, &clock, pool),
            cfg,
            clock,
            history,
            connected: watch::Sender::new(false),
            token_expires: Mutex::new(None),
            poke: Notify::new(),
            export_ahead,
        }
    }

    pub fn is_connected(&self) -> bool {
        *self.connected.borrow()
    }

    pub fn token_expires(&self) -> Option<DateTime<Utc>> {
        *self.token_expires.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn set_token_expires(&self, t: Option<DateTime<Utc>>) {
        *self.token_expires.lock().unwrap_or_else(|e| e.into_inner()) = t;
    }
}

/// A fresh SAS token for the listen URL, and when it expires.
fn token(s: &Shared) -> (String, DateTime<Utc>) {
    let expires = s.clock.now()
        + chrono::Duration::from_std(s.cfg.relay_token_lifetime)
            .unwrap_or(chrono::Duration::hours(1));
    let resource = format!("http://{}/{}", s.cfg.relay_namespace, s.cfg.relay_path);
    let t = sas::token(
        &resource,
        &s.cfg.relay_key_name,
        &s.cfg.relay_key,
        expires.timestamp(),
    );
    (t, expires)
}

fn listen_url(s: &Shared, token: &str) -> String {
    let t = percent_encoding::utf8_percent_encode(token, percent_encoding::NON_ALPHANUMERIC);
    format!(
        "{}/$hc/{}?sb-hc-action=listen&sb-hc-token={t}",
        s.cfg.relay_url.trim_end_matches('/'),
        s.cfg.relay_path
    )
}

/// A renewal the scheduler asks for; answered once the new token is on its way.
pub type Renewal = oneshot::Sender<()>;

/// Keep a control channel open until `shutdown`.
pub async fn run(
    shared: Arc<Shared>,
    mut renew: mpsc::UnboundedReceiver<Renewal>,
    shutdown: CancellationToken,
) {
    let (first, max) = shared.cfg.reconnect_backoff;
    let mut backoff = first;
    loop {
        if shutdown.is_cancelled() {
            break;
        }
        let (token, expires) = token(&shared);
        let url = listen_url(&shared, &token);
        match tokio_tungstenite::connect_async_with_config(url, None, true).await {
            Ok((ws, _)) => {
                backoff = first;
                shared.set_token_expires(Some(expires));
                shared.connected.send_replace(true);
                shared.poke.notify_one();
                tracing::info!(path = %shared.cfg.relay_path, "relay listener connected");
                serve(&shared, ws, &mut renew, &shutdown).await;
                shared.connected.send_replace(false);
                shared.set_token_expires(None);
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
    renew: &mut mpsc::UnboundedReceiver<Renewal>,
    shutdown: &CancellationToken,
) {
    let (mut sink, mut stream) = ws.split();
    // Requests are handled side by side (one user's slow DC does not hold up the next
    // user); each answer goes out as soon as it is ready, matched by its request id.
    let mut work = FuturesUnordered::new();
    loop {
        let msg = tokio::select! {
            _ = shutdown.cancelled() => {
                let _ = sink.send(Message::Close(None)).await;
                return;
            }
            Some(done) = renew.recv() => {
                let (token, expires) = token(shared);
                let m = ControlMessage::RenewToken(RenewToken { token });
                if sink.send(Message::Text(serde_json::to_string(&m).unwrap_or_default().into())).await.is_err() {
                    return;
                }
                shared.set_token_expires(Some(expires));
                let _ = done.send(());
                continue;
            }
            Some((id, status, reply)) = work.next(), if !work.is_empty() => {
                if answer(&mut sink, id, status, reply).await.is_err() {
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
        work.push(async move {
            let (status, reply) = match serde_json::from_slice::<Sealed>(&body) {
                Ok(sealed) => {
                    let answer = match open(shared, &sealed) {
                        Ok(pr) => {
                            password::handle(
                                &shared.cfg,
                                shared.clock.as_ref(),
                                &shared.history,
                                pr,
                            )
                            .await
                        }
                        Err(refused) => *refused,
                    };
                    (200, serde_json::to_vec(&answer).unwrap_or_default())
                }
                Err(e) => (
                    400,
                    format!("{{\"error\":\"not a sealed password request: {e}\"}}").into_bytes(),
                ),
            };
            (req.id, status, reply)
        });
    }
}

/// The request inside `sealed`, opened with the agent's key; or the answer that says why
/// it cannot be (the PasswordResetService event logged): a key mismatch is 32004
/// DecryptionError (disable and enable password writeback again to onboard a new key), an
/// altered package 32010 CryptoError, a malformed one 32003 InPutValidationError.
fn open(shared: &Shared, sealed: &Sealed) -> Result<PasswordRequest, Box<PasswordResponse>> {
    let opened = match &shared.cfg.writeback_key {
        Some(key) => key.open(sealed),
        None => Err(SealError::Key(
            "this service holds no key: enable password writeback again".into(),
        )),
    };
    opened.map_err(|e| {
        let (id, name) = match e {
            SealError::OtherKey { .. } | SealError::Unwrap | SealError::Key(_) => {
                (32004, "DecryptionError")
            }
            SealError::Tampered => (32010, "CryptoError"),
            SealError::Malformed(_) => (32003, "InPutValidationError"),
        };
        let message = format!("{name}: {e}");
        shared.history.event(
            shared.clock.now(),
            id,
            super::history::Level::Error,
            message.clone(),
        );
        Box::new(PasswordResponse {
            outcome: Outcome::Error,
            event_id: id,
            ldap_code: None,
            ad_message: None,
            dn: None,
            refused: None,
            message,
        })
    })
}

/// The listener's answer to request `id`: the response message, then its body.
async fn answer<S>(sink: &mut S, id: String, status: u16, reply: Vec<u8>) -> Result<(), S::Error>
where
    S: futures::Sink<Message> + Unpin,
{
    let head = ControlMessage::Response(Response {
        request_id: id,
        status_code: status,
        status_description: None,
        response_headers: BTreeMap::from([(
            "Content-Type".to_string(),
            "application/json".to_string(),
        )]),
        body: true,
    });
    sink.send(Message::Text(
        serde_json::to_string(&head).unwrap_or_default().into(),
    ))
    .await?;
    sink.send(Message::Binary(reply.into())).await
}
