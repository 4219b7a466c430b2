//! The writeback engine: what Entra Connect does for writeback, as production code that
//! speaks only protocols — WebSocket (Azure Relay Hybrid Connections) outbound to the relay,
//! LDAP/LDAPS to a domain controller, HTTPS to Microsoft Graph. It never imports the
//! fakes; pointed at a real DC it works unchanged. It runs itself: its scheduler runs the
//! delta cycles and renews the relay token on the engine's clock.
//!
//! - [`config`]: the wizard's choices and the endpoints; the feature list
//!   (Get-ADSyncAADCompanyFeature).
//! - [`wizard`]: the configuration wizard — licence gate, forest check, password
//!   writeback onboarding; [`adprep`]: the container and the connector's rights (option A).
//! - [`scheduler`]: delta cycles every 30 minutes, Cloud Sync's job every 2, token renewal.
//! - [`cloud_sync`]: Cloud Sync's group provisioning, a service of its own.
//! - [`relay_listener`]: the outbound control channel, with reconnect.
//! - [`password`]: PasswordSet / PasswordChange exports and their outcomes.
//! - [`sync_cycle`]: a cycle's import from Graph's delta queries and its runs;
//!   [`connector_space`]: what was imported and what AD holds; [`export`]: the writes to
//!   AD; [`devices`] and [`groups`] say what each cloud object becomes there.
//! - [`ad`]: the AD DS connector (ldap3 client, connector account, policy hints).
//! - [`graph_client`]: Microsoft Graph over reqwest, throttling honoured.
//! - [`history`]: run history and the Application event log, typed.

pub mod ad;
pub mod adprep;
pub mod cloud_sync;
pub mod config;
pub mod connector_space;
pub mod devices;
pub mod export;
pub mod graph_client;
pub mod groups;
pub mod history;
pub mod password;
pub mod relay_listener;
pub mod scheduler;
pub mod sync_cycle;
pub mod wizard;

use crate::clock::Clock;
pub use config::{CompanyFeatures, EngineConfig};
pub use connector_space::ConnectorSpace;
pub use history::History;
use relay_listener::Shared;
pub use scheduler::SchedulerStatus;
use std::sync::Arc;
use std::time::Duration;
pub use sync_cycle::{CycleKind, CycleSummary};
use tokio::sync::{mpsc, watch, Mutex};
use tokio_util::sync::CancellationToken;
pub use wizard::{AdminCredentials, Choices, WizardError};

/// What outlives a restart of the service: the run history and the event log, the
/// connector space and the scheduler's position.
#[derive(Debug, Clone, Default)]
pub struct EngineState {
    pub history: History,
    pub connector_space: ConnectorSpace,
    /// The machine's HTTPS connections to Graph (not kept with a lab's state).
    pub http: graph_client::HttpPool,
    /// How many adds an export sends ahead of their answers (not kept with a lab's state).
    pub export_ahead: export::ExportAhead,
}

/// The engine as data, for a lab to keep: the wizard's setup, the connector space and the
/// history.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct EngineSnapshot {
    pub setup: config::Setup,
    pub connector_space: connector_space::SyncState,
    pub history: history::Records,
}

impl EngineState {
    /// This state and `setup`, as data.
    pub fn snapshot(&self, setup: config::Setup) -> EngineSnapshot {
        EngineSnapshot {
            setup,
            connector_space: self.connector_space.snapshot(),
            history: self.history.snapshot(),
        }
    }

    /// The state a snapshot kept (its setup goes into the configuration).
    pub fn restore(s: EngineSnapshot) -> Self {
        Self {
            history: History::restore(s.history),
            connector_space: ConnectorSpace::restore(s.connector_space),
            http: graph_client::HttpPool::default(),
            export_ahead: Default::default(),
        }
    }
}

/// Run the configuration wizard (see [`wizard`]) on the configuration `current` of an
/// installed service, running or not: on success the new configuration, and the groups the
/// change concerns are judged again by the next export (the wizard's Full
/// Synchronization). Returns the configuration and what the wizard did; a refusal changes
/// nothing.
pub async fn configure(
    current: &EngineConfig,
    clock: &Arc<dyn Clock>,
    state: &EngineState,
    choices: &Choices,
    admin: &AdminCredentials,
) -> Result<(EngineConfig, Vec<String>), WizardError> {
    let done =
        wizard::configure(current, clock, &state.history, &state.http, choices, admin).await?;
    let cs = &state.connector_space;
    match &choices.group_writeback_v1 {
        Some(Some(_)) => cs.rescope_groups(),
        Some(None) => cs.retire_v1_groups(),
        None => {}
    }
    if let Some(Some(_)) = &choices.cloud_sync {
        cs.restart_cloud_sync();
    }
    Ok((done.config, done.detail))
}

/// A running engine (the ADSync service).
pub struct Engine {
    shared: Arc<Shared>,
    cs: ConnectorSpace,
    /// One sync cycle at a time.
    cycles: Arc<Mutex<()>>,
    status: watch::Receiver<SchedulerStatus>,
    shutdown: CancellationToken,
    tasks: Vec<tokio::task::JoinHandle<()>>,
    http: graph_client::HttpPool,
}

impl Engine {
    /// Start the service: the relay listener (when password writeback is on) and the
    /// scheduler. `state` outlives restarts: pass the previous one back in.
    pub fn start(cfg: EngineConfig, clock: Arc<dyn Clock>, state: EngineState) -> Self {
        let listen = cfg.password_writeback;
        let shared = Arc::new(Shared::new(
            cfg,
            clock,
            state.history,
            &state.http,
            state.export_ahead,
        ));
        let cs = state.connector_space;
        if cs.next_due().is_none() {
            cs.set_next_due(Some(shared.clock.now() + scheduler::interval(&shared)));
        }
        if shared.cfg.cloud_sync.is_some() && cs.cloud_sync_due().is_none() {
            cs.set_cloud_sync_due(Some(shared.clock.now() + cloud_sync::INTERVAL));
        }
        let (renew, renew_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let cycles = Arc::new(Mutex::new(()));
        let (status_tx, status) = watch::channel(SchedulerStatus::default());
        let mut tasks = Vec::new();
        if listen {
            tasks.push(tokio::spawn(relay_listener::run(
                shared.clone(),
                renew_rx,
                shutdown.clone(),
            )));
        }
        tasks.push(tokio::spawn(scheduler::run(
            shared.clone(),
            cs.clone(),
            cycles.clone(),
            renew,
            status_tx,
            shutdown.clone(),
        )));
        Self {
            shared,
            cs,
            cycles,
            status,
            shutdown,
            tasks,
            http: state.http,
        }
    }

    pub fn history(&self) -> &History {
        &self.shared.history
    }

    /// What a restart must carry over.
    pub fn state(&self) -> EngineState {
        EngineState {
            history: self.shared.history.clone(),
            connector_space: self.cs.clone(),
            http: self.http.clone(),
            export_ahead: self.shared.export_ahead.clone(),
        }
    }

    /// Is the relay control channel open?
    pub fn connected(&self) -> bool {
        self.shared.is_connected()
    }

    /// Wait (real time, at most `limit`) until the control channel is open.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let mut open = self.shared.connected.subscribe();
        let opened = tokio::time::timeout(limit, open.wait_for(|open| *open)).await;
        matches!(opened, Ok(Ok(_)))
    }

    /// Run a sync cycle now (`Start-ADSyncSyncCycle -PolicyType Initial | Delta`); it waits
    /// for a cycle the scheduler is running.
    pub async fn sync(&self, kind: CycleKind) -> CycleSummary {
        scheduler::cycle(&self.shared, &self.cs, &self.cycles, kind).await
    }

    /// Run Cloud Sync's provisioning job now (as when its configuration is saved); the
    /// next scheduled run is an interval later. Nothing when Cloud Sync is not configured.
    pub async fn cloud_sync(&self) -> Vec<history::ProvisioningLog> {
        scheduler::cloud_sync(&self.shared, &self.cs, &self.cycles).await
    }

    /// What the scheduler has done so far.
    pub fn scheduler(&self) -> SchedulerStatus {
        self.status.borrow().clone()
    }

    /// Wait until the scheduler has done everything due at business time `t` (a virtual
    /// clock's owner calls this after moving it). Returns at once if the scheduler stopped.
    pub async fn settled(&self, t: chrono::DateTime<chrono::Utc>) {
        let mut status = self.status.clone();
        let _ = status.wait_for(|s| s.settled_at(t)).await;
    }

    pub fn connector_space(&self) -> &ConnectorSpace {
        &self.cs
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.cfg
    }

    /// Get-ADSyncAADCompanyFeature.
    pub fn features(&self) -> CompanyFeatures {
        self.shared.cfg.features()
    }

    /// Run the configuration wizard with `choices` (see [`configure`]); on success the
    /// service restarts with the new configuration. Returns what the wizard did. A refused
    /// configuration leaves the service as it was.
    pub async fn configure(
        &mut self,
        choices: &Choices,
        admin: &AdminCredentials,
    ) -> Result<Vec<String>, WizardError> {
        let (cfg, detail) = configure(
            &self.shared.cfg,
            &self.shared.clock,
            &self.state(),
            choices,
            admin,
        )
        .await?;
        self.restart(cfg).await;
        Ok(detail)
    }

    /// Stop the service and start it again with `cfg`, keeping its state.
    pub async fn restart(&mut self, cfg: EngineConfig) {
        self.halt().await;
        *self = Engine::start(cfg, self.shared.clock.clone(), self.state());
    }

    async fn halt(&mut self) {
        self.shutdown.cancel();
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }

    /// Stop the service and wait for it.
    pub async fn stop(mut self) {
        self.halt().await;
    }
}

impl Drop for Engine {
    /// A dropped engine stops its tasks (`stop` also waits for them).
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
