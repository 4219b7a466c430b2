//! The connector space: each cloud device and group as the last import saw it, what AD
//! holds (the last successful export), the AD object it is joined to, and the position in
//! each delta query — plus when the scheduler runs the next cycle. It outlives restarts of
//! the service, as ADSync's database does.

use super::devices::DeviceImage;
use super::groups::GroupImage;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

/// One cloud object in the connector space.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct CsObject<I> {
    /// The object as the last import saw it; `None` once deleted in the cloud. Shared with
    /// `exported` once an export wrote it: 100,000 devices are held once, not twice.
    pub(super) image: Option<Arc<I>>,
    /// What AD holds (the last successful export).
    pub(super) exported: Option<Arc<I>>,
    /// The AD object it is joined to.
    pub(super) dn: Option<String>,
    /// Seen in the current full import.
    pub(super) seen: bool,
    /// Its writeback was turned off: the next export deletes it from AD.
    pub(super) retired: bool,
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
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(super) struct Partition<I> {
    pub(super) delta_link: Option<String>,
    pub(super) resume_link: Option<String>,
    pub(super) objects: BTreeMap<String, CsObject<I>>,
    /// The objects that may differ from what AD holds: every object whose image or export
    /// changed since an export last looked, so a delta of 100 changes on 100,000 devices
    /// looks at 100 of them. `None`: not known (a connector space just loaded, a bulk
    /// change), every object is looked at.
    #[serde(skip)]
    dirty: Option<BTreeSet<String>>,
}

impl<I> Default for Partition<I> {
    fn default() -> Self {
        Self {
            delta_link: None,
            resume_link: None,
            objects: BTreeMap::new(),
            dirty: Some(BTreeSet::new()),
        }
    }
}

impl<I: PartialEq> Partition<I> {
    /// Forget the delta position: the next round is a full one.
    pub(super) fn restart(&mut self) {
        self.delta_link = None;
        self.resume_link = None;
        self.objects.values_mut().for_each(|d| d.seen = false);
    }

    /// Object `id`'s image or export changed.
    pub(super) fn touch(&mut self, id: &str) {
        if let Some(d) = &mut self.dirty {
            d.insert(id.to_string());
        }
    }

    /// Any object may have changed: the next export looks at every one.
    pub(super) fn touch_all(&mut self) {
        self.dirty = None;
    }

    /// The objects that may differ from AD, in objectId order.
    fn candidates(&self) -> Box<dyn Iterator<Item = (&String, &CsObject<I>)> + '_> {
        match &self.dirty {
            Some(ids) => Box::new(ids.iter().filter_map(|k| self.objects.get_key_value(k))),
            None => Box::new(self.objects.iter()),
        }
    }

    /// An export wrote `written` (`None`: deleted it) and the object is now `dn`.
    pub(super) fn settle(&mut self, id: &str, written: Option<Arc<I>>, dn: Option<String>) {
        let Some(entry) = self.objects.get_mut(id) else {
            return;
        };
        entry.exported = written;
        entry.dn = dn;
        entry.retired = false;
        let in_line = entry.image == entry.exported;
        if entry.image.is_none() && entry.exported.is_none() {
            self.objects.remove(id);
        }
        match &mut self.dirty {
            // What AD holds is what the cloud has: nothing left to look at.
            Some(d) if in_line => {
                d.remove(id);
            }
            Some(d) => {
                d.insert(id.to_string());
            }
            None => {}
        }
    }

    /// Work for an export: the objects whose image differs from what AD holds.
    pub(super) fn pending_work(&mut self) -> Vec<(String, CsObject<I>)>
    where
        I: Clone,
    {
        (self.pending_ids().into_iter())
            .filter_map(|k| Some((k.clone(), self.objects.get(&k)?.clone())))
            .collect()
    }

    /// Which objects an export has to look at (those whose image differs from what AD
    /// holds), by id: an export of 100,000 devices takes each when it comes to it, not a
    /// copy of all of them at once.
    pub(super) fn pending_ids(&mut self) -> Vec<String> {
        let work: Vec<String> = (self.candidates())
            .filter(|(_, d)| d.image != d.exported)
            .map(|(k, _)| k.clone())
            .collect();
        // Nothing else differs from AD now: only these are left to look at.
        self.dirty = Some(work.iter().cloned().collect());
        work
    }

    /// (adds, updates, deletes) imported but not yet in AD.
    pub(super) fn pending(&self) -> (u32, u32, u32) {
        let mut c = (0, 0, 0);
        for (_, d) in self.candidates() {
            match d.pending_export() {
                Some("add") => c.0 += 1,
                // In AD already, but to be written again in full (rescoped, re-enabled).
                Some("update") => c.1 += 1,
                Some(_) => c.2 += 1,
                None => {}
            }
        }
        c
    }
}

/// One object of the connector space as the Connectors tab's search shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CsRow {
    /// `device` or `group`.
    pub kind: &'static str,
    pub object_id: String,
    /// The name the last import saw (or the last export wrote, once deleted in the cloud).
    pub display_name: String,
    /// The AD object it is joined to.
    pub dn: Option<String>,
    /// The export waiting for the next run: `add`, `update` or `delete`.
    pub pending_export: Option<&'static str>,
    /// For an update, what changed since the last export: the fields of the cloud object
    /// that differ from what AD holds.
    pub changes: Vec<String>,
}

/// The top-level fields in which two images differ, by name.
fn changed_fields<I: Serialize>(now: Option<&I>, exported: Option<&I>) -> Vec<String> {
    let (Some(now), Some(exported)) = (now, exported) else {
        return Vec::new();
    };
    let (Ok(Value::Object(a)), Ok(Value::Object(b))) =
        (serde_json::to_value(now), serde_json::to_value(exported))
    else {
        return Vec::new();
    };
    a.iter()
        .filter(|(k, v)| b.get(*k) != Some(*v))
        .map(|(k, _)| k.clone())
        .collect()
}

impl<I: PartialEq> CsObject<I> {
    /// What the next export does with it, as [`Partition::pending`] counts it.
    fn pending_export(&self) -> Option<&'static str> {
        match (&self.image, &self.exported) {
            _ if self.retired => Some("delete"),
            (Some(_), None) if self.dn.is_some() => Some("update"),
            (Some(_), None) => Some("add"),
            (Some(a), Some(b)) if a != b => Some("update"),
            (None, Some(_)) => Some("delete"),
            _ => None,
        }
    }
}

/// A kind of cloud object a sync cycle imports through a Graph delta query.
pub(super) trait CloudObject: Clone + PartialEq + Sized {
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

/// The connector space as data (a lab keeps it).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncState {
    pub(super) devices: Partition<DeviceImage>,
    pub(super) groups: Partition<GroupImage>,
    /// When the scheduler runs the next delta cycle.
    next_due: Option<DateTime<Utc>>,
    /// Cloud Sync's own view of the cloud's groups (its agent reads Graph itself, with its
    /// own delta position, and is not part of Entra Connect's connector space); absent from
    /// state saved before Cloud Sync had it.
    #[serde(default)]
    pub(super) cloud_sync: Partition<GroupImage>,
    /// When Cloud Sync's provisioning job runs next.
    #[serde(default)]
    cloud_sync_due: Option<DateTime<Utc>>,
}

/// The connector space and the scheduler's position; outlives engine restarts.
#[derive(Debug, Clone, Default)]
pub struct ConnectorSpace {
    inner: Arc<Mutex<SyncState>>,
    /// Moves whenever the state is taken (to read or change it), for a saver.
    generation: Arc<std::sync::atomic::AtomicU64>,
}

impl ConnectorSpace {
    /// Everything in it, to keep.
    pub fn snapshot(&self) -> SyncState {
        self.read().clone()
    }

    /// A connector space as `state` left it.
    pub fn restore(state: SyncState) -> Self {
        Self {
            inner: Arc::new(Mutex::new(state)),
            generation: Arc::default(),
        }
    }

    /// A number that moves whenever the connector space may have changed.
    pub fn generation(&self) -> u64 {
        self.generation.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.read()
    }

    /// The state, to read it only (the generation stays).
    pub(super) fn read(&self) -> std::sync::MutexGuard<'_, SyncState> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The AD object joined to a cloud device, if any.
    pub fn joined_dn(&self, object_id: &str) -> Option<String> {
        self.read()
            .devices
            .objects
            .get(object_id)
            .and_then(|d| d.dn.clone())
    }

    /// The AD object a cloud group was written to (by group writeback v1 or by Cloud
    /// Sync), if any.
    pub fn joined_group_dn(&self, object_id: &str) -> Option<String> {
        let st = self.read();
        let dn = [&st.groups, &st.cloud_sync]
            .into_iter()
            .find_map(|p| p.objects.get(object_id).and_then(|g| g.dn.clone()));
        dn
    }

    /// How many cloud devices the connector space holds (deleted ones not yet exported included).
    pub fn len(&self) -> usize {
        self.read().devices.objects.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Changes imported but not yet in AD.
    pub fn pending(&self) -> usize {
        self.read()
            .devices
            .candidates()
            .filter(|(_, d)| d.image != d.exported)
            .count()
    }

    /// Group writeback v1 was turned on (again): groups left out so far are judged again
    /// by the next export (what the wizard's Full Synchronization does), and groups it was
    /// about to delete (turned off and on again before an export ran) are kept and
    /// rewritten instead.
    pub fn rescope_groups(&self) {
        let mut st = self.lock();
        st.groups.touch_all();
        for g in st.groups.objects.values_mut() {
            if g.dn.is_none() {
                g.exported = None;
            }
            g.retired = false;
        }
    }

    /// Cloud Sync's scope or target changed: its job restarts — every group is judged
    /// again, and the job runs at once.
    pub fn restart_cloud_sync(&self) {
        let mut st = self.lock();
        st.cloud_sync.touch_all();
        for g in st.cloud_sync.objects.values_mut() {
            if g.dn.is_none() {
                g.exported = None;
            }
        }
        st.cloud_sync_due = None;
    }

    /// When Cloud Sync's provisioning job runs next (`None`: as soon as it can).
    pub fn cloud_sync_due(&self) -> Option<DateTime<Utc>> {
        self.read().cloud_sync_due
    }

    pub fn set_cloud_sync_due(&self, t: Option<DateTime<Utc>>) {
        self.lock().cloud_sync_due = t;
    }

    /// Group writeback v1 was turned off: the groups it wrote are deleted by the next
    /// export (the wizard sets the Full Import / Full Sync flags).
    pub fn retire_v1_groups(&self) {
        let mut st = self.lock();
        st.groups.touch_all();
        for g in st.groups.objects.values_mut() {
            if g.dn.is_some() && g.image.as_ref().is_some_and(|i| i.unified) {
                g.exported = None;
                g.retired = true;
            }
        }
    }

    /// The objects whose name, objectId or DN contains `search` (case-insensitive; all
    /// when empty), devices first, each kind in objectId order.
    pub fn rows(&self, search: &str) -> Vec<CsRow> {
        let needle = search.trim().to_lowercase();
        let st = self.read();
        let matches = |r: &CsRow| {
            needle.is_empty()
                || r.display_name.to_lowercase().contains(&needle)
                || r.object_id.to_lowercase().contains(&needle)
                || r.dn
                    .as_ref()
                    .is_some_and(|d| d.to_lowercase().contains(&needle))
        };
        let devices = st.devices.objects.iter().map(|(id, d)| CsRow {
            kind: "device",
            object_id: id.clone(),
            display_name: d
                .image
                .as_ref()
                .or(d.exported.as_ref())
                .map(|i| i.display_name.clone())
                .unwrap_or_default(),
            dn: d.dn.clone(),
            pending_export: d.pending_export(),
            changes: changed_fields(d.image.as_ref(), d.exported.as_ref()),
        });
        let groups = st.groups.objects.iter().map(|(id, g)| CsRow {
            kind: "group",
            object_id: id.clone(),
            display_name: g
                .image
                .as_ref()
                .or(g.exported.as_ref())
                .map(|i| i.display_name.clone())
                .unwrap_or_default(),
            dn: g.dn.clone(),
            pending_export: g.pending_export(),
            changes: changed_fields(g.image.as_ref(), g.exported.as_ref()),
        });
        devices.chain(groups).filter(matches).collect()
    }

    pub fn delta_link(&self) -> Option<String> {
        self.read().devices.delta_link.clone()
    }

    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.read().next_due
    }

    pub fn set_next_due(&self, t: Option<DateTime<Utc>>) {
        self.lock().next_due = t;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::groups::GroupImage;

    /// A Microsoft 365 group v1 wrote to AD.
    fn written(cs: &ConnectorSpace) {
        let image = GroupImage {
            object_id: "g1".into(),
            display_name: "Marketing".into(),
            unified: true,
            ..GroupImage::default()
        };
        cs.lock().groups.touch_all();
        cs.lock().groups.objects.insert(
            "g1".into(),
            CsObject {
                image: Some(Arc::new(image.clone())),
                exported: Some(Arc::new(image)),
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
        // Cloud Sync configured meanwhile: its own job; v1's groups stay retired.
        cs.restart_cloud_sync();
        assert_eq!(cs.lock().groups.pending(), (0, 0, 1));
        // v1 back on before an export: rewritten in place, not deleted.
        cs.rescope_groups();
        assert_eq!(cs.lock().groups.pending(), (0, 1, 0));
    }

    fn image(id: &str, name: &str) -> GroupImage {
        GroupImage {
            object_id: id.into(),
            display_name: name.into(),
            ..GroupImage::default()
        }
    }

    /// An export looks only at what changed since the last one, and finds every change —
    /// also after the connector space is saved and loaded (which forgets what changed).
    #[test]
    fn an_export_finds_every_change_and_only_those() {
        let mut p: Partition<GroupImage> = Partition::default();
        for i in 0..5 {
            let id = format!("g{i}");
            p.objects.entry(id.clone()).or_default().image = Some(Arc::new(image(&id, "G")));
            p.touch(&id);
        }
        let work = p.pending_work();
        assert_eq!(work.len(), 5);
        for (id, d) in work {
            p.settle(&id, d.image, Some(format!("CN={id}")));
        }
        assert_eq!(p.pending_work().len(), 0);
        assert_eq!(
            p.dirty.as_ref().map(BTreeSet::len),
            Some(0),
            "nothing to look at"
        );

        // One renamed in the cloud: the next export has it, and it alone.
        p.objects.get_mut("g3").unwrap().image = Some(Arc::new(image("g3", "Renamed")));
        p.touch("g3");
        let work: Vec<String> = p.pending_work().into_iter().map(|(k, _)| k).collect();
        assert_eq!(work, ["g3"]);

        // Saved and loaded: every object is looked at again, and the change is still found.
        let loaded: Partition<GroupImage> =
            serde_json::from_value(serde_json::to_value(&p).unwrap()).unwrap();
        assert!(loaded.dirty.is_none());
        let mut loaded = loaded;
        let work: Vec<String> = loaded.pending_work().into_iter().map(|(k, _)| k).collect();
        assert_eq!(work, ["g3"]);
        assert_eq!(loaded.pending(), (0, 1, 0));
    }
}
