//! The scenario file (`SCENARIO-FORMAT.md`) as serde types. Unknown keys are rejected, and
//! serde-saphyr puts the file:line:col of every error in front of it.
//!
//! This file: the scenario, its world (tenant, directory, engine) and the value types
//! (attribute values, durations); `steps`: the step actions and their expectations;
//! `schema`: the format's JSON Schema; `reference`: the Markdown reference generated from it.

mod reference;
mod schema;
mod steps;

pub use reference::markdown as reference_markdown;
pub use schema::json_schema;

pub use steps::*;

use schemars::JsonSchema;
use serde::de;
use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;

/// Parse a scenario. YAML 1.2 booleans only: `on:` (the scope of a grant) is a key, not
/// `true`.
pub fn from_yaml(text: &str) -> Result<Scenario, serde_saphyr::Error> {
    serde_saphyr::from_str_with_options(text, serde_saphyr::options! { strict_booleans: true })
}

/// A scenario file: the world it starts from, the steps, and what the snapshot holds.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Scenario {
    /// The scenario's name (the file's path under `scenarios/` when omitted).
    pub name: Option<String>,
    /// One or two sentences: the symptom, its cause and the fix.
    pub summary: Option<String>,
    /// The article's row or section the scenario replays, in its words.
    pub case: Option<String>,
    /// Labels to choose scenarios by (`run --tag`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Seeds GUIDs, SIDs, generated names and tracking IDs: same seed, same bytes.
    #[serde(default)]
    pub seed: u64,
    /// The tenant, the on-premises directory and the engine before the first step.
    #[serde(default)]
    pub world: WorldSpec,
    /// What people, admins, faults and checks do, in order.
    #[serde(default)]
    pub steps: Vec<Step>,
    /// What the snapshot holds.
    #[serde(default)]
    pub snapshot: SnapshotSpec,
    /// What the initial sync cycle the set-up ran did (not part of the file).
    #[serde(skip)]
    pub initial_sync: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorldSpec {
    #[serde(default)]
    pub tenant: TenantSpec,
    #[serde(default)]
    pub directory: DirectorySpec,
    #[serde(default)]
    pub engine: EngineSpec,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum LicenseSpec {
    #[serde(rename = "none")]
    None,
    #[default]
    P1,
    P2,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SsprEnabledSpec {
    None,
    Selected,
    #[default]
    All,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsprSpec {
    #[serde(default)]
    pub enabled: SsprEnabledSpec,
    #[serde(default = "yes")]
    pub writeback: bool,
    pub selected_group: Option<String>,
    /// "Allow users to unlock accounts without resetting their password".
    #[serde(default)]
    pub unlock_option: bool,
}

impl Default for SsprSpec {
    fn default() -> Self {
        Self {
            enabled: SsprEnabledSpec::All,
            writeback: true,
            selected_group: None,
            unlock_option: false,
        }
    }
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantSpec {
    pub domain: Option<String>,
    #[serde(default)]
    pub license: LicenseSpec,
    #[serde(default)]
    pub exchange_hybrid: bool,
    #[serde(default)]
    pub sspr: SsprSpec,
    #[serde(default)]
    pub group_writeback_default: bool,
    #[serde(default)]
    pub users: Vec<UserSpec>,
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    pub generate: Option<GenerateSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    pub upn: String,
    #[schemars(extend("format" = "distinguished-name"))]
    pub synced_from: Option<String>,
    #[serde(default = "yes")]
    pub sspr_registered: bool,
    /// Cloud groups the user is in (for SSPR "selected").
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    pub name: String,
    pub owner: Option<String>,
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub trust_type: Option<String>,
    /// Default true.
    pub enabled: Option<bool>,
    /// Windows Hello for Business key material on the device (a certificate thumbprint).
    pub whfb: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    #[serde(default)]
    pub members: Vec<String>,
    pub writeback: Option<bool>,
    pub on_prem_group_type: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GenerateSpec {
    /// Synced users with AD accounts in `OU=Generated Users` (at most 200,000).
    #[serde(default, deserialize_with = "bounded_count")]
    #[schemars(range(max = 200_000))]
    pub users: u32,
    /// Hybrid-joined devices the users own (at most 200,000).
    #[serde(default, deserialize_with = "bounded_count")]
    #[schemars(range(max = 200_000))]
    pub devices: u32,
    /// Groups, alternating Microsoft 365 and security (at most 200,000).
    #[serde(default, deserialize_with = "bounded_count")]
    #[schemars(range(max = 200_000))]
    pub groups: u32,
}

/// The most of each kind `generate` makes: twice the largest world the benchmarks run,
/// and a bound on what one file can make the tool allocate.
pub const MAX_GENERATED: u32 = 200_000;

fn bounded_count<'de, D: Deserializer<'de>>(d: D) -> Result<u32, D::Error> {
    let n = u64::deserialize(d)?;
    u32::try_from(n)
        .ok()
        .filter(|n| *n <= MAX_GENERATED)
        .ok_or_else(|| {
            de::Error::custom(format!(
                "{n} is too many: `generate` makes at most {MAX_GENERATED} of each kind"
            ))
        })
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DirectorySpec {
    pub forest: Option<String>,
    #[serde(default)]
    pub ldif: Vec<String>,
    #[serde(default)]
    pub entries: Vec<BTreeMap<String, AttrValue>>,
    pub password_policy: Option<PolicySpec>,
    #[serde(default)]
    pub connector: ConnectorSpec,
    /// The forest's schema is prepared for Exchange (Exchange's `/PrepareSchema`:
    /// mailNickname and the other Exchange attributes). Default: as `tenant.exchange_hybrid`
    /// (an organisation with Exchange hybrid has prepared its forest).
    pub exchange_schema: Option<bool>,
}

/// An attribute value in YAML: a scalar or a list of scalars.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum AttrValue {
    Int(i64),
    Bool(bool),
    Text(String),
    List(Vec<Scalar>),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Scalar {
    Int(i64),
    Bool(bool),
    Text(String),
}

impl Scalar {
    pub fn text(&self) -> String {
        match self {
            Scalar::Int(i) => i.to_string(),
            Scalar::Bool(b) => if *b { "TRUE" } else { "FALSE" }.to_string(),
            Scalar::Text(t) => t.clone(),
        }
    }
}

impl AttrValue {
    pub fn texts(&self) -> Vec<String> {
        match self {
            AttrValue::Int(i) => vec![i.to_string()],
            AttrValue::Bool(b) => vec![if *b { "TRUE" } else { "FALSE" }.to_string()],
            AttrValue::Text(t) => vec![t.clone()],
            AttrValue::List(l) => l.iter().map(Scalar::text).collect(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicySpec {
    pub min_length: Option<i64>,
    pub complexity: Option<bool>,
    pub history: Option<i64>,
    pub min_age: Option<Duration>,
    pub max_age: Option<Duration>,
    pub lockout_threshold: Option<i64>,
    pub lockout_duration: Option<Duration>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    #[schemars(extend("format" = "distinguished-name"))]
    pub dn: Option<String>,
    #[serde(default)]
    pub rights: RightsSpec,
}

#[derive(Debug, Clone, Default, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum RightsSpec {
    /// `default`: what the wizard grants with Enterprise Admin credentials.
    #[default]
    #[serde(skip)]
    Default,
    Word(String),
    List(Vec<RightGrant>),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RightGrant {
    pub right: String,
    #[schemars(extend("format" = "distinguished-name"))]
    pub on: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// `None` in a `configure` step: leave as it is.
    pub password_writeback: Option<bool>,
    pub device_writeback: Option<Toggle<DeviceWritebackSpec>>,
    pub group_writeback_v1: Option<Toggle<GroupWritebackSpec>>,
    pub group_writeback_v2: Option<Toggle<GroupWritebackSpec>>,
    pub cloud_sync: Option<Toggle<CloudSyncSpec>>,
}

/// `false`, or a configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum Toggle<T> {
    Off(bool),
    On(T),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceWritebackSpec {
    pub forest: Option<String>,
    #[schemars(extend("format" = "distinguished-name"))]
    pub container: Option<String>,
    pub object_class: Option<String>,
    pub prepare: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupWritebackSpec {
    #[schemars(extend("format" = "distinguished-name"))]
    pub ou: Option<String>,
    /// `object_id` (`CN=Group_<objectId>`, the default) or `display_name`
    /// (`CN=<displayName>_<last 12 of objectId>`); an addition to the format.
    pub naming: Option<GroupNaming>,
}

/// How group writeback v1 names groups in AD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum GroupNaming {
    /// `CN=Group_<objectId>` (the default).
    #[default]
    ObjectId,
    /// `CN=<displayName>_<last 12 hex of objectId>`.
    DisplayName,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CloudSyncSpec {
    #[schemars(extend("format" = "distinguished-name"))]
    pub ou: Option<String>,
    pub scope: Option<AttrValue>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    pub ad: Option<AttrValue>,
}

/// A duration written `250ms`, `90s`, `30m`, `2h` or `1d`, at most 36500d.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Duration(pub std::time::Duration);

/// The longest duration a scenario may write: 36,500 days.
const MAX_DURATION_MS: u64 = 36_500 * 86_400_000;

impl Duration {
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let split = s.find(|c: char| !c.is_ascii_digit())?;
        let (n, unit) = s.split_at(split);
        let n: u64 = n.parse().ok()?;
        let per = match unit {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            _ => return None,
        };
        // At most a century: a scenario's clock stays a date AD can write.
        let ms = n.checked_mul(per).filter(|ms| *ms <= MAX_DURATION_MS)?;
        Some(Self(std::time::Duration::from_millis(ms)))
    }
}

impl JsonSchema for Duration {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Duration".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "type": "string",
            "format": "duration",
            "pattern": "^[0-9]+(ms|s|m|h|d)$",
            "description": "A duration: 250ms, 90s, 30m, 2h or 1d.",
            "examples": ["90s", "30m", "1d"]
        })
    }
}

impl<'de> Deserialize<'de> for Duration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Duration::parse(&s).ok_or_else(|| {
            de::Error::custom(format!(
                "bad duration `{s}`: write it as 250ms, 90s, 30m, 2h or 1d (at most 36500d)"
            ))
        })
    }
}
