//! The on-premises side: the Entra Connect wizard run again, sync cycles started by hand,
//! the sync service restarting, and an admin's changes and rights in AD.

use crate::scenario::convert;
use crate::scenario::model::{AdChange, EngineSpec, GrantSpec, SyncKind};
use crate::scenario::report::StepReport;
use crate::world::{AttrChange, CycleKind, CycleSummary, ModOp, Right, World};

pub async fn configure(world: &mut World, c: &EngineSpec, n: usize) -> StepReport {
    let r = match convert::choices(c) {
        Ok(choices) => world.configure(choices).await.map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    StepReport::done(n, "configure".into(), r)
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
    detail.extend(
        s.skipped
            .iter()
            .map(|x| format!("skipped {}: {}", x.object, x.reason)),
    );
    // Cloud Sync is a service of its own: what its provisioning logs say.
    detail.extend(s.provisioning.iter().map(|p| {
        let what = match (p.status.as_str(), p.action.as_str()) {
            ("Skipped", _) => "skipped".to_string(),
            ("Success", "Create") => "created".to_string(),
            ("Success", "Update") => "updated".to_string(),
            ("Success", "Delete") => "deleted".to_string(),
            (status, action) => format!("{action} {}", status.to_lowercase()),
        };
        format!("Cloud Sync: {} {what}: {}", p.object, p.detail)
    }));
    Ok(detail)
}

pub async fn sync(world: &World, kind: SyncKind, n: usize) -> StepReport {
    let (kind, label) = match kind {
        SyncKind::Delta => (CycleKind::Delta, "sync delta"),
        SyncKind::Initial => (CycleKind::Initial, "sync initial"),
    };
    let mut r = world
        .sync(kind)
        .await
        .map_err(|e| e.to_string())
        .and_then(|s| cycle_detail(&s));
    if let (Ok(d), false) = (&mut r, world.device_writeback_configured()) {
        d.push("device writeback is not configured: devices are imported, nothing is exported (Entra Connect wizard → Configure device options)".into());
    }
    StepReport::done(n, label.into(), r)
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

/// `grant` or `revoke` (dsacls /G or /R); a revoke that removed nothing says so.
async fn permission(world: &World, g: &GrantSpec, n: usize, granting: bool) -> StepReport {
    let r = match g.right.parse::<Right>() {
        Err(e) => Err(e.to_string()),
        Ok(right) => {
            let done = if granting {
                world
                    .grant(right, &g.on, g.to.as_deref())
                    .await
                    .map(|()| true)
            } else {
                world.revoke(right, &g.on, g.to.as_deref()).await
            };
            done.map(|had| {
                if had {
                    vec![]
                } else {
                    vec!["there was no such grant".into()]
                }
            })
            .map_err(|e| e.message)
        }
    };
    let verb = if granting { "grant" } else { "revoke" };
    StepReport::done(n, grant_label(world, verb, g), r)
}

pub async fn grant(world: &World, g: &GrantSpec, n: usize) -> StepReport {
    permission(world, g, n, true).await
}

pub async fn revoke(world: &World, g: &GrantSpec, n: usize) -> StepReport {
    permission(world, g, n, false).await
}
