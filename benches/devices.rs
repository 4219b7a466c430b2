//! Device writeback benchmark (not a test): an initial sync that writes 100,000 devices
//! from Graph's delta into the embedded AD over LDAPS, then a delta sync of 100 changes.
//! Prints wall time and the process's peak memory (VmHWM).
//!
//!   cargo bench --bench devices            (BENCH_DEVICES=N to change the size)

#[path = "common/process.rs"]
mod process;
use std::time::Instant;
use writeback_sim::world::{
    Choices, CycleKind, DeviceChoice, DeviceClass, DeviceSpec, DeviceUpdate, World, WorldOptions,
};

mod proc_status;

use proc_status::status_kib;

fn name(i: usize) -> String {
    format!("PC-{i:06}")
}

fn main() {
    let n: usize = std::env::var("BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    process::on_worker(async move {
        let mut w = World::start(WorldOptions {
            seed: 1,
            ..WorldOptions::default()
        })
        .await
        .expect("world");
        w.begin();
        w.start_engine().await;
        w.configure(Choices {
            device_writeback: Some(Some(DeviceChoice {
                forest: None,
                container: None,
                class: DeviceClass::Computer,
                prepare: true,
            })),
            ..Choices::default()
        })
        .await
        .expect("configure");
        for i in 0..n {
            w.register_device(DeviceSpec {
                name: name(i),
                ..DeviceSpec::default()
            })
            .expect("register");
        }
        let rss_before = status_kib(None, "VmRSS:");
        let t = Instant::now();
        let s = w.sync(CycleKind::Initial).await.expect("sync");
        let initial = t.elapsed();
        assert_eq!(s.exported.0 as usize, n, "every device written");
        println!("device writeback benchmark: {n} devices");
        println!(
            "  initial sync (Graph delta → connector space → LDAPS adds): {:.2} s, {:.0} devices/s",
            initial.as_secs_f64(),
            n as f64 / initial.as_secs_f64()
        );
        for i in 0..100 {
            w.update_device(DeviceUpdate {
                name: name(i * (n / 100).max(1)),
                enabled: Some(false),
                ..DeviceUpdate::default()
            })
            .expect("update");
        }
        let t = Instant::now();
        let s = w.sync(CycleKind::Delta).await.expect("sync");
        let delta = t.elapsed();
        println!(
            "  delta sync of 100 changes: {:.1} ms ({} updates exported)",
            delta.as_secs_f64() * 1000.0,
            s.exported.1
        );
        println!(
            "  memory: peak {:.0} MiB (VmHWM); {:.0} MiB grown during the initial sync",
            status_kib(None, "VmHWM:") as f64 / 1024.0,
            status_kib(None, "VmRSS:").saturating_sub(rss_before) as f64 / 1024.0
        );
        w.shutdown().await;
    });
}
