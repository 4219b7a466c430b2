//! The export of a sync cycle: pending devices and groups written to AD over LDAP as the
//! connector account — devices added, updated, renamed or deleted in the writeback
//! container; Microsoft 365 groups by group writeback v1 and security groups by Cloud
//! Sync — with the error each object met (the Connector Operations pane's export errors)
//! and the objects left alone on purpose, with why.

use super::ad::AdSession;
use super::config::{EngineConfig, V1Naming};
use super::connector_space::{ConnectorSpace, Partition, SyncState};
use super::graph_client::GraphClient;
use super::groups::{self, GroupImage, V1Skip};
use super::history::{ExportError, ExportErrorKind, ProvisioningLog, Skipped};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::Arc;

mod device;
pub(super) use device::export_devices;
pub use device::ExportAhead;

/// How an AD failure shows in the export's error list.
fn export_error(f: super::ad::AdFailure, dn: Option<String>) -> ExportError {
    ExportError {
        kind: match f.code {
            Some(50) => ExportErrorKind::PermissionIssue,
            Some(32) => ExportErrorKind::NoWritebackContainer,
            _ => ExportErrorKind::CdError,
        },
        dn: dn.unwrap_or_default(),
        detail: failure_text(&f),
    }
}

/// An AD failure in one line: `LDAP 50: …`.
fn failure_text(f: &super::ad::AdFailure) -> String {
    match f.code {
        Some(c) => format!("LDAP {c}: {}", f.message.lines().next().unwrap_or_default()),
        None => f.message.clone(),
    }
}

/// The value of a DN's first RDN (`Finance_…` of `CN=Finance_…,OU=…`).
fn first_rdn_value(dn: &str) -> &str {
    let rdn = &dn[..dn.len().saturating_sub(super::ad::parent_of(dn).len() + 1)];
    rdn.split_once('=').map_or(rdn, |(_, v)| v)
}

/// An object the export left under another DN than it found it: renamed or moved.
fn note_rename(renamed: &mut Vec<(String, String)>, old: Option<&str>, new: Option<&str>) {
    if let (Some(old), Some(new)) = (old, new) {
        // Both come from this engine's own writes: the same spelling unless it changed.
        if !old.eq_ignore_ascii_case(new) {
            renamed.push((old.to_string(), new.to_string()));
        }
    }
}

/// What the export does with a cloud group.
enum Plan {
    /// Group writeback v1 writes it.
    V1,
    /// Cloud Sync provisions it.
    CloudSync,
    /// Left alone, for this reason.
    Skip(String),
    /// A Microsoft 365 group set to be written back while the v1 sync rule is off.
    NotEnabled,
    /// No feature is concerned with it.
    Ignore,
}

/// Which service writes groups: Entra Connect's group writeback v1 (in its export) or
/// Cloud Sync's provisioning job. Each has its own view of the cloud's groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum GroupJob {
    EntraConnect,
    CloudSync,
}

impl GroupJob {
    fn partition(self, st: &mut SyncState) -> &mut Partition<GroupImage> {
        match self {
            GroupJob::EntraConnect => &mut st.groups,
            GroupJob::CloudSync => &mut st.cloud_sync,
        }
    }
}

fn plan(cfg: &EngineConfig, img: &GroupImage, job: GroupJob) -> Plan {
    if job == GroupJob::CloudSync {
        return match &cfg.cloud_sync {
            Some(cs) if !img.unified => match img.cloud_sync_decision(cs.scope.as_ref()) {
                Ok(()) => Plan::CloudSync,
                Err(why) => Plan::Skip(why),
            },
            _ => Plan::Ignore,
        };
    }
    if img.unified {
        return match &cfg.group_writeback_v1 {
            Some(_) if !cfg.exchange_hybrid => {
                Plan::Skip(V1Skip::ExchangeHybridMissing.to_string())
            }
            Some(gw) => match img.v1_decision(gw.member_limit) {
                Ok(()) => Plan::V1,
                Err(why) => Plan::Skip(why.to_string()),
            },
            None if img.writeback_enabled != Some(false) => Plan::NotEnabled,
            None => Plan::Ignore,
        };
    }
    // A security group is Cloud Sync's when it is configured; v1 says why it leaves it.
    match (&cfg.cloud_sync, &cfg.group_writeback_v1) {
        (None, Some(_)) => Plan::Skip(V1Skip::NotMicrosoft365.to_string()),
        _ => Plan::Ignore,
    }
}

/// The pending groups no Entra Connect feature is concerned with (security groups left to
/// Cloud Sync, Microsoft 365 groups while v1 is off and they are not set to be written
/// back) are settled as they are: they are not counted as pending on every cycle.
pub(super) fn settle_ignored(cfg: &EngineConfig, cs: &ConnectorSpace) {
    let mut st = cs.lock();
    let ignored: Vec<(String, Option<Arc<GroupImage>>, Option<String>)> = st
        .groups
        .pending_work()
        .into_iter()
        .filter(|(_, g)| {
            g.dn.is_none()
                && g.image
                    .as_ref()
                    .is_some_and(|i| matches!(plan(cfg, i, GroupJob::EntraConnect), Plan::Ignore))
        })
        .map(|(id, g)| (id, g.image, g.dn))
        .collect();
    for (id, image, dn) in ignored {
        st.groups.settle(&id, image, dn);
    }
}

/// Does any pending group need Entra Connect's export (v1 configured, a group it wrote,
/// or an error to report)?
pub(super) fn groups_need_export(cfg: &EngineConfig, cs: &ConnectorSpace) -> bool {
    cfg.group_writeback_v1.is_some()
        || cs.lock().groups.objects.values().any(|g| {
            g.dn.is_some()
                || g.image.as_ref().is_some_and(|i| {
                    matches!(plan(cfg, i, GroupJob::EntraConnect), Plan::NotEnabled)
                })
        })
}

/// What a group export did: counts (adds, updates, deletes), errors, the groups left
/// alone on purpose, and Cloud Sync's provisioning log rows for its groups.
#[derive(Debug, Default)]
pub(super) struct GroupExport {
    pub counts: (u32, u32, u32),
    pub errors: Vec<ExportError>,
    pub skipped: Vec<Skipped>,
    pub provisioning: Vec<ProvisioningLog>,
    /// Groups written under another DN than before (old, new): renamed or moved.
    pub renamed: Vec<(String, String)>,
    /// Groups updated (DN after the export, the attributes written).
    pub updated: Vec<(String, Vec<&'static str>)>,
}

/// Cloud Sync's rows about its job (what concerns every group) name this object.
pub(super) const JOB: &str = "group provisioning job";

/// Cloud Sync's provisioning log row for `object` at `time`.
pub(super) fn provisioned(
    time: DateTime<Utc>,
    object: &str,
    action: &str,
    status: &str,
    detail: String,
) -> ProvisioningLog {
    ProvisioningLog {
        time,
        object: object.to_string(),
        action: action.to_string(),
        status: status.to_string(),
        detail,
    }
}

/// Groups to AD, by `job`: group writeback v1 (Microsoft 365 groups, in Entra Connect's
/// export) or Cloud Sync (security groups) adds, updates or deletes each pending group of
/// its own view. Groups out of scope are left alone and listed with the reason; a written
/// group whose writeback is turned off stays in AD (deleted there only on a hard delete,
/// the default rules). Cloud Sync says what it did or skipped, and every failure, in its
/// provisioning logs, stamped `now`.
pub(super) async fn export_groups(
    cfg: &EngineConfig,
    cs: &ConnectorSpace,
    graph: &GraphClient,
    now: DateTime<Utc>,
    job: GroupJob,
) -> GroupExport {
    let mut counts = (0, 0, 0);
    let (mut errors, mut skipped, mut provisioning) = (Vec::new(), Vec::new(), Vec::new());
    let (mut renamed, mut updated) = (Vec::new(), Vec::new());
    let work = job.partition(&mut cs.lock()).pending_work();
    if work.is_empty() {
        return GroupExport::default();
    }
    let cloud_sync = job == GroupJob::CloudSync;
    let domain = domain_of(&cfg.connector_dn);
    let mut ad = match AdSession::open(cfg).await {
        Ok(s) => s,
        Err(f) => {
            if cloud_sync {
                let why = format!("the agent could not reach AD: {}", failure_text(&f));
                provisioning.push(provisioned(now, JOB, "Other", "Failure", why));
            }
            errors.push(export_error(f, Some(domain)));
            return GroupExport {
                errors,
                provisioning,
                ..GroupExport::default()
            };
        }
    };
    let mut cache = HashMap::new();
    for (id, g) in work {
        let Some(img) = &g.image else {
            // Deleted in the cloud (a hard delete): deleted in AD.
            let result = match &g.dn {
                Some(dn) => match ad.delete(dn).await {
                    Ok(()) => {
                        counts.2 += 1;
                        Ok(())
                    }
                    Err(f) if f.code == Some(32) => Ok(()),
                    Err(f) => Err(f),
                },
                None => Ok(()),
            };
            if let Some(dn) = g.dn.as_deref().filter(|_| cloud_sync) {
                // The name it was provisioned under, else its CN.
                let name = g
                    .exported
                    .as_ref()
                    .map_or(first_rdn_value(dn), |e| e.display_name.as_str());
                provisioning.push(match &result {
                    Ok(()) => provisioned(now, name, "Delete", "Success", dn.to_string()),
                    Err(f) => provisioned(now, name, "Delete", "Failure", failure_text(f)),
                });
            }
            match result {
                Ok(()) => job.partition(&mut cs.lock()).settle(&id, None, None),
                Err(f) => errors.push(export_error(f, g.dn.clone())),
            }
            continue;
        };
        if let (true, false, None, Some(dn)) =
            (img.unified, cloud_sync, &cfg.group_writeback_v1, &g.dn)
        {
            // Group writeback v1 was turned off: what it wrote goes.
            match ad.delete(dn).await {
                Ok(()) => {
                    counts.2 += 1;
                    job.partition(&mut cs.lock())
                        .settle(&id, Some(img.clone()), None);
                }
                Err(f) if f.code == Some(32) => {
                    job.partition(&mut cs.lock())
                        .settle(&id, Some(img.clone()), None)
                }
                Err(f) => errors.push(export_error(f, Some(dn.clone()))),
            }
            continue;
        }
        let chosen = plan(cfg, img, job);
        match &chosen {
            Plan::Ignore => {
                job.partition(&mut cs.lock())
                    .settle(&id, Some(img.clone()), g.dn.clone());
                continue;
            }
            Plan::NotEnabled => {
                // Stays pending: the error comes back each cycle until the rule is on.
                errors.push(ExportError {
                    kind: ExportErrorKind::CdError,
                    dn: format!("CN={}", img.v1_cn(V1Naming::ObjectId)),
                    detail: format!("Group writeback not enabled: {} is set to be written back, but the group writeback sync rule is not configured (Entra Connect → Optional Features → Group writeback)", img.display_name),
                });
                continue;
            }
            Plan::Skip(why) => {
                let reason = match &g.dn {
                    Some(dn) => format!("{why}; {dn} stays in AD and is no longer updated"),
                    None => why.clone(),
                };
                if cloud_sync {
                    // Cloud Sync's own service says why, in its provisioning logs.
                    provisioning.push(provisioned(
                        now,
                        &img.display_name,
                        "Other",
                        "Skipped",
                        reason,
                    ));
                } else {
                    skipped.push(Skipped {
                        object: img.display_name.clone(),
                        reason,
                    });
                }
                job.partition(&mut cs.lock())
                    .settle(&id, Some(img.clone()), g.dn.clone());
                continue;
            }
            Plan::V1 | Plan::CloudSync => {}
        }
        let (member_dns, cloud_only) =
            match groups::member_dns(graph, &mut ad, &mut cache, &img.members).await {
                Ok(m) => m,
                Err(detail) => {
                    if cloud_sync {
                        let action = if g.dn.is_some() { "Update" } else { "Create" };
                        provisioning.push(provisioned(
                            now,
                            &img.display_name,
                            action,
                            "Failure",
                            detail.clone(),
                        ));
                    }
                    errors.push(ExportError {
                        kind: ExportErrorKind::CdError,
                        dn: g.dn.clone().unwrap_or_default(),
                        detail,
                    });
                    continue;
                }
            };
        let members_left_out = (cloud_only > 0).then(|| {
            format!("{cloud_only} cloud-only member(s) not written: they have no AD account")
        });
        let (result, target) = match (
            &chosen,
            cfg.group_writeback_v1.as_ref(),
            cfg.cloud_sync.as_ref(),
        ) {
            (Plan::V1, Some(gw), _) => {
                let target = format!("CN={},{}", ldap3::dn_escape(img.v1_cn(gw.naming)), gw.ou);
                let r = match &g.dn {
                    None => groups::v1_add(&mut ad, &gw.ou, gw.naming, img, &member_dns)
                        .await
                        .inspect(|_| counts.0 += 1),
                    Some(dn) => {
                        // What AD holds: the last image written (none when it was out of
                        // scope since).
                        let old = match g
                            .exported
                            .as_deref()
                            .filter(|o| matches!(plan(cfg, o, job), Plan::V1))
                        {
                            Some(o) => {
                                let old_members =
                                    groups::member_dns(graph, &mut ad, &mut cache, &o.members)
                                        .await;
                                Some((o, old_members.map(|m| m.0).unwrap_or_default()))
                            }
                            None => None,
                        };
                        groups::v1_update(
                            &mut ad,
                            dn,
                            gw.naming,
                            old.as_ref().map(|(o, m)| (*o, m.as_slice())),
                            (img, &member_dns),
                        )
                        .await
                        .map(|(dn, written)| {
                            counts.1 += 1;
                            if !written.is_empty() {
                                updated.push((dn.clone(), written));
                            }
                            dn
                        })
                    }
                };
                (r.map(|dn| (dn, g.dn.clone())), target)
            }
            (_, _, Some(c)) => {
                let target = format!("CN={},{}", ldap3::dn_escape(img.cloud_sync_cn()), c.ou);
                let r = groups::cloud_sync_provision(
                    &mut ad,
                    &domain,
                    &c.ou,
                    g.dn.as_deref(),
                    img,
                    &member_dns,
                )
                .await
                .inspect(|(_, was)| match was {
                    None => counts.0 += 1,
                    Some(_) => counts.1 += 1,
                });
                (r, target)
            }
            _ => continue,
        };
        // Where the group was before (`None`: created now).
        let was = match &result {
            Ok((_, was)) => was.as_deref(),
            Err(_) => g.dn.as_deref(),
        };
        if cloud_sync {
            let action = if was.is_some() { "Update" } else { "Create" };
            provisioning.push(match &result {
                Ok((dn, _)) => {
                    let mut detail = match was.filter(|old| *old != dn.as_str()) {
                        Some(old) => format!("{dn} (was {old})"),
                        None => dn.clone(),
                    };
                    if let Some(why) = members_left_out {
                        detail = format!("{detail}; {why}");
                    }
                    provisioned(now, &img.display_name, action, "Success", detail)
                }
                Err(f) => provisioned(now, &img.display_name, action, "Failure", failure_text(f)),
            });
        } else if let Some(reason) = members_left_out {
            skipped.push(Skipped {
                object: img.display_name.clone(),
                reason,
            });
        }
        let was = was.map(str::to_string);
        match result {
            Ok((dn, _)) => {
                note_rename(&mut renamed, was.as_deref(), Some(&dn));
                job.partition(&mut cs.lock())
                    .settle(&id, Some(img.clone()), Some(dn))
            }
            Err(f) => errors.push(export_error(f, g.dn.clone().or(Some(target)))),
        }
    }
    ad.close().await;
    GroupExport {
        counts,
        errors,
        skipped,
        provisioning,
        renamed,
        updated,
    }
}

/// The DC= part of a DN: the domain naming context it is in.
fn domain_of(dn: &str) -> String {
    dn.split(',')
        .map(str::trim)
        .filter(|p| p.to_ascii_uppercase().starts_with("DC="))
        .collect::<Vec<_>>()
        .join(",")
}
