//! A small TCP proxy of ours in front of a domain controller, so that the network faults a
//! scenario switches on (`fault: {ldap: {down, latency}}`, a reset of every connection)
//! happen in front of any DC — a real one included — without touching it. It forwards
//! bytes both ways untouched (TLS stays end to end between the client and the DC).
//!
//! - down: a new connection is closed as soon as it arrives, open ones are cut (what an
//!   unreachable DC looks like to LDAP clients, as the embedded AD does it);
//! - latency: each chunk a client sends waits this long (real time) before it goes on;
//! - reset: every open connection is cut now.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

#[derive(Default)]
struct Switches {
    down: AtomicBool,
    latency: Mutex<Option<Duration>>,
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

    fn latency(&self) -> Option<Duration> {
        *self.latency.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// A running proxy: where it listens and its switches.
pub struct FaultProxy {
    addr: SocketAddr,
    switches: Arc<Switches>,
    stop: CancellationToken,
}

impl FaultProxy {
    /// Listen on a free loopback port and forward every connection to `upstream`
    /// (`host:port`).
    pub async fn start(upstream: String) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let switches = Arc::new(Switches::default());
        let stop = CancellationToken::new();
        tokio::spawn(serve(listener, upstream, switches.clone(), stop.clone()));
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

    pub fn down(&self) -> bool {
        self.switches.down.load(Ordering::SeqCst)
    }

    pub fn latency(&self) -> Option<Duration> {
        self.switches.latency()
    }

    /// The DC becomes unreachable (open connections are cut), or reachable again.
    pub fn set_down(&self, down: bool) {
        self.switches.down.store(down, Ordering::SeqCst);
        if down {
            self.switches.cut_all();
        }
    }

    pub fn set_latency(&self, latency: Option<Duration>) {
        *self
            .switches
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = latency;
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
        if switches.down.load(Ordering::SeqCst) {
            drop(client);
            continue;
        }
        let cut = switches.token();
        let switches = switches.clone();
        let upstream = upstream.clone();
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
                _ = pipe(client, server, &switches) => {}
            }
        });
    }
}

/// Forward both ways until either side closes; the client's chunks wait the latency.
async fn pipe(client: TcpStream, server: TcpStream, switches: &Switches) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let up = async {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            let n = match cr.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(l) = switches.latency() {
                tokio::time::sleep(l).await;
            }
            if sw.write_all(&buf[..n]).await.is_err() {
                break;
            }
        }
        let _ = sw.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut sr, &mut cw).await;
        let _ = cw.shutdown().await;
    };
    tokio::join!(up, down);
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn echo_server() -> SocketAddr {
        let l = TcpListener::bind(("127.0.0.1", 0)).await.unwrap();
        let addr = l.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((mut s, _)) = l.accept().await {
                tokio::spawn(async move {
                    let mut b = [0u8; 64];
                    while let Ok(n) = s.read(&mut b).await {
                        if n == 0 || s.write_all(&b[..n]).await.is_err() {
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
        let proxy = FaultProxy::start(echo_server().await.to_string())
            .await
            .unwrap();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");

        // An open connection is cut when the DC goes down; new ones are closed at once.
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"a").await.unwrap();
        let mut b = [0u8; 1];
        open.read_exact(&mut b).await.unwrap();
        proxy.set_down(true);
        assert!(matches!(open.read(&mut b).await, Ok(0) | Err(_)));
        assert!(round_trip(proxy.addr()).await.is_err());

        proxy.set_down(false);
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");
    }

    #[tokio::test]
    async fn a_reset_cuts_what_is_open_and_latency_delays_the_client() {
        let proxy = FaultProxy::start(echo_server().await.to_string())
            .await
            .unwrap();
        let mut open = TcpStream::connect(proxy.addr()).await.unwrap();
        open.write_all(b"a").await.unwrap();
        let mut b = [0u8; 1];
        open.read_exact(&mut b).await.unwrap();
        proxy.reset();
        assert!(matches!(open.read(&mut b).await, Ok(0) | Err(_)));

        proxy.set_latency(Some(Duration::from_millis(300)));
        let started = std::time::Instant::now();
        assert_eq!(round_trip(proxy.addr()).await.unwrap(), b"ping");
        assert!(started.elapsed() >= Duration::from_millis(300));
    }
}
