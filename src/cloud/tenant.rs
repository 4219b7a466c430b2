//! Tenant state: settings and users. Behind one mutex, never held across an await.

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

#[derive(Debug)]
struct State {
    settings: TenantSettings,
    users: Vec<CloudUser>,
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
}
