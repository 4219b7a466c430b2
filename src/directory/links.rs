//! Linked attributes: a forward link (member, managedBy, manager, …) and the back link the
//! DC keeps on what it names (memberOf, managedObjects, directReports, …).

use super::store::{Entry, EntryId};
use super::{dn, schema, State};

impl State {
    /// Add `source_dn` to (or remove it from) the back link `back` (memberOf,
    /// managedObjects, …) of `target`. Back links are not replicated, so no USN moves.
    pub fn set_back_link(&mut self, back: &str, target: EntryId, source_dn: &str, present: bool) {
        let Some(e) = self.store.get_mut_unindexed(target) else {
            return;
        };
        // Back-link values are written only here and by a rename, both from an entry's own
        // DN as `Dn` prints it: two ASCII spellings name the same entry when they match but
        // for case; only other text needs the normal form.
        let gnorm = std::cell::OnceCell::new();
        let same = |v: &[u8]| {
            if v.is_ascii() && source_dn.is_ascii() {
                v.eq_ignore_ascii_case(source_dn.as_bytes())
            } else {
                std::str::from_utf8(v).ok().and_then(dn::norm)
                    == *gnorm.get_or_init(|| dn::norm(source_dn))
            }
        };
        // The values kept are read in place: one build of the entry's attributes, not a
        // copy of each (an owner of a hundred devices has a hundred managedObjects).
        let mut vals: Vec<&[u8]> = e.values(back).iter().filter(|v| !same(v)).collect();
        if present {
            vals.push(source_dn.as_bytes());
        }
        if let Some(next) = e.attrs.with(&[(back, vals)]) {
            e.attrs = next;
        }
    }

    /// After entry `id` was added or changed (`before`: what its forward links named
    /// then), bring the back links of what they name now and named before up to date.
    pub fn follow_links(&mut self, id: EntryId, before: &[(&'static str, Vec<EntryId>)]) {
        let Some(e) = self.store.get(id) else {
            return;
        };
        // Only the forward links the entry has now or had can move a back link; they are
        // followed in the order of [`schema::links`].
        let mut forwards = forward_link_indexes(e);
        forwards.extend(
            before.iter().filter_map(|(f, _)| {
                (schema::links().iter()).position(|(forward, _)| forward == f)
            }),
        );
        if forwards.is_empty() {
            return;
        }
        forwards.sort_unstable();
        forwards.dedup();
        let dn = e.dn.to_string();
        for (forward, back) in forwards.into_iter().map(|i| schema::links()[i]) {
            let was = before.iter().find(|(f, _)| *f == forward).map(|(_, v)| v);
            let was: &[EntryId] = was.map(Vec::as_slice).unwrap_or_default();
            let now = self.store.linked(id, forward);
            for t in was.iter().filter(|t| !now.contains(t)) {
                self.set_back_link(back, *t, &dn, false);
            }
            for t in now.iter().filter(|t| !was.contains(t)) {
                self.set_back_link(back, *t, &dn, true);
            }
        }
    }

    /// What the forward links of entry `id` name, for [`State::follow_links`].
    pub fn forward_links(&self, id: EntryId) -> Vec<(&'static str, Vec<EntryId>)> {
        let Some(e) = self.store.get(id) else {
            return Vec::new();
        };
        (forward_link_indexes(e).into_iter())
            .map(|i| schema::links()[i].0)
            .map(|f| (f, self.store.linked(id, f)))
            .collect()
    }
}

/// Which of [`schema::links`] the entry has the forward link of: their places there, in
/// order.
fn forward_link_indexes(e: &Entry) -> Vec<usize> {
    let mut at: Vec<usize> = e.attrs.numbers().filter_map(schema::link_index).collect();
    at.sort_unstable();
    at
}
