//! What the Entra Connect wizard configured: where the relay, Graph and AD are, the
//! credentials, and which writeback features are on.

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
    /// How long each relay token is valid.
    pub relay_token_lifetime: Duration,
    /// `ldaps://dc1.gntech.me:636` (or `ldap://…` with StartTLS).
    pub ad_url: String,
    /// Use StartTLS on an `ldap://` URL.
    pub ad_starttls: bool,
    /// Skip certificate verification (a lab DC with a self-signed certificate).
    pub ad_tls_no_verify: bool,
    /// The AD DS connector account (MSOL_…).
    pub connector_dn: String,
    pub connector_password: String,
    /// The optional feature "Password writeback".
    pub password_writeback: bool,
    /// First and largest wait between relay reconnection attempts.
    pub reconnect_backoff: (Duration, Duration),
    /// Microsoft Graph (`https://graph.microsoft.com`, or the fake's loopback URL) and the
    /// token of the Microsoft Entra connector; sync cycles read devices from it.
    pub graph_url: Option<String>,
    pub graph_token: Option<String>,
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
}

/// Group writeback v1 as the wizard configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupWritebackV1 {
    /// The OU groups are written to.
    pub ou: String,
    pub naming: super::groups::V1Naming,
    /// The sync rule "Out to AD – Group Writeback Member Limit" is in force (the default).
    pub member_limit: bool,
    /// The wizard's optional feature "Exchange hybrid deployment"; v1 needs it.
    pub exchange_hybrid: bool,
}

/// Device writeback as the wizard configured it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceWriteback {
    /// The container device objects go into.
    pub container: String,
    pub class: super::devices::DeviceClass,
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

/// Cloud Sync "Group provision to Active Directory".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudSync {
    /// The OU groups are created in (`parentDistinguishedName`).
    pub ou: String,
    /// Which groups; `None`: no scope configured, nothing is provisioned.
    pub scope: Option<super::groups::CloudSyncScope>,
}
