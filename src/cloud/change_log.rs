//! A collection of directory objects with the change log Graph's delta queries read: every
//! put and delete gets the next change number; a delta token is a position in the log, and
//! a round returns each object changed since, once, in its state now.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What the log needs to know about an object.
pub trait Logged: Clone {
    /// The objectId.
    fn id(&self) -> &str;
    /// Other names people use for it (a display name, a deviceId), any case.
    fn aliases(&self) -> Vec<&str> {
        Vec::new()
    }
}

/// One object in a delta round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delta<T> {
    Present(Box<T>),
    /// Hard-deleted: `@removed: {reason: deleted}`.
    Removed(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    from = "Stored<T>",
    into = "Stored<T>",
    bound(
        serialize = "T: Clone + Serialize",
        deserialize = "T: Logged + Deserialize<'de>"
    )
)]
pub struct ChangeLog<T> {
    /// Objects in creation order.
    objects: Vec<T>,
    /// objectId, lower-cased → its place in `objects`.
    position: HashMap<String, usize>,
    /// Another name, lower-cased → the places of the objects known by it, in order.
    alias: HashMap<String, Vec<usize>>,
    /// objectId → the change number of its last change (present or deleted).
    last_change: HashMap<String, u64>,
    /// objectIds deleted.
    deleted: HashMap<String, u64>,
    seq: u64,
}

/// What a saved log holds: everything but the index, which loading rebuilds.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    objects: Vec<T>,
    last_change: HashMap<String, u64>,
    deleted: HashMap<String, u64>,
    seq: u64,
}

impl<T: Logged> From<Stored<T>> for ChangeLog<T> {
    fn from(s: Stored<T>) -> Self {
        let mut log = Self {
            objects: s.objects,
            position: HashMap::new(),
            alias: HashMap::new(),
            last_change: s.last_change,
            deleted: s.deleted,
            seq: s.seq,
        };
        log.reindex();
        log
    }
}

impl<T> From<ChangeLog<T>> for Stored<T> {
    fn from(l: ChangeLog<T>) -> Self {
        Self {
            objects: l.objects,
            last_change: l.last_change,
            deleted: l.deleted,
            seq: l.seq,
        }
    }
}

impl<T> Default for ChangeLog<T> {
    fn default() -> Self {
        Self {
            objects: Vec::new(),
            position: HashMap::new(),
            alias: HashMap::new(),
            last_change: HashMap::new(),
            deleted: HashMap::new(),
            seq: 0,
        }
    }
}

impl<T: Logged> ChangeLog<T> {
    /// Add or replace an object; returns its change number.
    pub fn put(&mut self, o: T) -> u64 {
        self.seq += 1;
        let id = o.id().to_string();
        self.deleted.remove(&id);
        self.last_change.insert(id.clone(), self.seq);
        let key = id.to_ascii_lowercase();
        let i = match self.position.get(&key) {
            Some(&i) if self.objects[i].id() == id => {
                self.unalias(i);
                self.objects[i] = o;
                i
            }
            _ => {
                let i = self.objects.len();
                self.position.insert(key, i);
                self.objects.push(o);
                i
            }
        };
        self.add_aliases(i);
        self.seq
    }

    /// Index the other names of the object at `i`.
    fn add_aliases(&mut self, i: usize) {
        for a in self.objects[i].aliases() {
            let places = self.alias.entry(a.to_ascii_lowercase()).or_default();
            if let Err(at) = places.binary_search(&i) {
                places.insert(at, i);
            }
        }
    }

    /// Forget the other names of the object at `i`.
    fn unalias(&mut self, i: usize) {
        for a in self.objects[i].aliases() {
            let key = a.to_ascii_lowercase();
            if let Some(places) = self.alias.get_mut(&key) {
                places.retain(|p| *p != i);
                if places.is_empty() {
                    self.alias.remove(&key);
                }
            }
        }
    }

    /// Hard-delete; the object, when there was one.
    pub fn delete(&mut self, key: &str) -> Option<T> {
        let pos = self.find(key)?;
        let o = self.objects.remove(pos);
        // Every place behind it moved: index again (deletes are rare).
        self.reindex();
        self.seq += 1;
        self.last_change.insert(o.id().to_string(), self.seq);
        self.deleted.insert(o.id().to_string(), self.seq);
        Some(o)
    }

    /// The place of the object `key` designates: by objectId, else the first known by
    /// that other name.
    fn find(&self, key: &str) -> Option<usize> {
        let key = key.to_ascii_lowercase();
        self.position
            .get(&key)
            .or_else(|| self.alias.get(&key).and_then(|p| p.first()))
            .copied()
    }

    /// Build the indexes from the objects (after a load or a removal).
    fn reindex(&mut self) {
        self.position.clear();
        self.alias.clear();
        for i in 0..self.objects.len() {
            self.position
                .insert(self.objects[i].id().to_ascii_lowercase(), i);
            self.add_aliases(i);
        }
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.find(key).map(|i| &self.objects[i])
    }

    /// By objectId only (what Graph's `/{id}` paths take).
    pub fn by_id(&self, id: &str) -> Option<&T> {
        self.position
            .get(&id.to_ascii_lowercase())
            .map(|&i| &self.objects[i])
    }

    pub fn all(&self) -> &[T] {
        &self.objects
    }

    /// One page, and how many objects there are in all.
    pub fn page(&self, offset: usize, limit: usize) -> (Vec<T>, usize) {
        (
            self.objects
                .iter()
                .skip(offset)
                .take(limit)
                .cloned()
                .collect(),
            self.objects.len(),
        )
    }

    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Objects changed after `since` up to `until`, once each, in the order of their last
    /// change, in their state now.
    pub fn changes(&self, since: u64, until: u64) -> Vec<Delta<T>> {
        let mut changed: Vec<(&String, &u64)> = self
            .last_change
            .iter()
            .filter(|(_, s)| **s > since && **s <= until)
            .collect();
        changed.sort_by_key(|(id, s)| (**s, (*id).clone()));
        changed
            .into_iter()
            .filter_map(|(id, _)| {
                if self.deleted.contains_key(id) {
                    Some(Delta::Removed(id.clone()))
                } else {
                    self.by_id(id)
                        .filter(|o| o.id() == id.as_str())
                        .cloned()
                        .map(|o| Delta::Present(Box::new(o)))
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
    struct Obj {
        id: String,
        name: String,
    }

    impl Logged for Obj {
        fn id(&self) -> &str {
            &self.id
        }
        fn aliases(&self) -> Vec<&str> {
            vec![&self.name]
        }
    }

    fn obj(i: usize) -> Obj {
        Obj {
            id: format!("ID-{i}"),
            name: format!("name {i}"),
        }
    }

    #[test]
    fn lookups_stay_right_after_deletes_and_a_save_and_load() {
        let mut log = ChangeLog::default();
        for i in 0..5 {
            log.put(obj(i));
        }
        assert_eq!(log.delete("name 1").map(|o| o.id), Some("ID-1".into()));
        // The objects behind the deleted one moved up: each is still found by its id.
        for i in [0, 2, 3, 4] {
            assert_eq!(log.by_id(&format!("id-{i}")), Some(&obj(i)));
            assert_eq!(log.get(&format!("NAME {i}")), Some(&obj(i)));
        }
        assert_eq!(log.by_id("ID-1"), None);
        // A replaced object keeps its place in creation order.
        log.put(Obj {
            name: "renamed".into(),
            ..obj(3)
        });
        let ids: Vec<_> = log.all().iter().map(|o| o.id.clone()).collect();
        assert_eq!(ids, ["ID-0", "ID-2", "ID-3", "ID-4"]);
        assert_eq!(log.get("name 3"), None, "the old name is forgotten");
        // Two objects known by one name: the first created answers to it.
        log.put(Obj {
            name: "name 4".into(),
            ..obj(9)
        });
        assert_eq!(log.get("Name 4").map(|o| o.id.as_str()), Some("ID-4"));
        log.delete("ID-4");
        assert_eq!(log.get("name 4").map(|o| o.id.as_str()), Some("ID-9"));

        // What a lab saves has no index; loading builds it again.
        let saved = serde_json::to_value(&log).unwrap();
        assert!(saved.get("position").is_none(), "{saved}");
        let loaded: ChangeLog<Obj> = serde_json::from_value(saved).unwrap();
        assert_eq!(loaded.get("renamed").map(|o| o.id.as_str()), Some("ID-3"));
        assert_eq!(
            loaded.by_id("id-9").map(|o| o.name.as_str()),
            Some("name 4")
        );
        assert_eq!(loaded.changes(0, loaded.seq()).len(), 6);
    }
}
