//! What a world is made of and where it listens: its options (seed, clock, forest, tenant,
//! listeners, keys, a saved state or a real DC to use) and the endpoints clients reach.

use super::{external, SigningKey, TenantSettings, WorldState};
use std::net::SocketAddr;
use std::time::Duration;

/// Which clock business time runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ClockKind {
    /// A virtual clock that moves only with [`World::advance`] (scenarios): it starts a
    /// month before 2026-01-05 09:00 UTC, and [`World::begin`] moves it there.
    #[default]
    Virtual,
    /// The system clock (the lab): the engine's scheduler runs in real time.
    System,
}

/// What a world is made of.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    /// Seeds every GUID, SID, key and objectId, so the same options give the same world.
    pub seed: u64,
    pub clock: ClockKind,
    /// DNS name of the forest (`gntech.me` → `DC=gntech,DC=me`).
    pub forest: String,
    /// DN of the AD DS connector account; `CN=MSOL_<12 hex>,CN=Users,…` when `None`.
    pub connector_dn: Option<String>,
    pub tenant: TenantSettings,
    /// The organisation runs an Exchange hybrid deployment: the admin ticks "Exchange
    /// hybrid deployment" whenever the wizard configures group writeback.
    pub exchange_hybrid: bool,
    /// The forest's schema is prepared for Exchange (mailNickname, …); `None`: as
    /// `exchange_hybrid`. On a real DC that lacks it, the schema is extended when the
    /// target allows it ([`external::DirectoryTarget::prepare_schema`]).
    pub exchange_schema: Option<bool>,
    /// How often the engine's scheduler runs a delta cycle.
    pub sync_interval: Duration,
    /// Where the services listen (loopback, free ports, by default).
    pub listen: Listeners,
    /// A certificate authority of our own: LDAPS and the web listener get certificates it
    /// issues, and the web listener (Graph and the identity platform) speaks HTTPS. Without
    /// one, LDAPS is self-signed and the web listener plain HTTP.
    pub tls: Option<crate::tls::CertificateAuthority>,
    /// The identity platform's signing key (the fixture key when `None`).
    pub signing_key: Option<SigningKey>,
    /// The agent generates its password-writeback key pair when writeback is enabled (a
    /// lab); otherwise it takes the fixture pairs (the same every run, nothing to wait for).
    pub generate_writeback_keys: bool,
    /// Hybrid connections the relay serves besides the password writeback one.
    pub relay_paths: Vec<String>,
    /// Start from this saved state instead of provisioning a new forest and tenant.
    pub restore: Option<Box<WorldState>>,
    /// A real DC to use instead of the embedded AD: provisioned over LDAP as its
    /// administrator and left as it was found ([`World::restore_directory`]).
    pub directory: Option<external::DirectoryTarget>,
}

/// The addresses the services listen on (port 0: any free port).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listeners {
    /// Plain LDAP (with StartTLS), when wanted.
    pub ldap: Option<SocketAddr>,
    pub ldaps: SocketAddr,
    /// Microsoft Graph and the identity platform.
    pub web: SocketAddr,
    pub relay: SocketAddr,
}

impl Default for Listeners {
    fn default() -> Self {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        Self {
            ldap: None,
            ldaps: any,
            web: any,
            relay: any,
        }
    }
}

impl Default for WorldOptions {
    fn default() -> Self {
        Self {
            seed: 0,
            clock: ClockKind::Virtual,
            forest: "gntech.me".into(),
            connector_dn: None,
            tenant: TenantSettings::default(),
            exchange_hybrid: false,
            exchange_schema: None,
            sync_interval: Duration::from_secs(30 * 60),
            listen: Listeners::default(),
            tls: None,
            signing_key: None,
            generate_writeback_keys: false,
            relay_paths: Vec::new(),
            restore: None,
            directory: None,
        }
    }
}

/// Where the world's services listen, and what a client needs to reach them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoints {
    /// `ldap://127.0.0.1:PORT`, when plain LDAP was asked for.
    pub ldap: Option<String>,
    /// `ldaps://127.0.0.1:PORT` of the embedded AD.
    pub ldaps: String,
    /// `http(s)://127.0.0.1:PORT`: Microsoft Graph of the fake tenant (`/v1.0/...`) and the
    /// identity platform.
    pub graph: String,
    /// `ws://127.0.0.1:PORT`: the relay namespace.
    pub relay: String,
    /// The namespace's name (`gntech-sspr.servicebus.windows.net`), which SAS tokens name.
    pub relay_namespace: String,
    /// The key of the relay's Manage policy ([`RELAY_MANAGE_POLICY`]).
    pub relay_manage_key: String,
    /// `https://127.0.0.1:PORT/{tenant id}`: the authority clients sign in at.
    pub authority: String,
    pub token_url: String,
    pub tenant_id: String,
}
