//! Addresses as clients see them.

use std::net::SocketAddr;

/// `host:port` of an `ldap://` or `ldaps://` URL: 389 or 636 when it names no port.
pub fn ldap_host_port(url: &str) -> String {
    let (rest, default) = match url.split_once("://") {
        Some((scheme, rest)) if scheme.eq_ignore_ascii_case("ldaps") => (rest, 636),
        Some((_, rest)) => (rest, 389),
        None => (url, 389),
    };
    let host_port = rest.split('/').next().unwrap_or_default();
    let has_port = host_port
        .rsplit_once(':')
        .is_some_and(|(host, port)| port.parse::<u16>().is_ok() && !host.ends_with(':'));
    if has_port {
        host_port.to_string()
    } else {
        format!("{host_port}:{default}")
    }
}

/// `settings` with a socket of our own, connected to the server of `url` with TCP_NODELAY.
/// ldap3's own socket leaves Nagle on, and the request that follows the TLS handshake then
/// waits for the server's delayed ACK of the client's Finished: 40 ms a session.
pub async fn ldap_nodelay(
    settings: ldap3::LdapConnSettings,
    url: &str,
) -> std::io::Result<ldap3::LdapConnSettings> {
    let tcp = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tokio::net::TcpStream::connect(ldap_host_port(url)),
    )
    .await
    .map_err(|_| std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer within 10 s"))??;
    tcp.set_nodelay(true)?;
    Ok(settings.set_std_stream(ldap3::StdStream::Tcp(tcp.into_std()?)))
}

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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ldap_url_names_host_and_port() {
        assert_eq!(ldap_host_port("ldaps://127.0.0.1:10636"), "127.0.0.1:10636");
        assert_eq!(
            ldap_host_port("ldaps://dc1.gntech.me/"),
            "dc1.gntech.me:636"
        );
        assert_eq!(ldap_host_port("LDAP://dc1"), "dc1:389");
        assert_eq!(ldap_host_port("ldaps://[::1]:636"), "[::1]:636");
    }
}
