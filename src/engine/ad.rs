//! The AD DS connector: the engine's LDAP client (the `ldap3` crate) bound as the
//! connector account over LDAPS (or StartTLS). It would work unchanged against a real DC:
//! it finds accounts by their anchor through AD's `<GUID=…>` DN form and writes passwords
//! the way MS-ADTS 3.1.1.3.1.5 prescribes, with LDAP_SERVER_POLICY_HINTS so a reset obeys
//! the history policy as SSPR requires.

use super::config::EngineConfig;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use bytes::BytesMut;
use ldap3::asn1::{write, ASNTag, Integer, Sequence, Tag, TagClass, Types};
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry};
use std::collections::HashSet;

mod ahead;
pub use ahead::SentAdd;

/// An entry's attributes as the engine writes them.
pub type Attrs = std::collections::BTreeMap<&'static str, Vec<Vec<u8>>>;

/// LDAP_SERVER_POLICY_HINTS_OID (MS-ADTS 3.1.1.3.4.1.27).
pub const POLICY_HINTS_OID: &str = "1.2.840.113556.1.4.2239";

/// LDAP_SERVER_SD_FLAGS_OID (MS-ADTS 3.1.1.3.4.1.11).
pub const SD_FLAGS_OID: &str = "1.2.840.113556.1.4.801";

/// An AD answer that was not success, or a failure to reach AD at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdFailure {
    /// The LDAP result code, when AD answered.
    pub code: Option<u32>,
    pub message: String,
}

impl AdFailure {
    fn from_result(r: &LdapResult) -> Self {
        Self {
            code: Some(r.rc),
            message: r.text.clone(),
        }
    }

    fn unreachable(e: impl std::fmt::Display) -> Self {
        Self {
            code: None,
            message: e.to_string(),
        }
    }
}

/// The account an anchor designates.
#[derive(Debug, Clone)]
pub struct Account {
    pub dn: String,
    pub user_account_control: i64,
    /// Non-zero while (or since) the account was locked out.
    pub lockout_time: i64,
}

async fn add_on(ldap: &mut Ldap, dn: &str, attrs: Attrs) -> Result<(), AdFailure> {
    let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = attrs
        .into_iter()
        .map(|(k, v)| (k.as_bytes().to_vec(), v.into_iter().collect()))
        .collect();
    let r = ldap.add(dn, attrs).await.map_err(AdFailure::unreachable)?;
    ok_with_matched(r)
}

/// One bound connection as the connector account.
pub struct AdSession {
    ldap: Ldap,
}

impl AdSession {
    /// A session bound as the connector account.
    pub async fn open(cfg: &EngineConfig) -> Result<Self, AdFailure> {
        Self::open_as(cfg, &cfg.connector_dn, &cfg.connector_password).await
    }

    /// A session bound as `dn` (the wizard's Enterprise Admin), to the same DC.
    pub async fn open_as(cfg: &EngineConfig, dn: &str, password: &str) -> Result<Self, AdFailure> {
        let mut settings = LdapConnSettings::new()
            .set_starttls(cfg.ad_starttls)
            .set_conn_timeout(std::time::Duration::from_secs(10));
        if cfg.ad_tls_no_verify {
            settings = crate::tls::ldap_unverified(settings);
        }
        if let (false, Some(ca)) = (cfg.ad_tls_no_verify, &cfg.ad_ca) {
            let config = crate::tls::client_config(Some(ca))
                .map_err(|e| AdFailure::unreachable(format!("the DC's CA certificate: {e}")))?;
            settings = settings.set_config(std::sync::Arc::new(config));
        }
        // The OS's words for it vary (refused, reset, EOF); the event says what Windows
        // would: LDAP_SERVER_DOWN. The raw error goes to the trace.
        let down = |e: &dyn std::fmt::Display| {
            tracing::debug!(url = %cfg.ad_url, error = %e, "cannot reach the domain controller");
            AdFailure::unreachable(format!(
                "cannot reach {}: the server is not operational (LDAP_SERVER_DOWN)",
                cfg.ad_url
            ))
        };
        let settings = crate::net::ldap_nodelay(settings, &cfg.ad_url)
            .await
            .map_err(|e| down(&e))?;
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &cfg.ad_url)
            .await
            .map_err(|e| down(&e))?;
        ldap3::drive!(conn);
        let r = ldap.simple_bind(dn, password).await.map_err(|e| {
            tracing::debug!(url = %cfg.ad_url, error = %e, "the connection to the domain controller failed");
            AdFailure::unreachable(format!("{}: the connection failed during bind (LDAP_SERVER_DOWN)", cfg.ad_url))
        })?;
        if r.rc != 0 {
            return Err(AdFailure::from_result(&r));
        }
        Ok(Self { ldap })
    }

    /// The account whose objectGUID is the base64 `source_anchor`.
    pub async fn find_by_anchor(
        &mut self,
        source_anchor: &str,
    ) -> Result<Option<Account>, AdFailure> {
        let Some(guid) = B64
            .decode(source_anchor)
            .ok()
            .and_then(|b| <[u8; 16]>::try_from(b).ok())
            .map(|b| uuid::Uuid::from_bytes_le(b).hyphenated().to_string())
        else {
            return Ok(None);
        };
        let found = self
            .first_entry(
                &format!("<GUID={guid}>"),
                Scope::Base,
                "(objectClass=user)",
                vec!["distinguishedName", "userAccountControl", "lockoutTime"],
            )
            .await?;
        Ok(found.map(|e| {
            let int = |a: &str| {
                e.attrs
                    .get(a)
                    .and_then(|v| v.first())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0)
            };
            Account {
                user_account_control: int("userAccountControl"),
                lockout_time: int("lockoutTime"),
                dn: e.dn,
            }
        }))
    }

    /// Reset: one replace of unicodePwd, with the policy-hints control.
    pub async fn reset(&mut self, dn: &str, password: &str) -> Result<(), AdFailure> {
        let m = vec![Mod::Replace(
            b"unicodePwd".to_vec(),
            HashSet::from([unicode_pwd(password)]),
        )];
        self.write_password(dn, m).await
    }

    /// Change: delete the old value, add the new one, with the policy-hints control.
    pub async fn change(&mut self, dn: &str, old: &str, new: &str) -> Result<(), AdFailure> {
        let m = vec![
            Mod::Delete(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(old)])),
            Mod::Add(b"unicodePwd".to_vec(), HashSet::from([unicode_pwd(new)])),
        ];
        self.write_password(dn, m).await
    }

    async fn write_password(&mut self, dn: &str, m: Vec<Mod<Vec<u8>>>) -> Result<(), AdFailure> {
        let r = self
            .ldap
            .with_controls(vec![policy_hints()])
            .modify(dn, m)
            .await
            .map_err(AdFailure::unreachable)?;
        ok(r)
    }

    /// Add an entry.
    pub async fn add(&mut self, dn: &str, attrs: Attrs) -> Result<(), AdFailure> {
        add_on(&mut self.ldap, dn, attrs).await
    }

    /// Replace the values of several attributes.
    pub async fn replace(
        &mut self,
        dn: &str,
        attrs: Vec<(&str, Vec<Vec<u8>>)>,
    ) -> Result<(), AdFailure> {
        let m = attrs
            .into_iter()
            .map(|(k, v)| Mod::Replace(k.as_bytes().to_vec(), v.into_iter().collect()))
            .collect();
        let r = self
            .ldap
            .modify(dn, m)
            .await
            .map_err(AdFailure::unreachable)?;
        ok(r)
    }

    /// Bring the entry `dn` in line with what it should be: rename it (in place) when its
    /// CN is not `cn`, then replace the attributes whose values differ between `before`
    /// and `after`; attributes that went away are replaced with no values. objectClass and
    /// sAMAccountName are never rewritten. Returns the (possibly new) DN and the
    /// attributes it replaced, by name.
    pub async fn converge(
        &mut self,
        dn: &str,
        cn: &str,
        before: &Attrs,
        after: &Attrs,
    ) -> Result<(String, Vec<&'static str>), AdFailure> {
        let rdn = format!("CN={}", ldap3::dn_escape(cn));
        let mut dn = dn.to_string();
        if !dn.starts_with(&format!("{rdn},")) {
            let parent = parent_of(&dn).to_string();
            self.rename(&dn, &rdn).await?;
            dn = format!("{rdn},{parent}");
        }
        let gone = before
            .keys()
            .filter(|k| !after.contains_key(*k))
            .map(|k| (*k, Vec::new()));
        let changed: Vec<(&'static str, Vec<Vec<u8>>)> = after
            .iter()
            .filter(|(k, v)| {
                // values are a set: compared without regard to order
                let same = before.get(*k).is_some_and(|b| {
                    let (mut b, mut v) = (b.clone(), (*v).clone());
                    b.sort();
                    v.sort();
                    b == v
                });
                **k != "objectClass" && **k != "sAMAccountName" && !same
            })
            .map(|(k, v)| (*k, v.clone()))
            .chain(gone)
            .collect();
        let mut written: Vec<&'static str> = changed.iter().map(|(k, _)| *k).collect();
        written.sort_unstable();
        if !changed.is_empty() {
            self.replace(&dn, changed).await?;
        }
        Ok((dn, written))
    }

    /// Rename in place (new RDN, same parent).
    pub async fn rename(&mut self, dn: &str, new_rdn: &str) -> Result<(), AdFailure> {
        let r = self
            .ldap
            .modifydn(dn, new_rdn, true, None)
            .await
            .map_err(AdFailure::unreachable)?;
        ok(r)
    }

    pub async fn delete(&mut self, dn: &str) -> Result<(), AdFailure> {
        let r = self.ldap.delete(dn).await.map_err(AdFailure::unreachable)?;
        ok(r)
    }

    /// The DN and objectSid of the account with this userPrincipalName, if any.
    pub async fn user_by_upn(
        &mut self,
        base: &str,
        upn: &str,
    ) -> Result<Option<(String, Vec<u8>)>, AdFailure> {
        let filter = format!(
            "(&(objectClass=user)(userPrincipalName={}))",
            ldap3::ldap_escape(upn)
        );
        let found = self
            .first_entry(base, Scope::Subtree, &filter, vec!["objectSid"])
            .await?;
        Ok(found.map(|e| {
            let sid = e
                .bin_attrs
                .get("objectSid")
                .and_then(|v| v.first())
                .cloned()
                .unwrap_or_default();
            (e.dn, sid)
        }))
    }

    /// The DN of the first entry under `base` that matches `filter`.
    pub async fn find_dn(&mut self, base: &str, filter: &str) -> Result<Option<String>, AdFailure> {
        let found = self
            .first_entry(base, Scope::Subtree, filter, vec!["1.1"])
            .await?;
        Ok(found.map(|e| e.dn))
    }

    /// The values of some attributes of one entry, as the engine writes them.
    pub async fn read_attrs(
        &mut self,
        dn: &str,
        attrs: impl Iterator<Item = &'static str>,
    ) -> Result<Attrs, AdFailure> {
        let names: Vec<&'static str> = attrs.collect();
        let found = self
            .first_entry(dn, Scope::Base, "(objectClass=*)", names.clone())
            .await?;
        let mut out = Attrs::new();
        if let Some(e) = found {
            for name in names {
                let text = e
                    .attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.iter().map(|x| x.as_bytes().to_vec()).collect::<Vec<_>>());
                let bin = e
                    .bin_attrs
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone());
                if let Some(mut v) = text.or(bin) {
                    v.sort();
                    out.insert(name, v);
                }
            }
        }
        Ok(out)
    }

    /// Does the entry exist?
    pub async fn exists(&mut self, dn: &str) -> Result<bool, AdFailure> {
        let found = self
            .first_entry(dn, Scope::Base, "(objectClass=*)", vec!["1.1"])
            .await?;
        Ok(found.is_some())
    }

    /// The first entry a search finds; `None` when there is none or the base does not
    /// exist (32 noSuchObject).
    async fn first_entry(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: Vec<&str>,
    ) -> Result<Option<SearchEntry>, AdFailure> {
        let ldap3::SearchResult(entries, res) = self
            .ldap
            .search(base, scope, filter, attrs)
            .await
            .map_err(AdFailure::unreachable)?;
        match res.rc {
            0 => Ok(entries.into_iter().next().map(SearchEntry::construct)),
            32 => Ok(None),
            _ => Err(AdFailure::from_result(&res)),
        }
    }

    /// Attributes of the RootDSE (anyone may read it).
    pub async fn root_dse(
        &mut self,
        attrs: &[&str],
    ) -> Result<std::collections::HashMap<String, Vec<String>>, AdFailure> {
        Ok(self
            .first_entry("", Scope::Base, "(objectClass=*)", attrs.to_vec())
            .await?
            .map(|e| e.attrs)
            .unwrap_or_default())
    }

    /// Does the schema define `attribute` (the subschema entry's attributeTypes)?
    pub async fn schema_has_attribute(&mut self, attribute: &str) -> Result<bool, AdFailure> {
        let dse = self.root_dse(&["subschemaSubentry"]).await?;
        let Some(subschema) = dse
            .get("subschemaSubentry")
            .and_then(|v| v.first())
            .cloned()
        else {
            return Ok(false);
        };
        let found = self
            .first_entry(
                &subschema,
                Scope::Base,
                "(objectClass=subschema)",
                vec!["attributeTypes"],
            )
            .await?;
        let needle = format!("name '{}'", attribute.to_ascii_lowercase());
        Ok(found.is_some_and(|e| {
            e.attrs
                .iter()
                .filter(|(k, _)| k.eq_ignore_ascii_case("attributeTypes"))
                .flat_map(|(_, v)| v)
                .any(|d| d.to_ascii_lowercase().contains(&needle))
        }))
    }

    /// The objectSid of an entry.
    pub async fn object_sid(&mut self, dn: &str) -> Result<Option<Vec<u8>>, AdFailure> {
        self.binary(dn, "objectSid", vec![]).await
    }

    /// The DACL part of an entry's nTSecurityDescriptor (LDAP_SERVER_SD_FLAGS: DACL only).
    pub async fn security_descriptor(&mut self, dn: &str) -> Result<Option<Vec<u8>>, AdFailure> {
        self.binary(dn, "nTSecurityDescriptor", vec![sd_flags_dacl()])
            .await
    }

    /// Write an entry's DACL (LDAP_SERVER_SD_FLAGS: DACL only; the owner, group and SACL
    /// stay as they are).
    pub async fn set_security_descriptor(&mut self, dn: &str, sd: &[u8]) -> Result<(), AdFailure> {
        let m = vec![Mod::Replace(
            b"nTSecurityDescriptor".to_vec(),
            HashSet::from([sd.to_vec()]),
        )];
        let r = self
            .ldap
            .with_controls(vec![sd_flags_dacl()])
            .modify(dn, m)
            .await
            .map_err(AdFailure::unreachable)?;
        ok(r)
    }

    /// One binary value of an entry's attribute.
    async fn binary(
        &mut self,
        dn: &str,
        attr: &str,
        controls: Vec<RawControl>,
    ) -> Result<Option<Vec<u8>>, AdFailure> {
        let ldap3::SearchResult(entries, res) = self
            .ldap
            .with_controls(controls)
            .search(dn, Scope::Base, "(objectClass=*)", vec![attr])
            .await
            .map_err(AdFailure::unreachable)?;
        match res.rc {
            0 => {}
            32 => return Ok(None),
            _ => return Err(AdFailure::from_result(&res)),
        }
        Ok(entries.into_iter().next().and_then(|e| {
            let e = SearchEntry::construct(e);
            let bin = e
                .bin_attrs
                .into_iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                .and_then(|(_, v)| v.into_iter().next());
            bin.or_else(|| {
                e.attrs
                    .into_iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                    .and_then(|(_, v)| v.into_iter().next())
                    .map(String::into_bytes)
            })
        }))
    }

    /// Replace one integer attribute (lockoutTime, pwdLastSet).
    pub async fn write_int(&mut self, dn: &str, attr: &str, value: i64) -> Result<(), AdFailure> {
        self.replace(dn, vec![(attr, vec![value.to_string().into_bytes()])])
            .await
    }

    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}

/// The parent of a DN: what follows the first comma that is not escaped
/// (RFC 4514: `CN=Smith\, John,OU=Staff,…` has the parent `OU=Staff,…`).
pub fn parent_of(dn: &str) -> &str {
    let mut escaped = false;
    for (i, c) in dn.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            ',' => return &dn[i + 1..],
            _ => {}
        }
    }
    ""
}

/// Like [`ok`], keeping AD's best match for a missing parent in the message.
fn ok_with_matched(r: LdapResult) -> Result<(), AdFailure> {
    if r.rc == 32 && !r.matched.is_empty() {
        return Err(AdFailure {
            code: Some(32),
            message: format!(
                "{} (best match {})",
                r.text.lines().next().unwrap_or_default(),
                r.matched
            ),
        });
    }
    ok(r)
}

fn ok(r: LdapResult) -> Result<(), AdFailure> {
    if r.rc == 0 {
        Ok(())
    } else {
        Err(AdFailure::from_result(&r))
    }
}

/// MS-ADTS 3.1.1.3.1.5.1: the password in double quotes, UTF-16LE.
fn unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect()
}

/// A control whose value is `SEQUENCE { INTEGER value }`.
fn integer_control(oid: &str, critical: bool, value: i64) -> RawControl {
    let value = Tag::Sequence(Sequence {
        id: Types::Sequence as u64,
        class: TagClass::Universal,
        inner: vec![Tag::Integer(Integer {
            id: Types::Integer as u64,
            class: TagClass::Universal,
            inner: value,
        })],
    });
    let mut buf = BytesMut::new();
    // Encoding into a growable buffer cannot fail.
    let _ = write::encode_into(&mut buf, value.into_structure());
    RawControl {
        ctype: oid.into(),
        crit: critical,
        val: Some(buf.to_vec()),
    }
}

/// LDAP_SERVER_POLICY_HINTS with value SEQUENCE { Flags INTEGER 1 }, not critical: a DC
/// that knows it (Windows Server 2016 and later) enforces history on the reset, one that
/// does not (Samba 4.17) ignores it and sets the password — ad-behaviour.md measured both
/// (critical, Samba answers 12 unavailableCriticalExtension and no password is set at all).
/// Which of the two Entra Connect sends is not documented; a reset that still works on an
/// older DC, with history unenforced, is what the article's homelab meets.
fn policy_hints() -> RawControl {
    integer_control(POLICY_HINTS_OID, false, 1)
}

/// LDAP_SERVER_SD_FLAGS_OID (MS-ADTS 3.1.1.3.4.1.11) naming the parts of a descriptor to
/// read or write (OWNER 1, GROUP 2, DACL 4, SACL 8); not critical, as dsacls sends it.
pub fn sd_flags_control(parts: i64) -> RawControl {
    integer_control(SD_FLAGS_OID, false, parts)
}

/// The SD flags control for the DACL only (DACL_SECURITY_INFORMATION).
fn sd_flags_dacl() -> RawControl {
    sd_flags_control(4)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_parent_of_a_dn_skips_escaped_commas() {
        assert_eq!(
            parent_of("CN=Smith\\, John_0123456789ab,OU=Cloud Groups,DC=gntech,DC=me"),
            "OU=Cloud Groups,DC=gntech,DC=me"
        );
        assert_eq!(parent_of("CN=a\\\\,OU=x"), "OU=x");
        assert_eq!(parent_of("DC=me"), "");
    }

    #[test]
    fn the_policy_hints_value_is_sequence_of_integer_one() {
        assert_eq!(
            policy_hints().val.unwrap(),
            vec![0x30, 0x03, 0x02, 0x01, 0x01]
        );
        assert_eq!(unicode_pwd("ab"), b"\"\0a\0b\0\"\0");
    }
}
