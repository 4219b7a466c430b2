//! The generated-world benchmark: `writeback-sim run` (the release binary `cargo bench`
//! builds) on a scenario whose world generates 1,000 users and N devices with device
//! writeback on — generation, the tenant, Graph's delta pages, the engine, LDAPS adds to
//! the embedded AD, the expectation and the report: the whole path a user runs. Prints the
//! wall time and the process's peak memory for each size, and how the cost grows.
//!
//!   cargo bench --bench generated            (BENCH_SIZES=10000,100000 to change them)

use std::process::Command;
use std::time::Instant;

fn scenario(devices: usize) -> String {
    let fixture = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures/gntech.me.ldif");
    format!(
        r#"summary: {devices} generated devices written back at the initial sync
case: "generated world of {devices} devices"
seed: 7
world:
  tenant:
    generate: {{ users: 1000, devices: {devices} }}
  directory:
    ldif: ["{fixture}"]
  engine:
    device_writeback: true
steps:
  - expect_ad: {{ base: "CN=RegisteredDevices,DC=gntech,DC=me", filter: "(objectClass=computer)", count: {devices} }}
"#
    )
}

/// (wall seconds, peak resident MiB) of one `run` of the scenario in `dir`.
fn run(dir: &std::path::Path) -> (f64, f64) {
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args(["run", "--accept", "--jobs", "1"])
        .arg(dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("the release binary runs");
    let wall = started.elapsed().as_secs_f64();
    assert!(
        out.status.success(),
        "the scenario must pass to be measured:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // SAFETY: getrusage only writes the struct it is given.
    let peak_kib = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_CHILDREN, &mut u);
        u.ru_maxrss as f64
    };
    (wall, peak_kib / 1024.0)
}

fn main() {
    let sizes: Vec<usize> = std::env::var("BENCH_SIZES")
        .ok()
        .map(|v| v.split(',').filter_map(|n| n.trim().parse().ok()).collect())
        .unwrap_or_else(|| vec![10_000, 100_000]);
    let root = std::env::temp_dir().join(format!("writeback-sim-bench-{}", std::process::id()));
    println!("generated-world benchmark: writeback-sim run, 1,000 users and N devices");
    let mut first: Option<(usize, f64)> = None;
    for n in sizes {
        let dir = root.join(n.to_string());
        std::fs::create_dir_all(&dir).expect("a scratch folder");
        std::fs::write(dir.join("generated.yaml"), scenario(n)).expect("the scenario");
        let (wall, peak) = run(&dir);
        let growth = first
            .map(|(n0, w0)| {
                format!(
                    ", {:.1}× the time of {n0} for {:.1}× the devices",
                    wall / w0,
                    n as f64 / n0 as f64
                )
            })
            .unwrap_or_default();
        println!("  {n:>7} devices: {wall:.2} s, peak memory ≤ {peak:.0} MiB{growth}");
        first.get_or_insert((n, wall));
    }
    let _ = std::fs::remove_dir_all(&root);
}
