//! The scenario file (`SCENARIO-FORMAT.md`) as serde types. Unknown keys are rejected, and
//! serde-saphyr puts the file:line:col of every error in front of it.
//!
//! This file: the scenario, its world (tenant, directory, engine) and the value types
//! (attribute values, durations); `actions`: what each step action takes; `steps`: a step
//! (its action and expectation) as it is read;
//! `schema`: the format's JSON Schema; `reference`: the Markdown reference generated from it.

mod actions;
mod reference;
mod schema;
mod steps;

pub use reference::markdown as reference_markdown;
pub use schema::json_schema;

pub use actions::*;
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
    /// The Entra tenant: licence, SSPR, users, devices and groups in the cloud.
    #[serde(default)]
    pub tenant: TenantSpec,
    /// The on-premises AD: the forest, its entries, password policy and connector account.
    #[serde(default)]
    pub directory: DirectorySpec,
    /// The Entra Connect wizard's choices (the article's "What We Built" when omitted).
    #[serde(default)]
    pub engine: EngineSpec,
}

/// The tenant's Entra ID licence: `none`, `P1` or `P2`. Password, device and group
/// writeback need P1 or P2.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, JsonSchema)]
pub enum LicenseSpec {
    #[serde(rename = "none")]
    None,
    #[default]
    P1,
    P2,
}

/// Who may use self-service password reset: `none`, `selected` (the members of
/// `selected_group`) or `all`.
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
    /// Who may reset: "Self service password reset enabled" (`none`, `selected`, `all`).
    #[serde(default)]
    pub enabled: SsprEnabledSpec,
    /// "Write back passwords to your on-premises directory" (Password reset → On-premises
    /// integration).
    #[serde(default = "yes")]
    pub writeback: bool,
    /// The cloud group whose members may reset, with `enabled: selected`.
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
    /// The tenant's verified domain (default `gntech.me`); the forest's name by default.
    pub domain: Option<String>,
    /// The tenant's Entra ID licence.
    #[serde(default)]
    pub license: LicenseSpec,
    /// The organisation runs Exchange hybrid (group writeback v1 needs it).
    #[serde(default)]
    pub exchange_hybrid: bool,
    /// The self-service password reset policy.
    #[serde(default)]
    pub sspr: SsprSpec,
    /// "Write back Microsoft 365 groups to on-premises" for new groups by default.
    #[serde(default)]
    pub group_writeback_default: bool,
    /// Users in the tenant, synced from AD or cloud-only.
    #[serde(default)]
    pub users: Vec<UserSpec>,
    /// Devices registered in Entra ID.
    #[serde(default)]
    pub devices: Vec<DeviceSpec>,
    /// Groups in Entra ID.
    #[serde(default)]
    pub groups: Vec<GroupSpec>,
    /// Seeded fake users, devices and groups on top of the ones listed.
    pub generate: Option<GenerateSpec>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserSpec {
    /// The user's UPN in the tenant (`alice@gntech.me`).
    pub upn: String,
    /// The AD account the user is synced from; omit for a cloud-only user.
    #[schemars(extend("format" = "distinguished-name"))]
    pub synced_from: Option<String>,
    /// The user has registered the methods SSPR asks for.
    #[serde(default = "yes")]
    pub sspr_registered: bool,
    /// Cloud groups the user is in (for SSPR "selected").
    #[serde(default)]
    pub groups: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceSpec {
    /// The device's display name in Entra ID (`LAPTOP-01`).
    pub name: String,
    /// The registered owner's UPN; written back as msDS-RegisteredOwner (their AD SID).
    pub owner: Option<String>,
    /// The operating system (default `Windows`).
    pub os: Option<String>,
    /// The operating system version (default `10.0.22631.4317`).
    pub os_version: Option<String>,
    /// How the device joined: `ServerAd` (hybrid joined, the default), `AzureAd` (Entra
    /// joined) or `Workplace` (registered).
    #[schemars(extend("enum" = ["ServerAd", "AzureAd", "Workplace"]))]
    pub trust_type: Option<String>,
    /// The device is enabled (accountEnabled). Default `true`.
    pub enabled: Option<bool>,
    /// Windows Hello for Business key material on the device (a certificate thumbprint).
    pub whfb: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// The group's display name.
    pub name: String,
    /// `m365` (a Microsoft 365 group, the default), `security` or `distribution`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["m365", "security", "distribution"]))]
    pub kind: Option<String>,
    /// Members, by UPN.
    #[serde(default)]
    pub members: Vec<String>,
    /// The group's writeback setting (writebackConfiguration.isEnabled); the tenant's
    /// `group_writeback_default` when omitted.
    pub writeback: Option<bool>,
    /// The type the group is written back as (writebackConfiguration.onPremisesGroupType).
    #[schemars(extend("enum" = ["universalDistributionGroup", "universalSecurityGroup", "universalMailEnabledSecurityGroup"]))]
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
    /// The forest's DNS name (default: the tenant's domain): `gntech.me` builds
    /// `DC=gntech,DC=me` with `CN=Users`, `CN=Computers` and `OU=Domain Controllers`.
    pub forest: Option<String>,
    /// LDIF files to import, relative to the scenario file.
    #[serde(default)]
    pub ldif: Vec<String>,
    /// Extra entries, each a map with `dn` and attributes (a value or a list);
    /// `password` sets unicodePwd and never appears in a snapshot. A user with a password
    /// and no userAccountControl is a normal enabled account (512).
    #[serde(default)]
    pub entries: Vec<BTreeMap<String, AttrValue>>,
    /// The domain's password policy; AD's defaults for what is left out.
    pub password_policy: Option<PolicySpec>,
    /// The AD DS connector account (`MSOL_…`) and its rights.
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

/// One value: text, a number, or `true` / `false` (written TRUE / FALSE, as AD does).
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
    /// minPwdLength (AD's default 7).
    pub min_length: Option<i64>,
    /// "Password must meet complexity requirements" (pwdProperties bit 1; default on).
    pub complexity: Option<bool>,
    /// pwdHistoryLength: how many earlier passwords are refused (default 24).
    pub history: Option<i64>,
    /// minPwdAge: how long a password must be kept before a user changes it (default 1d;
    /// a reset is not held to it).
    pub min_age: Option<Duration>,
    /// maxPwdAge (default 42d).
    pub max_age: Option<Duration>,
    /// lockoutThreshold: bad passwords before the account locks (default 0: never).
    pub lockout_threshold: Option<i64>,
    /// lockoutDuration (default 30m).
    pub lockout_duration: Option<Duration>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectorSpec {
    /// The connector account's DN (default `CN=MSOL_<12 hex>,CN=Users,<forest>`).
    #[schemars(extend("format" = "distinguished-name"))]
    pub dn: Option<String>,
    /// `default` (what the wizard grants with Enterprise Admin credentials) or the list of
    /// rights the account has instead.
    #[serde(default)]
    pub rights: RightsSpec,
}

/// The connector account's rights: `default` or a list of `{right, on}`.
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
    /// A right as `grant` names it (`reset_password`, `create_computer`, …).
    pub right: String,
    /// The object the right is granted on (inherited by its subtree).
    #[schemars(extend("format" = "distinguished-name"))]
    pub on: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EngineSpec {
    /// `None` in a `configure` step: leave as it is.
    pub password_writeback: Option<bool>,
    /// Device writeback: `false`, `true` (the defaults) or a configuration.
    pub device_writeback: Option<Toggle<DeviceWritebackSpec>>,
    /// Group writeback v1 (Microsoft 365 groups; needs Exchange hybrid): `false`, `true` or
    /// a configuration.
    pub group_writeback_v1: Option<Toggle<GroupWritebackSpec>>,
    /// Group writeback v2: read, but refused by the wizard as deprecated.
    pub group_writeback_v2: Option<Toggle<GroupWritebackSpec>>,
    /// Cloud Sync's group provisioning to AD: `false`, `true` or a configuration.
    pub cloud_sync: Option<Toggle<CloudSyncSpec>>,
}

/// `false` (off), `true` (on with the defaults), or a configuration.
#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(untagged)]
#[schemars(rename = "Toggle_{T}")]
pub enum Toggle<T> {
    Off(bool),
    On(T),
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeviceWritebackSpec {
    /// The forest devices are written to (default: the directory's forest).
    pub forest: Option<String>,
    /// The device container (default `CN=RegisteredDevices,<forest>`).
    #[schemars(extend("format" = "distinguished-name"))]
    pub container: Option<String>,
    /// `computer` (the article's view, `CN=<displayName>`) or `msDS-Device` (Entra
    /// Connect's, `CN=<deviceId>`). Default `computer`.
    #[schemars(extend("enum" = ["computer", "msDS-Device"]))]
    pub object_class: Option<String>,
    /// The wizard creates the container and grants the connector its rights (option A,
    /// the default); `false`: the admin does it (option B).
    pub prepare: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupWritebackSpec {
    /// The OU groups are written to (default `OU=M365 Groups,<forest>`).
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
    /// The OU groups are provisioned to (default `OU=Users,<forest>`).
    #[schemars(extend("format" = "distinguished-name"))]
    pub ou: Option<String>,
    /// `all_security_groups` or a list of group names; omitted: the scope is not
    /// configured and nothing is provisioned.
    pub scope: Option<AttrValue>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotSpec {
    /// The AD entries in the snapshot: `changed` (the default: what the steps changed),
    /// `all`, or a list of subtree DNs.
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
