//! What one client makes the directory log is rate-limited: a client that opens thousands
//! of connections (a scanner, a broken tool) gets one connection's lines logged every
//! 10 s, and the next logged line says how many connections went unlogged meanwhile.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How often a client's connection is logged at most.
const EVERY: Duration = Duration::from_secs(10);

/// Clients remembered at most; past it the memory starts again (a flood of addresses
/// cannot grow it).
const CLIENTS: usize = 4096;

/// Per client: when its last logged connection came, and how many were not logged since.
#[derive(Debug, Default)]
pub struct PeerLog {
    seen: HashMap<IpAddr, (Instant, u64)>,
}

impl PeerLog {
    /// Whether a connection from `ip` at `now` is logged: `Some(unlogged)` with how many
    /// of its connections were not since the last one that was, `None` to stay quiet.
    pub fn allow_at(&mut self, ip: IpAddr, now: Instant) -> Option<u64> {
        if self.seen.len() >= CLIENTS && !self.seen.contains_key(&ip) {
            self.seen.clear();
        }
        match self.seen.get_mut(&ip) {
            Some((last, unlogged)) if now.duration_since(*last) < EVERY => {
                *unlogged += 1;
                None
            }
            Some((last, unlogged)) => {
                let n = *unlogged;
                (*last, *unlogged) = (now, 0);
                Some(n)
            }
            None => {
                self.seen.insert(ip, (now, 0));
                Some(0)
            }
        }
    }
}

/// [`PeerLog::allow_at`] now, on the process's one log.
pub fn allow(ip: IpAddr) -> Option<u64> {
    static LOG: OnceLock<Mutex<PeerLog>> = OnceLock::new();
    let mut log = LOG
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    log.allow_at(ip, Instant::now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_logged_once_per_interval_with_what_was_left_out() {
        let mut log = PeerLog::default();
        let (a, b): (IpAddr, IpAddr) = ("127.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t = Instant::now();
        assert_eq!(log.allow_at(a, t), Some(0));
        for i in 1..=1000 {
            assert_eq!(log.allow_at(a, t + Duration::from_millis(i)), None);
        }
        // Another client is not held back by the first.
        assert_eq!(log.allow_at(b, t + Duration::from_millis(5)), Some(0));
        assert_eq!(log.allow_at(a, t + EVERY), Some(1000));
        assert_eq!(log.allow_at(a, t + EVERY + Duration::from_millis(1)), None);
        // A flood of addresses does not grow the memory past its bound.
        for i in 0..(CLIENTS as u32 * 2) {
            log.allow_at(IpAddr::from(i.to_be_bytes()), t);
        }
        assert!(log.seen.len() <= CLIENTS);
    }
}
