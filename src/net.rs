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
