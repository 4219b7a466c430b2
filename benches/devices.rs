//! Device writeback benchmark (not a test): an initial sync that writes 100,000 devices
//! from Graph's delta into the embedded AD over LDAPS, then a delta sync of 100 changes.
//! Prints wall time and the process's peak memory (VmHWM).
//!
//!   cargo bench --bench devices            (BENCH_DEVICES=N to change the size)

use std::time::Instant;
use writeback_sim::cloud::tenant::{AlternativeSecurityId, CloudDevice, TenantSettings};
use writeback_sim::directory::DirectoryConfig;
use writeback_sim::engine::devices::DeviceClass;
use writeback_sim::engine::CycleKind;
use writeback_sim::world::{World, WorldOptions};

fn status_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn device(i: usize) -> CloudDevice {
    CloudDevice {
        id: format!("10000000-0000-4000-8000-{i:012}"),
        device_id: format!("20000000-0000-4000-8000-{i:012}"),
        display_name: format!("PC-{i:06}"),
        operating_system: "Windows".into(),
        operating_system_version: "10.0.22631.4317".into(),
        trust_type: "ServerAd".into(),
        account_enabled: true,
        alternative_security_ids: vec![AlternativeSecurityId {
            kind: 2,
            key: "WAA1ADAAOQA6ADwAUwBIAEEAMQAtAFQAUAAtAFAAVQBCAEsARQBZAD4A".into(),
        }],
        registered_owners: vec![],
        is_compliant: true,
        is_managed: true,
        physical_ids: vec![],
        registration_date_time: chrono::DateTime::UNIX_EPOCH,
    }
}

fn main() {
    let n: usize = std::env::var("BENCH_DEVICES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let mut w = World::start(WorldOptions {
            seed: 1,
            directory: DirectoryConfig::default(),
            tenant: TenantSettings::default(),
            password_writeback: true,
        })
        .await
        .expect("world");
        w.begin();
        w.start_engine().await;
        w.configure_device_writeback(None, None, DeviceClass::Computer, true)
            .await
            .expect("configure");
        for i in 0..n {
            w.tenant.put_device(device(i));
        }
        let rss_before = status_kib("VmRSS:");
        let t = Instant::now();
        let s = w.engine().expect("engine").sync(CycleKind::Initial).await;
        let initial = t.elapsed();
        assert_eq!(s.exported.0 as usize, n, "every device written");
        println!("device writeback benchmark: {n} devices");
        println!(
            "  initial sync (Graph delta → connector space → LDAPS adds): {:.2} s, {:.0} devices/s",
            initial.as_secs_f64(),
            n as f64 / initial.as_secs_f64()
        );
        for i in 0..100 {
            w.tenant
                .update_device(&device(i * (n / 100).max(1)).id, |d| {
                    d.account_enabled = false
                });
        }
        let t = Instant::now();
        let s = w.engine().expect("engine").sync(CycleKind::Delta).await;
        let delta = t.elapsed();
        println!(
            "  delta sync of 100 changes: {:.1} ms ({} updates exported)",
            delta.as_secs_f64() * 1000.0,
            s.exported.1
        );
        println!(
            "  memory: peak {:.0} MiB (VmHWM); {:.0} MiB grown during the initial sync",
            status_kib("VmHWM:") as f64 / 1024.0,
            status_kib("VmRSS:").saturating_sub(rss_before) as f64 / 1024.0
        );
        w.shutdown().await;
    });
}
