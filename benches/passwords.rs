//! Password writeback benchmark (not a test): SSPR resets through the whole path a reset
//! takes — the password service, the relay (HTTP in, the listener's WebSocket out), the
//! engine, LDAPS through the fault proxy to the embedded AD (connect, bind, search, modify
//! with the policy-hints control), and the answer back — first one at a time, then 64 at
//! a time. Prints p50 / p99 latency and resets per second.
//!
//!   cargo bench --bench passwords      (BENCH_RESETS=N resets per round, default 2,000)
//!
//! The domain's minimum password age and history are 0, as the writeback tutorial advises
//! for testing, so that an account can be reset again at once.

use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use writeback_sim::world::ad::{NewEntry, PasswordPolicy};
use writeback_sim::world::{Choices, UserSpec, World, WorldOptions};

/// Accounts to spread the resets over (one reset in flight per account at most).
const ACCOUNTS: usize = 64;

fn upn(i: usize) -> String {
    format!("bench{i:03}@gntech.me")
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted.get(i).copied().unwrap_or_default()
}

/// `n` resets, `concurrency` at a time, account `i % ACCOUNTS` each; every one must succeed.
async fn round(w: &World, n: usize, concurrency: usize, tag: &str) -> (Vec<Duration>, Duration) {
    let started = Instant::now();
    let mut latencies: Vec<Duration> = stream::iter(0..n)
        .map(|i| async move {
            let t = Instant::now();
            let a = w
                .sspr_reset(&upn(i % ACCOUNTS), &format!("Bench#{tag}{i}x"))
                .await;
            assert!(a.error.is_none(), "reset {i}: {a:?}");
            t.elapsed()
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let wall = started.elapsed();
    latencies.sort();
    (latencies, wall)
}

fn main() {
    let n: usize = std::env::var("BENCH_RESETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut w = World::start(WorldOptions {
            seed: 1,
            ..WorldOptions::default()
        })
        .await
        .expect("world");
        let domain = w.domain_dn();
        let ou = format!("OU=Bench,{domain}");
        w.ad_add(NewEntry {
            dn: ou.clone(),
            attrs: vec![("objectClass".into(), vec!["organizationalUnit".into()])],
            password: None,
        })
        .await
        .expect("OU");
        for i in 0..ACCOUNTS {
            let dn = format!("CN=Bench {i:03},{ou}");
            w.ad_add(NewEntry {
                dn: dn.clone(),
                attrs: vec![
                    ("objectClass".into(), vec!["user".into()]),
                    ("sAMAccountName".into(), vec![format!("bench{i:03}")]),
                    ("userPrincipalName".into(), vec![upn(i)]),
                    ("userAccountControl".into(), vec!["512".into()]),
                ],
                password: Some("Initial#Pass2026".into()),
            })
            .await
            .expect("account");
            w.add_user(UserSpec {
                upn: upn(i),
                synced_from: Some(dn),
                sspr_registered: true,
                ..UserSpec::default()
            })
            .await
            .expect("user");
        }
        w.set_password_policy(&PasswordPolicy {
            min_age: Some(Duration::ZERO),
            history: Some(0),
            ..PasswordPolicy::default()
        })
        .await
        .expect("policy");
        w.begin();
        w.start_engine().await;
        w.configure(Choices {
            password_writeback: Some(true),
            ..Choices::default()
        })
        .await
        .expect("configure");
        // Warm-up: every account once.
        round(&w, ACCOUNTS, 1, "w").await;

        println!("password writeback, {n} SSPR resets per round (tenant → relay → engine → LDAPS → AD → answer)");
        println!("| in flight | p50 | p99 | resets/s |");
        println!("|---|---|---|---|");
        for (concurrency, tag) in [(1, "a"), (64, "b")] {
            let (lat, wall) = round(&w, n, concurrency, tag).await;
            println!(
                "| {concurrency} | {:.2} ms | {:.2} ms | {:.0} |",
                percentile(&lat, 0.5).as_secs_f64() * 1e3,
                percentile(&lat, 0.99).as_secs_f64() * 1e3,
                n as f64 / wall.as_secs_f64()
            );
        }
        w.shutdown().await;
    });
}
