//! One simulated world: the embedded AD (LDAPS on 127.0.0.1), the fake relay, the fake
//! tenant with its password services and Microsoft Graph, and the real engine wired to them
//! through their protocols — on one clock (virtual for scenarios, the system's for the lab)
//! and one seed. It is the only place that knows every part; `scenario` and `lab` drive it
//! through this API, in domain verbs, and never touch a fake.
//!
//! - this file: starting and stopping, the clock, the engine (the wizard, sync cycles,
//!   features, history), endpoints.
//! - `faults`: the fault switches; `state`: what a world keeps to start again (a lab's
//!   state folder).
//! - [`tenant`]: the cloud side — users, devices, groups, tenant settings.
//! - [`people`]: what people do — SSPR resets and unlocks, an admin's reset, a change, an
//!   on-premises sign-in.
//! - [`ad`]: the on-premises side as an admin and a check see it — LDIF, entries, the
//!   password policy, rights, and reading entries back.
//!
//! The vocabulary types the API takes and gives (licences, rights, features, runs) are
//! re-exported here, so a driver needs nothing but `crate::world`.

pub mod ad;
mod dc;
pub mod external;
mod faults;
mod options;
pub mod people;
mod services;
mod state;
pub mod tenant;
pub mod views;

use crate::clock::{Clock, ManualClock, OffsetClock};
use crate::cloud::graph::Graph;
use crate::cloud::identity::Identity;
use crate::cloud::{PasswordService, Tenant};
use crate::directory::server::Running;
use crate::directory::{Directory, DirectoryConfig};
use crate::engine::{Engine, EngineConfig, EngineState};
use crate::relay::Relay;
use crate::writeback_protocol::HYBRID_CONNECTION;
use chrono::{DateTime, Utc};
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

pub use crate::cloud::graph::{Caller, GraphFaults};
pub use crate::cloud::identity::SigningKey;
pub use crate::cloud::tenant::{
    password_hash as secret_hash, AppRegistration, State as TenantState,
};
pub use crate::cloud::{
    sspr_wording, AnswerOutcome, License, SsprEnabled, TenantSettings, UserAnswer,
};
pub use crate::directory::access::Right;
pub use crate::directory::modify::ModOp;
pub use crate::directory::snapshot::DirectorySnapshot;
pub use crate::engine::config::{CloudSyncScope, DeviceClass, V1Naming};
pub use crate::engine::history::{
    Event, ExportError, ExportErrorKind, HistoryMark, Level, Profile, ProvisioningLog, RunRecord,
    Skipped, Source, Status,
};
pub use crate::engine::wizard::{CloudSyncChoice, DeviceChoice, GroupChoice};
pub use crate::engine::EngineSnapshot;
pub use crate::engine::{Choices, CompanyFeatures, CycleKind, CycleSummary};
pub use crate::fault_proxy::LdapFaults;
pub use crate::relay::RelayFaults;
pub use crate::tls::CertificateAuthority;
pub use ad::{AdObject, AdRefusal, AdState, AttrChange, NewEntry, PasswordPolicy};
pub use faults::Faults;
pub use options::{ClockKind, Endpoints, Listeners, WorldOptions};
pub use services::RELAY_MANAGE_POLICY;
pub use state::{Generations, WorldState};
pub use tenant::{
    DeviceSpec, DeviceUpdate, GroupKind, GroupSpec, GroupUpdate, SsprChange, TenantChange, UserSpec,
};
pub use views::{AdAccount, CsRow, DeviceRow, GroupRow, Page, Query, UserRow};

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("directory: {0}")]
    Directory(#[from] crate::directory::forest::ProvisionError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::tls::TlsError),
    #[error("cannot listen for {what} on {addr}: {source} (is another lab or directory running? --ports auto takes free ports)")]
    Listen {
        what: &'static str,
        addr: String,
        source: std::io::Error,
    },
    #[error("user {upn}: synced_from `{dn}` is not an entry in the directory")]
    NoAnchor { upn: String, dn: String },
    #[error("{0}")]
    Ldif(#[from] crate::directory::ldif::LdifError),
    #[error("{0}")]
    Snapshot(#[from] crate::directory::snapshot::SnapshotError),
    /// The wizard refused a configuration (licence, forest, deprecated feature, AD).
    #[error("{0}")]
    Wizard(#[from] crate::engine::WizardError),
    /// The world cannot do what was asked, in the words a person would read.
    #[error("{0}")]
    Refused(String),
    #[error("the directory: {0}")]
    External(#[from] external::ExternalError),
}

/// What moving the clock did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Advanced {
    pub now: DateTime<Utc>,
    /// The scheduled delta cycle that fell due, if one did.
    pub cycle: Option<CycleSummary>,
    /// What Cloud Sync's provisioning job logged, if a scheduled run fell due.
    pub cloud_sync: Option<Vec<ProvisioningLog>>,
}

/// Business time: a virtual clock the world moves, or the system's (shifted back a month
/// while a new forest is provisioned).
#[derive(Debug, Clone)]
enum WorldClock {
    Virtual(ManualClock),
    System(OffsetClock),
}

impl WorldClock {
    fn shared(&self) -> Arc<dyn Clock> {
        match self {
            Self::Virtual(c) => Arc::new(c.clone()),
            Self::System(c) => Arc::new(c.clone()),
        }
    }
}

pub struct World {
    clock: WorldClock,
    directory: Directory,
    tenant: Tenant,
    relay: Relay,
    passwords: PasswordService,
    graph: Graph,
    identity: Identity,
    endpoints: Endpoints,
    /// Survives engine restarts.
    engine_state: EngineState,
    engine: Option<Engine>,
    /// The engine's configuration while it is stopped (the wizard may change it).
    engine_config: EngineConfig,
    exchange_hybrid: bool,
    dc: Option<Running>,
    /// The network between the world's LDAP clients and the DC (see [`crate::fault_proxy`]).
    ldap_proxy: Option<crate::fault_proxy::FaultProxy>,
    stop: CancellationToken,
    relay_task: tokio::task::JoinHandle<std::io::Result<()>>,
    web_task: tokio::task::JoinHandle<std::io::Result<()>>,
    rng: StdRng,
    /// Moves with every change the world's own verbs make (the wizard's setup).
    generation: u64,
    /// A real DC in place of the embedded AD, when the world was given one.
    external: Option<external::External>,
}

impl World {
    pub async fn start(mut opts: WorldOptions) -> Result<World, WorldError> {
        // Moved, not copied: a lab's state may hold 100,000 users.
        let restore = opts.restore.take().map(|b| *b);
        let clock = match opts.clock {
            ClockKind::Virtual => {
                // The forest is provisioned a month before the first step, so the
                // accounts' passwords are as old as in a real domain (past minPwdAge,
                // within maxPwdAge); `begin` moves the clock to the scenario's start.
                let c = ManualClock::scenario_start();
                c.advance(-chrono::Duration::days(30));
                WorldClock::Virtual(c)
            }
            // A restored forest was provisioned long ago already.
            ClockKind::System if restore.is_some() => WorldClock::System(OffsetClock::default()),
            ClockKind::System => WorldClock::System(OffsetClock::new(-chrono::Duration::days(30))),
        };
        let shared_clock = clock.shared();
        let mut rng = match opts.clock {
            ClockKind::Virtual => StdRng::seed_from_u64(opts.seed ^ 0x005e_ed0f_3077),
            ClockKind::System => StdRng::from_entropy(),
        };
        let mut dir_cfg = DirectoryConfig {
            forest: opts.forest.clone(),
            connector_dn: opts.connector_dn.clone(),
            seed: opts.seed,
            ..DirectoryConfig::default()
        };
        // An organisation with Exchange hybrid has prepared its forest for Exchange.
        let exchange_schema = opts.exchange_schema.unwrap_or(opts.exchange_hybrid)
            || restore.as_ref().is_some_and(|r| r.exchange_hybrid);
        dir_cfg.exchange_schema = exchange_schema;
        if opts.clock == ClockKind::Virtual {
            // No tokio timers racing socket I/O in a scenario (tokio-rs/tokio#4522).
            dir_cfg.idle_timeout = None;
            dir_cfg.handshake_timeout = None;
        }
        let (directory, tenant, saved_engine) = match restore {
            Some(WorldState {
                directory,
                tenant,
                engine,
                exchange_hybrid,
            }) => (
                Directory::restore(dir_cfg, shared_clock.clone(), directory)?,
                Some(tenant),
                Some((engine, exchange_hybrid)),
            ),
            None => (Directory::new(dir_cfg, shared_clock.clone())?, None, None),
        };
        let (external, access) = match &opts.directory {
            Some(target) => {
                // The DC's own made-up names come from an RNG of their own, so that the
                // tenant's objectIds are the same as in the same world on the embedded AD
                // (`run --compare` lines them up).
                let mut dc_rng = match opts.clock {
                    ClockKind::Virtual => StdRng::seed_from_u64(opts.seed ^ 0x0dc0_ffee),
                    ClockKind::System => StdRng::from_entropy(),
                };
                let (dc, access) = external::open(target, &opts.forest, &mut dc_rng).await?;
                {
                    let mut session = dc.dc.lock().await;
                    session.prepare_2016_schema(target.prepare_schema).await?;
                    if exchange_schema {
                        session
                            .prepare_exchange_schema(target.prepare_schema)
                            .await?;
                    }
                }
                (Some(dc), Some(access))
            }
            None => (None, None),
        };
        let stop = CancellationToken::new();
        let s = services::start(
            &opts,
            directory,
            tenant,
            shared_clock,
            &mut rng,
            &stop,
            access.as_ref(),
        )
        .await?;
        let (engine_state, engine_config, exchange_hybrid) = match saved_engine {
            Some((engine, exchange_hybrid)) => {
                let setup = engine.setup.clone();
                (
                    EngineState::restore(engine),
                    s.engine_config.with_setup(setup),
                    exchange_hybrid,
                )
            }
            None => (
                EngineState::default(),
                s.engine_config,
                opts.exchange_hybrid,
            ),
        };
        Ok(World {
            clock,
            directory: s.directory,
            tenant: s.tenant,
            relay: s.relay,
            passwords: s.passwords,
            graph: s.graph,
            identity: s.identity,
            endpoints: s.endpoints,
            engine_state,
            engine: None,
            engine_config,
            exchange_hybrid,
            dc: Some(s.dc),
            ldap_proxy: s.ldap_proxy,
            stop,
            relay_task: s.relay_task,
            web_task: s.web_task,
            rng,
            generation: 0,
            external,
        })
    }

    /// A new Entra objectId from the world's seed.
    fn object_id(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// Business time now.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.shared().now()
    }

    /// Setup is over: a virtual clock moves to the scenario's start (2026-01-05 09:00 UTC),
    /// the system clock back to real time.
    pub fn begin(&self) {
        match &self.clock {
            WorldClock::Virtual(c) => c.set(ManualClock::scenario_start().now_utc()),
            WorldClock::System(c) => c.set_offset(chrono::Duration::zero()),
        }
    }

    /// When the engine's scheduler runs the next delta cycle.
    pub fn next_cycle(&self) -> Option<DateTime<Utc>> {
        self.engine_state.connector_space.next_due()
    }

    /// Move business time (a virtual clock only). The engine's scheduler does what fell
    /// due meanwhile — the scheduled delta cycle (one, as ADSync's scheduler does after a
    /// pause) and the relay token's renewal — and the world waits until it has, so the
    /// next step never races it.
    pub async fn advance(&mut self, by: Duration) -> Result<Advanced, WorldError> {
        let WorldClock::Virtual(clock) = &self.clock else {
            return Err(WorldError::Refused(
                "the system clock cannot be moved; a world on a virtual clock can".into(),
            ));
        };
        let before = self
            .engine
            .as_ref()
            .map(|e| e.scheduler())
            .map(|s| (s.cycles, s.cloud_sync_runs));
        clock.advance(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX));
        let now = clock.now_utc();
        let Some(engine) = &self.engine else {
            return Ok(Advanced {
                now,
                cycle: None,
                cloud_sync: None,
            });
        };
        engine.settled(now).await;
        let status = engine.scheduler();
        let cycle = (Some(status.cycles) != before.map(|b| b.0))
            .then_some(status.last_cycle)
            .flatten();
        let cloud_sync = (Some(status.cloud_sync_runs) != before.map(|b| b.1))
            .then_some(status.last_cloud_sync)
            .flatten();
        if engine.connected() {
            // The renewal travels to the relay as a message with no answer: wait (real
            // time, bounded) until the relay holds it.
            let renewed = |expiries: &[DateTime<Utc>]| {
                !expiries.is_empty() && expiries.iter().all(|t| *t > now)
            };
            (self.relay)
                .wait_listeners(HYBRID_CONNECTION, Duration::from_secs(5), renewed)
                .await;
        }
        Ok(Advanced {
            now,
            cycle,
            cloud_sync,
        })
    }

    /// Start the engine (the ADSync service) as configured so far, and wait until it listens.
    pub async fn start_engine(&mut self) {
        if self.engine.is_none() {
            let engine = Engine::start(
                self.engine_config.clone(),
                self.clock.shared(),
                self.engine_state.clone(),
            );
            self.engine = Some(engine);
        }
        self.await_listener().await;
    }

    /// The sync service restarts; its configuration, connector space and history survive.
    pub async fn restart_engine(&mut self) {
        match self.engine.as_mut() {
            Some(e) => {
                let cfg = e.config().clone();
                e.restart(cfg).await;
            }
            None => self.start_engine().await,
        }
        self.await_listener().await;
    }

    /// Run the Entra Connect wizard (or Cloud Sync's setup) with these choices, with the
    /// Enterprise Admin credentials of the forest. A running engine restarts with the new
    /// configuration; a stopped one (during setup) starts with it later. Returns what the
    /// wizard did; a refusal changes nothing. The organisation's Exchange hybrid deployment
    /// is ticked when group writeback is configured.
    pub async fn configure(&mut self, mut choices: Choices) -> Result<Vec<String>, WorldError> {
        if matches!(choices.group_writeback_v1, Some(Some(_))) {
            choices.exchange_hybrid = Some(self.exchange_hybrid);
        }
        let admin = crate::engine::AdminCredentials {
            dn: self.admin_dn(),
            password: self.admin_password(),
        };
        self.generation += 1;
        let detail = match self.engine.as_mut() {
            Some(engine) => engine.configure(&choices, &admin).await?,
            None => {
                let (cfg, detail) = crate::engine::configure(
                    &self.engine_config,
                    &self.clock.shared(),
                    &self.engine_state,
                    &choices,
                    &admin,
                )
                .await?;
                self.engine_config = cfg;
                detail
            }
        };
        self.await_listener().await;
        Ok(detail)
    }

    /// `Start-ADSyncSyncCycle -PolicyType Delta | Initial`.
    pub async fn sync(&self, kind: CycleKind) -> Result<CycleSummary, WorldError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| WorldError::Refused("the engine is not running".into()))?;
        Ok(engine.sync(kind).await)
    }

    /// Run Cloud Sync's provisioning job now, as saving its configuration (or "Restart
    /// sync" in the admin center) does; the next scheduled run is 2 minutes later. What
    /// its provisioning logs say about this run.
    pub async fn cloud_sync(&self) -> Result<Vec<ProvisioningLog>, WorldError> {
        let engine = self
            .engine
            .as_ref()
            .ok_or_else(|| WorldError::Refused("the engine is not running".into()))?;
        if engine.config().cloud_sync.is_none() {
            return Err(WorldError::Refused(
                "Cloud Sync's group provisioning is not configured".into(),
            ));
        }
        Ok(engine.cloud_sync().await)
    }

    /// The engine's configuration, running or not.
    fn engine_config(&self) -> &EngineConfig {
        self.engine
            .as_ref()
            .map_or(&self.engine_config, |e| e.config())
    }

    /// Is device writeback configured (a sync then exports devices)?
    pub fn device_writeback_configured(&self) -> bool {
        self.engine_config().device_writeback.is_some()
    }

    /// Is Cloud Sync's group provisioning configured (groups go to AD through it)?
    pub fn cloud_sync_configured(&self) -> bool {
        self.engine_config().cloud_sync.is_some()
    }

    /// Get-ADSyncAADCompanyFeature, from the engine.
    pub fn features(&self) -> CompanyFeatures {
        self.engine_config().features()
    }

    /// How much the history holds: a mark for [`World::runs_since`] and the like.
    pub fn history_mark(&self) -> HistoryMark {
        self.engine_state.history.mark()
    }

    /// The runs (Operations tab) after `mark`.
    pub fn runs_since(&self, mark: HistoryMark) -> Vec<RunRecord> {
        let mut runs = self.engine_state.history.runs();
        runs.drain(..mark.runs.min(runs.len()));
        runs
    }

    /// The Application log's events after `mark`.
    pub fn events_since(&self, mark: HistoryMark) -> Vec<Event> {
        let mut events = self.engine_state.history.events();
        events.drain(..mark.events.min(events.len()));
        events
    }

    /// Cloud Sync's provisioning logs after `mark`.
    pub fn provisioning_logs_since(&self, mark: HistoryMark) -> Vec<ProvisioningLog> {
        let mut rows = self.engine_state.history.provisioning_logs();
        rows.drain(..mark.provisioning.min(rows.len()));
        rows
    }

    /// Every run so far.
    pub fn runs(&self) -> Vec<RunRecord> {
        self.engine_state.history.runs()
    }

    pub fn endpoints(&self) -> &Endpoints {
        &self.endpoints
    }

    /// A bearer token for Microsoft Graph of the fake tenant.
    pub fn graph_token(&self, caller: Caller) -> String {
        self.identity.issue(&caller)
    }

    /// Register an app in the tenant (or replace the one with its client id).
    pub fn register_app(&mut self, app: AppRegistration) {
        self.tenant.put_app(app);
    }

    /// The DN of the AD DS connector account.
    pub fn connector_dn(&self) -> String {
        self.engine_config.connector_dn.clone()
    }

    /// The tenant's (and the forest's) DNS domain.
    pub fn domain(&self) -> String {
        self.tenant.settings().domain
    }

    /// The AD's administrator (`CN=Administrator,CN=Users,…`) and its password.
    pub fn admin_dn(&self) -> String {
        match &self.external {
            Some(x) => x.target.admin_dn.clone(),
            None => format!("CN=Administrator,CN=Users,{}", self.domain_dn()),
        }
    }

    /// The DC's DNS name (`dc1.gntech.me`).
    pub fn dc_host(&self) -> String {
        self.directory.domain().dc_host.clone()
    }

    /// The domain's DN (`DC=gntech,DC=me`).
    pub fn domain_dn(&self) -> String {
        self.directory.domain().dn.to_string()
    }

    pub fn admin_password(&self) -> String {
        match &self.external {
            Some(x) => x.target.admin_password.clone(),
            None => self.directory.config().admin_password.clone(),
        }
    }

    /// Before a password operation: give a dropped listener its moment to reconnect
    /// (real time, bounded), unless the relay is down or writeback is off.
    async fn await_listener(&self) {
        let Some(engine) = &self.engine else { return };
        if !engine.config().password_writeback || self.relay.faults().down {
            return;
        }
        // The engine's side opens first; the relay counts the listener once the upgraded
        // socket is running.
        if engine.wait_connected(Duration::from_secs(5)).await {
            self.relay
                .wait_listener(HYBRID_CONNECTION, Duration::from_secs(1))
                .await;
        }
    }

    /// Stop everything and wait for it.
    pub async fn shutdown(mut self) {
        if let Some(e) = self.engine.take() {
            e.stop().await;
        }
        self.stop.cancel();
        let _ = (&mut self.relay_task).await;
        let _ = (&mut self.web_task).await;
        if let Some(dc) = self.dc.take() {
            dc.shutdown().await;
        }
        // Freeing a large world (100,000 entries, the tenant, the connector space) takes
        // seconds nobody needs to wait for: its listeners are closed, nothing is left to
        // save, so another thread frees it while the caller goes on.
        std::thread::spawn(move || drop(self));
    }
}
