//! The directory's whole state as data, for a lab to keep between runs: every entry with its
//! attributes (text where the schema says text, base64 otherwise), its password hash and
//! history, the grants, the counters and the domain's facts. Restoring puts each entry back
//! with its id, parents first, and rebuilds the indexes; nothing is provisioned again.

use super::access::Grant;
use super::dn::Dn;
use super::ids::{parse_guid, parse_sid, sid_text};
use super::schema::{self, Syntax};
use super::store::{Attrs, Entry, Secret, Store};
use super::{Directory, DirectoryConfig, DomainInfo, Inner, State};
use crate::clock::Clock;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::SeedableRng;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DirectorySnapshot {
    pub forest: String,
    pub netbios: String,
    pub sid_prefix: Vec<u32>,
    pub dc_host: String,
    pub next_rid: u32,
    pub usn: i64,
    pub connector: Option<String>,
    pub connector_password: Option<String>,
    pub entries: Vec<EntrySnapshot>,
    pub grants: Vec<GrantSnapshot>,
    /// DNs whose DACL is protected (inheritance blocked).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protected: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct EntrySnapshot {
    pub id: u64,
    pub dn: String,
    pub attrs: BTreeMap<String, Vec<Value>>,
    /// The password's hash (hex), never the password.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<String>,
}

/// One value: text (a JSON string), or bytes in base64 (`{"base64": "…"}`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum Value {
    Text(String),
    Bytes { base64: String },
}

/// Read by the JSON's own shape (a string or an object) rather than by trying each
/// variant: a state of 100,000 users has millions of values.
impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Shape;
        impl<'de> serde::de::Visitor<'de> for Shape {
            type Value = Value;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a string or {\"base64\": \"…\"}")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Value, E> {
                Ok(Value::Text(v.to_string()))
            }
            fn visit_string<E: serde::de::Error>(self, v: String) -> Result<Value, E> {
                Ok(Value::Text(v))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> Result<Value, A::Error> {
                let mut base64 = None;
                while let Some(key) = m.next_key::<String>()? {
                    if key == "base64" {
                        base64 = Some(m.next_value::<String>()?);
                    } else {
                        return Err(serde::de::Error::unknown_field(&key, &["base64"]));
                    }
                }
                base64
                    .map(|base64| Value::Bytes { base64 })
                    .ok_or_else(|| serde::de::Error::missing_field("base64"))
            }
        }
        d.deserialize_any(Shape)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GrantSnapshot {
    /// The trustee's SID (`S-1-5-…`); saves from before deny ACEs hold its objectGUID.
    pub trustee: String,
    pub right: String,
    pub scope: String,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deny: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("the directory's saved state: {0}")]
pub struct SnapshotError(String);

fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(s: &str) -> Option<[u8; 32]> {
    let bytes: Vec<u8> = (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|x| u8::from_str_radix(x, 16).ok()))
        .collect::<Option<_>>()?;
    bytes.try_into().ok()
}

fn value(name: &str, v: &[u8]) -> Value {
    let binary = matches!(
        schema::attr(name).map(|d| d.syntax),
        Some(Syntax::Guid | Syntax::Sid | Syntax::Bytes)
    );
    match std::str::from_utf8(v) {
        Ok(s) if !binary => Value::Text(s.to_string()),
        _ => Value::Bytes {
            base64: B64.encode(v),
        },
    }
}

impl Directory {
    /// Everything, as data.
    pub fn snapshot(&self) -> DirectorySnapshot {
        let st = self.read();
        let entries = st
            .store
            .all()
            .into_iter()
            .filter_map(|id| st.store.get(id))
            .map(|e| EntrySnapshot {
                id: e.id,
                dn: e.dn.to_string(),
                attrs: e
                    .attrs
                    .iter()
                    .map(|(name, values)| {
                        (
                            name.to_string(),
                            values.iter().map(|v| value(name, v)).collect(),
                        )
                    })
                    .collect(),
                password: (e.secret.as_ref()).and_then(|s| s.hash.as_ref()).map(hex),
                history: (e.secret.iter())
                    .flat_map(|s| &s.history)
                    .map(hex)
                    .collect(),
            })
            .collect();
        DirectorySnapshot {
            forest: st.domain.dns_name.clone(),
            netbios: st.domain.netbios.clone(),
            sid_prefix: st.domain.sid_prefix.clone(),
            dc_host: st.domain.dc_host.clone(),
            next_rid: st.next_rid,
            usn: st.store.usn,
            connector: st.connector.clone(),
            connector_password: st.connector_password.clone(),
            entries,
            grants: st
                .grants
                .iter()
                .map(|g| GrantSnapshot {
                    trustee: sid_text(&g.trustee).unwrap_or_default(),
                    right: g.right.to_string(),
                    scope: g.scope.clone(),
                    deny: g.deny,
                })
                .collect(),
            protected: st.protected.iter().cloned().collect(),
        }
    }

    /// A directory as `snap` left it, served with `config` (its forest is the snapshot's).
    pub fn restore(
        config: DirectoryConfig,
        clock: Arc<dyn Clock>,
        snap: DirectorySnapshot,
    ) -> Result<Self, SnapshotError> {
        let err = |m: String| SnapshotError(m);
        let mut domain = DomainInfo::new(&snap.forest);
        domain.netbios = snap.netbios;
        domain.sid_prefix = snap.sid_prefix;
        domain.dc_host = snap.dc_host;
        let mut entries = Vec::with_capacity(snap.entries.len());
        for e in snap.entries {
            let dn = Dn::parse(&e.dn).map_err(|why| err(format!("entry `{}`: {why}", e.dn)))?;
            let mut entry = Entry::new(dn);
            entry.id = e.id;
            let mut attrs = Vec::with_capacity(e.attrs.len());
            for (name, values) in e.attrs {
                if schema::attr(&name).is_none() {
                    return Err(err(format!("entry `{}`: unknown attribute {name}", e.dn)));
                }
                let values = values
                    .into_iter()
                    .map(|v| match v {
                        Value::Text(t) => Ok(t.into_bytes()),
                        Value::Bytes { base64 } => B64
                            .decode(base64)
                            .map_err(|why| err(format!("entry `{}`, {name}: {why}", e.dn))),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                attrs.push((name, values));
            }
            entry.attrs = Attrs::from_pairs(attrs);
            let hash = |h: &str| {
                unhex(h).ok_or_else(|| {
                    err(format!(
                        "entry `{}`: a password hash is not 32 bytes of hex",
                        e.dn
                    ))
                })
            };
            let secret = Secret {
                hash: e.password.as_deref().map(hash).transpose()?,
                history: e
                    .history
                    .iter()
                    .map(|h| hash(h))
                    .collect::<Result<_, _>>()?,
            };
            // As a password set leaves it: none on an entry that never had one.
            entry.secret = (secret != Secret::default()).then(|| Box::new(secret));
            entries.push(entry);
        }
        // Parents before children: by depth, then by the order they were created in.
        entries.sort_by_key(|e| (e.dn.rdns.len(), e.id));
        let mut store = Store::default();
        for e in entries {
            store.restore(e);
        }
        store.usn = snap.usn;
        let grants = snap
            .grants
            .into_iter()
            .map(|g| {
                let by_guid = || {
                    parse_guid(&g.trustee)
                        .and_then(|guid| store.by_guid(&guid))
                        .and_then(|e| e.values("objectSid").first().map(<[u8]>::to_vec))
                };
                Ok(Grant {
                    trustee: parse_sid(&g.trustee).or_else(by_guid).ok_or_else(|| {
                        err(format!(
                            "grant to `{}`: not a SID, nor the GUID of an account",
                            g.trustee
                        ))
                    })?,
                    right: g.right.parse().map_err(|e| err(format!("grant: {e}")))?,
                    scope: g.scope,
                    deny: g.deny,
                })
            })
            .collect::<Result<Vec<_>, SnapshotError>>()?;
        let state = State {
            store,
            grants,
            protected: snap.protected.into_iter().collect(),
            domain,
            rng: StdRng::seed_from_u64(config.seed ^ snap.usn as u64),
            next_rid: snap.next_rid,
            connector: snap.connector,
            connector_password: snap.connector_password,
            exchange_schema: config.exchange_schema,
        };
        Ok(Self {
            inner: Arc::new(Inner::new(config, clock, state)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;

    #[test]
    fn a_restored_directory_has_every_entry_password_and_grant_it_had() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::scenario_start());
        let dir = Directory::new(DirectoryConfig::default(), clock.clone()).unwrap();
        let snap = dir.snapshot();
        let json = serde_json::to_string(&snap).unwrap();
        let back: DirectorySnapshot = serde_json::from_str(&json).unwrap();
        let again = Directory::restore(DirectoryConfig::default(), clock, back).unwrap();
        assert_eq!(again.len(), dir.len());
        assert_eq!(again.read().grants, dir.read().grants);
        assert_eq!(again.read().store.usn, dir.read().store.usn);
        let connector = dir.connector_dn().unwrap();
        let (a, b) = (
            dir.entry(&connector).unwrap(),
            again.entry(&connector).unwrap(),
        );
        assert_eq!(a.attrs, b.attrs);
        assert_eq!(a.secret, b.secret);
        assert_eq!(a.id, b.id);
        assert_eq!(again.connector_password(), dir.connector_password());
    }

    #[test]
    fn a_damaged_snapshot_says_what_is_wrong() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::scenario_start());
        let mut snap = Directory::new(DirectoryConfig::default(), clock.clone())
            .unwrap()
            .snapshot();
        snap.entries[3]
            .attrs
            .insert("noSuchAttribute".into(), vec![]);
        let e = Directory::restore(DirectoryConfig::default(), clock, snap)
            .err()
            .unwrap();
        assert!(
            e.to_string().contains("unknown attribute noSuchAttribute"),
            "{e}"
        );
    }
}
