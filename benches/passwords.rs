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

mod common;
#[path = "common/process.rs"]
mod process;

use common::{accounts_world, upn};
use futures::stream::{self, StreamExt};
use std::time::{Duration, Instant};
use writeback_sim::world::{World, WorldOptions};

/// Accounts to spread the resets over (one reset in flight per account at most).
const ACCOUNTS: usize = 64;

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
    process::on_worker(async move {
        let w = accounts_world(
            ACCOUNTS,
            WorldOptions {
                seed: 1,
                ..WorldOptions::default()
            },
        )
        .await;
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
