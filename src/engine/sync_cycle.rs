//! Sync cycles (`Start-ADSyncSyncCycle -PolicyType Initial | Delta`) for device writeback:
//! import the devices from Graph's `/devices/delta` into the connector space, then export
//! the pending changes to AD. The connector space links each cloud device to its AD object
//! and survives a restart of the service. The delta position advances only after a page has
//! been applied (a failed round resumes from the last applied page: nothing lost, nothing
//! applied twice); throttling is waited out on the business clock.

use super::ad::AdSession;
use super::config::{EngineConfig, V1Naming};
use super::devices::{self, DeviceImage};
use super::graph_client::GraphClient;
use super::groups::{self, GroupImage, V1Skip};
use super::history::{
    ExportError, ExportErrorKind, History, Level, Profile, RunRecord, Skipped, Source, Status,
};
use crate::clock::Clock;
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CycleKind {
    Initial,
    Delta,
}

/// One cloud object in the connector space.
#[derive(Debug, Clone)]
struct CsObject<I> {
    /// The object as the last import saw it; `None` once deleted in the cloud.
    image: Option<I>,
    /// What AD holds (the last successful export).
    exported: Option<I>,
    /// The AD object it is joined to.
    dn: Option<String>,
    /// Seen in the current full import.
    seen: bool,
    /// Its writeback was turned off: the next export deletes it from AD.
    retired: bool,
}

impl<I> Default for CsObject<I> {
    fn default() -> Self {
        Self {
            image: None,
            exported: None,
            dn: None,
            seen: false,
            retired: false,
        }
    }
}

/// The objects of one kind and the position in their delta query.
#[derive(Debug)]
struct Partition<I> {
    delta_link: Option<String>,
    resume_link: Option<String>,
    objects: BTreeMap<String, CsObject<I>>,
}

impl<I> Default for Partition<I> {
    fn default() -> Self {
        Self {
            delta_link: None,
            resume_link: None,
            objects: BTreeMap::new(),
        }
    }
}

impl<I: PartialEq> Partition<I> {
    /// Forget the delta position: the next round is a full one.
    fn restart(&mut self) {
        self.delta_link = None;
        self.resume_link = None;
        self.objects.values_mut().for_each(|d| d.seen = false);
    }

    /// An export wrote `written` (`None`: deleted it) and the object is now `dn`.
    fn settle(&mut self, id: &str, written: Option<I>, dn: Option<String>) {
        if let Some(entry) = self.objects.get_mut(id) {
            entry.exported = written;
            entry.dn = dn;
            entry.retired = false;
            if entry.image.is_none() && entry.exported.is_none() {
                self.objects.remove(id);
            }
        }
    }

    /// Work for an export: the objects whose image differs from what AD holds.
    fn pending_work(&self) -> Vec<(String, CsObject<I>)>
    where
        I: Clone,
    {
        self.objects
            .iter()
            .filter(|(_, d)| d.image != d.exported)
            .map(|(k, d)| (k.clone(), d.clone()))
            .collect()
    }

    /// (adds, updates, deletes) imported but not yet in AD.
    fn pending(&self) -> (u32, u32, u32) {
        let mut c = (0, 0, 0);
        for d in self.objects.values() {
            match (&d.image, &d.exported) {
                _ if d.retired => c.2 += 1,
                // In AD already, but to be written again in full (rescoped, re-enabled).
                (Some(_), None) if d.dn.is_some() => c.1 += 1,
                (Some(_), None) => c.0 += 1,
                (Some(a), Some(b)) if a != b => c.1 += 1,
                (None, Some(_)) => c.2 += 1,
                _ => {}
            }
        }
        c
    }
}

/// A kind of cloud object a sync cycle imports through a Graph delta query.
trait CloudObject: Clone + PartialEq + Sized {
    /// The first link of a full round.
    const FIRST_LINK: &'static str;
    /// The object after a delta item; `previous` is what the connector space held, `full`
    /// whether the round lists everything.
    fn from_delta(v: &Value, previous: Option<&Self>, full: bool) -> Option<Self>;
    fn partition(st: &mut SyncState) -> &mut Partition<Self>;
}

impl CloudObject for DeviceImage {
    const FIRST_LINK: &'static str = "/v1.0/devices/delta?$expand=registeredOwners";
    fn from_delta(v: &Value, _: Option<&Self>, _: bool) -> Option<Self> {
        DeviceImage::from_graph(v)
    }
    fn partition(st: &mut SyncState) -> &mut Partition<Self> {
        &mut st.devices
    }
}

/// Groups come from beta, the only place Graph shows `writebackConfiguration`.
impl CloudObject for GroupImage {
    const FIRST_LINK: &'static str = "/beta/groups/delta";
    fn from_delta(v: &Value, previous: Option<&Self>, full: bool) -> Option<Self> {
        GroupImage::from_delta(v, previous, full)
    }
    fn partition(st: &mut SyncState) -> &mut Partition<Self> {
        &mut st.groups
    }
}

#[derive(Debug, Default)]
struct SyncState {
    devices: Partition<DeviceImage>,
    groups: Partition<GroupImage>,
    /// When the scheduler runs the next delta cycle.
    next_due: Option<DateTime<Utc>>,
}

/// The connector space and the scheduler's position; outlives engine restarts.
#[derive(Debug, Clone, Default)]
pub struct ConnectorSpace {
    inner: Arc<Mutex<SyncState>>,
}

impl ConnectorSpace {
    fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The AD object joined to a cloud device, if any.
    pub fn joined_dn(&self, object_id: &str) -> Option<String> {
        self.lock()
            .devices
            .objects
            .get(object_id)
            .and_then(|d| d.dn.clone())
    }

    /// How many cloud devices the connector space holds (deleted ones not yet exported included).
    pub fn len(&self) -> usize {
        self.lock().devices.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes imported but not yet in AD.
    pub fn pending(&self) -> usize {
        self.lock()
            .devices
            .objects
            .values()
            .filter(|d| d.image != d.exported)
            .count()
    }

    /// The group writeback configuration changed: groups left out so far are judged
    /// again by the next export (what the wizard's Full Synchronization does).
    /// `v1_enabled`: v1 is on now, so groups it was about to delete (turned off and on
    /// again before an export ran) are kept and rewritten instead.
    pub fn rescope_groups(&self, v1_enabled: bool) {
        for g in self.lock().groups.objects.values_mut() {
            if g.dn.is_none() {
                g.exported = None;
            }
            if v1_enabled {
                g.retired = false;
            }
        }
    }

    /// Group writeback v1 was turned off: the groups it wrote are deleted by the next
    /// export (the wizard sets the Full Import / Full Sync flags).
    pub fn retire_v1_groups(&self) {
        for g in self.lock().groups.objects.values_mut() {
            if g.dn.is_some() && g.image.as_ref().is_some_and(|i| i.unified) {
                g.exported = None;
                g.retired = true;
            }
        }
    }

    pub fn delta_link(&self) -> Option<String> {
        self.lock().devices.delta_link.clone()
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.lock().next_due
    }

    pub fn set_next_due(&self, t: Option<DateTime<Utc>>) {
        self.lock().next_due = t;
    }
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
    clock: &Arc<dyn Clock>,
    history: &History,
    cs: &ConnectorSpace,
    kind: CycleKind,
) -> CycleSummary {
    let mut summary = CycleSummary::default();
    let (Some(url), Some(token)) = (&cfg.graph_url, &cfg.graph_token) else {
        return summary;
    };
    let graph = GraphClient::new(url, token, clock.clone());
    let full = kind == CycleKind::Initial || cs.delta_link().is_none();
    let start = clock.now();
    let mut imported = import::<DeviceImage>(&graph, cs, full).await;
    if imported.error.is_none() {
        let full = full || cs.lock().groups.delta_link.is_none();
        let g = import::<GroupImage>(&graph, cs, full).await;
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
        return summary;
    }
    let target = cfg.connector_dn.clone();
    let start = clock.now();
    let (mut counts, mut errors, mut skipped) = ((0, 0, 0), Vec::new(), Vec::new());
    if let Some(dw) = &cfg.device_writeback {
        let (c, e) = export(cfg, dw, cs).await;
        counts = sum(counts, c);
        errors.extend(e);
    }
    {
        let (c, e, s) = export_groups(cfg, cs, &graph).await;
        counts = sum(counts, c);
        errors.extend(e);
        skipped.extend(s);
    }
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

struct Imported {
    counts: (u32, u32, u32),
    error: Option<String>,
}

async fn import<I: CloudObject>(graph: &GraphClient, cs: &ConnectorSpace, full: bool) -> Imported {
    let mut counts = (0, 0, 0);
    let mut restarted = false;
    if full {
        I::partition(&mut cs.lock()).restart();
    }
    let mut full = full;
    loop {
        let link = {
            let mut st = cs.lock();
            let p = I::partition(&mut st);
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
                I::partition(&mut cs.lock()).restart();
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
        let p = I::partition(&mut st);
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
            for d in p.objects.values_mut() {
                if !d.seen && d.image.is_some() {
                    d.image = None;
                    counts.2 += 1;
                }
            }
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
        }
        return;
    }
    let previous = p.objects.get(id).and_then(|d| d.image.as_ref());
    let Some(image) = I::from_delta(item, previous, full) else {
        return;
    };
    let d = p.objects.entry(id.to_string()).or_default();
    d.seen = true;
    match &d.image {
        None => counts.0 += 1,
        Some(old) if *old != image => counts.1 += 1,
        Some(_) => {}
    }
    d.image = Some(image);
}

/// The owner's AD account (cloud-only owners have none), looked up once per export.
async fn owner_of(
    ad: &mut AdSession,
    base: &str,
    cache: &mut HashMap<String, Option<devices::Owner>>,
    img: &DeviceImage,
) -> Option<devices::Owner> {
    let upn = img.owner.as_ref()?;
    if let Some(hit) = cache.get(upn) {
        return hit.clone();
    }
    let found = ad
        .user_by_upn(base, upn)
        .await
        .ok()
        .flatten()
        .map(|(dn, sid)| devices::Owner { dn, sid });
    cache.insert(upn.clone(), found.clone());
    found
}

/// How an AD failure shows in the export's error list.
fn export_error(f: super::ad::AdFailure, dn: Option<String>) -> ExportError {
    ExportError {
        kind: match f.code {
            Some(50) => ExportErrorKind::PermissionIssue,
            Some(32) => ExportErrorKind::NoWritebackContainer,
            _ => ExportErrorKind::CdError,
        },
        dn: dn.unwrap_or_default(),
        detail: match f.code {
            Some(c) => format!("LDAP {c}: {}", f.message.lines().next().unwrap_or_default()),
            None => f.message,
        },
    }
}

async fn export(
    cfg: &EngineConfig,
    dw: &super::config::DeviceWriteback,
    cs: &ConnectorSpace,
) -> ((u32, u32, u32), Vec<ExportError>) {
    let mut counts = (0, 0, 0);
    let mut errors = Vec::new();
    let work = cs.lock().devices.pending_work();
    if work.is_empty() {
        return (counts, errors);
    }
    let mut ad = match AdSession::open(cfg).await {
        Ok(s) => s,
        Err(f) => {
            errors.push(ExportError {
                kind: ExportErrorKind::ConnectionFailure,
                dn: dw.container.clone(),
                detail: f.message,
            });
            return (counts, errors);
        }
    };
    let container_exists = ad.exists(&dw.container).await.unwrap_or(false);
    // Owners are looked up in the domain the container is in.
    let domain = domain_of(&dw.container);
    let mut owners: HashMap<String, Option<devices::Owner>> = HashMap::new();
    for (id, d) in work {
        let target_dn = d
            .image
            .as_ref()
            .map(|i| format!("CN={},{}", ldap3::dn_escape(i.cn(dw.class)), dw.container));
        let result = match (&d.image, &d.exported, &d.dn) {
            (Some(img), None, _) => {
                if !container_exists {
                    errors.push(ExportError {
                        kind: ExportErrorKind::NoWritebackContainer,
                        dn: target_dn.unwrap_or_default(),
                        detail: format!(
                            "the device writeback container {} does not exist",
                            dw.container
                        ),
                    });
                    continue;
                }
                let owner = owner_of(&mut ad, &domain, &mut owners, img).await;
                devices::add(&mut ad, &dw.container, dw.class, img, owner.as_ref())
                    .await
                    .map(|dn| {
                        counts.0 += 1;
                        Some(dn)
                    })
            }
            (Some(img), Some(old), Some(dn)) => {
                let old_owner = owner_of(&mut ad, &domain, &mut owners, old).await;
                let new_owner = owner_of(&mut ad, &domain, &mut owners, img).await;
                devices::update(
                    &mut ad,
                    dn,
                    dw.class,
                    (old, old_owner.as_ref()),
                    (img, new_owner.as_ref()),
                )
                .await
                .map(|dn| {
                    counts.1 += 1;
                    Some(dn)
                })
            }
            (None, Some(_), Some(dn)) => match ad.delete(dn).await {
                Ok(()) => {
                    counts.2 += 1;
                    Ok(None)
                }
                Err(f) if f.code == Some(32) => Ok(None),
                Err(f) => Err(f),
            },
            _ => Ok(d.dn.clone()),
        };
        match result {
            Ok(dn) => cs.lock().devices.settle(&id, d.image, dn),
            Err(f) => errors.push(export_error(f, d.dn.clone().or(target_dn))),
        }
    }
    ad.close().await;
    (counts, errors)
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

fn plan(cfg: &EngineConfig, img: &GroupImage) -> Plan {
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
    match (&cfg.cloud_sync, &cfg.group_writeback_v1) {
        (Some(cs), _) => match img.cloud_sync_decision(cs.scope.as_ref()) {
            Ok(()) => Plan::CloudSync,
            Err(why) => Plan::Skip(why),
        },
        (None, Some(_)) => Plan::Skip(V1Skip::NotMicrosoft365.to_string()),
        (None, None) => Plan::Ignore,
    }
}

/// Does any pending group need the export (a feature configured, or an error to report)?
fn groups_need_export(cfg: &EngineConfig, cs: &ConnectorSpace) -> bool {
    cfg.group_writeback_v1.is_some()
        || cfg.cloud_sync.is_some()
        || cs.lock().groups.objects.values().any(|g| {
            g.dn.is_some()
                || g.image
                    .as_ref()
                    .is_some_and(|i| matches!(plan(cfg, i), Plan::NotEnabled))
        })
}

/// Groups to AD: group writeback v1 (Microsoft 365 groups) and Cloud Sync (security
/// groups) add, update or delete each pending group. Groups out of scope are left alone
/// and listed with the reason; a written group whose writeback is turned off stays in AD
/// (deleted there only on a hard delete, the default rules).
async fn export_groups(
    cfg: &EngineConfig,
    cs: &ConnectorSpace,
    graph: &GraphClient,
) -> ((u32, u32, u32), Vec<ExportError>, Vec<Skipped>) {
    let mut counts = (0, 0, 0);
    let (mut errors, mut skipped) = (Vec::new(), Vec::new());
    let work = cs.lock().groups.pending_work();
    if work.is_empty() {
        return (counts, errors, skipped);
    }
    let domain = domain_of(&cfg.connector_dn);
    let mut ad = match AdSession::open(cfg).await {
        Ok(s) => s,
        Err(f) => {
            errors.push(export_error(f, Some(domain)));
            return (counts, errors, skipped);
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
            match result {
                Ok(()) => cs.lock().groups.settle(&id, None, None),
                Err(f) => errors.push(export_error(f, g.dn.clone())),
            }
            continue;
        };
        if let (true, None, Some(dn)) = (img.unified, &cfg.group_writeback_v1, &g.dn) {
            // Group writeback v1 was turned off: what it wrote goes.
            match ad.delete(dn).await {
                Ok(()) => {
                    counts.2 += 1;
                    cs.lock().groups.settle(&id, Some(img.clone()), None);
                }
                Err(f) if f.code == Some(32) => {
                    cs.lock().groups.settle(&id, Some(img.clone()), None)
                }
                Err(f) => errors.push(export_error(f, Some(dn.clone()))),
            }
            continue;
        }
        let chosen = plan(cfg, img);
        match &chosen {
            Plan::Ignore => {
                cs.lock()
                    .groups
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
                skipped.push(Skipped {
                    object: img.display_name.clone(),
                    reason,
                });
                cs.lock()
                    .groups
                    .settle(&id, Some(img.clone()), g.dn.clone());
                continue;
            }
            Plan::V1 | Plan::CloudSync => {}
        }
        let (member_dns, cloud_only) =
            match groups::member_dns(graph, &mut ad, &mut cache, &img.members).await {
                Ok(m) => m,
                Err(detail) => {
                    errors.push(ExportError {
                        kind: ExportErrorKind::CdError,
                        dn: g.dn.clone().unwrap_or_default(),
                        detail,
                    });
                    continue;
                }
            };
        if cloud_only > 0 {
            skipped.push(Skipped {
                object: img.display_name.clone(),
                reason: format!(
                    "{cloud_only} cloud-only member(s) not written: they have no AD account"
                ),
            });
        }
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
                            .as_ref()
                            .filter(|o| matches!(plan(cfg, o), Plan::V1))
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
                        .inspect(|_| counts.1 += 1)
                    }
                };
                (r, target)
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
                .map(|(dn, created)| {
                    if created {
                        counts.0 += 1;
                    } else {
                        counts.1 += 1;
                    }
                    dn
                });
                (r, target)
            }
            _ => continue,
        };
        match result {
            Ok(dn) => cs.lock().groups.settle(&id, Some(img.clone()), Some(dn)),
            Err(f) => errors.push(export_error(f, g.dn.clone().or(Some(target)))),
        }
    }
    ad.close().await;
    (counts, errors, skipped)
}

/// The DC= part of a DN: the domain naming context it is in.
fn domain_of(dn: &str) -> String {
    dn.split(',')
        .map(str::trim)
        .filter(|p| p.to_ascii_uppercase().starts_with("DC="))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A Microsoft 365 group v1 wrote to AD.
    fn written(cs: &ConnectorSpace) {
        let image = GroupImage {
            object_id: "g1".into(),
            display_name: "Marketing".into(),
            unified: true,
            ..GroupImage::default()
        };
        cs.lock().groups.objects.insert(
            "g1".into(),
            CsObject {
                image: Some(image.clone()),
                exported: Some(image),
                dn: Some("CN=Group_g1,OU=M365 Groups,DC=gntech,DC=me".into()),
                seen: true,
                retired: false,
            },
        );
    }

    #[test]
    fn a_retired_v1_group_is_a_pending_delete_until_v1_is_back() {
        let cs = ConnectorSpace::default();
        written(&cs);
        assert_eq!(cs.lock().groups.pending(), (0, 0, 0));
        cs.retire_v1_groups();
        assert_eq!(cs.lock().groups.pending(), (0, 0, 1));
        // Cloud Sync configured meanwhile: v1 is still off.
        cs.rescope_groups(false);
        assert_eq!(cs.lock().groups.pending(), (0, 0, 1));
        // v1 back on before an export: rewritten in place, not deleted.
        cs.rescope_groups(true);
        assert_eq!(cs.lock().groups.pending(), (0, 1, 0));
    }
}
