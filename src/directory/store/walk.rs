//! Walking a subtree in the order searches send it — parents before children, siblings
//! in creation order — one entry at a time, and from where an earlier walk stopped (a
//! paged search's next page).

use super::{EntryId, Store};
use std::collections::BTreeSet;
use std::ops::Bound;

static NO_CHILDREN: BTreeSet<EntryId> = BTreeSet::new();

/// A walk of a subtree, parents before children, one entry at a time
/// ([`Store::walk`]).
pub struct Walk<'a> {
    store: &'a Store,
    stop_at_nc: bool,
    /// The entry the walk starts at, when it has not been sent before.
    first: Option<EntryId>,
    /// The children still to visit at each level, deepest last.
    stack: Vec<std::collections::btree_set::Range<'a, EntryId>>,
}

impl<'a> Iterator for Walk<'a> {
    type Item = EntryId;

    fn next(&mut self) -> Option<EntryId> {
        let store: &'a Store = self.store;
        let kids = |id: &EntryId| store.children.get(id).unwrap_or(&NO_CHILDREN).range(..);
        if let Some(id) = self.first.take() {
            self.stack.push(kids(&id));
            return Some(id);
        }
        loop {
            let Some(k) = self.stack.last_mut()?.next().copied() else {
                self.stack.pop();
                continue;
            };
            // The index, not the entry: reading every entry walked costs a cache miss each.
            if self.stop_at_nc && store.nc_heads.contains(&k) {
                continue;
            }
            self.stack.push(kids(&k));
            return Some(k);
        }
    }
}

impl Store {
    /// [`Store::subtree`] as it goes, from where a walk stopped: what comes after the entry
    /// at the end of `after` (a [`Store::path`] that passes through `id`), in the same
    /// order. A walk's order is the order of the entries' paths, so the walk resumes
    /// correctly even when the entries on that path have been deleted since. Everything
    /// when `after` is empty; nothing when it does not pass through `id`. Each entry costs
    /// its turn only: taking the next thousand of a million costs a thousand.
    pub fn walk<'a>(&'a self, id: EntryId, stop_at_nc: bool, after: &[EntryId]) -> Walk<'a> {
        let mut walk = Walk {
            store: self,
            stop_at_nc,
            first: None,
            stack: Vec::new(),
        };
        if after.is_empty() {
            walk.first = Some(id);
            return walk;
        }
        let Some(start) = after.iter().position(|x| *x == id) else {
            return walk;
        };
        // What is left below each entry on the path, deepest last: below the last entry
        // everything, below the others what follows the next entry on the path.
        let path = &after[start..];
        for (i, cur) in path.iter().enumerate() {
            let kids = self.children.get(cur).unwrap_or(&NO_CHILDREN);
            walk.stack.push(match path.get(i + 1) {
                Some(next) => kids.range((Bound::Excluded(*next), Bound::Unbounded)),
                None => kids.range(..),
            });
        }
        walk
    }

    /// The entry's ancestors from its naming context's root down, then the entry: its
    /// place in a walk ([`Store::walk`]).
    pub fn path(&self, id: EntryId) -> Vec<EntryId> {
        let mut path = vec![id];
        let mut cur = id;
        while let Some(p) = self.entries.get(&cur).and_then(|e| e.parent) {
            path.push(p);
            cur = p;
        }
        path.reverse();
        path
    }

    /// Every entry after the one at the end of `after` ([`Store::path`]), parents before
    /// children, as it goes; every entry when `after` is empty.
    pub fn all_after<'a>(&'a self, after: &'a [EntryId]) -> impl Iterator<Item = EntryId> + 'a {
        let first = after.first().copied().unwrap_or(EntryId::MIN);
        self.roots
            .range(first..)
            .flat_map(move |r| match after.first() == Some(r) {
                true => self.walk(*r, false, after),
                false => self.walk(*r, false, &[]),
            })
    }
}
