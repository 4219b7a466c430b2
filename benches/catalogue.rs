//! The catalogue benchmark: wall time of `writeback-sim run scenarios` with the release
//! binary (the one `cargo bench` builds), all cores and one at a time, and the median
//! wall time of one scenario. Prints figures; asserts nothing about speed (the machines
//! are shared and noisy). `cargo bench --bench catalogue [-- ROUNDS]`.

mod proc_status;

use std::process::Command;
use std::time::{Duration, Instant};

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    if v.is_empty() {
        return 0.0;
    }
    let mid = v.len() / 2;
    if v.len().is_multiple_of(2) {
        (v[mid - 1] + v[mid]) / 2.0
    } else {
        v[mid]
    }
}

/// One run of the whole catalogue: (wall time, CPU time in ms, per-scenario milliseconds,
/// scenarios).
fn run(jobs: &str) -> (Duration, u64, Vec<f64>, usize) {
    let root = env!("CARGO_MANIFEST_DIR");
    let cpu_before = proc_status::children_cpu_ms();
    let started = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .current_dir(root)
        .args(["run", "--ci", "--jobs", jobs, "scenarios"])
        .env("NO_COLOR", "1")
        .output()
        .expect("the release binary runs");
    let wall = started.elapsed();
    let cpu = proc_status::children_cpu_ms().saturating_sub(cpu_before);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "the catalogue must pass to be timed:\n{text}"
    );
    let per: Vec<f64> = text
        .lines()
        .filter(|l| l.starts_with("ok "))
        .filter_map(|l| {
            let inner = l.rsplit_once('(')?.1.strip_suffix(" ms)")?;
            inner.parse().ok()
        })
        .collect();
    let n = per.len();
    (wall, cpu, per, n)
}

fn main() {
    let rounds: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(5);
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("catalogue benchmark: release binary, {rounds} rounds, {cores} cores");
    // One warm-up run (page cache, first TLS certificate generation).
    let _ = run("0");
    for (label, jobs) in [("all cores", "0"), ("one at a time", "1")] {
        let mut walls = Vec::new();
        let mut cpus = Vec::new();
        let mut per = Vec::new();
        let mut count = 0;
        for _ in 0..rounds {
            let (wall, cpu, ms, n) = run(jobs);
            walls.push(wall.as_secs_f64() * 1000.0);
            cpus.push(cpu as f64);
            per.extend(ms);
            count = n;
        }
        let min = walls.iter().copied().fold(f64::INFINITY, f64::min);
        println!(
            "{label:>14}: {count} scenarios, wall median {:.0} ms (min {min:.0} ms); one scenario median {:.1} ms; CPU (user + system) median {:.0} ms",
            median(walls.clone()),
            median(per),
            median(cpus),
        );
    }
}
