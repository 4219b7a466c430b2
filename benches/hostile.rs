//! Hostile connections benchmark (not a test): `writeback-sim directory` as a user starts
//! it, a normal client's bind and search latency measured alone, then again while 1,000
//! hostile connections hold on — slow writers (a message a byte at a time), headers
//! announcing 2 GiB, garbage, and TLS handshakes left half done on LDAPS — and the
//! directory's resident memory throughout. Prints both; exits 1 when the normal client
//! was refused or a request failed.
//!
//!   cargo bench --bench hostile     (HOSTILE_CONNECTIONS=N, HOSTILE_SECONDS=S to change)

use ldap3::{LdapConnAsync, LdapConnSettings, Scope};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const ADMIN: &str = "CN=Administrator,CN=Users,DC=gntech,DC=me";
const ADMIN_PW: &str = "Adm1n!Pass2026";

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

mod proc_status;

use proc_status::status_kib;

struct Server {
    child: Child,
    ldap: String,
    ldaps: String,
    /// What the directory logged (at debug level).
    log: std::path::PathBuf,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

async fn start() -> Server {
    let dir = std::env::temp_dir().join(format!("wbsim-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a temporary folder");
    let (ldap, ldaps) = (
        format!("127.0.0.1:{}", free_port()),
        format!("127.0.0.1:{}", free_port()),
    );
    let log = dir.join("directory.log");
    let child = Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args([
            "directory",
            "--ldap",
            &ldap,
            "--ldaps",
            &ldaps,
            "--credentials",
        ])
        .arg(dir.join("creds.json"))
        // At debug level, where every connection is logged: the log must not grow with
        // the hostile connections (a client's connections are logged once per 10 s).
        .env("WRITEBACK_SIM_LOG", "debug")
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).expect("the log file"))
        .spawn()
        .expect("writeback-sim directory");
    // Dropped (killed and waited for) on the way out, whatever happens.
    let server = Server {
        child,
        ldap,
        ldaps,
        log,
    };
    for _ in 0..600 {
        if TcpStream::connect(&server.ldap).await.is_ok() {
            return server;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!(
        "the directory did not listen on {} within 30 s",
        server.ldap
    );
}

/// A normal client: connect, bind, a base search and an indexed subtree search, unbind —
/// `n` times; the latency of each round, sorted. `Err` when one failed.
async fn normal_client(addr: &str, n: usize) -> Result<Vec<Duration>, String> {
    let mut times = Vec::with_capacity(n);
    for _ in 0..n {
        let t = Instant::now();
        let settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(10));
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &format!("ldap://{addr}"))
            .await
            .map_err(|e| format!("connect: {e}"))?;
        ldap3::drive!(conn);
        ldap.simple_bind(ADMIN, ADMIN_PW)
            .await
            .and_then(|r| r.success())
            .map_err(|e| format!("bind: {e}"))?;
        ldap.search(
            "DC=gntech,DC=me",
            Scope::Base,
            "(objectClass=*)",
            vec!["dc"],
        )
        .await
        .and_then(|r| r.success())
        .map_err(|e| format!("base search: {e}"))?;
        let (found, _) = ldap
            .search(
                "DC=gntech,DC=me",
                Scope::Subtree,
                "(sAMAccountName=Administrator)",
                vec!["dn"],
            )
            .await
            .and_then(|r| r.success())
            .map_err(|e| format!("subtree search: {e}"))?;
        if found.len() != 1 {
            return Err(format!("the search found {} entries, not 1", found.len()));
        }
        let _ = ldap.unbind().await;
        times.push(t.elapsed());
    }
    times.sort();
    Ok(times)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i].as_secs_f64() * 1000.0
}

#[derive(Clone, Copy, Debug)]
enum Kind {
    /// A bind request a byte every 200 ms.
    SlowWriter,
    /// A header announcing a 2 GiB message, then a trickle.
    HugeLength,
    /// Random bytes.
    Garbage,
    /// A TLS ClientHello's first bytes on LDAPS, then nothing.
    HalfTls,
}

/// One hostile connection, reopened whenever the directory closes it, until `stop`.
async fn hostile(
    kind: Kind,
    addr: String,
    seed: u64,
    stop: Arc<AtomicBool>,
    closed: Arc<AtomicU64>,
) {
    let mut rng = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut s) = TcpStream::connect(&addr).await else {
            tokio::time::sleep(Duration::from_millis(100)).await;
            continue;
        };
        let bytes: Vec<u8> = match kind {
            // A simple bind as the administrator, never finished in time.
            Kind::SlowWriter => vec![
                0x30, 0x3c, 0x02, 0x01, 0x01, 0x60, 0x37, 0x02, 0x01, 0x03, 0x04, 0x28,
            ],
            Kind::HugeLength => vec![0x30, 0x84, 0x7f, 0xff, 0xff, 0xff, 0x02, 0x01, 0x01],
            Kind::Garbage => (0..64).map(|_| next() as u8).collect(),
            // TLS 1.2 record header and the start of a ClientHello.
            Kind::HalfTls => vec![0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc],
        };
        let mut buf = [0u8; 512];
        let mut i = 0;
        loop {
            if stop.load(Ordering::Relaxed) {
                return;
            }
            let chunk = match kind {
                Kind::SlowWriter | Kind::HugeLength => &bytes[i % bytes.len()..=i % bytes.len()],
                Kind::Garbage => &bytes[..],
                Kind::HalfTls if i < bytes.len() => &bytes[i..=i],
                Kind::HalfTls => &[][..],
            };
            i += 1;
            if !chunk.is_empty() && s.write_all(chunk).await.is_err() {
                break;
            }
            // Closed by the directory (EOF or reset) while we wait.
            match tokio::time::timeout(Duration::from_millis(200), s.read(&mut buf)).await {
                Ok(Ok(0)) | Ok(Err(_)) => break,
                _ => {}
            }
        }
        closed.fetch_add(1, Ordering::Relaxed);
    }
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime");
    let code = rt.block_on(run());
    std::process::exit(code);
}

async fn run() -> i32 {
    let n = env_or("HOSTILE_CONNECTIONS", 1000) as usize;
    let seconds = env_or("HOSTILE_SECONDS", 30);
    let server = start().await;
    let pid = server.child.id();
    let rounds = 200;
    // Warm up (the first connection makes the TLS material, the caches fill), then alone.
    if let Err(e) = normal_client(&server.ldap, 20).await {
        eprintln!("the normal client failed before any hostile connection: {e}");
        return 1;
    }
    let alone = match normal_client(&server.ldap, rounds).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("the normal client failed: {e}");
            return 1;
        }
    };
    let rss_alone = status_kib(Some(pid), "VmRSS:");

    let stop = Arc::new(AtomicBool::new(false));
    let closed = Arc::new(AtomicU64::new(0));
    let kinds = [
        Kind::SlowWriter,
        Kind::HugeLength,
        Kind::Garbage,
        Kind::HalfTls,
    ];
    let mut tasks = Vec::new();
    for i in 0..n {
        let kind = kinds[i % kinds.len()];
        let addr = match kind {
            Kind::HalfTls => server.ldaps.clone(),
            _ => server.ldap.clone(),
        };
        tasks.push(tokio::spawn(hostile(
            kind,
            addr,
            i as u64 + 1,
            stop.clone(),
            closed.clone(),
        )));
    }
    // Let them all connect, then measure the normal client among them, sampling memory.
    tokio::time::sleep(Duration::from_secs(3)).await;
    let started = Instant::now();
    let sampler = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut peak = 0;
            while !stop.load(Ordering::Relaxed) {
                peak = peak.max(status_kib(Some(pid), "VmRSS:"));
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            peak
        })
    };
    let mut under: Vec<Duration> = Vec::new();
    let mut failed = None;
    while started.elapsed() < Duration::from_secs(seconds) {
        match normal_client(&server.ldap, 20).await {
            Ok(t) => under.extend(t),
            Err(e) => {
                failed = Some(e);
                break;
            }
        }
    }
    under.sort();
    let open_fds = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0);
    stop.store(true, Ordering::Relaxed);
    let peak = sampler.await.unwrap_or(0);
    for t in tasks {
        let _ = t.await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rss_after = status_kib(Some(pid), "VmRSS:");
    let mib = |kib: u64| kib as f64 / 1024.0;
    println!(
        "hostile connections: {n} held for {seconds} s (slow writers, 2 GiB headers, garbage, half-open TLS; {} closed by the directory and reopened)",
        closed.load(Ordering::Relaxed)
    );
    println!(
        "| normal client (connect, bind, 2 searches, unbind) | rounds | p50 ms | p99 ms | max ms |"
    );
    println!("|---|---|---|---|---|");
    println!(
        "| alone | {} | {:.2} | {:.2} | {:.2} |",
        alone.len(),
        pct(&alone, 0.5),
        pct(&alone, 0.99),
        pct(&alone, 1.0)
    );
    if !under.is_empty() {
        println!(
            "| among {n} hostile | {} | {:.2} | {:.2} | {:.2} |",
            under.len(),
            pct(&under, 0.5),
            pct(&under, 0.99),
            pct(&under, 1.0)
        );
    }
    println!(
        "directory memory (VmRSS): {:.1} MiB alone, peak {:.1} MiB among them, {:.1} MiB after; {open_fds} descriptors open under load",
        mib(rss_alone),
        mib(peak),
        mib(rss_after)
    );
    let logged = std::fs::read_to_string(&server.log).unwrap_or_default();
    println!(
        "directory log at debug level: {} lines, {} bytes",
        logged.lines().count(),
        logged.len()
    );
    match failed {
        Some(e) => {
            println!("FAILED: the normal client among hostile connections: {e}");
            1
        }
        None => 0,
    }
}
