//! Addresses as clients see them.

use std::net::SocketAddr;

/// Where a local client reaches a listener bound to `a`: a listener on every address
/// (`0.0.0.0`, `::`) is reached on loopback.
pub fn reachable(a: SocketAddr) -> SocketAddr {
    use std::net::{Ipv4Addr, Ipv6Addr};
    match a.ip() {
        std::net::IpAddr::V4(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv4Addr::LOCALHOST.into(), a.port())
        }
        std::net::IpAddr::V6(ip) if ip.is_unspecified() => {
            SocketAddr::new(Ipv6Addr::LOCALHOST.into(), a.port())
        }
        _ => a,
    }
}

/// The names a server certificate carries so that every way a client may reach a listener
/// bound to `bound` verifies: `host` (the DC's DNS name), loopback, the address asked for,
/// and the machine's name when it listens on every address.
pub fn certificate_names(host: String, bound: std::net::IpAddr) -> Vec<String> {
    let mut names = vec![host, "localhost".into(), "127.0.0.1".into()];
    if bound.is_unspecified() {
        if let Ok(name) = std::fs::read_to_string("/proc/sys/kernel/hostname") {
            names.push(name.trim().to_string());
        }
    } else if !bound.is_loopback() {
        names.push(bound.to_string());
    }
    names
}
