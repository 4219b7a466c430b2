//! Memory figures the benchmarks print, read from the kernel: a field of
//! `/proc/<pid>/status` in KiB — `VmRSS:` (resident now) or `VmHWM:` (the peak).

/// `field` of the process `pid` (`None`: this process); 0 when it cannot be read.
pub fn status_kib(pid: Option<u32>, field: &str) -> u64 {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/status"),
        None => "/proc/self/status".to_string(),
    };
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}
