//! What the Entra Connect wizard configured: where the relay, Graph and AD are, the
//! connector's credentials, and the writeback features with their choices. The wizard
//! ([`super::wizard`]) is what changes it; everything else reads it.

use crate::writeback_protocol::AgentKey;
use serde::{Deserialize, Serialize};
use std::sync::Arc;
use std::time::Duration;

#[derive(Clone)]
pub struct EngineConfig {
    /// The relay namespace's WebSocket base, e.g. `ws://127.0.0.1:40123` or
    /// `wss://tenant-sspr.servicebus.windows.net`.
    pub relay_url: String,
    /// The namespace host the SAS token is scoped to (`tenant-sspr.servicebus.windows.net`).
    pub relay_namespace: String,
    /// Hybrid connection path the engine listens on.
    pub relay_path: String,
    /// SAS policy name and key with the Listen right.
    pub relay_key_name: String,
    pub relay_key: String,
    /// How long each relay token is valid; the scheduler renews it before it lapses.
    pub relay_token_lifetime: Duration,
    /// `ldaps://dc1.gntech.me:636` (or `ldap://…` with StartTLS).
    pub ad_url: String,
    /// Use StartTLS on an `ldap://` URL.
    pub ad_starttls: bool,
    /// Skip certificate verification (a lab DC with a self-signed certificate).
    pub ad_tls_no_verify: bool,
    /// A CA certificate (PEM) the DC's certificate is issued by; the platform's roots
    /// otherwise.
    pub ad_ca: Option<String>,
    /// The AD DS connector account (MSOL_…).
    pub connector_dn: String,
    pub connector_password: String,
    /// The optional feature "Password writeback".
    pub password_writeback: bool,
    /// The optional feature "Exchange hybrid deployment"; group writeback v1 needs it.
    pub exchange_hybrid: bool,
    /// First and largest wait between relay reconnection attempts.
    pub reconnect_backoff: (Duration, Duration),
    /// Microsoft Graph (`https://graph.microsoft.com`, or the fake's loopback URL) and how
    /// the Microsoft Entra connector signs in to it; sync cycles read devices and groups
    /// from it, the wizard reads the licences and onboards password writeback there.
    pub graph_url: Option<String>,
    pub graph_auth: Option<GraphAuth>,
    /// A CA certificate (PEM) to trust for HTTPS besides the platform's roots: a lab's.
    pub tls_ca: Option<String>,
    /// The tenant's name for the AAD connector (`gntech.onmicrosoft.com - AAD`).
    pub tenant_name: String,
    /// Device writeback, when configured.
    pub device_writeback: Option<DeviceWriteback>,
    /// Group writeback v1 (Microsoft 365 groups), when configured.
    pub group_writeback_v1: Option<GroupWritebackV1>,
    /// Cloud Sync group provisioning (cloud security groups), when configured.
    pub cloud_sync: Option<CloudSync>,
    /// How often the scheduler runs a delta cycle (30 minutes by default).
    pub sync_interval: Duration,
    /// The agent's key pair password requests are sealed for, made when password
    /// writeback is enabled (see [`crate::writeback_protocol::Sealed`]).
    pub writeback_key: Option<Arc<AgentKey>>,
    /// Take the fixture key pairs instead of generating one (scenario worlds: the same
    /// every run, and no second spent generating).
    pub fixture_keys: bool,
}

impl std::fmt::Debug for EngineConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineConfig")
            .field("relay_url", &self.relay_url)
            .field("relay_path", &self.relay_path)
            .field("relay_key_name", &self.relay_key_name)
            .field("ad_url", &self.ad_url)
            .field("connector_dn", &self.connector_dn)
            .field("password_writeback", &self.password_writeback)
            .finish_non_exhaustive()
    }
}

/// How the engine signs in to Microsoft Graph.
#[derive(Clone)]
pub enum GraphAuth {
    /// A bearer token used as it is.
    Token(String),
    /// The connector's app registration: client credentials at the tenant's token endpoint
    /// (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`), renewed before
    /// each token expires.
    ClientSecret {
        token_url: String,
        client_id: String,
        client_secret: String,
    },
}

impl std::fmt::Debug for GraphAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(_) => f.write_str("Token(..)"),
            Self::ClientSecret {
                token_url,
                client_id,
                ..
            } => f
                .debug_struct("ClientSecret")
                .field("token_url", token_url)
                .field("client_id", client_id)
                .finish_non_exhaustive(),
        }
    }
}

/// Device writeback as the wizard configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceWriteback {
    /// The container device objects go into.
    pub container: String,
    pub class: DeviceClass,
}

/// The object class device writeback writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeviceClass {
    /// `computer` (the article's view).
    Computer,
    /// `msDS-Device` (Entra Connect's).
    MsDsDevice,
}

/// Group writeback v1 as the wizard configured it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupWritebackV1 {
    /// The OU groups are written to.
    pub ou: String,
    pub naming: V1Naming,
    /// The sync rule "Out to AD – Group Writeback Member Limit" is in force (the default).
    pub member_limit: bool,
}

/// How group writeback v1 names groups in AD.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum V1Naming {
    /// `CN=Group_<objectId>` (the default).
    #[default]
    ObjectId,
    /// `CN=<displayName>_<last 12 hex of objectId>`.
    DisplayName,
}

/// Cloud Sync "Group provision to Active Directory".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CloudSync {
    /// The OU groups are created in (`parentDistinguishedName`).
    pub ou: String,
    /// Which groups; `None`: no scope configured, nothing is provisioned.
    pub scope: Option<CloudSyncScope>,
}

/// Which cloud groups Cloud Sync provisions (always within the default scope).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CloudSyncScope {
    /// Every security group in the default scope.
    AllSecurityGroups,
    /// These groups, by display name.
    Groups(Vec<String>),
}

impl std::fmt::Display for CloudSyncScope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::AllSecurityGroups => write!(f, "all security groups"),
            Self::Groups(names) => write!(f, "selected groups: {}", names.join(", ")),
        }
    }
}

/// The engine's setup as the wizard left it: the part of the configuration that outlives
/// restarts (the endpoints and keys are the installation's).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Setup {
    pub password_writeback: bool,
    pub exchange_hybrid: bool,
    pub device_writeback: Option<DeviceWriteback>,
    pub group_writeback_v1: Option<GroupWritebackV1>,
    pub cloud_sync: Option<CloudSync>,
    /// The agent's private key (PKCS#8 PEM) while password writeback is enabled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub writeback_key: Option<KeyPem>,
}

/// A private key in PKCS#8 PEM, kept with the installation's setup; never printed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct KeyPem(pub String);

impl std::fmt::Debug for KeyPem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KeyPem(..)")
    }
}

impl EngineConfig {
    /// The wizard's setup in this configuration.
    pub fn setup(&self) -> Setup {
        Setup {
            password_writeback: self.password_writeback,
            exchange_hybrid: self.exchange_hybrid,
            device_writeback: self.device_writeback.clone(),
            group_writeback_v1: self.group_writeback_v1.clone(),
            cloud_sync: self.cloud_sync.clone(),
            writeback_key: self
                .writeback_key
                .as_ref()
                .and_then(|k| k.to_pem().ok())
                .map(KeyPem),
        }
    }

    /// This configuration with the wizard's earlier setup.
    pub fn with_setup(mut self, c: Setup) -> Self {
        self.password_writeback = c.password_writeback;
        self.exchange_hybrid = c.exchange_hybrid;
        self.device_writeback = c.device_writeback;
        self.group_writeback_v1 = c.group_writeback_v1;
        self.cloud_sync = c.cloud_sync;
        // A key that no longer reads is dropped: enabling writeback again makes a new one.
        self.writeback_key = c
            .writeback_key
            .and_then(|pem| AgentKey::from_pem(&pem.0).ok())
            .map(Arc::new);
        self
    }
}

/// What `Get-ADSyncAADCompanyFeature` prints for this configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompanyFeatures {
    pub password_writeback: bool,
    pub device_writeback: bool,
    /// The forest devices are written to (`gntech.me`), empty when off.
    pub device_writeback_forest: String,
    pub unified_group_writeback: bool,
    pub group_writeback_v2: bool,
    pub force_password_change_on_logon: bool,
}

impl CompanyFeatures {
    /// The rows as the cmdlet prints them: name and `Enabled` / `Disabled` (or the forest).
    pub fn rows(&self) -> Vec<(&'static str, String)> {
        let on = |b: bool| if b { "Enabled" } else { "Disabled" }.to_string();
        vec![
            ("PasswordWriteback", on(self.password_writeback)),
            ("DeviceWriteback", on(self.device_writeback)),
            (
                "DeviceWritebackForest",
                self.device_writeback_forest.clone(),
            ),
            ("UnifiedGroupWriteback", on(self.unified_group_writeback)),
            ("GroupWritebackV2", on(self.group_writeback_v2)),
            (
                "ForcePasswordChangeOnLogOn",
                on(self.force_password_change_on_logon),
            ),
        ]
    }
}

impl EngineConfig {
    /// The features this configuration has on, as Get-ADSyncAADCompanyFeature reports them.
    pub fn features(&self) -> CompanyFeatures {
        let forest = self
            .device_writeback
            .as_ref()
            .map(|d| {
                d.container
                    .split(',')
                    .filter_map(|p| p.trim().strip_prefix("DC="))
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .unwrap_or_default();
        CompanyFeatures {
            password_writeback: self.password_writeback,
            device_writeback: self.device_writeback.is_some(),
            device_writeback_forest: forest,
            unified_group_writeback: self.group_writeback_v1.is_some(),
            group_writeback_v2: false,
            force_password_change_on_logon: false,
        }
    }
}
