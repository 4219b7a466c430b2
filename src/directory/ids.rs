//! Binary identifiers as AD stores them: SIDs (MS-DTYP 2.4.2.2) and GUIDs in Windows'
//! mixed-endian byte order (MS-DTYP 2.3.4.2), with their text forms.

use uuid::Uuid;

/// A SID such as `S-1-5-21-1004336348-1177238915-682003330-1103` in binary form.
pub fn sid_bytes(authority: u64, subs: &[u32]) -> Vec<u8> {
    let mut out = Vec::with_capacity(8 + 4 * subs.len());
    out.push(1); // revision
    out.push(subs.len() as u8);
    out.extend_from_slice(&authority.to_be_bytes()[2..8]);
    for s in subs {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Parse `S-1-5-21-…` into the binary form.
pub fn parse_sid(text: &str) -> Option<Vec<u8>> {
    if let Some(b) = hex_bytes(text).filter(|b| sid_text(b).is_some()) {
        return Some(b);
    }
    let mut parts = text
        .strip_prefix("S-")
        .or_else(|| text.strip_prefix("s-"))?
        .split('-');
    if parts.next()? != "1" {
        return None;
    }
    let authority: u64 = parts.next()?.parse().ok()?;
    let subs: Vec<u32> = parts.map(|p| p.parse().ok()).collect::<Option<_>>()?;
    if subs.len() > 15 {
        return None;
    }
    Some(sid_bytes(authority, &subs))
}

/// The `S-1-5-…` text of a binary SID.
pub fn sid_text(b: &[u8]) -> Option<String> {
    if b.len() < 8 || b[0] != 1 || b.len() != 8 + 4 * usize::from(b[1]) {
        return None;
    }
    let mut auth = [0u8; 8];
    auth[2..].copy_from_slice(&b[2..8]);
    let mut s = format!("S-1-{}", u64::from_be_bytes(auth));
    for chunk in b[8..].chunks_exact(4) {
        s.push_str(&format!(
            "-{}",
            u32::from_le_bytes([chunk[0], chunk[1], chunk[2], chunk[3]])
        ));
    }
    Some(s)
}

/// The RID (last sub-authority) of a binary SID.
pub fn sid_rid(b: &[u8]) -> Option<u32> {
    let c = b.get(b.len().checked_sub(4)?..)?;
    Some(u32::from_le_bytes([c[0], c[1], c[2], c[3]]))
}

/// A GUID's text form (`6f1b2c3d-…`) from AD's 16 stored bytes.
pub fn guid_text(b: &[u8]) -> Option<String> {
    let arr: [u8; 16] = b.try_into().ok()?;
    Some(Uuid::from_bytes_le(arr).hyphenated().to_string())
}

/// AD's 16 stored bytes from a GUID's text form.
pub fn parse_guid(text: &str) -> Option<Vec<u8>> {
    if let Some(b) = hex_bytes(text).filter(|b| b.len() == 16) {
        return Some(b); // the stored bytes in hex, as `<GUID=…>` also takes them
    }
    Uuid::parse_str(text.trim_matches(|c| c == '{' || c == '}'))
        .ok()
        .map(|u| u.to_bytes_le().to_vec())
}

/// Bytes written as plain hex digits (no dashes or braces), as AD's extended DN forms
/// accept a GUID or SID in their binary form.
fn hex_bytes(text: &str) -> Option<Vec<u8>> {
    let t = text.trim();
    if t.is_empty() || !t.len().is_multiple_of(2) || !t.bytes().all(|c| c.is_ascii_hexdigit()) {
        return None;
    }
    (0..t.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&t[i..i + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_round_trip() {
        let text = "S-1-5-21-1004336348-1177238915-682003330-1103";
        let b = parse_sid(text).unwrap();
        assert_eq!(b.len(), 28);
        assert_eq!(sid_text(&b).unwrap(), text);
        assert_eq!(sid_rid(&b), Some(1103));
        assert!(parse_sid("S-2-5").is_none());
    }

    #[test]
    fn guids_use_windows_byte_order() {
        let g = parse_guid("{00299570-246d-11d0-a768-00aa006e0529}").unwrap();
        assert_eq!(&g[..4], &[0x70, 0x95, 0x29, 0x00]);
        assert_eq!(
            guid_text(&g).unwrap(),
            "00299570-246d-11d0-a768-00aa006e0529"
        );
    }
}
