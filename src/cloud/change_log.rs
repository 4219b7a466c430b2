//! A collection of directory objects with the change log Graph's delta queries read: every
//! put and delete gets the next change number; a delta token is a position in the log, and
//! a round returns each object changed since, once, in its state now.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

/// What the log needs to know about an object.
pub trait Logged: Clone {
    /// The objectId.
    fn id(&self) -> &str;
    /// Does `key` (objectId, or another name people use for it) designate this object?
    fn matches(&self, key: &str) -> bool {
        self.id().eq_ignore_ascii_case(key)
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
pub struct ChangeLog<T> {
    /// Objects in creation order.
    objects: Vec<T>,
    /// objectId → the change number of its last change (present or deleted).
    last_change: HashMap<String, u64>,
    /// objectIds deleted.
    deleted: HashMap<String, u64>,
    seq: u64,
}

impl<T> Default for ChangeLog<T> {
    fn default() -> Self {
        Self {
            objects: Vec::new(),
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
        match self.objects.iter_mut().find(|x| x.id() == id) {
            Some(x) => *x = o,
            None => self.objects.push(o),
        }
        self.seq
    }

    /// Hard-delete; the object, when there was one.
    pub fn delete(&mut self, key: &str) -> Option<T> {
        let pos = self.objects.iter().position(|o| o.matches(key))?;
        let o = self.objects.remove(pos);
        self.seq += 1;
        self.last_change.insert(o.id().to_string(), self.seq);
        self.deleted.insert(o.id().to_string(), self.seq);
        Some(o)
    }

    pub fn get(&self, key: &str) -> Option<&T> {
        self.objects.iter().find(|o| o.matches(key))
    }

    /// By objectId only (what Graph's `/{id}` paths take).
    pub fn by_id(&self, id: &str) -> Option<&T> {
        self.objects
            .iter()
            .find(|o| o.id().eq_ignore_ascii_case(id))
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
                    self.objects
                        .iter()
                        .find(|o| o.id() == id)
                        .cloned()
                        .map(|o| Delta::Present(Box::new(o)))
                }
            })
            .collect()
    }
}
