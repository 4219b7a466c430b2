//! The on-premises AD of a world as an admin and a check see it: LDIF imports, entries
//! added, changed or deleted as the DC's administrator, the domain's password policy,
//! rights granted and revoked (dsacls), and entries read back — one entry, a subtree
//! search with an RFC 4515 filter, or every entry with the USN it was last changed at.
//! Values read back are shown as an admin's tools show them: GUIDs and SIDs as text,
//! FILETIMEs with their date.

use super::{Right, World, WorldError};
use crate::directory::add::AddRequest;
use crate::directory::ids::{guid_text, sid_text};
use crate::directory::modify::{Change, ModOp, ModifyRequest};
use crate::directory::password_policy::encode_unicode_pwd;
use crate::directory::schema::{self, Syntax};
use crate::directory::store::Entry;
pub use crate::directory::store::Vals as AttrValues;
use crate::directory::{OpContext, Principal};
use ldap3::asn1::ASNTag;
use ldap3_proto::proto::{LdapFilter, LdapSearchScope};
use std::time::Duration;

/// What the DC answered to a change it refused: the LDAP result code and AD's diagnostic.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("LDAP {code}: {}", message.trim_end())]
pub struct AdRefusal {
    pub code: i64,
    pub message: String,
}

impl From<crate::directory::ad_error::AdError> for AdRefusal {
    fn from(e: crate::directory::ad_error::AdError) -> Self {
        let (code, message, _) = e.answer();
        Self {
            code: code as i64,
            message,
        }
    }
}

/// A new entry: its DN, attributes as text, and an initial password (unicodePwd).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NewEntry {
    pub dn: String,
    pub attrs: Vec<(String, Vec<String>)>,
    pub password: Option<String>,
}

/// One change of a modify: add, delete or replace values of an attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrChange {
    pub op: ModOp,
    pub attr: String,
    pub values: Vec<String>,
}

/// The domain's password policy; `None` leaves AD's default.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct PasswordPolicy {
    pub min_length: Option<i64>,
    pub complexity: Option<bool>,
    pub history: Option<i64>,
    pub min_age: Option<Duration>,
    pub max_age: Option<Duration>,
    pub lockout_threshold: Option<i64>,
    pub lockout_duration: Option<Duration>,
}

/// An entry as read back.
#[derive(Debug, Clone)]
pub struct AdObject(std::sync::Arc<Entry>);

impl AdObject {
    /// An entry a real DC returned (attribute names in any case): the attributes the schema
    /// here knows, in the order the DC created entries (uSNCreated).
    pub(crate) fn from_ldap(
        dn: &str,
        attrs: impl IntoIterator<Item = (String, Vec<Vec<u8>>)>,
    ) -> Self {
        let dn = crate::directory::dn::Dn::parse(dn)
            .unwrap_or_else(|_| crate::directory::dn::Dn::parse("").unwrap_or_default());
        let mut e = Entry::new(dn);
        for (name, values) in attrs {
            if schema::attr(&name).is_some() {
                e.set(&name, values);
            }
        }
        e.id = e.int("uSNCreated").unwrap_or(0).max(0) as u64;
        Self(std::sync::Arc::new(e))
    }

    pub fn dn(&self) -> String {
        self.0.dn.to_string()
    }

    /// The normalised DN: the same entry however its DN is spelled.
    pub fn key(&self) -> String {
        self.0.dn.norm()
    }

    /// The USN of its last change (`uSNChanged`).
    pub fn usn(&self) -> i64 {
        self.0.int("uSNChanged").unwrap_or(0)
    }

    /// The order entries were created in.
    pub fn order(&self) -> u64 {
        self.0.id
    }

    /// The raw values of an attribute.
    pub fn values(&self, attr: &str) -> AttrValues<'_> {
        self.0.values(attr)
    }

    /// The values of an attribute as an admin's tools show them.
    pub fn readable(&self, attr: &str) -> Vec<String> {
        self.values(attr)
            .iter()
            .map(|v| readable(attr, v))
            .collect()
    }

    /// Every attribute with its values, by AD's name for it.
    pub fn attributes(&self) -> impl Iterator<Item = (&'static str, AttrValues<'_>)> {
        self.0.attrs.iter()
    }
}

/// One attribute value as text a person can read: GUIDs and SIDs in their text form, AD
/// times (FILETIME) with their UTC date, other binary values as their length.
pub fn readable(attr: &str, v: &[u8]) -> String {
    let syntax = schema::attr(attr).map(|d| d.syntax);
    match syntax {
        Some(Syntax::Guid) => guid_text(v).unwrap_or_else(|| format!("<{} bytes>", v.len())),
        Some(Syntax::Sid) => sid_text(v).unwrap_or_else(|| format!("<{} bytes>", v.len())),
        _ => match std::str::from_utf8(v) {
            Ok(s) => {
                let ad_time = matches!(
                    attr,
                    "pwdLastSet"
                        | "lockoutTime"
                        | "badPasswordTime"
                        | "lastLogon"
                        | "lastLogonTimestamp"
                );
                match s
                    .parse::<i64>()
                    .ok()
                    .filter(|n| ad_time && *n > 0)
                    .and_then(crate::clock::from_filetime)
                {
                    Some(t) => format!("{s} ({})", t.format("%Y-%m-%dT%H:%M:%SZ")),
                    None => s.to_string(),
                }
            }
            Err(_) => format!("<{} bytes>", v.len()),
        },
    }
}

/// Every entry of the directory and the highest USN so far.
#[derive(Debug, Clone)]
pub struct AdState {
    pub usn: i64,
    /// In the order they were created.
    pub objects: Vec<AdObject>,
}

/// How deep a filter of a scenario may nest: far beyond any real one.
pub const MAX_FILTER_DEPTH: usize = 100;

/// An RFC 4515 filter string, the way ldapsearch takes it (`(displayName=Project X)`), or
/// why the text is not one. ldap3's parser reads the text and BER carries it to
/// ldap3_proto's filter type, as the filter would cross the wire to a DC; nothing here
/// parses filter syntax by hand.
pub fn parse_filter(text: &str) -> Result<LdapFilter, String> {
    let not_a_filter = || {
        format!(
            "`{text}` is not an LDAP filter (RFC 4515): write it in parentheses, e.g. (displayName=Marketing) or (&(objectClass=group)(cn=Group_*)); escape ( ) * \\ in values as \\28 \\29 \\2a \\5c"
        )
    };
    // ldap3's parser recurses once per level: a filter nested thousands deep would
    // overflow the stack and abort the process, so the depth is checked first (values
    // cannot hold a bare parenthesis: RFC 4515 escapes them as \28 \29).
    let mut depth = 0usize;
    let mut deepest = 0usize;
    for c in text.chars() {
        match c {
            '(' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    if deepest > MAX_FILTER_DEPTH {
        return Err(format!(
            "the filter nests {deepest} levels deep; at most {MAX_FILTER_DEPTH} are read"
        ));
    }
    let tag = ldap3::parse_filter(text).map_err(|()| not_a_filter())?;
    let mut ber = bytes::BytesMut::new();
    ldap3::asn1::write::encode_into(&mut ber, tag.into_structure())
        .map_err(|e| format!("`{text}`: {e}"))?;
    let (_, tag) = ldap3_lber::parse::Parser::new(64)
        .parse(&ber)
        .map_err(|_| not_a_filter())?;
    LdapFilter::try_from(tag).map_err(|_| not_a_filter())
}

/// The DNs a freshly provisioned forest `forest` holds (the DC's own containers, accounts
/// and groups): the real provisioning, in memory, with no listener — once per forest name
/// in a process (`validate` asks for each file).
pub fn provisioned_dns(forest: &str) -> std::sync::Arc<Vec<String>> {
    type Known = std::sync::Mutex<std::collections::HashMap<String, std::sync::Arc<Vec<String>>>>;
    static KNOWN: std::sync::OnceLock<Known> = std::sync::OnceLock::new();
    let known = KNOWN.get_or_init(Known::default);
    if let Some(dns) = known.lock().unwrap_or_else(|e| e.into_inner()).get(forest) {
        return dns.clone();
    }
    let config = crate::directory::DirectoryConfig {
        forest: forest.to_string(),
        ..Default::default()
    };
    let clock = std::sync::Arc::new(crate::clock::ManualClock::new(chrono::Utc::now()));
    let dns: Vec<String> = match crate::directory::Directory::new(config, clock) {
        Ok(dir) => {
            let st = dir.read();
            st.store
                .ids()
                .filter_map(|id| st.store.get(id))
                .map(|e| e.dn.to_string())
                .collect()
        }
        Err(_) => Vec::new(),
    };
    let dns = std::sync::Arc::new(dns);
    let mut known = known.lock().unwrap_or_else(|e| e.into_inner());
    // A few forest names at most in a real run; a fuzzer's thousands are not all kept.
    if known.len() < 16 {
        known.insert(forest.to_string(), dns.clone());
    }
    dns
}

/// The DNs an LDIF text's records add, as written; `Err` with the parser's message.
pub fn ldif_added_dns(text: &str, source: &str) -> Result<Vec<String>, String> {
    let records = crate::directory::ldif::parse(text, source).map_err(|e| e.to_string())?;
    Ok(records
        .into_iter()
        .filter_map(|(_, r)| match r {
            crate::directory::ldif::Record::Add { dn, .. } => Some(dn),
            _ => None,
        })
        .collect())
}

/// The normalised form of a DN's text (`None` when it is not a DN): two spellings of one DN
/// (case, spaces, escapes) have the same key, the one [`AdObject::key`] gives.
pub fn dn_key(dn: &str) -> Option<String> {
    crate::directory::dn::norm(dn)
}

/// Is the text a DN (RFC 4514, as AD reads it)? `Err` says why not.
pub fn parse_dn(text: &str) -> Result<(), String> {
    crate::directory::dn::Dn::parse(text)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

/// Do two texts name the same DN?
pub fn same_dn(a: &str, b: &str) -> bool {
    dn_key(a) == dn_key(b)
}

/// An AD interval as the domain object stores it: negative 100-ns units.
fn ad_interval(d: Duration) -> String {
    format!("-{}", d.as_micros() * 10)
}

/// The changes of the domain object that set a password policy.
pub(crate) fn policy_changes(p: &PasswordPolicy) -> Vec<AttrChange> {
    let mut changes = Vec::new();
    let mut set = |attr: &str, v: String| {
        changes.push(AttrChange {
            op: ModOp::Replace,
            attr: attr.into(),
            values: vec![v],
        })
    };
    if let Some(v) = p.min_length {
        set("minPwdLength", v.to_string());
    }
    if let Some(v) = p.complexity {
        set("pwdProperties", if v { "1" } else { "0" }.into());
    }
    if let Some(v) = p.history {
        set("pwdHistoryLength", v.to_string());
    }
    if let Some(d) = p.min_age {
        set("minPwdAge", ad_interval(d));
    }
    if let Some(d) = p.max_age {
        set("maxPwdAge", ad_interval(d));
    }
    if let Some(v) = p.lockout_threshold {
        set("lockoutThreshold", v.to_string());
    }
    if let Some(d) = p.lockout_duration {
        set("lockoutDuration", ad_interval(d));
    }
    changes
}

/// The DC's own context for changes an administrator makes: encrypted, no controls.
fn as_admin() -> OpContext {
    OpContext {
        tls: true,
        ..OpContext::default()
    }
}

impl World {
    /// Import an LDIF file's records (adds and changes) as the DC.
    pub(super) fn import_ldif_embedded(
        &self,
        text: &str,
        source: &str,
    ) -> Result<usize, WorldError> {
        Ok(self.directory.import_ldif(text, source)?)
    }

    /// Add an entry as the DC's administrator; `password` becomes unicodePwd.
    pub(super) fn ad_add_embedded(&self, e: NewEntry) -> Result<(), AdRefusal> {
        let mut attrs: Vec<(String, Vec<Vec<u8>>)> = e
            .attrs
            .into_iter()
            .map(|(k, v)| (k, v.into_iter().map(String::into_bytes).collect()))
            .collect();
        if let Some(pw) = &e.password {
            attrs.push(("unicodePwd".into(), vec![encode_unicode_pwd(pw)]));
        }
        let now = self.now();
        self.directory
            .write()
            .add(
                &Principal::System,
                &as_admin(),
                now,
                AddRequest { dn: e.dn, attrs },
            )
            .map(|_| ())
            .map_err(AdRefusal::from)
    }

    /// Modify an entry as the DC's administrator.
    pub(super) fn ad_modify_embedded(
        &self,
        dn: &str,
        changes: Vec<AttrChange>,
    ) -> Result<(), AdRefusal> {
        let changes = changes
            .into_iter()
            .map(|c| Change {
                op: c.op,
                attr: c.attr,
                values: c.values.into_iter().map(String::into_bytes).collect(),
            })
            .collect();
        let now = self.now();
        self.directory
            .write()
            .modify(
                &Principal::System,
                &as_admin(),
                now,
                ModifyRequest {
                    dn: dn.to_string(),
                    changes,
                },
            )
            .map_err(AdRefusal::from)
    }

    /// Delete an entry as the DC's administrator.
    pub(super) fn ad_delete_embedded(&self, dn: &str) -> Result<(), AdRefusal> {
        let now = self.now();
        self.directory
            .write()
            .delete(&Principal::System, &as_admin(), now, dn)
            .map_err(AdRefusal::from)
    }

    /// Set the domain's password policy (the attributes of the domain object).
    pub(super) fn set_password_policy_embedded(&self, p: &PasswordPolicy) -> Result<(), AdRefusal> {
        let domain = self.directory.domain().dn.to_string();
        self.ad_modify_embedded(&domain, policy_changes(p))
    }

    /// Allow (or `deny`) `right` on `on` and below to `to` (a DN; the connector account
    /// by default).
    pub(super) fn add_ace_embedded(
        &self,
        right: Right,
        on: &str,
        to: Option<&str>,
        deny: bool,
    ) -> Result<(), AdRefusal> {
        let to = to.map_or_else(|| self.connector_dn(), str::to_string);
        Ok(self.directory.add_ace(&to, right, on, deny)?)
    }

    /// Remove a grant; `false` when there was none.
    pub(super) fn revoke_embedded(
        &self,
        right: Right,
        on: &str,
        to: Option<&str>,
    ) -> Result<bool, AdRefusal> {
        let to = to.map_or_else(|| self.connector_dn(), str::to_string);
        Ok(self.directory.revoke(&to, right, on)?)
    }

    /// Replace the rights the wizard gave the connector account by exactly these.
    pub(super) fn set_connector_rights_embedded(
        &self,
        rights: &[(Right, String)],
    ) -> Result<(), WorldError> {
        let connector = self.connector_dn();
        let domain = self.directory.domain().dn.to_string();
        for r in crate::directory::forest::CONNECTOR_RIGHTS {
            let _ = self.directory.revoke(&connector, *r, &domain);
        }
        for (right, on) in rights {
            self.directory.grant(&connector, *right, on).map_err(|e| {
                WorldError::Refused(format!("grant {right} on {on}: {}", e.answer().1))
            })?;
        }
        Ok(())
    }

    /// The entry `dn` (any DN form the DC takes), if it exists.
    pub(super) fn ad_entry_embedded(&self, dn: &str) -> Option<AdObject> {
        self.directory
            .entry(dn)
            .map(|e| AdObject(std::sync::Arc::new(e)))
    }

    /// How many entries under `base` (subtree) match the RFC 4515 `filter`.
    pub(super) fn ad_count_embedded(&self, base: &str, filter: &str) -> Result<usize, String> {
        self.ad_select(base, filter, |_, ids| ids.len())
    }

    /// The entries under `base` (subtree) that match the RFC 4515 `filter`, at most `limit`.
    pub(super) fn ad_search_embedded(
        &self,
        base: &str,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<AdObject>, String> {
        self.ad_select(base, filter, |st, ids| {
            ids.iter()
                .take(limit)
                .filter_map(|id| st.store.shared(*id).map(AdObject))
                .collect()
        })
    }

    fn ad_select<T>(
        &self,
        base: &str,
        filter: &str,
        f: impl FnOnce(&crate::directory::State, &[crate::directory::store::EntryId]) -> T,
    ) -> Result<T, String> {
        let parsed = parse_filter(filter)?;
        let st = self.directory.read();
        st.select(
            &Principal::System,
            base,
            &LdapSearchScope::Subtree,
            &parsed,
            self.now(),
        )
        .map(|sel| f(&st, &sel.ids))
        .map_err(|e| format!("search failed: {}", e.answer().1.trim_end()))
    }

    /// Every entry and the highest USN so far.
    pub(super) fn ad_state_embedded(&self) -> AdState {
        let st = self.directory.read();
        AdState {
            usn: st.store.usn,
            objects: st
                .store
                .all()
                .into_iter()
                .filter_map(|id| st.store.shared(id).map(AdObject))
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_spaces_need_no_quotes() {
        let f = parse_filter("(displayName=Project X)").unwrap();
        assert_eq!(
            f,
            LdapFilter::Equality("displayName".into(), "Project X".into())
        );
    }

    #[test]
    fn compound_substring_and_presence_filters_parse() {
        let f = parse_filter("(&(objectClass=group)(cn=Group_*)(!(mail=*)))").unwrap();
        let LdapFilter::And(parts) = f else {
            panic!("{f:?}")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(parts[1], LdapFilter::Substring(..)));
        assert!(matches!(&parts[2], LdapFilter::Not(p) if matches!(**p, LdapFilter::Present(_))));
    }

    #[test]
    fn escapes_are_values_and_bad_text_says_why() {
        assert_eq!(
            parse_filter(r"(cn=a\28b\29)").unwrap(),
            LdapFilter::Equality("cn".into(), "a(b)".into())
        );
        // Like ldapsearch, the outer parentheses may be left out.
        assert_eq!(
            parse_filter("displayName=x").unwrap(),
            LdapFilter::Equality("displayName".into(), "x".into())
        );
        let deep = format!("{}(cn=x){}", "(!".repeat(10_000), ")".repeat(10_000));
        let e = parse_filter(&deep).unwrap_err();
        assert!(e.contains("nests 10001 levels deep"), "{e}");
        let ok = format!("{}(cn=x){}", "(!".repeat(50), ")".repeat(50));
        assert!(parse_filter(&ok).is_ok());
        let e = parse_filter("(cn=x").unwrap_err();
        assert!(e.contains("RFC 4515"), "{e}");
        assert!(parse_filter("(&(cn=x)").is_err());
        assert!(parse_filter("(cn=a)b)").is_err());
    }

    #[test]
    fn times_guids_and_sids_read_as_an_admin_sees_them() {
        assert_eq!(
            readable("pwdLastSet", b"134120772000000000"),
            "134120772000000000 (2026-01-05T09:00:00Z)"
        );
        assert_eq!(readable("pwdLastSet", b"0"), "0");
        assert_eq!(readable("objectGUID", &[0; 3]), "<3 bytes>");
        assert_eq!(readable("description", b"x"), "x");
    }
}
