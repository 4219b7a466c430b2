//! Tenant state: settings and users. Behind one mutex, never held across an await.

use super::change_log::{ChangeLog, Delta, Logged};
use serde::Serialize;
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum License {
    None,
    P1,
    P2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SsprEnabled {
    None,
    Selected,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TenantSettings {
    pub domain: String,
    pub license: License,
    pub exchange_hybrid: bool,
    pub sspr_enabled: SsprEnabled,
    /// "Write back passwords to your on-premises directory".
    pub sspr_writeback: bool,
    /// The group SSPR is enabled for, with `Selected`.
    pub sspr_selected_group: Option<String>,
    /// "Allow users to unlock accounts without resetting their password": a reset unlocks
    /// either way (the default); this only adds unlock-only.
    pub unlock_option: bool,
    /// "Write back Microsoft 365 groups to on-premises".
    pub group_writeback_default: bool,
    /// Entra Connect has onboarded password writeback (its optional feature is on).
    pub writeback_onboarded: bool,
}

/// The on-premises side of a synced user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnPremises {
    /// onPremisesImmutableId: base64 of the AD account's objectGUID.
    pub immutable_id: String,
    pub distinguished_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudUser {
    /// The Entra objectId.
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub on_premises: Option<OnPremises>,
    pub sspr_registered: bool,
    /// Names of the cloud groups the user is in (for SSPR "selected").
    pub groups: Vec<String>,
}

/// One entry of `alternativeSecurityIds` (the device's certificate thumbprint and key).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlternativeSecurityId {
    pub kind: i32,
    /// Base64 of the key material.
    pub key: String,
}

/// A device registered in Entra ID, with the properties Graph shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudDevice {
    /// The directory objectId.
    pub id: String,
    /// The device's own identifier (deviceId).
    pub device_id: String,
    pub display_name: String,
    pub operating_system: String,
    pub operating_system_version: String,
    /// `AzureAd` (joined), `ServerAd` (hybrid joined) or `Workplace` (registered).
    pub trust_type: String,
    pub account_enabled: bool,
    pub alternative_security_ids: Vec<AlternativeSecurityId>,
    /// objectIds of the owning users.
    pub registered_owners: Vec<String>,
    pub is_compliant: bool,
    pub is_managed: bool,
    pub physical_ids: Vec<String>,
    pub registration_date_time: chrono::DateTime<chrono::Utc>,
}

/// What a device delta query returns for one device.
pub type DeviceDelta = Delta<CloudDevice>;

impl Logged for CloudDevice {
    fn id(&self) -> &str {
        &self.id
    }

    /// Devices are also known by their deviceId and display name.
    fn matches(&self, key: &str) -> bool {
        self.id.eq_ignore_ascii_case(key)
            || self.device_id.eq_ignore_ascii_case(key)
            || self.display_name.eq_ignore_ascii_case(key)
    }
}

#[derive(Debug)]
struct State {
    settings: TenantSettings,
    users: Vec<CloudUser>,
    devices: ChangeLog<CloudDevice>,
}

/// A handle on the tenant; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tenant {
    inner: Arc<Mutex<State>>,
}

impl Tenant {
    pub fn new(settings: TenantSettings) -> Self {
        Self {
            inner: Arc::new(Mutex::new(State {
                settings,
                users: Vec::new(),
                devices: ChangeLog::default(),
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn settings(&self) -> TenantSettings {
        self.lock().settings.clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut TenantSettings)) {
        f(&mut self.lock().settings);
    }

    pub fn add_user(&self, u: CloudUser) {
        self.lock().users.push(u);
    }

    /// A user by objectId or userPrincipalName (case-insensitive).
    pub fn user(&self, id_or_upn: &str) -> Option<CloudUser> {
        self.lock()
            .users
            .iter()
            .find(|u| {
                u.id.eq_ignore_ascii_case(id_or_upn)
                    || u.user_principal_name.eq_ignore_ascii_case(id_or_upn)
            })
            .cloned()
    }

    pub fn users(&self) -> Vec<CloudUser> {
        self.lock().users.clone()
    }

    /// Register a device (or replace one with the same objectId); returns the change number.
    pub fn put_device(&self, d: CloudDevice) -> u64 {
        self.lock().devices.put(d)
    }

    /// Change a device in place; `false` when there is no such device.
    pub fn update_device(&self, id_or_name: &str, f: impl FnOnce(&mut CloudDevice)) -> bool {
        let Some(mut d) = self.device(id_or_name) else {
            return false;
        };
        f(&mut d);
        self.put_device(d);
        true
    }

    /// Hard-delete a device; `false` when there is no such device.
    pub fn delete_device(&self, id_or_name: &str) -> bool {
        self.lock().devices.delete(id_or_name).is_some()
    }

    /// A device by objectId, deviceId or display name.
    pub fn device(&self, id_or_name: &str) -> Option<CloudDevice> {
        self.lock().devices.get(id_or_name).cloned()
    }

    pub fn devices(&self) -> Vec<CloudDevice> {
        self.lock().devices.all().to_vec()
    }

    /// One page of devices (in registration order) and how many there are in all, without
    /// copying the rest: a first delta round over 100,000 devices asks for 1,000 pages.
    pub fn devices_page(&self, offset: usize, limit: usize) -> (Vec<CloudDevice>, usize) {
        self.lock().devices.page(offset, limit)
    }

    /// The newest device change number: what a `$deltatoken=latest` round starts from.
    pub fn device_seq(&self) -> u64 {
        self.lock().devices.seq()
    }

    /// Every device changed after change `since` up to `until`, once each, in the order of
    /// its last change, with its state now.
    pub fn device_changes(&self, since: u64, until: u64) -> Vec<DeviceDelta> {
        self.lock().devices.changes(since, until)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings() -> TenantSettings {
        TenantSettings {
            domain: "gntech.me".into(),
            license: License::P1,
            exchange_hybrid: false,
            sspr_enabled: SsprEnabled::All,
            sspr_writeback: true,
            sspr_selected_group: None,
            unlock_option: false,
            group_writeback_default: false,
            writeback_onboarded: true,
        }
    }

    fn device(id: &str) -> CloudDevice {
        CloudDevice {
            id: id.into(),
            device_id: format!("dev-{id}"),
            display_name: format!("PC-{id}"),
            operating_system: "Windows".into(),
            operating_system_version: "10.0.22631".into(),
            trust_type: "ServerAd".into(),
            account_enabled: true,
            alternative_security_ids: vec![],
            registered_owners: vec![],
            is_compliant: true,
            is_managed: true,
            physical_ids: vec![],
            registration_date_time: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[test]
    fn device_changes_come_once_each_with_their_latest_state() {
        let t = Tenant::new(settings());
        t.put_device(device("a"));
        t.put_device(device("b"));
        let mark = t.device_seq();
        assert!(t.update_device("PC-a", |d| d.account_enabled = false));
        t.put_device(device("c"));
        assert!(t.delete_device("dev-b"));
        assert!(t.update_device("a", |d| d.display_name = "PC-a2".into()));
        let changes = t.device_changes(mark, t.device_seq());
        assert_eq!(changes.len(), 3);
        assert!(matches!(&changes[0], DeviceDelta::Present(d) if d.id == "c"));
        assert_eq!(changes[1], DeviceDelta::Removed("b".into()));
        assert!(
            matches!(&changes[2], DeviceDelta::Present(d) if d.display_name == "PC-a2" && !d.account_enabled)
        );
        assert!(t.device_changes(t.device_seq(), t.device_seq()).is_empty());
        assert!(!t.delete_device("nope"));
    }
}
