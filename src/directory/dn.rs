//! Distinguished names (RFC 4514) as AD treats them: compared case-insensitively, stored
//! with the case they were given, attribute types shown upper-case (`CN=`, `OU=`, `DC=`).
//! Multi-valued RDNs (`CN=a+SN=b`) are rejected: AD does not create them.

use std::borrow::Cow;
use std::fmt;

/// One relative distinguished name: `CN=Alice Smith`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rdn {
    /// The attribute type as AD shows it (`CN`, `OU`, `DC`, or the schema name): the
    /// usual ones borrowed, not one more allocation in every entry's DN.
    pub attr: Cow<'static, str>,
    /// The value, unescaped.
    pub value: String,
}

impl Rdn {
    pub fn new(attr: &str, value: &str) -> Self {
        Self {
            attr: display_type(attr),
            value: value.to_string(),
        }
    }

    /// The comparison key: `cn=alice smith`.
    pub fn norm(&self) -> String {
        let mut out = String::with_capacity(self.attr.len() + 1 + self.value.len());
        push_lower(&mut out, &self.attr);
        out.push('=');
        push_lower(&mut out, &self.value);
        out
    }

    /// The same RDN whatever the case (what comparing [`Rdn::norm`]s tells, without them).
    pub fn same(&self, other: &Rdn) -> bool {
        self.attr.eq_ignore_ascii_case(&other.attr)
            && match self.value.is_ascii() && other.value.is_ascii() {
                true => self.value.eq_ignore_ascii_case(&other.value),
                false => self.value.to_lowercase() == other.value.to_lowercase(),
            }
    }
}

/// `v` lower-cased onto `out` (ASCII without an allocation of its own).
fn push_lower(out: &mut String, v: &str) {
    match v.is_ascii() {
        true => {
            let start = out.len();
            out.push_str(v);
            out[start..].make_ascii_lowercase();
        }
        false => out.push_str(&v.to_lowercase()),
    }
}

impl fmt::Display for Rdn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.attr)?;
        f.write_str("=")?;
        match plain(&self.value) {
            true => f.write_str(&self.value),
            false => f.write_str(&escape_value(&self.value)),
        }
    }
}

/// A parsed DN, leaf first. The empty DN is the RootDSE.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Dn {
    pub rdns: Vec<Rdn>,
}

/// Why a string is not a DN.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid DN syntax: {0}")]
pub struct DnError(pub String);

impl Dn {
    pub fn root() -> Self {
        Self::default()
    }

    pub fn parse(s: &str) -> Result<Self, DnError> {
        let s = trim_unescaped(s);
        if s.is_empty() {
            return Ok(Self::root());
        }
        let mut rdns = Vec::new();
        let mut chars = s.chars().peekable();
        loop {
            // attribute type
            let mut attr = String::new();
            while let Some(&c) = chars.peek() {
                if c == '=' {
                    break;
                }
                if c == ',' || c == '+' {
                    return Err(DnError(format!("`{s}`: RDN without `=`")));
                }
                attr.push(c);
                chars.next();
            }
            if chars.next() != Some('=') {
                return Err(DnError(format!("`{s}`: RDN without `=`")));
            }
            let attr = attr.trim();
            if attr.is_empty()
                || !attr
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
            {
                return Err(DnError(format!("`{s}`: bad attribute type `{attr}`")));
            }
            // value
            let mut value = String::new();
            let mut raw = Vec::<u8>::new();
            let mut trailing_plain_spaces = 0usize;
            // skip leading unescaped spaces
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            let mut ended_by_comma = false;
            while let Some(c) = chars.next() {
                match c {
                    '\\' => {
                        let Some(n) = chars.next() else {
                            return Err(DnError(format!("`{s}`: dangling `\\`")));
                        };
                        if n.is_ascii_hexdigit() {
                            let Some(m) = chars.next().filter(|m| m.is_ascii_hexdigit()) else {
                                return Err(DnError(format!("`{s}`: bad hex escape")));
                            };
                            let byte = u8::from_str_radix(&format!("{n}{m}"), 16)
                                .map_err(|_| DnError(format!("`{s}`: bad hex escape")))?;
                            raw.push(byte);
                        } else {
                            flush_raw(&mut raw, &mut value, s)?;
                            value.push(n);
                        }
                        trailing_plain_spaces = 0;
                    }
                    ',' | ';' => {
                        ended_by_comma = true;
                        break;
                    }
                    '+' => {
                        return Err(DnError(format!(
                            "`{s}`: multi-valued RDNs are not supported"
                        )))
                    }
                    '"' => return Err(DnError(format!("`{s}`: unescaped `\"`"))),
                    _ => {
                        flush_raw(&mut raw, &mut value, s)?;
                        value.push(c);
                        trailing_plain_spaces = if c == ' ' {
                            trailing_plain_spaces + 1
                        } else {
                            0
                        };
                    }
                }
            }
            flush_raw(&mut raw, &mut value, s)?;
            value.truncate(value.len() - trailing_plain_spaces);
            if value.is_empty() {
                return Err(DnError(format!("`{s}`: empty RDN value")));
            }
            rdns.push(Rdn::new(attr, &value));
            if !ended_by_comma {
                break;
            }
            while chars.peek() == Some(&' ') {
                chars.next();
            }
            if chars.peek().is_none() {
                return Err(DnError(format!("`{s}`: trailing `,`")));
            }
        }
        rdns.shrink_to_fit();
        Ok(Self { rdns })
    }

    pub fn is_root(&self) -> bool {
        self.rdns.is_empty()
    }

    pub fn rdn(&self) -> Option<&Rdn> {
        self.rdns.first()
    }

    pub fn parent(&self) -> Option<Dn> {
        if self.rdns.is_empty() {
            None
        } else {
            Some(Dn {
                rdns: self.rdns[1..].to_vec(),
            })
        }
    }

    pub fn child(&self, rdn: Rdn) -> Dn {
        let mut rdns = Vec::with_capacity(self.rdns.len() + 1);
        rdns.push(rdn);
        rdns.extend(self.rdns.iter().cloned());
        Dn { rdns }
    }

    /// The comparison key: lower-case, canonical escaping, no spaces around separators.
    pub fn norm(&self) -> String {
        self.norm_and_parent().0
    }

    /// The comparison key ([`Dn::norm`]) and where the parent's key starts in it: the
    /// parent's key is `key[at..]` (empty for a DN of one RDN, whose parent is the root).
    pub fn norm_and_parent(&self) -> (String, usize) {
        let len = (self.rdns.iter())
            .map(|r| r.attr.len() + r.value.len() + 2)
            .sum();
        let mut out = String::with_capacity(len);
        let mut at = 0;
        for (i, r) in self.rdns.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            if i == 1 {
                at = out.len();
            }
            push_lower(&mut out, &r.attr);
            out.push('=');
            // Lower-casing ASCII leaves what needs escaping as it was.
            match r.value.is_ascii() && plain(&r.value) {
                true => push_lower(&mut out, &r.value),
                false => out.push_str(&escape_value(&r.value.to_lowercase())),
            }
        }
        if self.rdns.len() < 2 {
            at = out.len();
        }
        (out, at)
    }

    /// True when `self` is `other` or lies below it.
    pub fn is_within(&self, other: &Dn) -> bool {
        if other.rdns.len() > self.rdns.len() {
            return false;
        }
        let skip = self.rdns.len() - other.rdns.len();
        self.rdns[skip..]
            .iter()
            .zip(&other.rdns)
            .all(|(a, b)| a.same(b))
    }

    /// Replace the `old` suffix of this DN by `new` (used when a subtree moves).
    pub fn rebase(&self, old: &Dn, new: &Dn) -> Option<Dn> {
        if !self.is_within(old) {
            return None;
        }
        let keep = self.rdns.len() - old.rdns.len();
        let mut rdns = self.rdns[..keep].to_vec();
        rdns.extend(new.rdns.iter().cloned());
        Some(Dn { rdns })
    }
}

impl fmt::Display for Dn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.rdns.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            fmt::Display::fmt(r, f)?;
        }
        Ok(())
    }
}

/// Normalise a DN string for comparison; `None` when it does not parse.
/// `s` without the white space around it, except an escaped last character
/// (`CN=Smith\ `: the value ends with a space).
fn trim_unescaped(s: &str) -> &str {
    let s = s.trim_start();
    let t = s.trim_end();
    let backslashes = t.len() - t.trim_end_matches('\\').len();
    match s[t.len()..].chars().next() {
        Some(escaped) if backslashes % 2 == 1 => &s[..t.len() + escaped.len_utf8()],
        _ => t,
    }
}

pub fn norm(s: &str) -> Option<String> {
    Dn::parse(s).ok().map(|d| d.norm())
}

fn flush_raw(raw: &mut Vec<u8>, value: &mut String, whole: &str) -> Result<(), DnError> {
    if !raw.is_empty() {
        let text = std::str::from_utf8(raw)
            .map_err(|_| DnError(format!("`{whole}`: escaped bytes are not UTF-8")))?;
        value.push_str(text);
        raw.clear();
    }
    Ok(())
}

/// AD shows the well-known naming attributes upper-case.
fn display_type(attr: &str) -> Cow<'static, str> {
    const SHOWN_UPPER: [&str; 7] = ["CN", "OU", "DC", "O", "C", "L", "ST"];
    match SHOWN_UPPER.iter().find(|t| t.eq_ignore_ascii_case(attr)) {
        Some(t) => Cow::Borrowed(t),
        None => Cow::Owned(attr.to_string()),
    }
}

/// True when [`escape_value`] leaves `v` as it is (most values: written without a copy).
fn plain(v: &str) -> bool {
    !v.starts_with('#')
        && !v.starts_with(char::is_whitespace)
        && !v.ends_with(char::is_whitespace)
        && !v.bytes().any(|b| {
            matches!(
                b,
                b',' | b'+' | b'"' | b'\\' | b'<' | b'>' | b';' | b'=' | 0 | b'\n' | b'\r'
            )
        })
}

/// RFC 4514 §2.4 escaping, as AD writes it (`CN=Smith\, John`).
pub fn escape_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    let last = v.chars().count().saturating_sub(1);
    for (i, c) in v.chars().enumerate() {
        match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' | '=' => {
                out.push('\\');
                out.push(c);
            }
            '#' if i == 0 => out.push_str("\\#"),
            ' ' if i == 0 || i == last => out.push_str("\\ "),
            '\0' => out.push_str("\\00"),
            // AD writes line breaks as hex pairs (a deleted object's `CN=name\0ADEL:<guid>`),
            // and other white space at either end would be lost to a reader's trimming.
            '\n' => out.push_str("\\0A"),
            '\r' => out.push_str("\\0D"),
            c if c.is_whitespace() && (i == 0 || i == last) => {
                let mut buf = [0u8; 4];
                for b in c.encode_utf8(&mut buf).bytes() {
                    out.push_str(&format!("\\{b:02X}"));
                }
            }
            _ => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[test]
    fn a_value_is_written_as_it_is_exactly_when_nothing_in_it_is_escaped() {
        for v in [
            "Alice Smith",
            "",
            "#1",
            "a#",
            " lead",
            "trail ",
            "tab\t",
            "\u{a0}nbsp",
            "mid dle",
            "Smith, John",
            "a+b",
            "a=b",
            "q\"",
            "back\\",
            "<x>",
            "a;b",
            "nul\0",
            "line\nbreak",
            "cr\r",
            "Zoë",
            "DÉSKTOP-1",
            "İstanbul",
        ] {
            assert_eq!(plain(v), escape_value(v) == v, "{v:?}");
            let rdn = Rdn::new("cn", v);
            let dn = Dn {
                rdns: vec![rdn.clone()],
            };
            assert_eq!(rdn.to_string(), format!("CN={}", escape_value(v)), "{v:?}");
            assert_eq!(
                dn.norm(),
                format!("cn={}", escape_value(&v.to_lowercase())),
                "{v:?}"
            );
            assert_eq!(rdn.norm(), format!("cn={}", v.to_lowercase()), "{v:?}");
            let upper = Rdn::new("CN", &v.to_uppercase());
            assert_eq!(rdn.same(&upper), rdn.norm() == upper.norm(), "{v:?}");
        }
    }

    #[rstest]
    #[case(
        "cn=Alice Smith,ou=Staff,dc=gntech,dc=me",
        "CN=Alice Smith,OU=Staff,DC=gntech,DC=me"
    )]
    #[case(
        "CN=Smith\\, John , OU=Staff,DC=gntech,DC=me",
        "CN=Smith\\, John,OU=Staff,DC=gntech,DC=me"
    )]
    #[case("CN=caf\\C3\\A9,DC=x", "CN=café,DC=x")]
    #[case("", "")]
    fn parses_and_prints_like_ad(#[case] input: &str, #[case] shown: &str) {
        assert_eq!(Dn::parse(input).unwrap().to_string(), shown);
    }

    #[rstest]
    #[case("CN=a,,DC=x")]
    #[case("nonsense")]
    #[case("CN=a+SN=b,DC=x")]
    #[case("CN=,DC=x")]
    #[case("CN=a\\")]
    #[case("CN=a\\\\\\")]
    fn rejects_malformed(#[case] input: &str) {
        assert!(Dn::parse(input).is_err(), "{input}");
    }

    /// A DN's printed and normal forms parse back to the same DN, line breaks and white
    /// space at a value's ends included (the dn fuzz target found `4C=\0a` did not, and in
    /// a 30-minute run `DCc=D\20`: the value's last space, escaped, was trimmed away with
    /// the white space around the whole DN).
    #[rstest]
    #[case("4C=\\0a")]
    #[case("DCc=D\\20")]
    #[case("CN=trailing\\ ")]
    #[case("CN=two\\ \\ , DC=x  ")]
    #[case("CN=Alice\\0ADEL:6f1b2c3d,CN=Deleted Objects,DC=x")]
    #[case("CN=\\09tab\\09,DC=x")]
    #[case("CN=\\E2\\80\\83wide,DC=x")]
    fn printed_forms_parse_back(#[case] input: &str) {
        let d = Dn::parse(input).unwrap();
        assert_eq!(Dn::parse(&d.norm()).unwrap().norm(), d.norm(), "{input}");
        assert_eq!(Dn::parse(&d.to_string()).unwrap(), d, "{input}");
    }

    #[test]
    fn compares_case_insensitively_and_knows_ancestry() {
        let a = Dn::parse("CN=ALICE PROBE,OU=PROBE,DC=gntech,DC=me").unwrap();
        let b = Dn::parse("cn=alice probe, ou=probe, dc=GNTECH, dc=ME").unwrap();
        assert_eq!(a.norm(), b.norm());
        let ou = Dn::parse("OU=Probe,DC=gntech,DC=me").unwrap();
        assert!(a.is_within(&ou));
        assert!(!ou.is_within(&a));
        let moved = a
            .rebase(&ou, &Dn::parse("OU=Other,DC=gntech,DC=me").unwrap())
            .unwrap();
        assert_eq!(moved.to_string(), "CN=ALICE PROBE,OU=Other,DC=gntech,DC=me");
    }

    #[test]
    fn a_key_holds_its_parents_key_at_its_end() {
        for dn in [
            "CN=Alice Smith,OU=People,DC=gntech,DC=me",
            "CN=Ünïcode\\, Name,OU=Pëople,DC=gntech,DC=me",
            "CN=a\\+b,DC=me",
            "DC=me",
        ] {
            let d = Dn::parse(dn).unwrap();
            let (key, at) = d.norm_and_parent();
            assert_eq!(key, d.norm(), "{dn}");
            let parent = d.parent().unwrap();
            assert_eq!(&key[at..], parent.norm(), "{dn}");
        }
        assert_eq!(Dn::default().norm_and_parent(), (String::new(), 0));
    }
}
