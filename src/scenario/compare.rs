//! `run --compare`: the AD part of a scenario's report on the embedded AD beside the same
//! part on a real DC, after masking what each server assigns on its own (GUIDs, SIDs, USNs,
//! times, its security descriptors and logon stamps), as lines that can be diffed.
//!
//! The AD part is what the directory answered: each step's outcome, the entries that
//! changed (and how), and the engine's run results (status and counts), which follow from
//! the directory's answers. Message texts (LDAP diagnostics, tracking IDs) are each
//! server's own and are not compared.

use super::report::{AdEntry, AttrShown, Report};

/// Attributes a DC maintains by itself, whose presence and value depend on the server and
/// the wall clock rather than on what the scenario did.
const SERVER_KEPT: &[&str] = &[
    "dSCorePropagationData",
    "instanceType",
    "lastLogon",
    "lastLogonTimestamp",
    "nTSecurityDescriptor",
    "objectCategory",
    "uSNChanged",
    "uSNCreated",
    "whenChanged",
    "whenCreated",
];

/// One value with what the server assigns replaced by a placeholder.
fn mask(value: &str) -> String {
    let words: Vec<String> = value.split(' ').map(mask_word).collect();
    let joined = words.join(" ");
    // A FILETIME as the report shows it: `134120772000000000 (2026-01-05T09:00:00Z)`.
    match joined.split_once(" (") {
        Some((n, rest)) if n == "TIME" && rest.ends_with(')') => "TIME".to_string(),
        _ => joined,
    }
}

/// accountExpires and maxPwdAge's "never": a constant, not a time.
const NEVER: &str = "9223372036854775807";

/// Every GUID written with hyphens inside `s` (a DN's `CN=<deviceId>`, an anchor's
/// `Device_<id>`) becomes `GUID`.
fn mask_guids(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        let window = s.get(i..i + 36);
        if window.is_some_and(is_guid) {
            out.push_str("GUID");
            i += 36;
        } else if let Some(c) = s[i..].chars().next() {
            out.push(c);
            i += c.len_utf8();
        } else {
            break;
        }
    }
    out
}

fn mask_word(word: &str) -> String {
    let word = mask_guids(word);
    let (head, tail) = split_punctuation(&word);
    let masked = if let Some(rest) = head.strip_prefix("S-1-5-21-") {
        // A domain SID: the domain's part and the RID are the server's.
        if rest.split('-').all(|p| p.parse::<u64>().is_ok()) {
            "SID".to_string()
        } else {
            head.to_string()
        }
    } else if head.len() >= 17
        && head.len() <= 19
        && head != NEVER
        && head.bytes().all(|b| b.is_ascii_digit())
    {
        // A FILETIME (100 ns since 1601): 17-19 digits today.
        "TIME".to_string()
    } else if head.len() >= 15
        && head.ends_with('Z')
        && head[..14].bytes().all(|b| b.is_ascii_digit())
    {
        // GeneralizedTime (`20260105090000.0Z`).
        "TIME".to_string()
    } else if head.contains('T') && chrono::DateTime::parse_from_rfc3339(head).is_ok() {
        "TIME".to_string()
    } else if head.len() > 20
        && head.starts_with('$')
        && head.contains('-')
        && head[1..]
            .bytes()
            .all(|b| b.is_ascii_hexdigit() || b == b'-')
    {
        // The sAMAccountName a DC makes up for an object added without one.
        "$…".to_string()
    } else if let Some(hex) = head
        .strip_prefix("CN=MSOL_")
        .or_else(|| head.strip_prefix("MSOL_"))
    {
        // The connector account's name is made up per installation.
        let id: String = hex.chars().take_while(char::is_ascii_hexdigit).collect();
        if id.len() == 12 {
            head.replacen(&id, "…", 1)
        } else {
            head.to_string()
        }
    } else {
        mask_hex_runs(head)
    };
    format!("{masked}{tail}")
}

/// Runs of 16 or 32 hex digits (a device ID or key ID written as hex, as in
/// `X509:<SHA1-TP-PUBKEY>…` and `[GID]:g:…`) become `HEX`.
fn mask_hex_runs(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut run = String::new();
    let flush = |run: &mut String, out: &mut String| {
        let letters = run.bytes().any(|b| b.is_ascii_alphabetic());
        if (run.len() == 16 || run.len() == 32) && letters {
            out.push_str("HEX");
        } else {
            out.push_str(run);
        }
        run.clear();
    };
    for c in s.chars() {
        if c.is_ascii_hexdigit() {
            run.push(c);
        } else {
            flush(&mut run, &mut out);
            out.push(c);
        }
    }
    flush(&mut run, &mut out);
    out
}

/// `word` without trailing punctuation (`,` `;` `)`), and that punctuation.
fn split_punctuation(word: &str) -> (&str, &str) {
    let end = word.trim_end_matches([',', ';', ')', ':']).len();
    word.split_at(end)
}

fn is_guid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| b[i] == b'-')
        && uuid::Uuid::parse_str(s).is_ok()
}

fn shown(v: &AttrShown) -> Vec<String> {
    match v {
        AttrShown::One(s) => vec![mask(s)],
        AttrShown::Many(vs) => {
            let mut out: Vec<String> = vs.iter().map(|s| mask(s)).collect();
            out.sort();
            out
        }
    }
}

/// The lines of one entry: an added or deleted entry with all its attributes, a changed
/// one with the attributes that changed (after, then before) — what the scenario did, not
/// what the DC held already (its functional level, its own flags). None when all that
/// changed is the server's own.
fn entry_lines(e: &AdEntry) -> Vec<String> {
    let kept = |k: &str| !SERVER_KEPT.iter().any(|s| s.eq_ignore_ascii_case(k));
    let before: Vec<(&String, &AttrShown)> = e.before.iter().filter(|(k, _)| kept(k)).collect();
    if e.change == "changed" && before.is_empty() {
        return Vec::new();
    }
    let mut out = vec![format!("{} ({})", mask(&e.dn), e.change)];
    for (k, v) in e.attributes.iter().filter(|(k, _)| kept(k)) {
        if e.change != "changed" || e.before.contains_key(k) {
            out.push(format!("  {k}: {}", shown(v).join(" | ")));
        }
    }
    for (k, v) in before {
        out.push(format!("  before {k}: {}", shown(v).join(" | ")));
    }
    out
}

/// The AD part of `report`, masked, one fact per line.
pub fn ad_part(report: &Report) -> Vec<String> {
    let mut out = Vec::new();
    for s in &report.steps {
        out.push(format!(
            "step {} {}: {}",
            s.step,
            mask(&s.action),
            s.outcome.word()
        ));
    }
    let mut entries: Vec<Vec<String>> = report.ad.iter().map(entry_lines).collect();
    entries.retain(|e| !e.is_empty());
    entries.sort();
    out.extend(entries.into_iter().flatten());
    for r in &report.runs {
        let counts = [
            ("adds", r.adds),
            ("updates", r.updates),
            ("deletes", r.deletes),
        ]
        .iter()
        .filter_map(|(n, v)| v.map(|v| format!(", {n} {v}")))
        .collect::<String>();
        let errors = r
            .export_errors
            .iter()
            .map(|e| format!(", {} on {}", e.kind, mask(&e.dn)))
            .collect::<String>();
        out.push(format!("run {}: {}{counts}{errors}", r.profile, r.status));
    }
    out
}

/// The lines that differ between the embedded AD's report and the DC's, `-` for the
/// embedded AD and `+` for the DC; empty when the two are the same.
pub fn differing(embedded: &Report, dc: &Report, dc_name: &str) -> Vec<String> {
    let (a, b) = (ad_part(embedded).join("\n"), ad_part(dc).join("\n"));
    if a == b {
        return Vec::new();
    }
    let diff = similar::TextDiff::from_lines(&a, &b);
    let mut out = Vec::new();
    for change in diff.iter_all_changes() {
        let line = change.value().trim_end();
        match change.tag() {
            similar::ChangeTag::Delete => out.push(format!("- embedded AD: {line}")),
            similar::ChangeTag::Insert => out.push(format!("+ {dc_name}: {line}")),
            similar::ChangeTag::Equal => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn entry(dn: &str, attrs: &[(&str, &str)], before: &[(&str, &str)]) -> AdEntry {
        let map = |v: &[(&str, &str)]| -> BTreeMap<String, AttrShown> {
            v.iter()
                .map(|(k, v)| (k.to_string(), AttrShown::One(v.to_string())))
                .collect()
        };
        AdEntry {
            dn: dn.into(),
            change: "changed".into(),
            attributes: map(attrs),
            before: map(before),
        }
    }

    #[test]
    fn what_each_server_assigns_is_masked() {
        assert_eq!(mask("7dd2df18-4994-4cac-9208-a79fb3a0b2ca"), "GUID");
        assert_eq!(
            mask("S-1-5-21-1442241407-1140108210-1384947579-1104"),
            "SID"
        );
        assert_eq!(mask("S-1-5-32-544"), "S-1-5-32-544");
        assert_eq!(mask("134120772000000000 (2026-01-05T09:00:00Z)"), "TIME");
        assert_eq!(mask("20260105090000.0Z"), "TIME");
        assert_eq!(mask("0"), "0");
        assert_eq!(
            mask("CN=MSOL_e46abd5b3aab,CN=Users,DC=gntech,DC=me"),
            "CN=MSOL_…,CN=Users,DC=gntech,DC=me"
        );
        assert_eq!(mask("Alice Smith"), "Alice Smith");
        assert_eq!(
            mask("X509:<SHA1-TP-PUBKEY>B0C2BB32D942489387F2E765F5C603D6"),
            "X509:<SHA1-TP-PUBKEY>HEX"
        );
        assert_eq!(mask("[GID]:g:B0C2BB32D9424893"), "[GID]:g:HEX");
        assert_eq!(mask("9223372036854775807"), "9223372036854775807");
        assert_eq!(mask("$6AB4AFF6-0C4D1584A0C4AB76"), "$…");
        assert_eq!(mask("$13A52C0-0C4D1584A0C4AB76"), "$…");
        assert_eq!(
            mask("CN=b0c2bb32-d942-4893-87f2-e765f5c603d6,CN=RegisteredDevices,DC=gntech,DC=me"),
            "CN=GUID,CN=RegisteredDevices,DC=gntech,DC=me"
        );
        assert_eq!(
            mask("cloudAnchor: User_106adbd1-3844-4f43-a048-31d35f6e5247,"),
            "cloudAnchor: User_GUID,"
        );
    }

    #[test]
    fn an_entry_whose_only_change_is_the_servers_own_is_not_shown() {
        let logon = entry(
            "CN=MSOL_e46abd5b3aab,CN=Users,DC=gntech,DC=me",
            &[(
                "lastLogonTimestamp",
                "134405651625812750 (2026-12-01T02:19:22Z)",
            )],
            &[("lastLogonTimestamp", "(none)")],
        );
        assert!(entry_lines(&logon).is_empty());
        let reset = entry(
            "CN=Alice Smith,OU=Staff,DC=gntech,DC=me",
            &[("pwdLastSet", "134405651625921250 (2026-12-01T02:19:22Z)")],
            &[("pwdLastSet", "134094852000000000 (2025-12-06T09:00:00Z)")],
        );
        assert_eq!(
            entry_lines(&reset),
            [
                "CN=Alice Smith,OU=Staff,DC=gntech,DC=me (changed)",
                "  pwdLastSet: TIME",
                "  before pwdLastSet: TIME"
            ]
        );
    }

    #[test]
    fn a_real_difference_is_shown_on_both_sides() {
        let report = |count: &str| Report {
            scenario: "password/x".into(),
            summary: None,
            case: None,
            seed: 0,
            initial_sync: vec![],
            steps: vec![],
            ad: vec![entry(
                "CN=Alice Smith,OU=Staff,DC=gntech,DC=me",
                &[("badPwdCount", count)],
                &[("badPwdCount", "0")],
            )],
            runs: vec![],
            events: vec![],
            provisioning_logs: vec![],
            features: BTreeMap::new(),
        };
        assert!(differing(&report("1"), &report("1"), "samba").is_empty());
        let lines = differing(&report("1"), &report("2"), "samba");
        assert_eq!(
            lines,
            [
                "- embedded AD:   badPwdCount: 1",
                "+ samba:   badPwdCount: 2"
            ]
        );
    }
}
