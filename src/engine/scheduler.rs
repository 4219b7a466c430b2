//! The engine's own scheduler, as ADSync's: on the engine's clock it runs a delta sync cycle
//! every `sync_interval` (30 minutes by default; one cycle however many intervals a pause
//! skipped) and renews the relay token before it expires (a quarter of its lifetime
//! before). When Cloud Sync's group provisioning is configured, it also runs that job on
//! its own schedule (every 2 minutes, [`super::cloud_sync`]). Nobody has to call it: with the system clock it sleeps in real time; with a
//! virtual clock it acts when the clock's owner moves time, and publishes when it is idle
//! again so the owner can wait for it ([`super::Engine::settled`]).

use super::connector_space::ConnectorSpace;
use super::history::ProvisioningLog;
use super::relay_listener::{Renewal, Shared};
use super::sync_cycle::{self, CycleKind, CycleSummary};
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, watch, Mutex};
use tokio_util::sync::CancellationToken;

/// What the scheduler is doing, for whoever waits on it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SchedulerStatus {
    /// The time the scheduler last looked at the clock and did what was due.
    pub observed: Option<DateTime<Utc>>,
    /// Asleep until then; `None` while it works.
    pub asleep_until: Option<DateTime<Utc>>,
    /// Scheduled cycles run so far by this engine.
    pub cycles: u64,
    /// The summary of the last scheduled cycle.
    pub last_cycle: Option<CycleSummary>,
    /// Scheduled runs of Cloud Sync's provisioning job so far.
    pub cloud_sync_runs: u64,
    /// What the last scheduled Cloud Sync run logged.
    pub last_cloud_sync: Option<Vec<ProvisioningLog>>,
}

impl SchedulerStatus {
    /// Has the scheduler done everything due at `t`: asleep, and either it looked at the
    /// clock at or after `t` or it sleeps past `t`?
    pub fn settled_at(&self, t: DateTime<Utc>) -> bool {
        match self.asleep_until {
            None => false,
            Some(wake) => self.observed.is_some_and(|o| o >= t) || wake > t,
        }
    }
}

/// One sync cycle at a time, whoever starts it (the scheduler or `Start-ADSyncSyncCycle`);
/// the next scheduled one falls due an interval after it ends.
pub async fn cycle(
    shared: &Shared,
    cs: &ConnectorSpace,
    lock: &Mutex<()>,
    kind: CycleKind,
) -> CycleSummary {
    let _one_at_a_time = lock.lock().await;
    let summary = sync_cycle::run(
        &shared.cfg,
        shared.graph.as_ref(),
        &shared.clock,
        &shared.history,
        cs,
        kind,
        shared.export_ahead.get(),
    )
    .await;
    cs.set_next_due(Some(shared.clock.now() + interval(shared)));
    summary
}

/// One run of Cloud Sync's provisioning job, taking its turn with the sync cycles (both
/// write to AD: one after the other, in the same order every time).
pub async fn cloud_sync(
    shared: &Shared,
    cs: &ConnectorSpace,
    lock: &Mutex<()>,
) -> Vec<ProvisioningLog> {
    let _one_at_a_time = lock.lock().await;
    super::cloud_sync::run(
        &shared.cfg,
        shared.graph.as_ref(),
        &shared.clock,
        &shared.history,
        cs,
    )
    .await
}

/// When Cloud Sync's job runs next, if it is configured.
fn cloud_sync_due(shared: &Shared, cs: &ConnectorSpace) -> Option<DateTime<Utc>> {
    shared.cfg.cloud_sync.as_ref().and(cs.cloud_sync_due())
}

pub fn interval(shared: &Shared) -> chrono::Duration {
    chrono::Duration::from_std(shared.cfg.sync_interval).unwrap_or(chrono::Duration::minutes(30))
}

/// When the relay token should be renewed: a quarter of its lifetime before it expires.
fn renewal_due(shared: &Shared) -> Option<DateTime<Utc>> {
    if !shared.is_connected() {
        return None;
    }
    let margin = chrono::Duration::from_std(shared.cfg.relay_token_lifetime / 4)
        .unwrap_or(chrono::Duration::minutes(15));
    shared.token_expires().map(|t| t - margin)
}

/// The scheduler's task, until `shutdown`.
pub async fn run(
    shared: Arc<Shared>,
    cs: ConnectorSpace,
    lock: Arc<Mutex<()>>,
    renew: mpsc::UnboundedSender<Renewal>,
    status: watch::Sender<SchedulerStatus>,
    shutdown: CancellationToken,
) {
    loop {
        let now = shared.clock.now();
        status.send_modify(|s| s.asleep_until = None);
        if cs.next_due().is_some_and(|due| now >= due) {
            let summary = cycle(&shared, &cs, &lock, CycleKind::Delta).await;
            status.send_modify(|s| {
                s.cycles += 1;
                s.last_cycle = Some(summary);
            });
        }
        if cloud_sync_due(&shared, &cs).is_some_and(|due| now >= due) {
            let logs = cloud_sync(&shared, &cs, &lock).await;
            status.send_modify(|s| {
                s.cloud_sync_runs += 1;
                s.last_cloud_sync = Some(logs);
            });
        }
        if renewal_due(&shared).is_some_and(|at| now >= at) {
            let (done, renewed) = oneshot::channel();
            if renew.send(done).is_ok() {
                tokio::select! {
                    _ = shutdown.cancelled() => break,
                    // An error: the channel closed first; the next connection has a new token.
                    _ = renewed => {}
                }
            }
        }
        let wake = [
            cs.next_due(),
            renewal_due(&shared),
            cloud_sync_due(&shared, &cs),
        ]
        .into_iter()
        .flatten()
        .min()
        .unwrap_or(now + interval(&shared));
        status.send_modify(|s| {
            s.observed = Some(now);
            s.asleep_until = Some(wake);
        });
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = shared.poke.notified() => {}
            _ = shared.clock.sleep_until(wake) => {}
        }
    }
}
