//! Tenant state: settings, and the objects (`objects`) behind one mutex, never held
//! across an await.

mod objects;

pub use objects::*;

use super::change_log::ChangeLog;
use serde::{Deserialize, Serialize};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum License {
    None,
    P1,
    P2,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SsprEnabled {
    None,
    Selected,
    All,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TenantSettings {
    pub domain: String,
    pub license: License,
    pub sspr_enabled: SsprEnabled,
    /// "Write back passwords to your on-premises directory".
    pub sspr_writeback: bool,
    /// The group SSPR is enabled for, with `Selected`.
    pub sspr_selected_group: Option<String>,
    /// "Allow users to unlock accounts without resetting their password": a reset unlocks
    /// either way (the default); this only adds unlock-only.
    pub unlock_option: bool,
    /// "Write back Microsoft 365 groups to on-premises": whether new Microsoft 365 groups
    /// are written back unless they say otherwise.
    pub group_writeback_default: bool,
}

/// A lab tenant as the scenario format's defaults describe it: gntech.me, P1, SSPR for
/// all with password writeback.
impl Default for TenantSettings {
    fn default() -> Self {
        Self {
            domain: "gntech.me".into(),
            license: License::P1,
            sspr_enabled: SsprEnabled::All,
            sspr_writeback: true,
            sspr_selected_group: None,
            unlock_option: false,
            group_writeback_default: false,
        }
    }
}

/// What Entra Connect told the tenant it does (`onPremisesSynchronization.features` in
/// Graph): the wizard sets these when it enables or disables a feature.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncFeatures {
    /// Password writeback is onboarded: the cloud may send password operations.
    pub password_writeback: bool,
    pub device_writeback: bool,
    /// Group writeback v2 (`groupWriteBackEnabled`).
    pub group_writeback: bool,
    /// Group writeback v1 (`unifiedGroupWritebackEnabled`).
    pub unified_group_writeback: bool,
    pub user_force_password_change_on_logon: bool,
}

/// Everything the tenant holds; what a lab keeps between runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct State {
    settings: TenantSettings,
    sync_features: SyncFeatures,
    users: Vec<CloudUser>,
    #[serde(default)]
    apps: Vec<AppRegistration>,
    devices: ChangeLog<CloudDevice>,
    groups: ChangeLog<CloudGroup>,
    /// (change number, group objectId, member objectId, added) — for `members@delta`.
    membership_log: Vec<(u64, String, String, bool)>,
    /// The public key the on-premises agent onboarded with password writeback (SPKI DER,
    /// base64): what the password services seal each request for.
    #[serde(default)]
    writeback_key: Option<String>,
}

/// A handle on the tenant; cheap to clone.
#[derive(Debug, Clone)]
pub struct Tenant {
    inner: Arc<Mutex<State>>,
    /// Moves with every change, for a saver.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl Tenant {
    pub fn new(settings: TenantSettings) -> Self {
        Self {
            generation: Arc::default(),
            inner: Arc::new(Mutex::new(State {
                settings,
                sync_features: SyncFeatures::default(),
                users: Vec::new(),
                apps: Vec::new(),
                devices: ChangeLog::default(),
                groups: ChangeLog::default(),
                membership_log: Vec::new(),
                writeback_key: None,
            })),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, to change it.
    fn lock_mut(&self) -> std::sync::MutexGuard<'_, State> {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.lock()
    }

    /// A number that moves with every change.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn settings(&self) -> TenantSettings {
        self.lock().settings.clone()
    }

    pub fn update(&self, f: impl FnOnce(&mut TenantSettings)) {
        f(&mut self.lock_mut().settings);
    }

    /// The tenant's id (`organization.id`, the onPremisesSynchronization object's id): a
    /// GUID derived from the domain, so the same domain has the same id on every run.
    pub fn id(&self) -> String {
        use sha2::Digest;
        let domain = self.lock().settings.domain.to_ascii_lowercase();
        let hash = sha2::Sha256::digest(domain.as_bytes());
        let mut b = [0u8; 16];
        b.copy_from_slice(&hash[..16]);
        uuid::Builder::from_random_bytes(b)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// The whole state, to keep (a lab saves it).
    pub fn snapshot(&self) -> State {
        self.lock().clone()
    }

    /// A tenant as `state` left it.
    pub fn restore(state: State) -> Self {
        Self {
            inner: Arc::new(Mutex::new(state)),
            generation: Arc::default(),
        }
    }

    /// Register an app (or replace the one with its client id).
    pub fn put_app(&self, app: AppRegistration) {
        let mut st = self.lock_mut();
        st.apps.retain(|a| a.client_id != app.client_id);
        st.apps.push(app);
    }

    /// An app by its client id.
    pub fn app(&self, client_id: &str) -> Option<AppRegistration> {
        self.lock()
            .apps
            .iter()
            .find(|a| a.client_id.eq_ignore_ascii_case(client_id))
            .cloned()
    }

    /// Change a user in place; `false` when there is no such user.
    pub fn update_user(&self, id_or_upn: &str, f: impl FnOnce(&mut CloudUser)) -> bool {
        let mut st = self.lock_mut();
        match st.users.iter_mut().find(|u| {
            u.id.eq_ignore_ascii_case(id_or_upn)
                || u.user_principal_name.eq_ignore_ascii_case(id_or_upn)
        }) {
            Some(u) => {
                f(u);
                true
            }
            None => false,
        }
    }

    /// What Entra Connect has onboarded.
    pub fn sync_features(&self) -> SyncFeatures {
        self.lock().sync_features
    }

    pub fn set_sync_features(&self, f: impl FnOnce(&mut SyncFeatures)) {
        f(&mut self.lock_mut().sync_features);
    }

    /// The agent's onboarded public key (SPKI DER, base64), if password writeback was
    /// onboarded with one.
    pub fn writeback_key(&self) -> Option<String> {
        self.lock().writeback_key.clone()
    }

    /// The agent onboards its public key (`None`: offboards it).
    pub fn set_writeback_key(&self, key: Option<String>) {
        self.lock_mut().writeback_key = key;
    }

    pub fn add_user(&self, u: CloudUser) {
        self.lock_mut().users.push(u);
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

    /// Create or replace a group; membership changes are logged for `members@delta`.
    /// Create or replace a group; returns the change number. A new Microsoft 365 group
    /// without its own writeback setting takes the tenant's "Write back Microsoft 365
    /// groups to on-premises" default (`NewUnifiedGroupWritebackDefault`); a replaced
    /// group without one keeps the setting it had.
    pub fn put_group(&self, mut g: CloudGroup) -> u64 {
        let mut st = self.lock_mut();
        let existing = st.groups.get(&g.id).cloned();
        if g.writeback.is_enabled.is_none() {
            g.writeback.is_enabled = match &existing {
                Some(o) => o.writeback.is_enabled,
                None if g.is_unified() => Some(st.settings.group_writeback_default),
                None => None,
            };
        }
        let before: Vec<String> = existing.map(|o| o.members).unwrap_or_default();
        let added: Vec<String> = g
            .members
            .iter()
            .filter(|m| !before.contains(m))
            .cloned()
            .collect();
        let removed: Vec<String> = before
            .iter()
            .filter(|m| !g.members.contains(m))
            .cloned()
            .collect();
        let id = g.id.clone();
        let seq = st.groups.put(g);
        for m in added {
            st.membership_log.push((seq, id.clone(), m, true));
        }
        for m in removed {
            st.membership_log.push((seq, id.clone(), m, false));
        }
        seq
    }

    /// Change a group in place; `false` when there is no such group.
    pub fn update_group(&self, id_or_name: &str, f: impl FnOnce(&mut CloudGroup)) -> bool {
        let Some(mut g) = self.group(id_or_name) else {
            return false;
        };
        f(&mut g);
        self.put_group(g);
        true
    }

    pub fn delete_group(&self, id_or_name: &str) -> bool {
        self.lock_mut().groups.delete(id_or_name).is_some()
    }

    pub fn group(&self, id_or_name: &str) -> Option<CloudGroup> {
        self.lock().groups.get(id_or_name).cloned()
    }

    /// The group with this objectId (not its name), as Graph's `/groups/{id}` finds it.
    pub fn group_by_id(&self, id: &str) -> Option<CloudGroup> {
        self.lock().groups.by_id(id).cloned()
    }

    pub fn groups(&self) -> Vec<CloudGroup> {
        self.lock().groups.all().to_vec()
    }

    pub fn groups_page(&self, offset: usize, limit: usize) -> (Vec<CloudGroup>, usize) {
        self.lock().groups.page(offset, limit)
    }

    pub fn group_seq(&self) -> u64 {
        self.lock().groups.seq()
    }

    pub fn group_changes(&self, since: u64, until: u64) -> Vec<GroupDelta> {
        self.lock().groups.changes(since, until)
    }

    /// Membership changes of `group` after change `since` up to `until`: (member, added),
    /// the last word for each member.
    pub fn membership_changes(&self, group: &str, since: u64, until: u64) -> Vec<(String, bool)> {
        let st = self.lock();
        let mut out: Vec<(String, bool)> = Vec::new();
        for (seq, g, m, added) in &st.membership_log {
            if g == group && *seq > since && *seq <= until {
                out.retain(|(x, _)| x != m);
                out.push((m.clone(), *added));
            }
        }
        out
    }

    /// Register a device (or replace one with the same objectId); returns the change number.
    pub fn put_device(&self, d: CloudDevice) -> u64 {
        self.lock_mut().devices.put(d)
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
        self.lock_mut().devices.delete(id_or_name).is_some()
    }

    /// A device by objectId, deviceId or display name.
    pub fn device(&self, id_or_name: &str) -> Option<CloudDevice> {
        self.lock().devices.get(id_or_name).cloned()
    }

    /// The device with this objectId, as Graph's `/devices/{id}` finds it.
    pub fn device_by_id(&self, id: &str) -> Option<CloudDevice> {
        self.lock().devices.by_id(id).cloned()
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
        TenantSettings::default()
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
