//! Sync cycles (`Start-ADSyncSyncCycle -PolicyType Initial | Delta`): import devices and
//! groups from Graph's delta queries into the connector space, synchronize, then export the
//! pending changes to AD ([`super::export`]), with a row per run in the history. The delta
//! position advances only after a page has been applied (a failed round resumes from the
//! last applied page: nothing lost, nothing applied twice); throttling is waited out on the
//! business clock.

use super::config::EngineConfig;
use super::connector_space::{CloudObject, ConnectorSpace, Partition, SyncState};
use super::devices::DeviceImage;
use super::export::{export_devices, export_groups, groups_need_export, GroupJob};
use super::graph_client::GraphClient;
use super::groups::GroupImage;
use super::history::{History, Level, Profile, RunRecord, Skipped, Source, Status};
use crate::clock::Clock;
use serde_json::Value;
use std::sync::Arc;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    Initial,
    Delta,
}

/// What a cycle did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CycleSummary {
    pub imported: (u32, u32, u32),
    pub exported: (u32, u32, u32),
    pub export_errors: usize,
    /// The import stopped early (Graph failed); the next cycle resumes.
    pub import_failed: Option<String>,
    /// Objects the export left alone on purpose, and why.
    pub skipped: Vec<Skipped>,
    /// Objects the export renamed or moved in AD (old DN, new DN); counted as updates.
    pub renamed: Vec<(String, String)>,
    /// Devices and groups the export updated (DN, the attributes it wrote: a device renamed in the
    /// cloud keeps its DN — its CN is the device ID — and changes displayName).
    pub updated: Vec<(String, Vec<&'static str>)>,
}

fn aad_connector(cfg: &EngineConfig) -> String {
    format!("{} - AAD", cfg.tenant_name)
}

/// The AD connector is named after the forest: the DC= parts of the container's DN.
fn ad_connector(container: &str) -> String {
    container
        .split(',')
        .filter_map(|p| {
            p.trim()
                .strip_prefix("DC=")
                .or_else(|| p.trim().strip_prefix("dc="))
        })
        .collect::<Vec<_>>()
        .join(".")
}

pub async fn run(
    cfg: &EngineConfig,
    graph: Option<&GraphClient>,
    clock: &Arc<dyn Clock>,
    history: &History,
    cs: &ConnectorSpace,
    kind: CycleKind,
    ahead: usize,
) -> CycleSummary {
    let mut summary = CycleSummary::default();
    let Some(graph) = graph else {
        return summary;
    };
    let full = kind == CycleKind::Initial || cs.delta_link().is_none();
    let start = clock.now();
    let mut imported = import::<DeviceImage>(graph, cs, full, DeviceImage::partition).await;
    if imported.error.is_none() {
        let full = full || cs.lock().groups.delta_link.is_none();
        let g = import::<GroupImage>(graph, cs, full, GroupImage::partition).await;
        imported.counts = sum(imported.counts, g.counts);
        imported.error = g.error;
    }
    let end = clock.now();
    let profile = if full {
        Profile::FullImport
    } else {
        Profile::DeltaImport
    };
    let (adds, updates, deletes) = imported.counts;
    summary.imported = imported.counts;
    let status = if imported.error.is_some() {
        Status::StoppedServerDown
    } else {
        Status::Success
    };
    history.run(RunRecord {
        connector: Some(aad_connector(cfg)),
        end,
        adds: Some(adds),
        updates: Some(updates),
        deletes: Some(deletes),
        error: imported.error.clone(),
        ..RunRecord::new(profile, status, start)
    });
    if let Some(e) = imported.error {
        history.event_from(Source::DirectorySynchronization, end, 6803, Level::Error, format!("The import from Microsoft Entra ID stopped: {e}. The next cycle resumes where it stopped."));
        summary.import_failed = Some(e);
        return summary;
    }
    let pending = {
        let st = cs.lock();
        sum(st.devices.pending(), st.groups.pending())
    };
    let profile = if full {
        Profile::FullSynchronization
    } else {
        Profile::DeltaSynchronization
    };
    history.run(RunRecord {
        connector: Some(aad_connector(cfg)),
        adds: Some(pending.0),
        updates: Some(pending.1),
        deletes: Some(pending.2),
        ..RunRecord::new(profile, Status::Success, end)
    });
    // Everything is written to the users' forest: its connector is named after the domain.
    if cfg.device_writeback.is_none() && !groups_need_export(cfg, cs) {
        super::export::settle_ignored(cfg, cs);
        return summary;
    }
    let target = cfg.connector_dn.clone();
    let start = clock.now();
    let (mut counts, mut errors, mut skipped) = ((0, 0, 0), Vec::new(), Vec::new());
    let mut renamed = Vec::new();
    if let Some(dw) = &cfg.device_writeback {
        let d = export_devices(cfg, dw, cs, ahead).await;
        counts = sum(counts, d.counts);
        errors.extend(d.errors);
        renamed.extend(d.renamed);
        summary.updated = d.updated;
    }
    {
        let g = export_groups(cfg, cs, graph, start, GroupJob::EntraConnect).await;
        counts = sum(counts, g.counts);
        errors.extend(g.errors);
        skipped.extend(g.skipped);
        renamed.extend(g.renamed);
        summary.updated.extend(g.updated);
    }
    summary.renamed = renamed;
    let end = clock.now();
    summary.exported = counts;
    summary.export_errors = errors.len();
    summary.skipped = skipped.clone();
    let status = if errors.is_empty() {
        Status::Success
    } else {
        Status::CompletedExportErrors
    };
    history.run(RunRecord {
        connector: Some(ad_connector(&target)),
        end,
        adds: Some(counts.0),
        updates: Some(counts.1),
        deletes: Some(counts.2),
        export_errors: errors,
        skipped,
        ..RunRecord::new(Profile::Export, status, start)
    });
    summary
}

fn sum(a: (u32, u32, u32), b: (u32, u32, u32)) -> (u32, u32, u32) {
    (a.0 + b.0, a.1 + b.1, a.2 + b.2)
}

pub(super) struct Imported {
    pub(super) counts: (u32, u32, u32),
    pub(super) error: Option<String>,
}

/// Read objects of kind `I` from their delta query into the partition `select` picks (a
/// full round when `full`), page by page.
pub(super) async fn import<I: CloudObject>(
    graph: &GraphClient,
    cs: &ConnectorSpace,
    full: bool,
    select: fn(&mut SyncState) -> &mut Partition<I>,
) -> Imported {
    let mut counts = (0, 0, 0);
    let mut restarted = false;
    if full {
        select(&mut cs.lock()).restart();
    }
    let mut full = full;
    loop {
        let link = {
            let mut st = cs.lock();
            let p = select(&mut st);
            p.resume_link
                .clone()
                .or_else(|| p.delta_link.clone())
                .unwrap_or_else(|| I::FIRST_LINK.into())
        };
        let fetched = match graph.get(&link).await {
            Ok(f) => f,
            Err(e)
                if (e.code == "resyncRequired" || e.code == "syncStateNotFound") && !restarted =>
            {
                // The token is gone: start over with a full round (Graph's own advice).
                restarted = true;
                full = true;
                select(&mut cs.lock()).restart();
                continue;
            }
            Err(e) => {
                return Imported {
                    counts,
                    error: Some(e.to_string()),
                }
            }
        };
        let body = fetched.body;
        // Apply the page, then move the position past it — in that order.
        let mut st = cs.lock();
        let p = select(&mut st);
        for item in body["value"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or_default()
        {
            apply_item(p, item, full, &mut counts);
        }
        if let Some(next) = body["@odata.nextLink"].as_str() {
            p.resume_link = Some(next.to_string());
            continue;
        }
        p.resume_link = None;
        p.delta_link = body["@odata.deltaLink"].as_str().map(str::to_string);
        if full {
            let mut gone = Vec::new();
            for (id, d) in p.objects.iter_mut() {
                if !d.seen && d.image.is_some() {
                    d.image = None;
                    counts.2 += 1;
                    gone.push(id.clone());
                }
            }
            gone.iter().for_each(|id| p.touch(id));
        }
        return Imported {
            counts,
            error: None,
        };
    }
}

fn apply_item<I: CloudObject>(
    p: &mut Partition<I>,
    item: &Value,
    full: bool,
    counts: &mut (u32, u32, u32),
) {
    let Some(id) = item["id"].as_str() else {
        return;
    };
    if item.get("@removed").is_some() {
        if let Some(d) = p.objects.get_mut(id) {
            if d.image.take().is_some() {
                counts.2 += 1;
            }
            p.touch(id);
        }
        return;
    }
    let previous = p.objects.get(id).and_then(|d| d.image.as_deref());
    let Some(image) = I::from_delta(item, previous, full) else {
        return;
    };
    let d = p.objects.entry(id.to_string()).or_default();
    d.seen = true;
    match &d.image {
        None => counts.0 += 1,
        Some(old) if **old != image => counts.1 += 1,
        // The same again: the one held (maybe shared with what AD holds) stays.
        Some(_) => {}
    }
    if d.image.as_deref() != Some(&image) {
        d.image = Some(std::sync::Arc::new(image));
    }
    p.touch(id);
}
