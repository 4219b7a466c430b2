//! What the tenant holds, object by object: users, app registrations, devices and groups,
//! as Graph shows them, and how each is found and logged for delta queries.

use crate::cloud::change_log::{Delta, Logged};
use serde::{Deserialize, Serialize};

/// The on-premises side of a synced user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OnPremises {
    /// onPremisesImmutableId: base64 of the AD account's objectGUID.
    pub immutable_id: String,
    pub distinguished_name: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudUser {
    /// The Entra objectId.
    pub id: String,
    pub user_principal_name: String,
    pub display_name: String,
    pub on_premises: Option<OnPremises>,
    pub sspr_registered: bool,
    /// Names of the cloud groups the user is in (for SSPR "selected").
    pub groups: Vec<String>,
    /// Directory roles held (`Global Administrator`, `Authentication Administrator`, …).
    #[serde(default)]
    pub roles: Vec<String>,
    /// The cloud password of a cloud-only account, hashed ([`password_hash`]); synced
    /// accounts sign in with their on-premises password.
    #[serde(default)]
    pub password_hash: Option<String>,
}

/// How the tenant keeps a cloud password or an app secret: SHA-256 over a salt and the
/// text, hex. Enough for a lab; never shown.
pub fn password_hash(salt: &str, secret: &str) -> String {
    use sha2::Digest;
    let mut h = sha2::Sha256::new();
    h.update(salt.as_bytes());
    h.update([0]);
    h.update(secret.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// An app registration with the permissions an admin consented to.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AppRegistration {
    /// The application (client) id.
    pub client_id: String,
    pub display_name: String,
    /// The client secret's hash ([`password_hash`] salted with the client id); `None`
    /// for a public client (no secret; the resource-owner password grant).
    pub secret_hash: Option<String>,
    /// Application permissions (`roles` in app-only tokens), e.g. `User.Read.All`.
    pub application_permissions: Vec<String>,
    /// Delegated permissions (`scp` in user tokens), e.g. `Directory.AccessAsUser.All`.
    pub delegated_permissions: Vec<String>,
    /// Where the sign-in page may send a code (`http://localhost` matches any port).
    #[serde(default)]
    pub redirect_uris: Vec<String>,
}

/// One entry of `alternativeSecurityIds` (the device's certificate thumbprint and key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlternativeSecurityId {
    pub kind: i32,
    /// Base64 of the key material.
    pub key: String,
}

/// A device registered in Entra ID, with the properties Graph shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

/// `writebackConfiguration` of a group (beta): whether and as what it is written back.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct WritebackConfiguration {
    /// `None`: the default (true for Microsoft 365 groups, false for security groups).
    pub is_enabled: Option<bool>,
    /// `universalDistributionGroup` | `universalSecurityGroup` |
    /// `universalMailEnabledSecurityGroup`; `None`: the default for the group's kind.
    pub on_premises_group_type: Option<String>,
}

/// The values `writebackConfiguration.onPremisesGroupType` takes.
pub const ON_PREMISES_GROUP_TYPES: [&str; 3] = [
    "universalDistributionGroup",
    "universalSecurityGroup",
    "universalMailEnabledSecurityGroup",
];

/// A cloud group, with the properties Graph shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudGroup {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    /// `["Unified"]` for a Microsoft 365 group.
    pub group_types: Vec<String>,
    pub proxy_addresses: Vec<String>,
    /// objectIds of the member users, in the order they were added.
    pub members: Vec<String>,
    pub writeback: WritebackConfiguration,
    /// Synced from on-premises AD (`onPremisesSyncEnabled`).
    pub on_premises_sync_enabled: bool,
}

/// What kind of group a new cloud group is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupFlags {
    /// A Microsoft 365 group (`groupTypes: ["Unified"]`).
    pub unified: bool,
    pub mail_enabled: bool,
    pub security_enabled: bool,
}

impl CloudGroup {
    /// A group created in the cloud: when mail-enabled, its address is the nickname at
    /// the tenant's `domain` (also its primary proxy address).
    pub fn created(
        id: String,
        display_name: String,
        mail_nickname: String,
        flags: GroupFlags,
        domain: &str,
        members: Vec<String>,
    ) -> Self {
        let mail = flags
            .mail_enabled
            .then(|| format!("{}@{domain}", mail_nickname.to_ascii_lowercase()));
        Self {
            id,
            display_name,
            description: None,
            mail_nickname,
            proxy_addresses: mail.iter().map(|m| format!("SMTP:{m}")).collect(),
            mail,
            mail_enabled: flags.mail_enabled,
            security_enabled: flags.security_enabled,
            group_types: if flags.unified {
                vec!["Unified".into()]
            } else {
                vec![]
            },
            members,
            writeback: WritebackConfiguration::default(),
            on_premises_sync_enabled: false,
        }
    }

    pub fn is_unified(&self) -> bool {
        self.group_types
            .iter()
            .any(|t| t.eq_ignore_ascii_case("Unified"))
    }

    /// Is writeback on for this group (its own setting, or the default for its kind)?
    pub fn writeback_enabled(&self) -> bool {
        self.writeback.is_enabled.unwrap_or(self.is_unified())
    }

    /// The on-premises group type it is written back as.
    pub fn on_premises_group_type(&self) -> String {
        self.writeback
            .on_premises_group_type
            .clone()
            .unwrap_or_else(|| {
                if self.is_unified() {
                    "universalDistributionGroup"
                } else {
                    "universalSecurityGroup"
                }
                .to_string()
            })
    }
}

impl Logged for CloudGroup {
    fn id(&self) -> &str {
        &self.id
    }

    /// Groups are also known by their display name.
    fn aliases(&self) -> Vec<&str> {
        vec![&self.display_name]
    }
}

/// What a group delta query returns for one group.
pub type GroupDelta = Delta<CloudGroup>;

/// What a device delta query returns for one device.
pub type DeviceDelta = Delta<CloudDevice>;

impl Logged for CloudDevice {
    fn id(&self) -> &str {
        &self.id
    }

    /// Devices are also known by their deviceId and display name.
    fn aliases(&self) -> Vec<&str> {
        vec![&self.device_id, &self.display_name]
    }
}
