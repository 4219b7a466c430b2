//! A domain controller of someone else's (Samba AD DC, Windows Server) as a world's
//! directory: reached over LDAPS as an administrator the user names, changed only through
//! LDAP, and left as it was found.
//!
//! [`ExternalDc::connect`] takes a census of the domain partition first: every entry's
//! attributes (and the DACL of its nTSecurityDescriptor) and the DC's highestCommittedUSN.
//! Whatever a scenario then does — fixtures imported, accounts created, rights granted,
//! the password policy changed, objects the engine writes back — [`ExternalDc::restore`]
//! undoes from that census: entries created since are deleted (children first), entries
//! changed since get the values they had back. Entries that existed before and were deleted
//! cannot come back (a tombstone is not the object); restore says which.
//!
//! This file: connecting, the census, restoring. [`changes`]: what an administrator does
//! there (entries, LDIF, the password policy, rights as ACEs).

mod changes;
mod schema;
mod setup;

pub(crate) use setup::{open, Access, External};

use crate::directory::modify::ModOp;
use crate::engine::ad::sd_flags_control;
use crate::nt_security::SecurityDescriptor;
use ldap3::controls::RawControl;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, Mod, Scope, SearchEntry};
use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

/// LDAP_SERVER_SHOW_DELETED is not used: tombstones are not restored.
/// Attributes the DC keeps itself; a restore never writes them back.
const KEPT_BY_THE_DC: &[&str] = &[
    "objectguid",
    "objectsid",
    "whencreated",
    "whenchanged",
    "usncreated",
    "usnchanged",
    "dscorepropagationdata",
    "distinguishedname",
    "name",
    "instancetype",
    "objectcategory",
    "replpropertymetadata",
    "pwdlastset",
    "badpwdcount",
    "badpasswordtime",
    "lastlogon",
    "lastlogontimestamp",
    "logoncount",
    "lastlogoff",
    "lockouttime",
    "useraccountcontrol",
    "msds-keyversionnumber",
    "msds-supportedencryptiontypes",
    "ntpwdhistory",
    "lmpwdhistory",
    "supplementalcredentials",
    "unicodepwd",
    "dbcspwd",
    "memberof",
    "creationtime",
    "modifiedcount",
    "modifiedcountatlastprom",
    "serverstate",
    "ridmanagerreference",
    "fsmoroleowner",
    "objectclass",
    "iscriticalsystemobject",
    "systemflags",
    "showinadvancedviewonly",
    "subrefs",
    "wellknownobjects",
    "otherwellknownobjects",
    "masteredby",
    "msds-masteredby",
    "msds-hasmasterncs",
    "hasmasterncs",
    "msds-nctype",
    "ntsecuritydescriptor",
    "ridnextrid",
    "ridallocationpool",
    "ridpreviousallocationpool",
    "ridavailablepool",
    "ridusedpool",
];

/// Where the DC is and who to be there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirectoryTarget {
    /// `ldaps://HOST:PORT`.
    pub url: String,
    pub admin_dn: String,
    pub admin_password: String,
    /// A CA certificate (PEM) to verify the DC's certificate with; the platform's roots
    /// otherwise.
    pub ca_pem: Option<String>,
    /// Do not verify the DC's certificate at all (`--directory-insecure`).
    pub insecure: bool,
    /// Extend the DC's schema where a world needs it (`--directory-prepare-schema`): the
    /// one change a run does not undo.
    pub prepare_schema: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ExternalError {
    #[error("cannot reach the directory at {url}: {why}")]
    Connect { url: String, why: String },
    #[error("the directory at {url} refused the administrator {dn}: {why}")]
    Bind {
        url: String,
        dn: String,
        why: String,
    },
    #[error("the directory at {url} has no defaultNamingContext in its RootDSE")]
    NoDomain { url: String },
    #[error("{what}: {why}")]
    Ldap { what: String, why: String },
    #[error("{0}")]
    Ldif(#[from] crate::directory::ldif::LdifError),
    /// The DC is not fit for the world and the run may not change that.
    #[error("{0}")]
    Refused(String),
}

/// What AD answered to a change it refused (code and diagnostic).
pub use super::ad::AdRefusal;

/// One entry as the census saw it: its attributes by lower-case name (values as bytes)
/// and the DACL of its descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Vec<u8>>>,
    pub dacl: Option<Vec<u8>>,
}

impl Seen {
    /// The attributes a restore puts back, each with its values sorted: what must be the
    /// same for an entry to be as it was found (with the DACL).
    pub fn comparable(&self) -> BTreeMap<&str, Vec<&[u8]>> {
        self.attrs
            .iter()
            .filter(|(k, _)| !KEPT_BY_THE_DC.contains(&k.as_str()))
            .map(|(k, vs)| {
                let mut vs: Vec<&[u8]> = vs.iter().map(Vec::as_slice).collect();
                vs.sort();
                (k.as_str(), vs)
            })
            .collect()
    }
}

/// What a restore did, and what it could not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Restored {
    pub deleted: Vec<String>,
    pub reverted: Vec<String>,
    /// Entries that existed before and are gone (a tombstone cannot be brought back).
    pub lost: Vec<String>,
    /// Changes the DC refused to undo, with its answer.
    pub failed: Vec<String>,
}

impl Restored {
    pub fn is_clean(&self) -> bool {
        self.lost.is_empty() && self.failed.is_empty()
    }

    /// What could not be undone, as one line; `None` when the DC is as it was found.
    pub fn problem(&self) -> Option<String> {
        (!self.is_clean()).then(|| {
            self.lost
                .iter()
                .map(|dn| format!("{dn} was deleted and cannot come back"))
                .chain(self.failed.iter().cloned())
                .collect::<Vec<_>>()
                .join("; ")
        })
    }
}

/// An administrator's LDAP session to a DC, with the census to restore it from.
pub struct ExternalDc {
    target: DirectoryTarget,
    ldap: Ldap,
    domain: String,
    /// The RootDSE's schemaNamingContext.
    schema: Option<String>,
    /// The RootDSE's vendorName (Samba names itself; a Windows DC has none).
    vendor: Option<String>,
    census: BTreeMap<String, Seen>,
    start_usn: i64,
}

fn ldap_error(what: impl Into<String>) -> impl FnOnce(ldap3::LdapError) -> ExternalError {
    let what = what.into();
    move |e| ExternalError::Ldap {
        what,
        why: e.to_string(),
    }
}

/// An LDAP modification of an attribute.
fn ldap_mod(op: ModOp, attr: String, values: HashSet<Vec<u8>>) -> Mod<Vec<u8>> {
    let attr = attr.into_bytes();
    match op {
        ModOp::Add => Mod::Add(attr, values),
        ModOp::Delete => Mod::Delete(attr, values),
        ModOp::Replace => Mod::Replace(attr, values),
    }
}

fn refusal(e: ldap3::LdapError) -> AdRefusal {
    match e {
        ldap3::LdapError::LdapResult { result } => AdRefusal {
            code: i64::from(result.rc),
            message: result.text,
        },
        other => AdRefusal {
            code: 52,
            message: other.to_string(),
        },
    }
}

fn checked(r: Result<ldap3::LdapResult, ldap3::LdapError>) -> Result<(), AdRefusal> {
    r.and_then(|r| r.success().map(|_| ())).map_err(refusal)
}

/// The SD flags control asking for owner, group and DACL (to read).
fn sd_flags() -> RawControl {
    sd_flags_control(7)
}

/// The SD flags control naming the DACL alone (to write it and leave the rest).
fn sd_flags_dacl() -> RawControl {
    sd_flags_control(4)
}

/// The control bits that are about the DACL (present, defaulted, auto-inherit requested,
/// auto-inherited, protected); the owner's and group's are not a DACL's business.
const DACL_CONTROL: u16 = 0x0004 | 0x0008 | 0x0100 | 0x0400 | 0x1000;

/// The normalised form of a DN, to compare two spellings.
fn key(dn: &str) -> String {
    super::ad::dn_key(dn).unwrap_or_else(|| dn.to_ascii_lowercase())
}

/// How many RDNs a DN has (children have more than their parents).
fn depth(dn: &str) -> usize {
    let mut n = 1;
    let mut escaped = false;
    for c in dn.chars() {
        match c {
            '\\' if !escaped => escaped = true,
            ',' if !escaped => n += 1,
            _ => escaped = false,
        }
    }
    n
}

/// The explicit part of a descriptor's DACL (with its control flags), to compare and to
/// write back: inherited ACEs are the DC's to compute from the parents.
fn dacl_of(sd: &[u8]) -> Option<Vec<u8>> {
    let sd = SecurityDescriptor::decode(sd).ok()?;
    let dacl = sd.dacl.map(|mut acl| {
        acl.aces.retain(|a| !a.is_inherited());
        acl
    });
    let explicit = SecurityDescriptor {
        control: sd.control & DACL_CONTROL,
        owner: None,
        group: None,
        sacl: None,
        dacl,
    };
    Some(explicit.encode())
}

impl ExternalDc {
    /// Bind as the administrator and take the census of the domain partition.
    pub async fn connect(target: &DirectoryTarget) -> Result<Self, ExternalError> {
        let mut settings = LdapConnSettings::new().set_conn_timeout(Duration::from_secs(10));
        if target.insecure {
            settings = crate::tls::ldap_unverified(settings);
        } else {
            let config = crate::tls::client_config(target.ca_pem.as_deref()).map_err(|e| {
                ExternalError::Connect {
                    url: target.url.clone(),
                    why: e.to_string(),
                }
            })?;
            settings = settings.set_config(Arc::new(config));
        }
        let unreachable = |why: String| ExternalError::Connect {
            url: target.url.clone(),
            why,
        };
        let settings = crate::net::ldap_nodelay(settings, &target.url)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        let (conn, mut ldap) = LdapConnAsync::with_settings(settings, &target.url)
            .await
            .map_err(|e| unreachable(e.to_string()))?;
        ldap3::drive!(conn);
        ldap.simple_bind(&target.admin_dn, &target.admin_password)
            .await
            .and_then(|r| r.success())
            .map_err(|e| ExternalError::Bind {
                url: target.url.clone(),
                dn: target.admin_dn.clone(),
                why: e.to_string(),
            })?;
        let (rootdse, _) = ldap
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                vec![
                    "defaultNamingContext",
                    "schemaNamingContext",
                    "highestCommittedUSN",
                    "vendorName",
                ],
            )
            .await
            .and_then(|r| r.success())
            .map_err(ldap_error("reading the RootDSE"))?;
        let root = rootdse
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .ok_or_else(|| ExternalError::NoDomain {
                url: target.url.clone(),
            })?;
        let domain = root
            .attrs
            .get("defaultNamingContext")
            .and_then(|v| v.first())
            .cloned()
            .ok_or_else(|| ExternalError::NoDomain {
                url: target.url.clone(),
            })?;
        let start_usn = root
            .attrs
            .get("highestCommittedUSN")
            .and_then(|v| v.first())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0);
        let vendor = root
            .attrs
            .get("vendorName")
            .and_then(|v| v.first())
            .cloned();
        let schema = root
            .attrs
            .get("schemaNamingContext")
            .and_then(|v| v.first())
            .cloned();
        let mut dc = Self {
            target: target.clone(),
            ldap,
            domain,
            schema,
            vendor,
            census: BTreeMap::new(),
            start_usn,
        };
        dc.census = dc
            .dump()
            .await?
            .into_iter()
            .map(|s| (key(&s.dn), s))
            .collect();
        Ok(dc)
    }

    /// The domain's DN (`DC=gntech,DC=me`).
    pub fn domain(&self) -> &str {
        &self.domain
    }

    pub fn target(&self) -> &DirectoryTarget {
        &self.target
    }

    /// What kind of DC it is, as the differences file names them: `samba` when the RootDSE
    /// says so, `windows` otherwise.
    pub fn kind(&self) -> &'static str {
        match &self.vendor {
            Some(v) if v.to_ascii_lowercase().contains("samba") => "samba",
            _ => "windows",
        }
    }

    /// Every entry of the domain partition now, with its DACL.
    pub async fn dump(&mut self) -> Result<Vec<Seen>, ExternalError> {
        let domain = self.domain.clone();
        self.read(&domain, Scope::Subtree, "(objectClass=*)", usize::MAX)
            .await
            .map_err(|r| ExternalError::Ldap {
                what: format!("reading {domain}"),
                why: r.to_string(),
            })
    }

    /// The entries under `base` (`scope`) that match the RFC 4515 `filter`, at most `limit`,
    /// with every attribute and the DACL.
    pub async fn read(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<Seen>, AdRefusal> {
        let (entries, _) = self
            .ldap
            .with_controls(vec![sd_flags()])
            .search(base, scope, filter, vec!["*", "nTSecurityDescriptor"])
            .await
            .and_then(|r| r.success())
            .map_err(refusal)?;
        Ok(entries
            .into_iter()
            .take(limit)
            .map(SearchEntry::construct)
            .map(|e| {
                let mut attrs: BTreeMap<String, Vec<Vec<u8>>> = BTreeMap::new();
                for (k, vs) in e.attrs {
                    attrs
                        .entry(k.to_ascii_lowercase())
                        .or_default()
                        .extend(vs.into_iter().map(String::into_bytes));
                }
                for (k, vs) in e.bin_attrs {
                    attrs.entry(k.to_ascii_lowercase()).or_default().extend(vs);
                }
                let dacl = attrs
                    .get("ntsecuritydescriptor")
                    .and_then(|v| v.first())
                    .and_then(|sd| dacl_of(sd));
                Seen {
                    dn: e.dn,
                    attrs,
                    dacl,
                }
            })
            .collect())
    }

    /// The entry `dn`, if it exists.
    pub async fn entry(&mut self, dn: &str) -> Option<Seen> {
        self.read(dn, Scope::Base, "(objectClass=*)", 1)
            .await
            .ok()
            .and_then(|mut v| v.pop())
    }

    /// How many entries under `base` (subtree) match `filter`.
    pub async fn count(&mut self, base: &str, filter: &str) -> Result<usize, AdRefusal> {
        let (entries, _) = self
            .ldap
            .search(base, Scope::Subtree, filter, vec!["1.1"])
            .await
            .and_then(|r| r.success())
            .map_err(refusal)?;
        Ok(entries.len())
    }

    /// The DC's highestCommittedUSN now.
    pub async fn highest_usn(&mut self) -> i64 {
        let found = self
            .ldap
            .search(
                "",
                Scope::Base,
                "(objectClass=*)",
                vec!["highestCommittedUSN"],
            )
            .await
            .and_then(|r| r.success());
        found
            .ok()
            .and_then(|(v, _)| v.into_iter().next())
            .map(SearchEntry::construct)
            .and_then(|e| {
                e.attrs
                    .get("highestCommittedUSN")
                    .and_then(|v| v.first())
                    .cloned()
            })
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    }

    /// Undo everything since the census: delete what was created (children first), give
    /// changed entries their values and DACL back.
    pub async fn restore(&mut self) -> Result<Restored, ExternalError> {
        let now = self.dump().await?;
        let mut done = Restored::default();
        let now_keys: HashSet<String> = now.iter().map(|s| key(&s.dn)).collect();
        let mut created: Vec<&Seen> = now
            .iter()
            .filter(|s| !self.census.contains_key(&key(&s.dn)))
            .collect();
        created.sort_by_key(|s| std::cmp::Reverse(depth(&s.dn)));
        for s in created {
            match checked(self.ldap.delete(&s.dn).await) {
                Ok(()) => done.deleted.push(s.dn.clone()),
                Err(r) => done.failed.push(format!("delete {}: {r}", s.dn)),
            }
        }
        for (k, before) in &self.census {
            if !now_keys.contains(k) {
                done.lost.push(before.dn.clone());
            }
        }
        let census = self.census.clone();
        for after in &now {
            let Some(before) = census.get(&key(&after.dn)) else {
                continue;
            };
            let (b, a) = (before.comparable(), after.comparable());
            let mods: Vec<Mod<Vec<u8>>> = b
                .keys()
                .chain(a.keys())
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .filter(|name| b.get(*name) != a.get(*name))
                .map(|name| {
                    let values = before.attrs.get(*name).cloned().unwrap_or_default();
                    Mod::Replace(name.as_bytes().to_vec(), values.into_iter().collect())
                })
                .collect();
            let mut reverted = false;
            if !mods.is_empty() {
                match checked(self.ldap.modify(&after.dn, mods).await) {
                    Ok(()) => reverted = true,
                    Err(r) => done.failed.push(format!("revert {}: {r}", after.dn)),
                }
            }
            if before.dacl != after.dacl {
                if let Some(dacl) = &before.dacl {
                    let r = self
                        .ldap
                        .with_controls(vec![sd_flags_dacl()])
                        .modify(
                            &after.dn,
                            vec![Mod::Replace(
                                b"nTSecurityDescriptor".to_vec(),
                                HashSet::from([dacl.clone()]),
                            )],
                        )
                        .await;
                    match checked(r) {
                        Ok(()) => reverted = true,
                        Err(r) => done
                            .failed
                            .push(format!("revert the DACL of {}: {r}", after.dn)),
                    }
                }
            }
            if reverted {
                done.reverted.push(after.dn.clone());
            }
        }
        Ok(done)
    }

    /// The highestCommittedUSN when the census was taken.
    pub fn start_usn(&self) -> i64 {
        self.start_usn
    }

    /// End the session.
    pub async fn close(mut self) {
        let _ = self.ldap.unbind().await;
    }
}
