//! Faults and time: the relay, the DC and Graph misbehaving (one `Faults` value for the
//! world), faults lifted, and the virtual clock moved (the engine's scheduler does what
//! falls due).

use super::onprem::{cloud_sync_detail, cycle_detail};
use crate::scenario::model::{Duration, FaultSpec};
use crate::scenario::report::StepReport;
use crate::world::{Faults, World};

pub fn fault(world: &World, f: &FaultSpec, n: usize) -> StepReport {
    let mut faults = world.faults();
    let mut detail = Vec::new();
    if let Some(r) = &f.relay {
        if let Some(l) = &r.latency {
            faults.relay.latency = Some(l.0);
            detail.push(format!("relay latency {:?}", l.0));
        }
        if r.down {
            faults.relay.down = true;
            detail.push("relay down".into());
        }
        if r.drop_listener {
            detail.push("relay listeners dropped".into());
        }
    }
    if let Some(l) = &f.ldap {
        if let Some(d) = &l.latency {
            faults.ldap.latency = Some(d.0);
            detail.push(format!("ldap latency {:?}", d.0));
        }
        if l.down {
            faults.ldap.down = true;
            detail.push("ldap down".into());
        }
        if l.reset_connections {
            detail.push("ldap connections reset".into());
        }
    }
    if let Some(g) = &f.graph {
        if let Some(t) = &g.throttle {
            faults.graph.throttle = t.requests;
            faults.graph.retry_after = t.retry_after.0;
            detail.push(format!(
                "graph throttles the next {} requests (Retry-After {:?})",
                t.requests, t.retry_after.0
            ));
        }
        if let Some(st) = g.status {
            faults.graph.status = Some(st);
            detail.push(format!("graph answers {st}"));
        }
        if let Some(l) = &g.latency {
            faults.graph.latency = Some(l.0);
            detail.push(format!("graph latency {:?}", l.0));
        }
        if g.empty_pages {
            faults.graph.empty_pages = true;
            detail.push("graph pads delta rounds with empty pages".into());
        }
    }
    world.set_faults(faults);
    if f.relay.as_ref().is_some_and(|r| r.drop_listener) {
        world.drop_relay_listeners();
    }
    if f.ldap.as_ref().is_some_and(|l| l.reset_connections) {
        world.reset_ldap_connections();
    }
    StepReport::done::<String>(n, "fault".into(), Ok(detail))
}

pub fn clear(world: &World, n: usize) -> StepReport {
    world.set_faults(Faults::default());
    StepReport::done::<String>(n, "clear_faults".into(), Ok(vec![]))
}

pub async fn advance(world: &mut World, d: Duration, n: usize) -> StepReport {
    let label = format!("advance {:?}", d.0);
    let r = world.advance(d.0).await.map(|a| {
        let mut detail = vec![format!("now {}", a.now.format("%Y-%m-%dT%H:%M:%SZ"))];
        if let Some(s) = a.cycle {
            detail.push("the scheduled delta sync cycle ran".into());
            detail.extend(cycle_detail(&s).unwrap_or_else(|e| vec![e]));
        }
        if let Some(logs) = a.cloud_sync {
            detail.push("Cloud Sync's provisioning job ran".into());
            detail.extend(cloud_sync_detail(&logs));
        }
        detail
    });
    StepReport::done(n, label, r)
}
