//! The transport: accepts connections on an already-bound listener (plain LDAP with
//! StartTLS, or LDAPS), frames messages with the `ldap3_proto` codec, runs one task per
//! connection and hands each request to its [`Session`]. Undecodable or oversized input
//! gets a notice of disconnection (protocolError) and closes that connection only.
//! Shutdown stops accepting, tells every open connection (notice, unavailable) and waits
//! for all of them.

use super::codec::AdCodec;
use super::session::{notice_of_disconnection, Action, Session};
use super::Directory;
use futures::{SinkExt, StreamExt};
use ldap3_proto::proto::LdapResultCode;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use tokio_util::codec::Framed;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What a listener speaks.
#[derive(Clone)]
pub enum Listen {
    /// Plain LDAP; StartTLS is offered when an acceptor is given.
    Ldap { starttls: Option<TlsAcceptor> },
    /// LDAPS: TLS from the first byte.
    Ldaps(TlsAcceptor),
}

/// Serve `dir` on `listener` until `shutdown` is cancelled; returns once every
/// connection has ended.
pub async fn serve(
    dir: Directory,
    listener: TcpListener,
    listen: Listen,
    shutdown: CancellationToken,
) {
    let tracker = TaskTracker::new();
    // Accept failures come in runs (out of descriptors): one line, then one every 10 s
    // with how many were not logged.
    let (mut last_logged, mut unlogged) = (None::<tokio::time::Instant>, 0u64);
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, peer)) => {
                    // A client's connections are logged once per 10 s at most.
                    let logged = super::peer_log::allow(peer.ip());
                    let Some(permit) = dir.connection_permit() else {
                        // At the cap: closed at once, so its descriptor is free again.
                        if let Some(unlogged) = logged {
                            tracing::debug!(%peer, unlogged, "LDAP connection refused: the connection limit is reached");
                        }
                        drop(stream);
                        continue;
                    };
                    let _ = stream.set_nodelay(true);
                    if let Some(unlogged) = logged {
                        tracing::debug!(%peer, unlogged, "LDAP connection");
                    }
                    let log = Log(logged.is_some());
                    let conn = connection(dir.clone(), stream, listen.clone(), shutdown.clone(), log);
                    tracker.spawn(async move {
                        conn.await;
                        drop(permit);
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: wait a moment, keep serving.
                    let now = tokio::time::Instant::now();
                    if last_logged.is_none_or(|t| now - t >= Duration::from_secs(10)) {
                        tracing::warn!(error = %e, unlogged, "accept failed");
                        (last_logged, unlogged) = (Some(now), 0);
                    } else {
                        unlogged += 1;
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }
    tracker.close();
    tracker.wait().await;
}

fn codec(dir: &Directory) -> AdCodec {
    AdCodec::new(dir.config().max_message_bytes)
}

/// Whether what a connection does is logged (its client is within its log budget).
#[derive(Debug, Clone, Copy)]
struct Log(bool);

async fn connection(
    dir: Directory,
    stream: TcpStream,
    listen: Listen,
    shutdown: CancellationToken,
    log: Log,
) {
    match listen {
        Listen::Ldaps(acceptor) => {
            let Some(tls) = handshake(&dir, &acceptor, stream, log).await else {
                return;
            };
            let mut framed = Framed::new(tls, codec(&dir));
            let mut session = Session::new(&dir, true, false);
            run(&dir, &mut framed, &mut session, &shutdown, log).await;
        }
        Listen::Ldap { starttls } => {
            let mut framed = Framed::new(stream, codec(&dir));
            let mut session = Session::new(&dir, false, starttls.is_some());
            if run(&dir, &mut framed, &mut session, &shutdown, log).await != Exit::StartTls {
                return;
            }
            let Some(acceptor) = starttls else { return };
            let parts = framed.into_parts();
            if !parts.read_buf.is_empty() {
                // The client sent more before the handshake: RFC 4513 §3.1.1 forbids it.
                return;
            }
            let Some(tls) = handshake(&dir, &acceptor, parts.io, log).await else {
                return;
            };
            let mut framed = Framed::new(tls, codec(&dir));
            session.tls = true;
            run(&dir, &mut framed, &mut session, &shutdown, log).await;
        }
    }
}

async fn handshake(
    dir: &Directory,
    acceptor: &TlsAcceptor,
    stream: TcpStream,
    log: Log,
) -> Option<tokio_rustls::server::TlsStream<TcpStream>> {
    let accept = acceptor.accept(stream);
    let result = match dir.config().handshake_timeout {
        Some(limit) => match tokio::time::timeout(limit, accept).await {
            Ok(r) => r,
            Err(_) => {
                if log.0 {
                    tracing::debug!("TLS handshake timed out");
                }
                return None;
            }
        },
        None => accept.await,
    };
    match result {
        Ok(tls) => Some(tls),
        Err(e) => {
            if log.0 {
                tracing::debug!(error = %e, "TLS handshake failed");
            }
            None
        }
    }
}

/// The next message, or `None` once the connection has been idle for the configured time.
async fn next_message<S>(
    dir: &Directory,
    framed: &mut Framed<S, AdCodec>,
) -> Option<Option<Result<ldap3_proto::proto::LdapMsg, std::io::Error>>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    match dir.config().idle_timeout {
        Some(limit) => tokio::time::timeout(limit, framed.next()).await.ok(),
        None => Some(framed.next().await),
    }
}

/// Filter terms above which a search is evaluated off the async workers.
const HEAVY_FILTER_TERMS: usize = 1024;

/// Is `msg` a search whose filter has more than [`HEAVY_FILTER_TERMS`] terms?
fn heavy(msg: &ldap3_proto::proto::LdapMsg) -> bool {
    use ldap3_proto::proto::{LdapFilter, LdapOp};
    let LdapOp::SearchRequest(req) = &msg.op else {
        return false;
    };
    let (mut stack, mut terms) = (vec![&req.filter], 0usize);
    while let Some(f) = stack.pop() {
        terms += 1;
        if terms > HEAVY_FILTER_TERMS {
            return true;
        }
        match f {
            LdapFilter::And(v) | LdapFilter::Or(v) => stack.extend(v),
            LdapFilter::Not(inner) => stack.push(inner),
            _ => {}
        }
    }
    false
}

#[derive(Debug, PartialEq, Eq)]
enum Exit {
    Closed,
    StartTls,
}

async fn run<S>(
    dir: &Directory,
    framed: &mut Framed<S, AdCodec>,
    session: &mut Session,
    shutdown: &CancellationToken,
    log: Log,
) -> Exit
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    loop {
        let next = tokio::select! {
            _ = shutdown.cancelled() => {
                let notice = notice_of_disconnection(
                    LdapResultCode::Unavailable,
                    "00000005: LdapErr: DSID-0C0906A1, comment: The server is shutting down, data 0, v4563",
                );
                let _ = framed.send(notice).await;
                return Exit::Closed;
            }
            next = next_message(dir, framed) => match next {
                Some(next) => next,
                None => {
                    if log.0 {
                        tracing::debug!("idle connection closed");
                    }
                    return Exit::Closed;
                }
            },
        };
        let msg = match next {
            None => return Exit::Closed,
            Some(Ok(msg)) => msg,
            Some(Err(e)) => {
                if log.0 {
                    tracing::debug!(error = %e, "undecodable LDAP input; closing the connection");
                }
                let notice = notice_of_disconnection(
                    LdapResultCode::ProtocolError,
                    &format!("00000057: LdapErr: DSID-0C090C3E, comment: Error decoding ldap message ({e}), data 0, v4563"),
                );
                let _ = framed.send(notice).await;
                return Exit::Closed;
            }
        };
        let action = if heavy(&msg) {
            // A search whose filter has thousands of terms takes the CPU for a while: it
            // runs off the async workers, so every other client is still answered.
            let mut owned = std::mem::replace(session, Session::new(dir, false, false));
            let d = dir.clone();
            match tokio::task::spawn_blocking(move || {
                let action = owned.handle(&d, msg);
                (owned, action)
            })
            .await
            {
                Ok((s, action)) => {
                    *session = s;
                    action
                }
                Err(_) => return Exit::Closed,
            }
        } else {
            session.handle(dir, msg)
        };
        match action {
            Action::Reply(msgs) => {
                for m in msgs {
                    if framed.feed(m).await.is_err() {
                        return Exit::Closed;
                    }
                }
                if framed.flush().await.is_err() {
                    return Exit::Closed;
                }
            }
            Action::StartTls(resp) => {
                if framed.send(resp).await.is_err() {
                    return Exit::Closed;
                }
                return Exit::StartTls;
            }
            Action::Close(msgs) => {
                for m in msgs {
                    let _ = framed.feed(m).await;
                }
                let _ = framed.flush().await;
                // A clean end: on TLS this sends close_notify, as a DC does after unbind.
                let _ = framed.get_mut().shutdown().await;
                return Exit::Closed;
            }
        }
    }
}

/// A running directory server: its addresses and the means to stop it.
pub struct Running {
    pub ldap_addr: Option<std::net::SocketAddr>,
    pub ldaps_addr: Option<std::net::SocketAddr>,
    /// PEM of the certificate LDAPS and StartTLS present.
    pub cert_pem: String,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Running {
    /// Bind LDAP and LDAPS listeners (either may be omitted) and serve `dir` on them.
    pub async fn start(
        dir: Directory,
        ldap: Option<std::net::SocketAddr>,
        ldaps: Option<std::net::SocketAddr>,
        tls: crate::tls::TlsMaterial,
    ) -> std::io::Result<Self> {
        let shutdown = CancellationToken::new();
        let mut tasks = Vec::new();
        let mut ldap_addr = None;
        let mut ldaps_addr = None;
        // The error names the address: "Address already in use" alone says not which.
        let bind = |addr: std::net::SocketAddr| async move {
            TcpListener::bind(addr)
                .await
                .map_err(|e| std::io::Error::new(e.kind(), format!("{addr}: {e}")))
        };
        if let Some(addr) = ldap {
            let l = bind(addr).await?;
            ldap_addr = Some(l.local_addr()?);
            let listen = Listen::Ldap {
                starttls: Some(tls.acceptor.clone()),
            };
            tasks.push(tokio::spawn(serve(
                dir.clone(),
                l,
                listen,
                shutdown.clone(),
            )));
        }
        if let Some(addr) = ldaps {
            let l = bind(addr).await?;
            ldaps_addr = Some(l.local_addr()?);
            tasks.push(tokio::spawn(serve(
                dir.clone(),
                l,
                Listen::Ldaps(tls.acceptor.clone()),
                shutdown.clone(),
            )));
        }
        Ok(Self {
            ldap_addr,
            ldaps_addr,
            cert_pem: tls.cert_pem,
            shutdown,
            tasks,
        })
    }

    pub fn ldap_url(&self) -> Option<String> {
        self.ldap_addr
            .map(|a| format!("ldap://{}", crate::net::reachable(a)))
    }

    pub fn ldaps_url(&self) -> Option<String> {
        self.ldaps_addr
            .map(|a| format!("ldaps://{}", crate::net::reachable(a)))
    }

    /// Stop accepting, close every connection, and wait for all of it.
    pub async fn shutdown(self) {
        self.shutdown.cancel();
        for t in self.tasks {
            let _ = t.await;
        }
    }
}

// The connection cap ([`super::DirectoryConfig::max_connections`]): one permit per
// connection served, shared by every listener of the directory.
impl super::Inner {
    pub(super) fn new(
        config: super::DirectoryConfig,
        clock: std::sync::Arc<dyn crate::clock::Clock>,
        state: super::State,
    ) -> Self {
        let cap = config.max_connections.min(descriptor_budget()).max(1);
        Self {
            config,
            clock,
            state: std::sync::RwLock::new(state),
            generation: Default::default(),
            connections: std::sync::Arc::new(tokio::sync::Semaphore::new(cap)),
            recipe: Default::default(),
            result_sets: Default::default(),
        }
    }
}

/// Half the soft limit on open files (at least 16): what the directory's connections may
/// use of it.
fn descriptor_budget() -> usize {
    let mut limit = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct it is given.
    let ok = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) } == 0;
    if !ok || limit.rlim_cur == libc::RLIM_INFINITY {
        return usize::MAX;
    }
    usize::try_from(limit.rlim_cur / 2)
        .unwrap_or(usize::MAX)
        .max(16)
}

impl Directory {
    /// A slot to serve one more connection, or `None` at the cap.
    pub fn connection_permit(&self) -> Option<tokio::sync::OwnedSemaphorePermit> {
        self.inner.connections.clone().try_acquire_owned().ok()
    }
}
