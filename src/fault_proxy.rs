//! A small TCP proxy of ours in front of a domain controller — the embedded AD or a real
//! one — between the world's LDAP clients (the engine, pass-through sign-ins) and the DC,
//! so that the network faults a scenario switches on (`fault: {ldap: {down, latency}}`, a
//! reset of every connection) mean the same thing in front of any DC, without touching it.
//! It forwards bytes both ways untouched (TLS stays end to end between the client and the
//! DC).
//!
//! - down: a new connection is closed as soon as it arrives, open ones are cut (what an
//!   unreachable DC looks like to LDAP clients);
//! - latency: each answer the DC sends to what the client sent waits this long, on the
//!   world's clock (a scenario's business time moves at once, a lab's real time passes).
//!   One exchange costs it once however the bytes are split into segments: the TLS
//!   handshake's round trip once, each answered request once; an unbind or abandon gets no
//!   answer and costs nothing;
//! - reset: every open connection is cut now.

use crate::clock::Clock;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The LDAP fault switches: the DC as the network sees it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LdapFaults {
    /// Connections are cut and new ones closed as soon as they arrive (the DC is
    /// unreachable).
    pub down: bool,
    /// Every exchange with the DC costs this much business time.
    pub latency: Option<Duration>,
}

#[derive(Default)]
struct Switches {
    faults: Mutex<LdapFaults>,
    /// Cancelled to cut every connection open now; replaced by a fresh one after.
    cut: Mutex<CancellationToken>,
}

impl Switches {
    fn cut_all(&self) {
        let mut cut = self.cut.lock().unwrap_or_else(|e| e.into_inner());
        cut.cancel();
        *cut = CancellationToken::new();
    }

    fn token(&self) -> CancellationToken {
        self.cut.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    fn faults(&self) -> LdapFaults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

/// A running proxy: where it listens and its switches.
pub struct FaultProxy {
    addr: SocketAddr,
    switches: Arc<Switches>,
    stop: CancellationToken,
}

impl std::fmt::Debug for FaultProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FaultProxy")
            .field("addr", &self.addr)
            .field("faults", &self.faults())
            .finish()
    }
}

impl FaultProxy {
    /// Listen on a free loopback port and forward every connection to `upstream`
    /// (`host:port`); latency passes on `clock`.
    pub async fn start(upstream: String, clock: Arc<dyn Clock>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let switches = Arc::new(Switches::default());
        let stop = CancellationToken::new();
        tokio::spawn(serve(
            listener,
            upstream,
            switches.clone(),
            clock,
            stop.clone(),
        ));
        Ok(Self {
            addr,
            switches,
            stop,
        })
    }

    /// Where clients connect (`127.0.0.1:PORT`).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The faults in force.
    pub fn faults(&self) -> LdapFaults {
        self.switches.faults()
    }

    /// Put these faults in force: a DC that goes down cuts what is open.
    pub fn set_faults(&self, f: LdapFaults) {
        let down = f.down;
        *self
            .switches
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = f;
        if down {
            self.switches.cut_all();
        }
    }

    /// Cut every open connection now.
    pub fn reset(&self) {
        self.switches.cut_all();
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.cancel();
        self.switches.cut_all();
    }
}

async fn serve(
    listener: TcpListener,
    upstream: String,
    switches: Arc<Switches>,
    clock: Arc<dyn Clock>,
    stop: CancellationToken,
) {
    loop {
        let (client, _) = tokio::select! {
            _ = stop.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "fault proxy: accept failed");
                    continue;
                }
            },
        };
        if switches.faults().down {
            drop(client);
            continue;
        }
        let cut = switches.token();
        let switches = switches.clone();
        let upstream = upstream.clone();
        let clock = clock.clone();
        tokio::spawn(async move {
            let server = match TcpStream::connect(&upstream).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%upstream, error = %e, "fault proxy: the DC cannot be reached");
                    return;
                }
            };
            let _ = client.set_nodelay(true);
            let _ = server.set_nodelay(true);
            tokio::select! {
                _ = cut.cancelled() => {}
                _ = pipe(client, server, &switches, clock.as_ref()) => {}
            }
        });
    }
}

/// Are these bytes nothing but TLS alert records — the close_notify a DC sends after an
/// unbind, which no client waits for? An alert is its own record type up to TLS 1.2; in
/// TLS 1.3 it is an application-data record too small to hold any LDAP message (2 bytes of
/// alert, the inner type and a 16-byte AEAD tag: 19; the smallest LDAP message is 7 bytes).
fn only_alerts(bytes: &[u8]) -> bool {
    const ALERT: u8 = 21;
    const APPLICATION_DATA: u8 = 23;
    let mut rest = bytes;
    while !rest.is_empty() {
        let [kind, _, _, hi, lo, ..] = *rest else {
            return false;
        };
        let len = usize::from(u16::from_be_bytes([hi, lo]));
        if !(kind == ALERT || (kind == APPLICATION_DATA && len < 7 + 1 + 16)) {
            return false;
        }
        rest = rest.get(5 + len..).unwrap_or_default();
    }
    !bytes.is_empty()
}

/// Forward both ways until either side closes. The client's bytes go on at once; the
/// first bytes the DC sends after the client last spoke (its answer) wait the latency,
/// unless they are only TLS alerts.
async fn pipe(client: TcpStream, server: TcpStream, switches: &Switches, clock: &dyn Clock) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    // Set before the client's bytes are written, so that the answer to them always sees it.
    let client_spoke = AtomicBool::new(false);
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            client_spoke.store(true, Ordering::SeqCst);
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match sr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if !only_alerts(&buf[..n]) && client_spoke.swap(false, Ordering::SeqCst) {
                if let Some(l) = switches.faults().latency {
                    tracing::debug!(bytes = n, ?l, "fault proxy: the DC's answer waits");
                    clock.elapse(l).await;
                }
            }
            if cw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemClock;

    /// A server that answers "pong" to every four bytes, and nothing to "quit".
    async fn pong_server() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 4];
                    while s.read_exact(&mut b).await.is_ok() {
                        if &b != b"quit" && s.write_all(b"pong").await.is_err() {
                            break;
                        }
                    }
                });
            }
        });
        addr
    }

    async fn round_trip(addr: SocketAddr) -> std::io::Result<Vec<u8>> {
        let mut s = TcpStream::connect(addr).await?;
        s.write_all(b"ping").await?;
        let mut b = [0u8; 4];
        tokio::time::timeout(Duration::from_secs(2), s.read_exact(&mut b))
            .await
            .map_err(|_| std::io::Error::other("timed out"))??;
        Ok(b.to_vec())
    }

    #[tokio::test]
    async fn it_forwards_and_a_dc_that_is_down_closes_every_connection() {
        let proxy = FaultProxy::start(pong_server().await.to_string(), Arc::new(SystemClock))
            .await
            .unwrap();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"pong");

        // An open connection is cut when the DC goes down; new ones are closed at once.
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        open.read_exact(&mut b).await.unwrap();
        proxy.set_faults(LdapFaults {
            down: true,
            latency: None,
        });
        assert!(matches!(open.read(&mut b).await, Ok(0) | Err(_)));
        assert!(round_trip(proxy.addr()).await.is_err());

        proxy.set_faults(LdapFaults::default());
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"pong");
    }

    #[tokio::test]
    async fn a_reset_cuts_what_is_open_and_latency_delays_the_answer() {
        let proxy = FaultProxy::start(pong_server().await.to_string(), Arc::new(SystemClock))
            .await
            .unwrap();
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"ping").await.unwrap();
        let mut b = [0u8; 4];
        open.read_exact(&mut b).await.unwrap();
        proxy.reset();
        assert!(matches!(open.read(&mut b).await, Ok(0) | Err(_)));

        proxy.set_faults(LdapFaults {
            down: false,
            latency: Some(Duration::from_millis(300)),
        });
        let started = std::time::Instant::now();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"pong");
        assert!(started.elapsed() >= Duration::from_millis(300));
    }

    #[test]
    fn a_close_notify_is_no_answer() {
        // TLS 1.3: an encrypted alert (19 bytes) vs. the smallest LDAP answer (24).
        let record = |kind: u8, len: u16| {
            let mut r = vec![kind, 3, 3];
            r.extend_from_slice(&len.to_be_bytes());
            r.extend(std::iter::repeat_n(0u8, usize::from(len)));
            r
        };
        assert!(only_alerts(&record(23, 19)));
        assert!(only_alerts(&record(21, 26)));
        assert!(!only_alerts(&record(23, 24)));
        assert!(!only_alerts(&[record(23, 19), record(23, 36)].concat()));
        assert!(!only_alerts(b"pong"), "not TLS at all");
        assert!(!only_alerts(&[]));
    }

    #[tokio::test]
    async fn latency_is_business_time_once_per_answered_exchange() {
        let clock = crate::clock::ManualClock::scenario_start();
        let t0 = clock.now_utc();
        let proxy = FaultProxy::start(pong_server().await.to_string(), Arc::new(clock.clone()))
            .await
            .unwrap();
        proxy.set_faults(LdapFaults {
            down: false,
            latency: Some(Duration::from_secs(2)),
        });
        let mut s = TcpStream::connect(proxy.addr()).await.unwrap();
        let mut b = [0u8; 4];
        // A request in two segments is one exchange.
        s.write_all(b"pi").await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        s.write_all(b"ng").await.unwrap();
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(&b, b"pong");
        assert_eq!(clock.now_utc() - t0, chrono::Duration::seconds(2));
        // What gets no answer costs nothing; the next exchange costs the latency again.
        s.write_all(b"quit").await.unwrap();
        s.write_all(b"ping").await.unwrap();
        s.read_exact(&mut b).await.unwrap();
        assert_eq!(clock.now_utc() - t0, chrono::Duration::seconds(4));
        assert_eq!(
            proxy.faults().latency,
            Some(Duration::from_secs(2)),
            "the switches read back"
        );
    }
}
