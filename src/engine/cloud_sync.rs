//! Microsoft Entra Cloud Sync's group provisioning to AD, as its own service: not part of
//! Entra Connect's sync cycle and not in its connector space or run history. Its agent
//! reads the cloud's groups through Graph's delta query with its own position, provisions
//! the security groups in scope as universal security groups in the chosen OU, and says
//! what it did or skipped, and why, in its provisioning logs. The job runs when its
//! configuration is saved and then every [`INTERVAL`] on the engine's clock ("cloud
//! provisioning is scheduled to run every 2 mins", MicrosoftDocs/azure-docs
//! `reference-cloud-provisioning-faq.md`); after a pause it runs once, not once per
//! missed interval.

use super::config::EngineConfig;
use super::connector_space::ConnectorSpace;
use super::export::{export_groups, provisioned, GroupJob, JOB};
use super::graph_client::GraphClient;
use super::groups::GroupImage;
use super::history::{History, ProvisioningLog};
use super::sync_cycle::import;
use crate::clock::Clock;
use std::sync::Arc;

/// How often the provisioning job runs.
pub const INTERVAL: chrono::Duration = chrono::Duration::minutes(2);

/// Cloud Sync's job without a scope: every run, its log says so (no group is provisioned).
fn without_scope(
    cfg: &EngineConfig,
    now: chrono::DateTime<chrono::Utc>,
) -> Option<ProvisioningLog> {
    let c = cfg.cloud_sync.as_ref().filter(|c| c.scope.is_none())?;
    let reason = format!("no scope configured: no group is provisioned to {}; choose all security groups or selected groups in the Cloud Sync provisioning settings", c.ou);
    Some(provisioned(now, JOB, "Other", "Skipped", reason))
}

/// One run of the provisioning job: read the groups that changed, provision them, log
/// every decision (also kept in `history`), and schedule the next run. Nothing when Cloud
/// Sync is not configured; a Failure row when the engine has no Graph endpoint.
pub async fn run(
    cfg: &EngineConfig,
    graph: Option<&GraphClient>,
    clock: &Arc<dyn Clock>,
    history: &History,
    cs: &ConnectorSpace,
) -> Vec<ProvisioningLog> {
    let Some(_) = &cfg.cloud_sync else {
        return Vec::new();
    };
    // The next run is an interval away, whatever this one does (the scheduler must not
    // run it again at once).
    let now = clock.now();
    cs.set_cloud_sync_due(Some(now + INTERVAL));
    let logs = match graph {
        Some(graph) => provision(cfg, graph, cs, now).await,
        None => vec![provisioned(
            now,
            JOB,
            "Other",
            "Failure",
            "the agent has no Microsoft Graph endpoint to read the groups from".into(),
        )],
    };
    for row in &logs {
        history.provisioning(row.clone());
    }
    logs
}

/// The groups read and provisioned: what the run's log says.
async fn provision(
    cfg: &EngineConfig,
    graph: &GraphClient,
    cs: &ConnectorSpace,
    now: chrono::DateTime<chrono::Utc>,
) -> Vec<ProvisioningLog> {
    let mut logs: Vec<ProvisioningLog> = without_scope(cfg, now).into_iter().collect();
    let full = cs.lock().cloud_sync.delta_link.is_none();
    let imported = import::<GroupImage>(graph, cs, full, |st| &mut st.cloud_sync).await;
    match imported.error {
        Some(e) => logs.push(provisioned(
            now,
            JOB,
            "Other",
            "Failure",
            format!("reading the groups from Microsoft Entra ID failed: {e}; the next run resumes where this one stopped"),
        )),
        None => logs.extend(
            export_groups(cfg, cs, graph, now, GroupJob::CloudSync)
                .await
                .provisioning,
        ),
    }
    logs
}
