//! The bodies of the step actions: what each action key takes (a reset's user and
//! password, an AD change, a fault, a check), with the meaning of every field — the
//! format's reference and JSON Schema are generated from these doc comments.

use super::{AttrValue, Duration, LicenseSpec, SsprSpec};
use schemars::JsonSchema;
use serde::Deserialize;
use std::collections::BTreeMap;

/// `update_device: {name, enabled, display_name, owner}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateDevice {
    /// The device's display name in Entra ID.
    pub name: String,
    /// Enable or disable the device (accountEnabled).
    pub enabled: Option<bool>,
    /// A new display name (a rename).
    pub display_name: Option<String>,
    /// A new registered owner (a UPN).
    pub owner: Option<String>,
}

/// `delete_device: {name}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteDevice {
    /// The device's display name in Entra ID.
    pub name: String,
}

/// `update_group: {name, add_members, remove_members, writeback, display_name,
/// on_prem_group_type}` (the last two are additions to the format).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UpdateGroup {
    /// The group's display name in Entra ID.
    pub name: String,
    /// Members to add, by UPN.
    #[serde(default)]
    pub add_members: Vec<String>,
    /// Members to remove, by UPN.
    #[serde(default)]
    pub remove_members: Vec<String>,
    /// Turn the group's writeback on or off (writebackConfiguration.isEnabled).
    pub writeback: Option<bool>,
    /// A new display name (a rename).
    pub display_name: Option<String>,
    /// The type the group is written back as (writebackConfiguration.onPremisesGroupType).
    #[schemars(extend("enum" = ["universalDistributionGroup", "universalSecurityGroup", "universalMailEnabledSecurityGroup"]))]
    pub on_prem_group_type: Option<String>,
}

/// `delete_group: {name}`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteGroup {
    /// The group's display name in Entra ID.
    pub name: String,
}

/// `sync: delta | initial`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum SyncKind {
    Delta,
    Initial,
}

/// What a step should have ended with.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// `ok`, `rejected` (the person can correct it) or `failed` (writeback could not be
    /// done).
    pub outcome: Option<ExpectedOutcome>,
    /// Text the user-facing message or any detail line contains (`SSPR_0010`, `33008`,
    /// `data 775`, the article's words).
    pub error: Option<String>,
}

/// How a person's step ended: `ok`, `rejected` or `failed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ExpectedOutcome {
    Ok,
    Rejected,
    Failed,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SsprReset {
    /// The user's UPN in the tenant.
    pub user: String,
    /// The password the user chooses.
    pub new_password: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangePassword {
    /// The user's UPN in the tenant.
    pub user: String,
    /// The current password, which AD checks.
    pub old_password: String,
    /// The new password.
    pub new_password: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdminReset {
    /// The user's UPN in the tenant.
    pub user: String,
    /// The password the admin sets.
    pub new_password: String,
    /// "Require this user to change their password when they first sign in": pwdLastSet 0.
    #[serde(default)]
    pub force_change_at_next_logon: bool,
}

/// A step about one user (`sspr_unlock: {user}`).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UserRef {
    /// The user's UPN in the tenant.
    pub user: String,
}

/// An on-premises sign-in (a simple bind over LDAPS), to show what AD now accepts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SignIn {
    /// A UPN, `GNTECH\\sam` or a DN.
    pub user: String,
    /// The password the bind tries.
    pub password: String,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TenantChange {
    /// A new licence for the tenant.
    pub license: Option<LicenseSpec>,
    /// A new self-service password reset policy (the whole policy).
    pub sspr: Option<SsprSpec>,
    /// The organisation deploys (or removes) Exchange hybrid.
    pub exchange_hybrid: Option<bool>,
    /// "Write back Microsoft 365 groups to on-premises" for new groups by default.
    pub group_writeback_default: Option<bool>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdChange {
    /// A new entry: `dn` and attributes, as `world.directory.entries` (`password` sets
    /// unicodePwd).
    pub add: Option<BTreeMap<String, AttrValue>>,
    /// A modify of an existing entry.
    pub modify: Option<AdModify>,
    /// The DN of an entry to delete.
    #[schemars(extend("format" = "distinguished-name"))]
    pub delete: Option<String>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AdModify {
    /// The entry to modify.
    #[schemars(extend("format" = "distinguished-name"))]
    pub dn: String,
    /// Attributes whose values are replaced.
    #[serde(default)]
    pub replace: BTreeMap<String, AttrValue>,
    /// Values added to attributes.
    #[serde(default)]
    pub add: BTreeMap<String, AttrValue>,
    /// Values removed from attributes (an empty list removes the attribute).
    #[serde(default)]
    pub delete: BTreeMap<String, AttrValue>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GrantSpec {
    /// `reset_password`, `change_password`, `unexpire_password`, `write_pwd_last_set`,
    /// `write_lockout_time`, `full_control`, or `create_` / `write_` / `delete_` + `user`,
    /// `computer`, `group`, `device`, `container`, `ou`.
    pub right: String,
    /// The object the ACE sits on (it is inherited by its subtree).
    #[schemars(extend("format" = "distinguished-name"))]
    pub on: String,
    /// The account or group (a DN, or a SID such as `S-1-5-11`); the AD DS connector
    /// account when omitted.
    pub to: Option<String>,
}

/// The object whose permission inheritance a step blocks or restores.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct InheritanceSpec {
    /// The object (usually an OU) whose DACL is protected or unprotected.
    #[schemars(extend("format" = "distinguished-name"))]
    pub on: String,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FaultSpec {
    /// A fault of the Service Bus relay between the cloud and the engine.
    pub relay: Option<RelayFaultSpec>,
    /// A fault of the domain controller as the engine reaches it.
    pub ldap: Option<LdapFaultSpec>,
    /// A fault of Microsoft Graph as the engine reads it.
    pub graph: Option<GraphFaultSpec>,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GraphFaultSpec {
    /// Answer 429 with Retry-After after a number of requests.
    pub throttle: Option<ThrottleSpec>,
    /// Answer every request with this HTTP status (`503`).
    pub status: Option<u16>,
    /// Delay every answer.
    pub latency: Option<Duration>,
    /// Serve an empty page (with a nextLink) before each page of a delta round, as Graph
    /// may; a client must follow it.
    #[serde(default)]
    pub empty_pages: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ThrottleSpec {
    /// Requests answered before throttling starts.
    pub requests: u32,
    /// The Retry-After the 429 answers carry.
    pub retry_after: Duration,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RelayFaultSpec {
    /// Delay every request through the relay (past 60 s the cloud gives up: "Writeback
    /// timeout").
    pub latency: Option<Duration>,
    /// The relay refuses everything (the engine cannot listen, the cloud cannot send).
    #[serde(default)]
    pub down: bool,
    /// Drop the engine's listener connection once; it reconnects.
    #[serde(default)]
    pub drop_listener: bool,
}

#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LdapFaultSpec {
    /// Delay every answer of the DC.
    pub latency: Option<Duration>,
    /// The DC cannot be reached.
    #[serde(default)]
    pub down: bool,
    /// Reset the engine's open LDAP connections once.
    #[serde(default)]
    pub reset_connections: bool,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectAd {
    /// The entry to check (with `exists` and `attributes`).
    #[schemars(extend("format" = "distinguished-name"))]
    pub dn: Option<String>,
    /// The entry exists (`true`) or does not (`false`).
    pub exists: Option<bool>,
    /// Attribute values the entry has: a value, a list, or `changed` / `unchanged`
    /// (against the state before the first step) / `absent` / `present`.
    #[serde(default)]
    pub attributes: BTreeMap<String, AttrValue>,
    /// The subtree to search (with `filter` and `count`).
    #[schemars(extend("format" = "distinguished-name"))]
    pub base: Option<String>,
    /// An LDAP filter (RFC 4515), as `ldapsearch` takes it.
    #[schemars(extend("format" = "ldap-filter"))]
    pub filter: Option<String>,
    /// How many entries under `base` match `filter`.
    pub count: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExpectRun {
    /// `password`, `export`, `delta_import` (or `import`), `full_import`,
    /// `synchronization`, or a profile's name (`DeltaSynchronization`).
    pub profile: String,
    /// `success`, `failure`, `completed-export-errors` or `stopped-server-down`.
    #[schemars(extend("enum" = ["success", "failure", "completed-export-errors", "stopped-server-down"]))]
    pub status: Option<String>,
    /// Objects the run added.
    pub adds: Option<u32>,
    /// Objects the run updated (a password run: 1 when it succeeded).
    pub updates: Option<u32>,
    /// Objects the run deleted.
    pub deletes: Option<u32>,
    /// The run's export errors, in order (`[]`: none).
    pub errors: Option<Vec<ExportErrorSpec>>,
}

/// One export error of a run, as Synchronization Service Manager lists it.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportErrorSpec {
    /// `permission-issue` (LDAP 50), `no-writeback-container` (LDAP 32), `cd-error` or
    /// `connection-failure`.
    #[serde(rename = "type")]
    #[schemars(extend("enum" = ["permission-issue", "no-writeback-container", "cd-error", "connection-failure"]))]
    pub kind: Option<String>,
    /// The DN of the object the error is about.
    #[schemars(extend("format" = "distinguished-name"))]
    pub dn: Option<String>,
}
