//! What a scenario leaves behind, as one YAML document (the snapshot): the steps with what
//! the person and the admin saw, the AD entries that changed, the run history, the event
//! log and the feature list. Everything in it comes from the virtual clock and the seed, so
//! the same file gives the same bytes on every run; binary values are shown as GUID/SID
//! text.
//!
//! The report is this module's own projection of what the world reports: field names and
//! wording here are the snapshot format, so renaming something in the engine cannot
//! silently rewrite every snapshot.

use crate::world::{
    AdObject, AdState, CompanyFeatures, Event, ExportError, ProvisioningLog, RunRecord, Skipped,
};
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::{BTreeMap, HashMap, HashSet};

/// How a step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// An action that was done.
    Ok,
    /// An action refused in a way the person can correct (policy, wrong password).
    Rejected,
    /// An action that could not be done, or a check that did not hold.
    Failed,
    /// A check that held.
    Passed,
}

impl Outcome {
    /// Its name as the report writes it.
    pub fn word(self) -> &'static str {
        match self {
            Self::Ok => "ok",
            Self::Rejected => "rejected",
            Self::Failed => "failed",
            Self::Passed => "passed",
        }
    }
}

/// A check that did not hold: what was checked, what the scenario expected, what the
/// world showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub what: String,
    pub expected: String,
    pub found: String,
}

impl Mismatch {
    pub fn new(
        what: impl Into<String>,
        expected: impl Into<String>,
        found: impl Into<String>,
    ) -> Self {
        Self {
            what: what.into(),
            expected: expected.into(),
            found: found.into(),
        }
    }
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.what, self.expected, self.found
        )
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct StepReport {
    pub step: usize,
    /// The action and its subject, e.g. `sspr_reset alice@gntech.me`.
    pub action: String,
    pub outcome: Outcome,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
    /// A check's mismatches, as values (the `error` text is made of them).
    #[serde(skip)]
    pub mismatches: Vec<Mismatch>,
}

impl StepReport {
    /// An action's result: `ok` with what it did, or `failed` with why.
    pub fn done<E: std::fmt::Display>(
        step: usize,
        action: String,
        result: Result<Vec<String>, E>,
    ) -> Self {
        match result {
            Ok(detail) => Self {
                step,
                action,
                outcome: Outcome::Ok,
                error: None,
                detail,
                mismatches: vec![],
            },
            Err(e) => Self {
                step,
                action,
                outcome: Outcome::Failed,
                error: Some(e.to_string()),
                detail: vec![],
                mismatches: vec![],
            },
        }
    }

    /// A check's result: `passed`, or `failed` with its mismatches.
    pub fn check(step: usize, action: String, mismatches: Vec<Mismatch>) -> Self {
        Self {
            step,
            action,
            outcome: if mismatches.is_empty() {
                Outcome::Passed
            } else {
                Outcome::Failed
            },
            error: (!mismatches.is_empty()).then(|| {
                mismatches
                    .iter()
                    .map(ToString::to_string)
                    .collect::<Vec<_>>()
                    .join("; ")
            }),
            detail: vec![],
            mismatches,
        }
    }
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum AttrShown {
    One(String),
    Many(Vec<String>),
}

/// The attributes of `before` whose shown value is not the one `after` shows.
pub fn changed_from(
    before: &BTreeMap<String, AttrShown>,
    after: &BTreeMap<String, AttrShown>,
) -> BTreeMap<String, AttrShown> {
    let mut out = BTreeMap::new();
    for (k, old) in before {
        if after.get(k) != Some(old) {
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

/// A row of the Operations tab as the snapshot shows it.
#[derive(Debug, Clone, Serialize)]
pub struct RunShown {
    pub profile: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub connector: Option<String>,
    pub status: String,
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub user: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub adds: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updates: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deletes: Option<u32>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub export_errors: Vec<ExportErrorShown>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub skipped: Vec<SkippedShown>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExportErrorShown {
    #[serde(rename = "type")]
    pub kind: String,
    pub dn: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SkippedShown {
    pub object: String,
    pub reason: String,
}

impl From<&RunRecord> for RunShown {
    fn from(r: &RunRecord) -> Self {
        Self {
            profile: r.profile.to_string(),
            connector: r.connector.clone(),
            status: r.status.to_string(),
            start: r.start,
            end: r.end,
            user: r.user.clone(),
            adds: r.adds,
            updates: r.updates,
            deletes: r.deletes,
            export_errors: r.export_errors.iter().map(ExportErrorShown::from).collect(),
            skipped: r.skipped.iter().map(SkippedShown::from).collect(),
            dn: r.dn.clone(),
            error: r.error.clone(),
        }
    }
}

impl From<&ExportError> for ExportErrorShown {
    fn from(e: &ExportError) -> Self {
        Self {
            kind: e.kind.to_string(),
            dn: e.dn.clone(),
            detail: e.detail.clone(),
        }
    }
}

impl From<&Skipped> for SkippedShown {
    fn from(s: &Skipped) -> Self {
        Self {
            object: s.object.clone(),
            reason: s.reason.clone(),
        }
    }
}

/// An Application log event as the snapshot shows it.
#[derive(Debug, Clone, Serialize)]
pub struct EventShown {
    pub id: u32,
    pub time: DateTime<Utc>,
    pub level: String,
    pub source: String,
    pub message: String,
}

impl From<&Event> for EventShown {
    fn from(e: &Event) -> Self {
        Self {
            id: e.id,
            time: e.time,
            level: e.level.to_string(),
            source: e.source.to_string(),
            message: e.message.clone(),
        }
    }
}

/// Get-ADSyncAADCompanyFeature's rows by name.
pub fn features(f: &CompanyFeatures) -> BTreeMap<String, String> {
    f.rows()
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub case: Option<String>,
    pub seed: u64,
    /// The initial sync cycle the set-up ran (the wizard's last page): what it imported,
    /// exported and skipped, and why.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub initial_sync: Vec<String>,
    pub steps: Vec<StepReport>,
    pub ad: Vec<AdEntry>,
    pub runs: Vec<RunShown>,
    pub events: Vec<EventShown>,
    /// Cloud Sync's own provisioning logs (a world with Cloud Sync only).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub provisioning_logs: Vec<ProvisioningLog>,
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

/// The readable attributes of an entry. The values of an attribute are a set (LDAP
/// clients such as ldap3 send them unordered), so they are shown sorted; objectClass
/// keeps the directory's order (top first).
pub fn show_entry(e: &AdObject) -> BTreeMap<String, AttrShown> {
    e.attributes()
        .filter(|(name, _)| !NOISE.contains(name))
        .map(|(name, _)| {
            let mut vals = e.readable(name);
            if !name.eq_ignore_ascii_case("objectClass") {
                vals.sort();
            }
            let shown = if vals.len() == 1 {
                AttrShown::One(vals.into_iter().next().unwrap_or_default())
            } else {
                AttrShown::Many(vals)
            };
            (name.to_string(), shown)
        })
        .collect()
}

/// AD before the first step: every entry by normalised DN, and the USN then.
pub struct Baseline {
    pub usn: i64,
    pub entries: HashMap<String, AdObject>,
}

impl Baseline {
    pub fn of(state: AdState) -> Self {
        Self {
            usn: state.usn,
            entries: state.objects.into_iter().map(|o| (o.key(), o)).collect(),
        }
    }
}

/// The entries added, changed or deleted since `before`, in the order they were created
/// (deleted ones last).
pub fn changed_entries(now: &AdState, before: &Baseline) -> Vec<AdEntry> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for e in &now.objects {
        seen.insert(e.key());
        if e.usn() <= before.usn {
            continue;
        }
        let attributes = show_entry(e);
        let (change, was) = match before.entries.get(&e.key()) {
            Some(old) => ("changed", changed_from(&show_entry(old), &attributes)),
            None => ("added", BTreeMap::new()),
        };
        out.push(AdEntry {
            dn: e.dn(),
            change: change.into(),
            attributes,
            before: was,
        });
    }
    let mut gone: Vec<&AdObject> = before
        .entries
        .iter()
        .filter(|(k, _)| !seen.contains(*k))
        .map(|(_, e)| e)
        .collect();
    gone.sort_by_key(|e| e.order());
    for e in gone {
        out.push(AdEntry {
            dn: e.dn(),
            change: "deleted".into(),
            attributes: BTreeMap::new(),
            before: BTreeMap::new(),
        });
    }
    out
}
