//! Exchange's `/PrepareSchema`, as far as writeback needs it, on a real DC: a world whose
//! forest is prepared for Exchange (`directory.exchange_schema`, or a tenant that runs
//! Exchange hybrid) needs `mailNickname` in the DC's schema. A DC that lacks it is
//! extended over LDAP as its Schema Admin — only when the run allows it
//! (`--directory-prepare-schema`), since a schema extension is permanent: schema objects
//! cannot be deleted, so this is the one change a run does not undo. It is idempotent.

use super::{ExternalDc, ExternalError};
use ldap3::{Mod, Scope};
use std::collections::HashSet;

/// An attribute a forest's schema may lack, and what adds it.
struct Addition {
    /// lDAPDisplayName.
    name: &'static str,
    /// Who adds it on a real forest (for messages).
    by: &'static str,
    /// The attributeSchema object's attributes.
    attrs: &'static [(&'static str, &'static [&'static str])],
    /// The class (schema object CN) that may then carry it.
    on: &'static str,
}

/// The attribute Exchange's schema adds that group writeback v1 writes and the wizard
/// looks for: ms-Exch-Mail-Nickname (a single-valued Unicode string of up to 64
/// characters, in the partial attribute set), allowed on every mail recipient.
const MAIL_NICKNAME: Addition = Addition {
    name: "mailNickname",
    by: "Exchange's setup /PrepareSchema",
    attrs: &[
        ("objectClass", &["top", "attributeSchema"]),
        ("cn", &["ms-Exch-Mail-Nickname"]),
        ("attributeID", &["1.2.840.113556.1.2.447"]),
        ("attributeSyntax", &["2.5.5.12"]),
        ("oMSyntax", &["64"]),
        ("isSingleValued", &["TRUE"]),
        ("rangeLower", &["1"]),
        ("rangeUpper", &["64"]),
        ("searchFlags", &["5"]),
        ("isMemberOfPartialAttributeSet", &["TRUE"]),
        ("lDAPDisplayName", &["mailNickname"]),
    ],
    on: "Mail-Recipient",
};

/// The Windows Server 2016 schema's attributes writeback writes (definitions as Microsoft
/// publishes them, `AD_DS_Attributes__Windows_Server_2016.ldf`, which Samba ships): Cloud
/// Sync's and group writeback's anchor on groups, and a written-back device's compliance.
/// A DC whose schema is older (Samba 4.17's is 2012 R2) refuses objects carrying them.
const SCHEMA_2016: &[Addition] = &[
    Addition {
        name: "msDS-ExternalDirectoryObjectId",
        by: "adprep /forestprep of Windows Server 2016",
        attrs: &[
            ("objectClass", &["top", "attributeSchema"]),
            ("cn", &["ms-DS-External-Directory-Object-Id"]),
            ("attributeID", &["1.2.840.113556.1.4.2310"]),
            ("attributeSyntax", &["2.5.5.12"]),
            ("oMSyntax", &["64"]),
            ("isSingleValued", &["TRUE"]),
            ("rangeUpper", &["256"]),
            ("searchFlags", &["9"]),
            ("isMemberOfPartialAttributeSet", &["TRUE"]),
            ("lDAPDisplayName", &["msDS-ExternalDirectoryObjectId"]),
        ],
        on: "Mail-Recipient",
    },
    Addition {
        name: "msDS-IsCompliant",
        by: "adprep /forestprep of Windows Server 2016",
        attrs: &[
            ("objectClass", &["top", "attributeSchema"]),
            ("cn", &["ms-DS-Is-Compliant"]),
            ("attributeID", &["1.2.840.113556.1.4.2314"]),
            ("attributeSyntax", &["2.5.5.8"]),
            ("oMSyntax", &["1"]),
            ("isSingleValued", &["TRUE"]),
            ("searchFlags", &["0"]),
            ("isMemberOfPartialAttributeSet", &["TRUE"]),
            ("lDAPDisplayName", &["msDS-IsCompliant"]),
        ],
        on: "ms-DS-Device",
    },
];

fn set(values: &[&str]) -> HashSet<Vec<u8>> {
    values.iter().map(|v| v.as_bytes().to_vec()).collect()
}

impl ExternalDc {
    /// The DC's schema naming context (RootDSE `schemaNamingContext`, read on connect).
    fn schema_dn(&self) -> Result<String, ExternalError> {
        self.schema.clone().ok_or_else(|| ExternalError::Ldap {
            what: "reading the RootDSE".into(),
            why: "it names no schemaNamingContext".into(),
        })
    }

    /// Does the DC's schema define the attribute `name` (its lDAPDisplayName)?
    pub async fn schema_has(&mut self, name: &str) -> Result<bool, ExternalError> {
        let base = self.schema_dn()?;
        let filter = format!("(&(objectClass=attributeSchema)(lDAPDisplayName={name}))");
        let (entries, _) = self
            .ldap
            .search(&base, Scope::OneLevel, &filter, vec!["cn"])
            .await
            .and_then(|r| r.success())
            .map_err(super::ldap_error(format!("searching {base} for {name}")))?;
        Ok(!entries.is_empty())
    }

    /// Make sure the DC's schema is prepared for Exchange as far as writeback needs:
    /// nothing to do when it has `mailNickname`; otherwise extend it when `allowed`, or
    /// say what the admin has to do. Returns what was added.
    pub async fn prepare_exchange_schema(
        &mut self,
        allowed: bool,
    ) -> Result<Vec<String>, ExternalError> {
        self.ensure(
            &[MAIL_NICKNAME],
            allowed,
            "the world's forest is prepared for Exchange (an Exchange hybrid organisation)",
        )
        .await
    }

    /// Make sure the DC's schema has the Windows Server 2016 attributes writeback writes,
    /// as the embedded AD's 2016 schema does; only when `allowed` (otherwise a DC with an
    /// older schema refuses what carries them, and the run shows it).
    pub async fn prepare_2016_schema(
        &mut self,
        allowed: bool,
    ) -> Result<Vec<String>, ExternalError> {
        if !allowed {
            return Ok(Vec::new());
        }
        self.ensure(SCHEMA_2016, true, "").await
    }

    /// Add each of `additions` the schema lacks, when `allowed`; `why` says why it is
    /// needed, in the message when it is not allowed.
    async fn ensure(
        &mut self,
        additions: &[Addition],
        allowed: bool,
        why: &str,
    ) -> Result<Vec<String>, ExternalError> {
        let mut added = Vec::new();
        for a in additions {
            if self.schema_has(a.name).await? {
                continue;
            }
            let url = self.target.url.clone();
            if !allowed {
                return Err(ExternalError::Refused(format!(
                    "{why}, but the schema of the DC at {url} has no {}: run {} there, or pass --directory-prepare-schema to let writeback-sim add the attribute (a permanent schema extension)",
                    a.name, a.by
                )));
            }
            let base = self.schema_dn()?;
            added.push(self.extend(a, &base).await?);
        }
        if !added.is_empty() {
            // Load the new schema now rather than at the DC's next schema cache refresh.
            let now: Vec<Mod<Vec<u8>>> = vec![Mod::Add(b"schemaUpdateNow".to_vec(), set(&["1"]))];
            self.ldap
                .modify("", now)
                .await
                .and_then(|r| r.success())
                .map_err(super::ldap_error("schemaUpdateNow"))?;
        }
        Ok(added)
    }

    /// Add one attribute to the schema under `base` and allow it on its class.
    async fn extend(&mut self, a: &Addition, base: &str) -> Result<String, ExternalError> {
        let cn = a
            .attrs
            .iter()
            .find(|(k, _)| *k == "cn")
            .and_then(|(_, v)| v.first())
            .copied()
            .unwrap_or(a.name);
        let dn = format!("CN={cn},{base}");
        let attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = a
            .attrs
            .iter()
            .map(|(k, v)| (k.as_bytes().to_vec(), set(v)))
            .collect();
        let why = |e: ldap3::LdapError| {
            let hint = if e.to_string().contains("updates are not allowed") {
                " (Samba allows schema updates only with `dsdb:schema update allowed = true` in smb.conf)"
            } else {
                ""
            };
            format!("{e}{hint}")
        };
        self.ldap
            .add(&dn, attrs)
            .await
            .and_then(|r| r.success())
            .map_err(|e| ExternalError::Ldap {
                what: format!("adding {dn} to the schema"),
                why: why(e),
            })?;
        let class = format!("CN={},{base}", a.on);
        let may: Vec<Mod<Vec<u8>>> = vec![Mod::Add(b"mayContain".to_vec(), set(&[a.name]))];
        self.ldap
            .modify(&class, may)
            .await
            .and_then(|r| r.success())
            .map_err(|e| ExternalError::Ldap {
                what: format!("allowing {} on {class}", a.name),
                why: why(e),
            })?;
        Ok(format!(
            "{} added to the schema (as {} would), allowed on {}",
            a.name, a.by, a.on
        ))
    }
}
