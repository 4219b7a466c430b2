//! Search filters (RFC 4515 as decoded by `ldap3_proto`) evaluated the way AD evaluates
//! them: values compared by attribute syntax (strings ignoring case, integers as numbers,
//! DNs normalised), `objectCategory=person` short names, `objectSid=S-1-5-…` text SIDs,
//! the matching rules 1.2.840.113556.1.4.803 (bit AND), .804 (bit OR) and .1941 (in
//! chain, for nested group membership), and ambiguous name resolution (`anr=`).
//! An absent attribute makes a test false, and its negation true, as in AD.

use super::codec::filter_value_bytes;
use super::dn;
use super::schema::{self, Syntax};
use super::store::{Entry, EntryId, Vals};
use super::{ids, State};
use chrono::{DateTime, Utc};
use ldap3_proto::proto::{LdapFilter, LdapMatchingRuleAssertion, LdapSubstringFilter};
use std::cmp::Ordering;

pub const RULE_BIT_AND: &str = "1.2.840.113556.1.4.803";
pub const RULE_BIT_OR: &str = "1.2.840.113556.1.4.804";
pub const RULE_IN_CHAIN: &str = "1.2.840.113556.1.4.1941";

/// Attributes ANR searches (the default aNR set of a Windows schema).
const ANR_ATTRS: &[&str] = &[
    "displayName",
    "givenName",
    "sn",
    "sAMAccountName",
    "name",
    "mail",
    "mailNickname",
    "physicalDeliveryOfficeName",
    "proxyAddresses",
];

/// An attribute as a read finds it: the entry's stored values, or values AD constructs on
/// read (msDS-User-Account-Control-Computed, nTSecurityDescriptor, …).
pub enum Read<'e> {
    Stored(Vals<'e>),
    Constructed(Vec<Vec<u8>>),
}

impl Read<'_> {
    pub fn iter(&self) -> impl Iterator<Item = &[u8]> {
        let (stored, constructed) = match self {
            Read::Stored(v) => (Some(v.iter()), None),
            Read::Constructed(v) => (None, Some(v.iter().map(Vec::as_slice))),
        };
        stored
            .into_iter()
            .flatten()
            .chain(constructed.into_iter().flatten())
    }

    pub fn is_empty(&self) -> bool {
        match self {
            Read::Stored(v) => v.is_empty(),
            Read::Constructed(v) => v.is_empty(),
        }
    }

    pub fn into_vec(self) -> Vec<Vec<u8>> {
        match self {
            Read::Stored(v) => v.to_vec(),
            Read::Constructed(v) => v,
        }
    }
}

pub struct Matcher<'a> {
    pub st: &'a State,
    pub now: DateTime<Utc>,
}

impl Matcher<'_> {
    pub fn matches(&self, e: &Entry, f: &LdapFilter) -> bool {
        match f {
            LdapFilter::And(fs) => fs.iter().all(|f| self.matches(e, f)),
            LdapFilter::Or(fs) => fs.iter().any(|f| self.matches(e, f)),
            LdapFilter::Not(f) => !self.matches(e, f),
            LdapFilter::Present(a) => {
                a.eq_ignore_ascii_case("objectClass") || !self.values(e, a).is_empty()
            }
            LdapFilter::Equality(a, v) | LdapFilter::Approx(a, v) => self.equality(e, a, v),
            LdapFilter::Substring(a, s) => self.substring(e, a, s),
            LdapFilter::GreaterOrEqual(a, v) => self.ordering(e, a, v, |o| o != Ordering::Less),
            LdapFilter::LessOrEqual(a, v) => self.ordering(e, a, v, |o| o != Ordering::Greater),
            LdapFilter::Extensible(m) => self.extensible(e, m),
        }
    }

    /// Stored values plus the constructed attributes AD computes on read.
    pub fn values<'e>(&self, e: &'e Entry, attr: &str) -> Read<'e> {
        if attr.eq_ignore_ascii_case("msDS-User-Account-Control-Computed") {
            return Read::Constructed(
                computed_uac(self.st, e, self.now)
                    .map(|v| vec![v.to_string().into_bytes()])
                    .unwrap_or_default(),
            );
        }
        if attr.eq_ignore_ascii_case("msDS-UserPasswordExpiryTimeComputed") {
            return Read::Constructed(
                password_expiry(self.st, e)
                    .map(|v| vec![v.to_string().into_bytes()])
                    .unwrap_or_default(),
            );
        }
        // createTimeStamp and modifyTimeStamp are whenCreated and whenChanged under their
        // LDAP names (constructed, returned when asked for).
        for (asked, stored) in [
            ("createTimeStamp", "whenCreated"),
            ("modifyTimeStamp", "whenChanged"),
        ] {
            if attr.eq_ignore_ascii_case(asked) {
                return Read::Stored(e.values(stored));
            }
        }
        if attr.eq_ignore_ascii_case("nTSecurityDescriptor") {
            return Read::Constructed(vec![self.st.security_descriptor(e.id)]);
        }
        if super::subschema::PUBLISHED_ATTRIBUTES
            .iter()
            .any(|a| a.eq_ignore_ascii_case(attr))
        {
            let subschema = e
                .values("objectClass")
                .iter()
                .any(|c| c.eq_ignore_ascii_case(b"subSchema"));
            return Read::Constructed(if subschema {
                super::subschema::subschema_of(attr, self.st.exchange_schema)
            } else {
                Vec::new()
            });
        }
        if attr.eq_ignore_ascii_case("dn") {
            return Read::Constructed(vec![e.dn.to_string().into_bytes()]);
        }
        Read::Stored(e.values(attr))
    }

    fn equality(&self, e: &Entry, attr: &str, v: &str) -> bool {
        if attr.eq_ignore_ascii_case("anr") {
            return ANR_ATTRS.iter().any(|a| {
                self.substring(
                    e,
                    a,
                    &LdapSubstringFilter {
                        initial: Some(v.to_string()),
                        any: vec![],
                        final_: None,
                    },
                )
            });
        }
        let Some(def) = schema::attr(attr).or_else(|| {
            attr.eq_ignore_ascii_case("dn")
                .then(|| schema::attr("distinguishedName"))
                .flatten()
        }) else {
            return false;
        };
        let wanted: Vec<u8> = match def.syntax {
            Syntax::Int => match v.trim().parse::<i64>() {
                Ok(n) => n.to_string().into_bytes(),
                Err(_) => return false,
            },
            Syntax::Sid => ids::parse_sid(v).unwrap_or_else(|| filter_value_bytes(v)),
            Syntax::Dn | Syntax::DnText if v.trim_start().starts_with('<') => {
                match self.st.extended_dn_text(v) {
                    Some(dn) => dn.into_bytes(),
                    None => return false,
                }
            }
            Syntax::DnText if def.name == "objectCategory" && !v.contains('=') => {
                match schema::category_for_short_name(v) {
                    Some(c) => self.st.domain.category_dn(c).into_bytes(),
                    None => return false,
                }
            }
            _ => filter_value_bytes(v),
        };
        self.values(e, def.name).iter().any(|have| {
            super::values::values_equal(def.syntax, have, &wanted)
                || (def.syntax == Syntax::Time && time_key(have) == time_key(&wanted))
        })
    }

    fn substring(&self, e: &Entry, attr: &str, s: &LdapSubstringFilter) -> bool {
        let Some(def) = schema::attr(attr) else {
            return false;
        };
        if !matches!(def.syntax, Syntax::Str | Syntax::DnText | Syntax::Dn) {
            return false;
        }
        self.values(e, def.name).iter().any(|v| {
            let Ok(text) = std::str::from_utf8(v) else {
                return false;
            };
            substring_match(&text.to_lowercase(), s)
        })
    }

    fn ordering(&self, e: &Entry, attr: &str, v: &str, ok: impl Fn(Ordering) -> bool) -> bool {
        let Some(def) = schema::attr(attr) else {
            return false;
        };
        self.values(e, def.name).iter().any(|have| {
            let Ok(h) = std::str::from_utf8(have) else {
                return false;
            };
            let ord = match def.syntax {
                Syntax::Int => match (h.parse::<i64>(), v.trim().parse::<i64>()) {
                    (Ok(a), Ok(b)) => a.cmp(&b),
                    _ => return false,
                },
                Syntax::Time => time_key(h.as_bytes()).cmp(&time_key(v.as_bytes())),
                _ => h.to_lowercase().as_str().cmp(v.to_lowercase().as_str()),
            };
            ok(ord)
        })
    }

    fn extensible(&self, e: &Entry, m: &LdapMatchingRuleAssertion) -> bool {
        let Some(attr) = m.type_.as_deref() else {
            return false;
        };
        match m.matching_rule.as_deref() {
            Some(RULE_BIT_AND) | Some(RULE_BIT_OR) => {
                let Ok(mask) = m.match_value.trim().parse::<i64>() else {
                    return false;
                };
                let mask = mask as u32 as i64;
                let and = m.matching_rule.as_deref() == Some(RULE_BIT_AND);
                self.values(e, attr).iter().any(|v| {
                    std::str::from_utf8(v)
                        .ok()
                        .and_then(|s| s.parse::<i64>().ok())
                        .is_some_and(|n| {
                            let n = n as u32 as i64;
                            if and {
                                n & mask == mask
                            } else {
                                n & mask != 0
                            }
                        })
                })
            }
            Some(RULE_IN_CHAIN) => {
                let Ok(target) = self.st.resolve(&m.match_value) else {
                    return false;
                };
                self.reaches(e.id, attr, target)
            }
            None => self.equality(e, attr, &m.match_value),
            Some(_) => false,
        }
    }

    /// Follow a DN-valued attribute transitively from `from`: does it reach `target`?
    fn reaches(&self, from: EntryId, attr: &str, target: EntryId) -> bool {
        let mut seen = vec![from];
        let mut i = 0;
        while i < seen.len() {
            for next in self.st.store.linked(seen[i], attr) {
                if next == target {
                    return true;
                }
                if !seen.contains(&next) {
                    seen.push(next);
                }
            }
            i += 1;
        }
        false
    }
}

fn substring_match(text: &str, s: &LdapSubstringFilter) -> bool {
    let mut rest = text;
    if let Some(init) = &s.initial {
        let init = init.to_lowercase();
        match rest.strip_prefix(init.as_str()) {
            Some(r) => rest = r,
            None => return false,
        }
    }
    for any in &s.any {
        let any = any.to_lowercase();
        match rest.find(any.as_str()) {
            Some(i) => rest = &rest[i + any.len()..],
            None => return false,
        }
    }
    match &s.final_ {
        Some(fin) => rest.ends_with(fin.to_lowercase().as_str()),
        None => true,
    }
}

/// GeneralizedTime compared on its first 14 digits (YYYYMMDDHHMMSS).
fn time_key(v: &[u8]) -> Vec<u8> {
    v.iter().take(14).copied().collect()
}

/// msDS-User-Account-Control-Computed: UF_LOCKOUT (0x10) while locked,
/// UF_PASSWORD_EXPIRED (0x800000) once the password is older than maxPwdAge.
pub fn computed_uac(st: &State, e: &Entry, now: DateTime<Utc>) -> Option<i64> {
    if !e.is("user") {
        return None;
    }
    let policy = st
        .domain_entry()
        .map(super::password_policy::PasswordPolicy::from_domain)?;
    let mut v = 0;
    if super::bind::is_locked(e, &policy, now) {
        v |= super::values::uac::LOCKOUT;
    }
    let u = e.int("userAccountControl").unwrap_or(0);
    let last = e.int("pwdLastSet").unwrap_or(0);
    if u & super::values::uac::DONT_EXPIRE_PASSWORD == 0 {
        let expired = last == 0
            || policy
                .max_age
                .zip(crate::clock::from_filetime(last))
                .is_some_and(|(max, at)| now > at + max);
        if expired {
            v |= super::values::uac::PASSWORD_EXPIRED;
        }
    }
    Some(v)
}

/// msDS-UserPasswordExpiryTimeComputed (MS-ADTS 3.1.1.4.5.27), a FILETIME: never
/// (0x7FFFFFFFFFFFFFFF) for passwords that do not expire, 0 when the password must be
/// changed at next logon, else pwdLastSet + maxPwdAge.
pub fn password_expiry(st: &State, e: &Entry) -> Option<i64> {
    if !e.is("user") {
        return None;
    }
    let policy = st
        .domain_entry()
        .map(super::password_policy::PasswordPolicy::from_domain)?;
    let u = e.int("userAccountControl").unwrap_or(0);
    let last = e.int("pwdLastSet").unwrap_or(0);
    let never = super::values::NEVER;
    Some(match policy.max_age {
        _ if u & super::values::uac::DONT_EXPIRE_PASSWORD != 0 => never,
        None => never,
        Some(_) if last == 0 => 0,
        Some(max) => max
            .num_microseconds()
            .and_then(|us| us.checked_mul(10))
            .and_then(|ticks| last.checked_add(ticks))
            .unwrap_or(never),
    })
}

/// The lower-case DN key used in `<dn>` style comparisons.
pub fn dn_key(s: &str) -> Option<String> {
    dn::norm(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub(i: Option<&str>, any: &[&str], f: Option<&str>) -> LdapSubstringFilter {
        LdapSubstringFilter {
            initial: i.map(str::to_string),
            any: any.iter().map(|s| s.to_string()).collect(),
            final_: f.map(str::to_string),
        }
    }

    #[test]
    fn substrings_match_in_order() {
        assert!(substring_match("alice probe", &sub(None, &["lice"], None)));
        assert!(substring_match(
            "alice probe",
            &sub(Some("Al"), &["ce"], Some("BE"))
        ));
        assert!(!substring_match(
            "alice probe",
            &sub(Some("probe"), &[], None)
        ));
        assert!(!substring_match("abc", &sub(None, &["c", "b"], None)));
    }
}
