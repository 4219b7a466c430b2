//! The fake Azure Service Bus relay. Real password writeback rides an older, undocumented
//! WCF relay; this stand-in speaks the documented Azure Relay Hybrid Connections protocol
//! (HTTP request mode) so any Hybrid Connections client can use it:
//!
//! - a listener (the writeback engine) opens the control channel
//!   `GET /$hc/{path}?sb-hc-action=listen` as a WebSocket, authenticated by a SAS token with
//!   the Listen right (`sb-hc-token` query, `ServiceBusAuthorization` or `Authorization`
//!   header), and renews it with `renewToken`;
//! - a sender (the SSPR service) sends an HTTP request to `/{path}` with a Send token; the
//!   relay hands it to a listener as a `request` message and returns the listener's
//!   `response` — or 502 when no listener is there, 504 when none answers within 60 s of
//!   business time (the world's clock, so the deadline costs nothing in a scenario; an
//!   answer that arrives later is dropped, though the listener did the work);
//! - a WebSocket sender (`GET /$hc/{path}?sb-hc-action=connect`, Send token) is offered to
//!   a listener as an `accept` message with a rendezvous address on this relay; the
//!   listener opens a WebSocket there (`sb-hc-action=accept`) and the relay joins the two
//!   and relays their messages, or the listener rejects it (`sb-hc-statusCode`) and the
//!   sender gets that status — what Azure's own `hyco-ws` listener does;
//! - faults: latency, down (listeners and senders refused with 503), drop_listener.
//!
//! [`crate::hybrid_connections`] has the messages, [`server`] the axum routes and the
//! per-listener task, [`rendezvous`] the WebSocket mode.
//! Left out on purpose: HTTP bodies over 64 kB (the `request` rendezvous), management
//! operations, WebSocket extensions (permessage-deflate is not negotiated).

mod rendezvous;
pub mod server;

pub use crate::hybrid_connections as protocol;

use crate::clock::Clock;
use chrono::{DateTime, Utc};
use protocol::Response;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, oneshot, Notify};

/// The rights a shared access policy grants.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rights {
    Listen,
    Send,
    /// Manage includes Listen and Send.
    Manage,
}

impl Rights {
    fn allows(self, wanted: Rights) -> bool {
        self == Rights::Manage || self == wanted
    }
}

/// A shared access policy of the namespace.
#[derive(Clone)]
pub struct SasPolicy {
    pub name: String,
    pub key: String,
    pub rights: Rights,
}

impl std::fmt::Debug for SasPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SasPolicy")
            .field("name", &self.name)
            .field("rights", &self.rights)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct RelayConfig {
    /// The namespace host, e.g. `gntech-sspr.servicebus.windows.net`; tokens are for
    /// `http://{namespace}/{path}` (or https, or sb).
    pub namespace: String,
    /// Hybrid connections that exist (other paths answer 404).
    pub paths: Vec<String>,
    pub policies: Vec<SasPolicy>,
    /// How long a listener has to answer a request (60 s in the service).
    pub response_deadline: Duration,
}

/// Fault switches, set by scenarios.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RelayFaults {
    /// Added to every request before the listener sees it.
    pub latency: Option<Duration>,
    /// Refuse listeners and senders (503).
    pub down: bool,
}

/// A request as a sender makes it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HttpRequest {
    pub method: String,
    /// Path and query after the hybrid connection path, e.g. `/reset?x=1` (or `/`).
    pub target: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// The listener's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponse {
    pub status: u16,
    pub description: Option<String>,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

/// Why a request got no answer from a listener.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("404 the hybrid connection `{0}` does not exist")]
    NoSuchPath(String),
    #[error("502 no listener is connected to `{0}`")]
    NoListener(String),
    #[error("504 the listener did not answer within {0:?}")]
    Timeout(Duration),
    #[error("503 the relay is unavailable")]
    Down,
    #[error("500 the listener answered with a forbidden status {0}")]
    BadListenerStatus(u16),
}

impl SendError {
    pub fn status(&self) -> u16 {
        match self {
            Self::NoSuchPath(_) => 404,
            Self::NoListener(_) => 502,
            Self::Timeout(_) => 504,
            Self::Down => 503,
            Self::BadListenerStatus(_) => 500,
        }
    }
}

/// Work for one listener's task.
#[derive(Debug)]
enum ToListener {
    Request {
        request: protocol::Request,
        body: Vec<u8>,
        reply: oneshot::Sender<HttpResponse>,
    },
    /// A WebSocket sender waits at a rendezvous address.
    Accept(protocol::Accept),
    /// Close the control channel with this code and reason.
    Close(u16, String),
}

#[derive(Debug)]
struct Listener {
    id: u64,
    tx: mpsc::UnboundedSender<ToListener>,
    expires: DateTime<Utc>,
    /// The host (and port) the listener reached the relay at: where it can reach a
    /// rendezvous address.
    host: String,
}

/// The listener a sender's request or connection goes to.
struct Picked {
    tx: mpsc::UnboundedSender<ToListener>,
    host: String,
    faults: RelayFaults,
    /// A fresh id for the exchange.
    exchange: u64,
}

#[derive(Debug, Default)]
struct State {
    listeners: HashMap<String, Vec<Listener>>,
    faults: RelayFaults,
    next_id: u64,
    /// Round-robin position per path (the service balances at random; this is stable).
    turn: HashMap<String, usize>,
    /// WebSocket senders waiting for a listener at their rendezvous id.
    waiting: HashMap<String, oneshot::Sender<rendezvous::Outcome>>,
}

/// A handle on the relay, shared by its routes and the world.
#[derive(Clone)]
pub struct Relay {
    inner: Arc<Inner>,
}

struct Inner {
    config: RelayConfig,
    clock: Arc<dyn Clock>,
    state: Mutex<State>,
    /// Woken whenever a listener connects or renews its token.
    listeners_changed: Notify,
}

impl std::fmt::Debug for Relay {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Relay")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Relay {
    pub fn new(config: RelayConfig, clock: Arc<dyn Clock>) -> Self {
        Self {
            inner: Arc::new(Inner {
                config,
                clock,
                state: Mutex::new(State::default()),
                listeners_changed: Notify::new(),
            }),
        }
    }

    pub fn config(&self) -> &RelayConfig {
        &self.inner.config
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_faults(&self, faults: RelayFaults) {
        self.state().faults = faults;
    }

    pub fn faults(&self) -> RelayFaults {
        self.state().faults.clone()
    }

    /// Close every listener's control channel (fault `drop_listener`), as a service error.
    pub fn drop_listeners(&self) {
        self.close_listeners(protocol::close::INTERNAL_ERROR, "listener dropped (fault)");
    }

    /// Until when the listeners of `path` may listen (their tokens' expiry), in order.
    pub fn listener_expiries(&self, path: &str) -> Vec<DateTime<Utc>> {
        self.state()
            .listeners
            .get(&path.to_ascii_lowercase())
            .map(|ls| ls.iter().map(|l| l.expires).collect())
            .unwrap_or_default()
    }

    /// How many listeners are connected to `path`.
    pub fn listener_count(&self, path: &str) -> usize {
        (self.state().listeners.get(&path.to_ascii_lowercase())).map_or(0, Vec::len)
    }

    /// Wait (real time, at most `limit`) until a listener is connected to `path`; whether
    /// one is.
    pub async fn wait_listener(&self, path: &str, limit: Duration) -> bool {
        self.wait_listeners(path, limit, |expiries| !expiries.is_empty())
            .await
    }

    /// Wait (real time, at most `limit`) until the token expiries of `path`'s listeners
    /// ([`Relay::listener_expiries`]) are `ready`; whether they are.
    pub async fn wait_listeners(
        &self,
        path: &str,
        limit: Duration,
        ready: impl Fn(&[DateTime<Utc>]) -> bool,
    ) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let changed = self.inner.listeners_changed.notified();
            tokio::pin!(changed);
            // Registered before the listeners are read: a change in between wakes it.
            changed.as_mut().enable();
            if ready(&self.listener_expiries(path)) {
                return true;
            }
            if tokio::time::timeout_at(deadline, changed).await.is_err() {
                return ready(&self.listener_expiries(path));
            }
        }
    }

    fn path_exists(&self, path: &str) -> bool {
        self.inner
            .config
            .paths
            .iter()
            .any(|p| p.eq_ignore_ascii_case(path))
    }

    fn register(
        &self,
        path: &str,
        expires: DateTime<Utc>,
        host: String,
    ) -> (u64, mpsc::UnboundedReceiver<ToListener>) {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut st = self.state();
        st.next_id += 1;
        let id = st.next_id;
        st.listeners
            .entry(path.to_ascii_lowercase())
            .or_default()
            .push(Listener {
                id,
                tx,
                expires,
                host,
            });
        drop(st);
        self.inner.listeners_changed.notify_waiters();
        (id, rx)
    }

    fn unregister(&self, path: &str, id: u64) {
        if let Some(ls) = self.state().listeners.get_mut(&path.to_ascii_lowercase()) {
            ls.retain(|l| l.id != id);
        }
    }

    fn renew(&self, path: &str, id: u64, expires: DateTime<Utc>) {
        if let Some(l) = self
            .state()
            .listeners
            .get_mut(&path.to_ascii_lowercase())
            .and_then(|ls| ls.iter_mut().find(|l| l.id == id))
        {
            l.expires = expires;
        }
        self.inner.listeners_changed.notify_waiters();
    }

    /// The next listener of `path` (round robin), after closing those whose token has
    /// expired (1008, as the service does).
    fn pick(&self, path: &str) -> Result<Picked, SendError> {
        if !self.path_exists(path) {
            return Err(SendError::NoSuchPath(path.to_string()));
        }
        let now = self.inner.clock.now();
        let mut st = self.state();
        if st.faults.down {
            return Err(SendError::Down);
        }
        st.next_id += 1;
        let exchange = st.next_id;
        let key = path.to_ascii_lowercase();
        if let Some(ls) = st.listeners.get_mut(&key) {
            ls.retain(|l| {
                let alive = l.expires > now;
                if !alive {
                    let _ = l.tx.send(ToListener::Close(
                        protocol::close::POLICY_VIOLATION,
                        "token expired".into(),
                    ));
                }
                alive
            });
        }
        let count = st.listeners.get(&key).map_or(0, Vec::len);
        if count == 0 {
            return Err(SendError::NoListener(path.to_string()));
        }
        let turn = st.turn.entry(key.clone()).or_default();
        let pick = *turn % count;
        *turn += 1;
        let faults = st.faults.clone();
        st.listeners
            .get(&key)
            .and_then(|ls| ls.get(pick))
            .map(|l| Picked {
                tx: l.tx.clone(),
                host: l.host.clone(),
                faults,
                exchange,
            })
            .ok_or_else(|| SendError::NoListener(path.to_string()))
    }

    /// Send a request to a listener of `path` and wait for its answer. The deadline runs on
    /// the world's clock from now until the answer arrives, whatever makes it late (the
    /// relay's latency, a slow DC behind the listener, many round trips): a late answer is
    /// dropped and the sender gets 504 — although the listener may have done the work.
    pub async fn send(&self, path: &str, req: HttpRequest) -> Result<HttpResponse, SendError> {
        let deadline = self.inner.config.response_deadline;
        let sent_at = self.inner.clock.now();
        let Picked {
            tx,
            faults,
            exchange: request_id,
            ..
        } = self.pick(path)?;
        if let Some(latency) = faults.latency {
            if latency >= deadline {
                // The listener would see it only after the deadline: the sender times out.
                self.inner.clock.elapse(deadline).await;
                return Err(SendError::Timeout(deadline));
            }
            self.inner.clock.elapse(latency).await;
        }
        let (reply, answer) = oneshot::channel();
        let request = protocol::Request {
            address: format!(
                "wss://{}/$hc/{path}?sb-hc-action=request&sb-hc-id={request_id}",
                self.inner.config.namespace
            ),
            id: request_id.to_string(),
            request_target: req.target.clone(),
            method: req.method.clone(),
            request_headers: strip_hop_headers(req.headers),
            body: !req.body.is_empty(),
        };
        if tx
            .send(ToListener::Request {
                request,
                body: req.body,
                reply,
            })
            .is_err()
        {
            return Err(SendError::NoListener(path.to_string()));
        }
        // Real time bounds the wait too, so a listener that never answers cannot hang a
        // sender; in a scenario listeners answer at once or a fault decides first.
        match tokio::time::timeout(deadline, answer).await {
            Ok(Ok(resp)) if resp.status == 502 || resp.status == 504 => {
                Err(SendError::BadListenerStatus(resp.status))
            }
            Ok(Ok(resp)) => {
                let took = (self.inner.clock.now() - sent_at)
                    .to_std()
                    .unwrap_or_default();
                if took > deadline {
                    tracing::info!(
                        path,
                        took_s = took.as_secs(),
                        "the listener answered after the deadline: the answer is dropped"
                    );
                    return Err(SendError::Timeout(deadline));
                }
                Ok(resp)
            }
            Ok(Err(_)) => Err(SendError::NoListener(path.to_string())),
            Err(_) => {
                self.inner.clock.elapse(Duration::ZERO).await;
                Err(SendError::Timeout(deadline))
            }
        }
    }
}

/// A handshake refused with a plain HTTP status, as the service answers them.
fn refuse(status: axum::http::StatusCode, why: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (status, format!("{} {why}", status.as_u16())).into_response()
}

/// RFC 7230 hop-by-hop headers the relay does not forward.
fn strip_hop_headers(h: BTreeMap<String, String>) -> BTreeMap<String, String> {
    const HOP: [&str; 9] = [
        "connection",
        "content-length",
        "host",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
        "close",
        "servicebusauthorization",
    ];
    h.into_iter()
        .filter(|(k, _)| !HOP.contains(&k.to_ascii_lowercase().as_str()))
        .collect()
}

impl From<Response> for HttpResponse {
    fn from(r: Response) -> Self {
        Self {
            status: r.status_code,
            description: r.status_description,
            headers: r.response_headers,
            body: Vec::new(),
        }
    }
}
