//! The writeback engine: what Entra Connect does for writeback, as production code that
//! speaks only protocols — WebSocket (Azure Relay Hybrid Connections) outbound to the relay,
//! LDAP/LDAPS to a domain controller. It never imports the fakes; pointed at a real DC it
//! works unchanged.
//!
//! - [`config`]: the wizard's choices and the endpoints.
//! - [`relay_listener`]: the outbound control channel, with reconnect and token renewal.
//! - [`password`]: PasswordSet / PasswordChange exports and their outcomes.
//! - [`ad`]: the AD DS connector (ldap3 client, connector account, policy hints).
//! - [`history`]: run history and the PasswordResetService event log.
//!
//! Still to come: device and group writeback, sync cycles (issues 5 and 6).

pub mod ad;
pub mod config;
pub mod devices;
pub mod graph_client;
pub mod groups;
pub mod history;
pub mod password;
pub mod relay_listener;
pub mod sync_cycle;

use crate::clock::Clock;
pub use config::EngineConfig;
pub use history::History;
use relay_listener::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
pub use sync_cycle::{ConnectorSpace, CycleKind, CycleSummary};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A running engine (the ADSync service with password writeback on).
pub struct Engine {
    shared: Arc<Shared>,
    cs: ConnectorSpace,
    renew: mpsc::UnboundedSender<()>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Start the service. `history` and the connector space outlive restarts: pass the
    /// previous ones back in.
    pub fn start(
        cfg: EngineConfig,
        clock: Arc<dyn Clock>,
        history: History,
        cs: ConnectorSpace,
    ) -> Self {
        let listen = cfg.password_writeback;
        let shared = Arc::new(Shared {
            cfg,
            clock,
            history,
            connected: Default::default(),
        });
        let (renew, renew_rx) = mpsc::unbounded_channel();
        let shutdown = CancellationToken::new();
        let task = listen.then(|| {
            tokio::spawn(relay_listener::run(
                shared.clone(),
                renew_rx,
                shutdown.clone(),
            ))
        });
        if cs.next_due().is_none() {
            let interval = chrono::Duration::from_std(shared.cfg.sync_interval)
                .unwrap_or(chrono::Duration::minutes(30));
            cs.set_next_due(Some(shared.clock.now() + interval));
        }
        Self {
            shared,
            cs,
            renew,
            shutdown,
            task,
        }
    }

    pub fn history(&self) -> &History {
        &self.shared.history
    }

    /// Is the relay control channel open?
    pub fn connected(&self) -> bool {
        self.shared.connected.load(Ordering::SeqCst)
    }

    /// Wait (real time, at most `limit`) until the control channel is open.
    pub async fn wait_connected(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.connected() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        true
    }

    /// Run a sync cycle now (`Start-ADSyncSyncCycle -PolicyType Initial | Delta`).
    pub async fn sync(&self, kind: CycleKind) -> CycleSummary {
        let s = &self.shared;
        let summary = sync_cycle::run(&s.cfg, &s.clock, &s.history, &self.cs, kind).await;
        self.cs.set_next_due(Some(
            s.clock.now()
                + chrono::Duration::from_std(s.cfg.sync_interval)
                    .unwrap_or(chrono::Duration::minutes(30)),
        ));
        summary
    }

    /// The scheduler: run a delta cycle if one has fallen due (one, however many intervals
    /// passed, as ADSync's scheduler does after a pause). Returns whether one ran.
    pub async fn run_due_cycle(&self) -> Option<CycleSummary> {
        let now = self.shared.clock.now();
        match self.cs.next_due() {
            Some(due) if now >= due => Some(self.sync(CycleKind::Delta).await),
            None => {
                let first = now
                    + chrono::Duration::from_std(self.shared.cfg.sync_interval)
                        .unwrap_or(chrono::Duration::minutes(30));
                self.cs.set_next_due(Some(first));
                None
            }
            _ => None,
        }
    }

    /// Does the tenant hold Entra ID P1 or P2 (`GET /v1.0/subscribedSkus`)? The wizard
    /// offers writeback only then. `Err` when Graph cannot say.
    pub async fn tenant_has_premium(&self) -> Result<bool, graph_client::GraphFailure> {
        let cfg = &self.shared.cfg;
        let (Some(url), Some(token)) = (&cfg.graph_url, &cfg.graph_token) else {
            return Ok(false);
        };
        let g = graph_client::GraphClient::new(url, token, self.shared.clock.clone());
        let skus = g.get("/v1.0/subscribedSkus").await?.body;
        Ok(skus["value"].as_array().is_some_and(|v| {
            v.iter().any(|s| {
                s["skuPartNumber"]
                    .as_str()
                    .is_some_and(|p| p.starts_with("AAD_PREMIUM"))
            })
        }))
    }

    pub fn connector_space(&self) -> &ConnectorSpace {
        &self.cs
    }

    pub fn config(&self) -> &EngineConfig {
        &self.shared.cfg
    }

    /// Send a fresh relay token now (the service does this before the old one expires).
    pub fn renew_token(&self) {
        let _ = self.renew.send(());
    }

    /// Stop the service and wait for it.
    pub async fn stop(mut self) {
        self.shutdown.cancel();
        if let Some(t) = self.task.take() {
            let _ = t.await;
        }
    }
}
