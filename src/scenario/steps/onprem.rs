//! The on-premises side: the Entra Connect wizard run again, sync cycles started by hand,
//! the sync service restarting, and an admin's changes and rights in AD.

use crate::scenario::convert;
use crate::scenario::model::{AdChange, EngineSpec, GrantSpec, SyncKind};
use crate::scenario::report::StepReport;
use crate::world::{AttrChange, CycleKind, CycleSummary, ModOp, ProvisioningLog, Right, World};

pub async fn configure(world: &mut World, c: &EngineSpec, n: usize) -> StepReport {
    let r = match convert::choices(c) {
        Ok(choices) => {
            let cloud_sync = matches!(choices.cloud_sync, Some(Some(_)));
            match world.configure(choices).await {
                // Saving Cloud Sync's configuration (re)starts its job: it runs at once.
                Ok(mut detail) if cloud_sync => match world.cloud_sync().await {
                    Ok(logs) => {
                        detail.extend(cloud_sync_detail(&logs));
                        Ok(detail)
                    }
                    Err(e) => Err(e.to_string()),
                },
                r => r.map_err(|e| e.to_string()),
            }
        }
        Err(e) => Err(e),
    };
    StepReport::done(n, "configure".into(), r)
}

/// What a run of Cloud Sync's provisioning job logged, a line per row.
pub fn cloud_sync_detail(logs: &[ProvisioningLog]) -> Vec<String> {
    logs.iter()
        .map(|p| {
            let what = match (p.status.as_str(), p.action.as_str()) {
                ("Skipped", _) => "skipped".to_string(),
                ("Success", "Create") => "created".to_string(),
                ("Success", "Update") => "updated".to_string(),
                ("Success", "Delete") => "deleted".to_string(),
                (status, action) => format!("{action} {}", status.to_lowercase()),
            };
            format!("Cloud Sync: {} {what}: {}", p.object, p.detail)
        })
        .collect()
}

/// What a cycle did, as the step's detail; `Err` when its import stopped.
pub(super) fn cycle_detail(s: &CycleSummary) -> Result<Vec<String>, String> {
    if let Some(e) = &s.import_failed {
        return Err(format!("the import stopped: {e}"));
    }
    let (a, u, d) = s.imported;
    let (ea, eu, ed) = s.exported;
    let mut detail = vec![
        format!("import: {a} adds, {u} updates, {d} deletes"),
        format!("export: {ea} adds, {eu} updates, {ed} deletes"),
    ];
    if s.export_errors > 0 {
        detail.push(format!("{} export errors", s.export_errors));
    }
    // A rename or a move is an update to the counts; said as what it is.
    for (old, new) in &s.renamed {
        let parent = |dn: &str| dn.split_once(',').map(|(_, p)| p.to_ascii_lowercase());
        let verb = if parent(old) == parent(new) {
            "renamed"
        } else {
            "moved"
        };
        detail.push(format!("{verb} {old} → {new}"));
    }
    for (dn, attrs) in &s.updated {
        detail.push(format!("updated {dn}: {}", attrs.join(", ")));
    }
    detail.extend(
        s.skipped
            .iter()
            .map(|x| format!("skipped {}: {}", x.object, x.reason)),
    );
    Ok(detail)
}

pub async fn sync(world: &World, kind: SyncKind, n: usize) -> StepReport {
    let (kind, label) = match kind {
        SyncKind::Delta => (CycleKind::Delta, "sync delta"),
        SyncKind::Initial => (CycleKind::Initial, "sync initial"),
    };
    let r = world
        .sync(kind)
        .await
        .map_err(|e| e.to_string())
        .and_then(|s| {
            cycle_detail(&s).map(|mut d| {
                d.extend(features_off(world));
                d
            })
        });
    StepReport::done(n, label.into(), r)
}

/// Why a cycle wrote nothing of a kind it imported: the feature is not configured.
fn features_off(world: &World) -> Vec<String> {
    let mut out = Vec::new();
    if !world.device_writeback_configured() && world.has_devices() {
        out.push("device writeback is not configured: devices are imported, nothing is exported (Entra Connect wizard → Configure device options)".into());
    }
    let features = crate::scenario::report::features(&world.features());
    let off = |name: &str| features.get(name).is_some_and(|v| v == "Disabled");
    if off("UnifiedGroupWriteback")
        && !world.cloud_sync_configured()
        && world.has_microsoft_365_groups()
    {
        out.push("group writeback is not enabled: Microsoft 365 groups are imported, none is written to AD (Entra Connect wizard → Optional features → Group writeback)".into());
    }
    out
}

/// A cycle's detail as a `sync` step shows it, for the set-up's initial cycle; nothing
/// when it found nothing to do and nothing to say.
pub fn cycle_notes(world: &World, s: &CycleSummary) -> Vec<String> {
    let quiet = s.import_failed.is_none()
        && s.renamed.is_empty()
        && s.imported == (0, 0, 0)
        && s.exported == (0, 0, 0)
        && s.export_errors == 0
        && s.skipped.is_empty();
    let off = features_off(world);
    if quiet && off.is_empty() {
        return Vec::new();
    }
    let mut d = cycle_detail(s).unwrap_or_else(|e| vec![e]);
    d.extend(off);
    d
}

pub async fn restart_engine(world: &mut World, n: usize) -> StepReport {
    world.restart_engine().await;
    StepReport::done::<String>(n, "restart_engine".into(), Ok(vec![]))
}

pub async fn ad(world: &World, c: &AdChange, n: usize) -> StepReport {
    let (label, result) = if let Some(add) = &c.add {
        match convert::new_entry(add) {
            Ok(e) => (format!("ad add {}", e.dn), world.ad_add(e).await),
            Err(e) => return StepReport::done(n, "ad add".into(), Err(e)),
        }
    } else if let Some(m) = &c.modify {
        let mut changes = Vec::new();
        for (op, map) in [
            (ModOp::Replace, &m.replace),
            (ModOp::Add, &m.add),
            (ModOp::Delete, &m.delete),
        ] {
            for (attr, v) in map {
                changes.push(AttrChange {
                    op,
                    attr: attr.clone(),
                    values: v.texts(),
                });
            }
        }
        (
            format!("ad modify {}", m.dn),
            world.ad_modify(&m.dn, changes).await,
        )
    } else if let Some(dn) = &c.delete {
        (format!("ad delete {dn}"), world.ad_delete(dn).await)
    } else {
        return StepReport::done(n, "ad".into(), Err("`ad` needs add, modify or delete"));
    };
    StepReport::done(n, label, result.map(|()| vec![]))
}

fn grant_label(world: &World, verb: &str, g: &GrantSpec) -> String {
    let to = g.to.clone().unwrap_or_else(|| world.connector_dn());
    format!("{verb} {} on {} to {to}", g.right, g.on)
}

/// The three permission steps (dsacls /G, /D and /R).
#[derive(Debug, Clone, Copy)]
pub enum Verb {
    Grant,
    Deny,
    Revoke,
}

/// `grant`, `deny` or `revoke`; a revoke that removes nothing fails and says so.
pub async fn permission(world: &World, g: &GrantSpec, n: usize, verb: Verb) -> StepReport {
    let word = match verb {
        Verb::Grant => "grant",
        Verb::Deny => "deny",
        Verb::Revoke => "revoke",
    };
    let label = grant_label(world, word, g);
    let r = match g.right.parse::<Right>() {
        Err(e) => Err(e.to_string()),
        Ok(right) => {
            let to = g.to.as_deref();
            match verb {
                Verb::Grant => world.grant(right, &g.on, to).await.map(|()| true),
                Verb::Deny => world.deny(right, &g.on, to).await.map(|()| true),
                Verb::Revoke => world.revoke(right, &g.on, to).await,
            }
            .map_err(|e| missing_or(e, &g.on))
            .and_then(|removed| {
                if removed {
                    Ok(vec![])
                } else {
                    Err(format!(
                        "{label}: there is no such permission to remove (nothing was granted or denied there; see `grant` and `deny`)"
                    ))
                }
            })
        }
    };
    StepReport::done(n, label, r)
}

/// A refusal as the step reports it: a missing object named as such (which DN, the
/// nearest that exists), AD's own words after.
fn missing_or(e: crate::world::ad::AdRefusal, dn: &str) -> String {
    if e.code == 32 {
        format!("`{dn}` does not exist in AD: {}", e.message)
    } else {
        e.message
    }
}

/// `block_inheritance` / `restore_inheritance` on an object.
pub async fn inheritance(world: &World, on: &str, n: usize, blocked: bool) -> StepReport {
    let label = format!(
        "{} inheritance on {on}",
        if blocked { "block" } else { "restore" }
    );
    let r = world
        .set_inheritance_blocked(on, blocked)
        .await
        .map(|changed| {
            if changed {
                vec![]
            } else {
                vec![format!(
                    "inheritance was already {} there",
                    if blocked { "blocked" } else { "on" }
                )]
            }
        })
        .map_err(|e| missing_or(e, on));
    StepReport::done(n, label, r)
}
