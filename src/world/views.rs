//! What the tenant, the engine and AD look like to someone reading them: the lists an admin
//! center and a sync console show (users with their sync state, devices, groups with their
//! writeback setting, the connector space), a page at a time, and the SSPR portal's first
//! question (may this user reset at all?). Read-only; nothing here changes the world.

use super::{AdObject, UserAnswer, World};
use crate::cloud::tenant::{CloudDevice, CloudGroup, CloudUser};
use serde::Serialize;

pub use crate::engine::connector_space::CsRow;

/// A page of a list: the rows that match, after `offset`, and how many match in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Page<T> {
    pub rows: Vec<T>,
    pub total: usize,
    pub offset: usize,
}

/// Which rows of a list, and the search that filters them (case-insensitive, anywhere in
/// the name or id; all when empty).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Query {
    pub search: String,
    pub offset: usize,
    pub limit: usize,
}

impl Query {
    fn page<T, O>(
        &self,
        items: Vec<T>,
        text: impl Fn(&T) -> Vec<&str>,
        row: impl FnMut(T) -> O,
    ) -> Page<O> {
        let needle = self.search.trim().to_lowercase();
        let matching: Vec<T> = items
            .into_iter()
            .filter(|i| {
                needle.is_empty() || text(i).iter().any(|t| t.to_lowercase().contains(&needle))
            })
            .collect();
        let total = matching.len();
        let limit = if self.limit == 0 {
            usize::MAX
        } else {
            self.limit
        };
        Page {
            rows: matching
                .into_iter()
                .skip(self.offset)
                .take(limit)
                .map(row)
                .collect(),
            total,
            offset: self.offset,
        }
    }
}

/// A user as the admin center's list shows it, with its on-premises account as AD holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserRow {
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    /// "On-premises sync enabled": synced from AD (else cloud-only).
    pub on_premises_sync_enabled: bool,
    pub on_premises_distinguished_name: Option<String>,
    pub on_premises_immutable_id: Option<String>,
    pub sspr_registered: bool,
    pub roles: Vec<String>,
    pub groups: Vec<String>,
    /// The AD account, read from the directory (synced users only).
    pub ad: Option<AdAccount>,
}

/// What AD says about a synced user's account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AdAccount {
    /// `false` when the anchor's DN no longer names an entry.
    pub exists: bool,
    pub enabled: bool,
    pub locked_out: bool,
    /// pwdLastSet as an admin reads it (`0` means "must change at next logon").
    pub pwd_last_set: String,
    pub must_change_password: bool,
}

/// A registered device, with its owners by UPN.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeviceRow {
    pub id: String,
    pub device_id: String,
    pub display_name: String,
    pub operating_system: String,
    pub operating_system_version: String,
    pub trust_type: String,
    pub account_enabled: bool,
    pub owners: Vec<String>,
    pub registered: String,
    /// The AD object the engine wrote for it, if any.
    pub written_back_as: Option<String>,
}

/// A group with its kind and writeback setting.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct GroupRow {
    pub id: String,
    pub display_name: String,
    /// `Microsoft 365`, `Security` or `Distribution`.
    pub kind: &'static str,
    pub mail: Option<String>,
    pub members: Vec<String>,
    /// `writebackConfiguration.isEnabled` as it applies (the kind's default when unset).
    pub writeback_enabled: bool,
    pub on_premises_group_type: String,
    pub on_premises_sync_enabled: bool,
    /// The AD object the engine wrote for it, if any.
    pub written_back_as: Option<String>,
}

const ACCOUNTDISABLE: i64 = 0x2;

fn ad_account(o: Option<AdObject>) -> AdAccount {
    let Some(o) = o else {
        return AdAccount {
            exists: false,
            enabled: false,
            locked_out: false,
            pwd_last_set: String::new(),
            must_change_password: false,
        };
    };
    let number = |attr: &str| -> i64 {
        o.values(attr)
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    };
    AdAccount {
        exists: true,
        enabled: number("userAccountControl") & ACCOUNTDISABLE == 0,
        locked_out: number("lockoutTime") != 0,
        pwd_last_set: o
            .readable("pwdLastSet")
            .into_iter()
            .next()
            .unwrap_or_default(),
        must_change_password: number("pwdLastSet") == 0,
    }
}

impl World {
    /// The tenant's settings (licence, SSPR, writeback).
    pub fn tenant_settings(&self) -> super::TenantSettings {
        self.tenant.settings()
    }

    /// The tenant's users, with the AD accounts of synced ones.
    pub async fn cloud_users(&self, q: &Query) -> Page<UserRow> {
        let users = self.tenant.users();
        let page = q.page(
            users,
            |u: &CloudUser| {
                vec![
                    u.user_principal_name.as_str(),
                    u.display_name.as_str(),
                    u.id.as_str(),
                ]
            },
            |u: CloudUser| u,
        );
        let mut rows = Vec::with_capacity(page.rows.len());
        for u in page.rows {
            rows.push(self.user_row(u).await);
        }
        Page {
            rows,
            total: page.total,
            offset: page.offset,
        }
    }

    /// One user by UPN or objectId.
    pub async fn cloud_user(&self, upn: &str) -> Option<UserRow> {
        let u = self.tenant.user(upn)?;
        Some(self.user_row(u).await)
    }

    /// A user as the lists show it, with its AD account read from the directory.
    async fn user_row(&self, u: CloudUser) -> UserRow {
        let ad = match &u.on_premises {
            Some(o) => Some(ad_account(self.ad_entry(&o.distinguished_name).await)),
            None => None,
        };
        UserRow {
            on_premises_sync_enabled: u.on_premises.is_some(),
            on_premises_distinguished_name: u
                .on_premises
                .as_ref()
                .map(|o| o.distinguished_name.clone()),
            on_premises_immutable_id: u.on_premises.as_ref().map(|o| o.immutable_id.clone()),
            id: u.id,
            user_principal_name: u.user_principal_name,
            display_name: u.display_name,
            sspr_registered: u.sspr_registered,
            roles: u.roles,
            groups: u.groups,
            ad,
        }
    }

    /// The tenant's registered devices.
    pub fn cloud_devices(&self, q: &Query) -> Page<DeviceRow> {
        let upn = |id: &String| {
            self.tenant
                .user(id)
                .map_or_else(|| id.clone(), |u| u.user_principal_name)
        };
        let cs = &self.engine_state.connector_space;
        q.page(
            self.tenant.devices(),
            |d: &CloudDevice| vec![d.display_name.as_str(), d.device_id.as_str(), d.id.as_str()],
            |d: CloudDevice| DeviceRow {
                owners: d.registered_owners.iter().map(upn).collect(),
                registered: d
                    .registration_date_time
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                written_back_as: cs.joined_dn(&d.id),
                id: d.id,
                device_id: d.device_id,
                display_name: d.display_name,
                operating_system: d.operating_system,
                operating_system_version: d.operating_system_version,
                trust_type: d.trust_type,
                account_enabled: d.account_enabled,
            },
        )
    }

    /// Does the tenant hold a device (one device writeback would write)?
    pub fn has_devices(&self) -> bool {
        !self.tenant.devices().is_empty()
    }

    /// Does the tenant hold a Microsoft 365 group (one group writeback would write)?
    pub fn has_microsoft_365_groups(&self) -> bool {
        self.tenant.groups().iter().any(|g| g.is_unified())
    }

    /// The tenant's groups.
    pub fn cloud_groups(&self, q: &Query) -> Page<GroupRow> {
        let upn = |id: &String| {
            self.tenant
                .user(id)
                .map_or_else(|| id.clone(), |u| u.user_principal_name)
        };
        let cs = &self.engine_state.connector_space;
        q.page(
            self.tenant.groups(),
            |g: &CloudGroup| {
                vec![
                    g.display_name.as_str(),
                    g.mail_nickname.as_str(),
                    g.id.as_str(),
                ]
            },
            |g: CloudGroup| GroupRow {
                kind: if g.is_unified() {
                    "Microsoft 365"
                } else if g.security_enabled {
                    "Security"
                } else {
                    "Distribution"
                },
                members: g.members.iter().map(upn).collect(),
                writeback_enabled: g.writeback_enabled(),
                on_premises_group_type: g.on_premises_group_type(),
                written_back_as: cs.joined_group_dn(&g.id),
                id: g.id,
                display_name: g.display_name,
                mail: g.mail,
                on_premises_sync_enabled: g.on_premises_sync_enabled,
            },
        )
    }

    /// The engine's connector space: the objects matching `search`, each with the AD object
    /// it is joined to and its pending export.
    pub fn connector_space(&self, search: &str) -> Vec<CsRow> {
        self.engine_state.connector_space.rows(search)
    }

    /// The SSPR portal's first check of a user ID, before it sends a verification code:
    /// the tenant's policy, licence, the user's group and registration, in the service's
    /// order (`Err` is what the portal shows).
    pub fn sspr_check(&self, upn: &str) -> Result<(), UserAnswer> {
        self.passwords.check_portal(upn)
    }
}
