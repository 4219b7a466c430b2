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
pub mod history;
pub mod password;
pub mod relay_listener;

use crate::clock::Clock;
pub use config::EngineConfig;
pub use history::History;
use relay_listener::Shared;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// A running engine (the ADSync service with password writeback on).
pub struct Engine {
    shared: Arc<Shared>,
    renew: mpsc::UnboundedSender<()>,
    shutdown: CancellationToken,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Engine {
    /// Start the service. `history` outlives restarts: pass the previous one back in.
    pub fn start(cfg: EngineConfig, clock: Arc<dyn Clock>, history: History) -> Self {
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
        Self {
            shared,
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
