//! What a scenario leaves behind, as one YAML document (the snapshot): the steps with what
//! the person and the admin saw, the AD entries that changed, the run history and the
//! event log. Everything in it comes from the virtual clock and the seed, so the same file
//! gives the same bytes on every run; binary values are shown as GUID/SID text.

use crate::directory::ids::{guid_text, sid_text};
use crate::directory::schema::{self, Syntax};
use crate::directory::store::Entry;
use crate::engine::history::{Event, RunRecord};
use serde::Serialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: usize,
    /// The action and its subject, e.g. `sspr_reset alice@gntech.me`.
    pub action: String,
    /// `ok`, `rejected`, `failed` (actions) or `passed` / `failed` (checks).
    pub outcome: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AdEntry {
    pub dn: String,
    /// `added`, `changed` or `deleted`.
    pub change: String,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub attributes: BTreeMap<String, AttrShown>,
    /// For a changed entry, the attributes that differ as they were before the first step
    /// (`(none)` when the attribute was not there): AD before, `attributes` after.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub before: BTreeMap<String, AttrShown>,
}

/// What `before` shows for an attribute the entry did not have.
pub const ABSENT: &str = "(none)";

impl AttrShown {
    fn same(&self, other: &AttrShown) -> bool {
        match (self, other) {
            (AttrShown::One(a), AttrShown::One(b)) => a == b,
            (AttrShown::Many(a), AttrShown::Many(b)) => a == b,
            _ => false,
        }
    }
}

/// The attributes of `before` whose shown value is not the one `after` shows.
pub fn changed_from(
    before: &BTreeMap<String, AttrShown>,
    after: &BTreeMap<String, AttrShown>,
) -> BTreeMap<String, AttrShown> {
    let mut out = BTreeMap::new();
    for (k, old) in before {
        if !after.get(k).is_some_and(|new| new.same(old)) {
            out.insert(k.clone(), old.clone());
        }
    }
    for k in after.keys() {
        if !before.contains_key(k) {
            out.insert(k.clone(), AttrShown::One(ABSENT.to_string()));
        }
    }
    out
}

#[derive(Debug, Clone, Serialize)]
#[serde(untagged)]
pub enum AttrShown {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    pub seed: u64,
    pub steps: Vec<StepReport>,
    pub ad: Vec<AdEntry>,
    pub runs: Vec<RunRecord>,
    pub events: Vec<Event>,
    /// `Get-ADSyncAADCompanyFeature` at the end.
    pub features: BTreeMap<String, String>,
}

/// Attributes that move on every write and would only repeat what `change` says.
const NOISE: &[&str] = &[
    "uSNChanged",
    "uSNCreated",
    "whenChanged",
    "whenCreated",
    "instanceType",
    "objectCategory",
];

/// One attribute value as text a person can read.
pub fn show_value(attr: &str, v: &[u8]) -> String {
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

/// The readable attributes of an entry. The values of an attribute are a set (LDAP
/// clients such as ldap3 send them unordered), so they are shown sorted; objectClass
/// keeps the directory's order (top first).
pub fn show_entry(e: &Entry) -> BTreeMap<String, AttrShown> {
    e.attrs
        .values()
        .filter(|a| !NOISE.contains(&a.name))
        .map(|a| {
            let mut vals: Vec<String> = a.values.iter().map(|v| show_value(a.name, v)).collect();
            if !a.name.eq_ignore_ascii_case("objectClass") {
                vals.sort();
            }
            let shown = if vals.len() == 1 {
                AttrShown::One(vals.into_iter().next().unwrap_or_default())
            } else {
                AttrShown::Many(vals)
            };
            (a.name.to_string(), shown)
        })
        .collect()
}
