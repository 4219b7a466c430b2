//! The log filter: `WRITEBACK_SIM_LOG` (tracing's directive syntax) or the command's
//! default, with the libraries that print what crosses the wire held at `debug` at most.
//! At `trace` those libraries print every message they decode or send — an LDAP bind with
//! its password, a unicodePwd modify, a WebSocket frame with the relay's message, HTTP
//! headers with a SAS token or a bearer token — so no directive, not even a global
//! `trace`, lets them: secrets never reach a log at any level. A lower level a directive
//! asks for (`ldap3_proto=off`) stays.

/// The crates that log message contents, bytes or headers at `trace`.
const WIRE_CRATES: [&str; 11] = [
    "ldap3",
    "ldap3_proto",
    "tungstenite",
    "tokio_tungstenite",
    "hyper",
    "hyper_util",
    "reqwest",
    "h2",
    "rustls",
    "tokio_rustls",
    "axum",
];

const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];

/// A level's place in [`LEVELS`] (a bare target means `trace`); `None`: not a level.
fn rank(level: &str) -> Option<usize> {
    let level = level.trim().to_ascii_lowercase();
    LEVELS
        .iter()
        .position(|l| *l == level)
        .or(match level.as_str() {
            "" => Some(5),
            "0" => Some(0),
            "1" => Some(1),
            "2" => Some(2),
            "3" => Some(3),
            "4" => Some(4),
            "5" => Some(5),
            _ => None,
        })
}

/// `spec` with every wire crate held at `debug` at most (see the module's comment).
pub fn capped(spec: &str) -> String {
    let mut parts: Vec<String> = spec
        .split(',')
        .map(str::trim)
        .filter(|p| !p.is_empty())
        .map(str::to_string)
        .collect();
    // The level every target without a directive of its own gets: a bare level.
    let global = parts
        .iter()
        .filter(|p| !p.contains('='))
        .filter_map(|p| rank(p))
        .next_back()
        .unwrap_or(0);
    let debug = 4;
    for krate in WIRE_CRATES {
        let own = parts.iter().position(|p| {
            let target = p.split(['=', '[']).next().unwrap_or_default();
            target == krate
        });
        match own {
            Some(i) => {
                let level = parts[i].split_once('=').map_or("", |(_, l)| l);
                if rank(level).is_none_or(|r| r > debug) {
                    parts[i] = format!("{krate}=debug");
                }
            }
            None if global > debug => parts.push(format!("{krate}=debug")),
            None => {}
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::capped;

    #[test]
    fn wire_crates_never_log_at_trace() {
        let all = capped("trace");
        assert!(all.starts_with("trace,"), "{all}");
        for krate in ["ldap3_proto", "tungstenite", "hyper", "reqwest"] {
            assert!(all.contains(&format!(",{krate}=debug")), "{all}");
        }
        assert_eq!(
            capped("info,ldap3_proto=trace"),
            "info,ldap3_proto=debug",
            "an explicit trace is held too"
        );
        assert_eq!(capped("warn,ldap3_proto=off"), "warn,ldap3_proto=off");
        assert_eq!(capped("writeback_sim=trace"), "writeback_sim=trace");
        assert_eq!(capped("tungstenite"), "tungstenite=debug");
        assert_eq!(capped("error,ldap3_proto=off"), "error,ldap3_proto=off");
    }
}
