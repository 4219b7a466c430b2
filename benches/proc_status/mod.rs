//! Memory figures the benchmarks print, read from the kernel: a field of
//! `/proc/<pid>/status` in KiB — `VmRSS:` (resident now) or `VmHWM:` (the peak) — and the
//! CPU time of the children a benchmark ran. Each benchmark uses some of them.
#![allow(dead_code)]

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

/// CPU time (user + system, milliseconds) of this process's waited-for children so far:
/// `cutime` + `cstime` of `/proc/self/stat`, in clock ticks of 10 ms. A figure a busy
/// machine moves less than wall time.
pub fn children_cpu_ms() -> u64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            // After the command name (which may hold spaces): state is field 3, cutime 16.
            let fields: Vec<u64> = s
                .rsplit_once(')')?
                .1
                .split_whitespace()
                .map(|f| f.parse().unwrap_or(0))
                .collect();
            Some((fields.get(13)? + fields.get(14)?) * 10)
        })
        .unwrap_or(0)
}
