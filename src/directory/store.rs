//! The directory's entries and the indexes that keep lookups fast at 100,000 entries:
//! DN, objectGUID, objectSid, sAMAccountName and userPrincipalName, plus the parent/child
//! links that base, one-level and subtree searches walk. Entries keep a stable creation
//! order (their id), which is the order searches return them in.
//!
//! The store holds no rules: schema, access and password checks live in the operations,
//! which build a new version of an entry and hand it to [`Store::update`].

use super::dn::Dn;
use foldhash::HashMap;
use std::collections::BTreeSet;
use std::sync::Arc;

mod attrs;
mod draft;
mod walk;
pub use attrs::{Attrs, Vals, ValsIter};
pub use draft::Draft;
pub use walk::Walk;

pub type EntryId = u64;

/// The hash of a password and of the ones before it. Never an attribute, so no search,
/// export or snapshot can show it.
#[derive(Clone, PartialEq, Eq, Default)]
pub struct Secret {
    pub hash: Option<[u8; 32]>,
    /// Newest first, as long as pwdHistoryLength asks (the current one included).
    pub history: Vec<[u8; 32]>,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(..)")
    }
}

#[derive(Debug, Clone)]
pub struct Entry {
    pub id: EntryId,
    pub dn: Dn,
    pub parent: Option<EntryId>,
    /// Packed: names as schema numbers, every value in one buffer ([`Attrs`]).
    pub attrs: Attrs,
    /// Only on an account a password was set on: most entries never have one.
    pub secret: Option<Box<Secret>>,
}

impl Entry {
    pub fn new(dn: Dn) -> Self {
        Self {
            id: 0,
            dn,
            parent: None,
            attrs: Attrs::default(),
            secret: None,
        }
    }

    /// An attribute's values by any spelling of its name (none when it is absent).
    pub fn values(&self, name: &str) -> Vals<'_> {
        self.attrs.get(name)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        self.values(name)
            .first()
            .and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn strs(&self, name: &str) -> impl Iterator<Item = &str> {
        self.values(name)
            .iter()
            .filter_map(|v| std::str::from_utf8(v).ok())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.str(name).and_then(|s| s.trim().parse().ok())
    }

    pub fn has(&self, name: &str) -> bool {
        !self.values(name).is_empty()
    }

    /// Set an attribute under its schema spelling; an empty list removes it.
    pub fn set(&mut self, name: &str, values: Vec<Vec<u8>>) {
        // Only schema attributes can be stored: the operations reject unknown names first.
        let known = self.attrs.set(name, &values);
        debug_assert!(known, "attribute {name} is not in the schema");
    }

    pub fn set_str(&mut self, name: &str, value: &str) {
        self.set(name, vec![value.as_bytes().to_vec()]);
    }

    pub fn set_int(&mut self, name: &str, value: i64) {
        self.set_str(name, &value.to_string());
    }

    pub fn remove(&mut self, name: &str) {
        self.attrs.remove(name);
    }

    /// True when objectClass holds `class` (any case).
    pub fn is(&self, class: &str) -> bool {
        self.strs("objectClass")
            .any(|c| c.eq_ignore_ascii_case(class))
    }

    /// The most specific objectClass value (the last in AD's order).
    pub fn structural(&self) -> &str {
        self.strs("objectClass").last().unwrap_or("top")
    }

    pub fn guid(&self) -> Option<&[u8]> {
        self.values("objectGUID").first()
    }

    /// Naming-context heads (instanceType has bit 1) start another partition: subtree
    /// searches from above do not descend into them.
    pub fn is_nc_head(&self) -> bool {
        self.int("instanceType").is_some_and(|t| t & 1 == 1)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Store {
    /// Shared, so a snapshot of the whole directory ([`Store::shared`]) costs a reference
    /// per entry; a change copies only the entry it changes.
    entries: HashMap<EntryId, Arc<Entry>>,
    children: HashMap<EntryId, BTreeSet<EntryId>>,
    roots: BTreeSet<EntryId>,
    by_dn: HashMap<String, EntryId>,
    /// A GUID is 16 bytes: kept in place, not in an allocation of its own.
    by_guid: HashMap<[u8; 16], EntryId>,
    by_sid: HashMap<Vec<u8>, EntryId>,
    by_sam: HashMap<String, EntryId>,
    by_upn: HashMap<String, EntryId>,
    /// Heads of naming contexts (CN=Configuration, CN=Schema): few, and needed for the
    /// continuation references of subtree searches.
    nc_heads: BTreeSet<EntryId>,
    next_id: EntryId,
    /// The DC's update sequence number: one counter for every change.
    pub usn: i64,
}

impl Store {
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    pub fn get(&self, id: EntryId) -> Option<&Entry> {
        self.entries.get(&id).map(|e| &**e)
    }

    /// The entry itself, shared: what a snapshot keeps.
    pub fn shared(&self, id: EntryId) -> Option<Arc<Entry>> {
        self.entries.get(&id).cloned()
    }

    pub fn id_by_dn(&self, dn: &Dn) -> Option<EntryId> {
        self.id_by_key(&dn.norm())
    }

    /// By a DN's comparison key ([`Dn::norm`]).
    pub fn id_by_key(&self, key: &str) -> Option<EntryId> {
        self.by_dn.get(key).copied()
    }

    pub fn by_dn(&self, dn: &Dn) -> Option<&Entry> {
        self.id_by_dn(dn).and_then(|id| self.get(id))
    }

    pub fn by_guid(&self, guid: &[u8]) -> Option<&Entry> {
        let guid: [u8; 16] = guid.try_into().ok()?;
        self.by_guid.get(&guid).and_then(|id| self.get(*id))
    }

    pub fn by_sid(&self, sid: &[u8]) -> Option<&Entry> {
        self.by_sid.get(sid).and_then(|id| self.get(*id))
    }

    pub fn by_sam(&self, sam: &str) -> Option<&Entry> {
        self.by_sam
            .get(&sam.to_lowercase())
            .and_then(|id| self.get(*id))
    }

    pub fn by_upn(&self, upn: &str) -> Option<&Entry> {
        self.by_upn
            .get(&upn.to_lowercase())
            .and_then(|id| self.get(*id))
    }

    /// The DN of the deepest existing ancestor of `dn` (AD's "best match"), or "".
    pub fn best_match(&self, dn: &Dn) -> String {
        // The naming context the DN lies in, then down from it to the first missing
        // ancestor (every entry's parent exists). Walking up from the DN instead
        // re-normalised every ancestor: quadratic in a DN of thousands of RDNs.
        let Some(root) = self
            .roots
            .iter()
            .filter_map(|id| self.get(*id))
            .filter(|r| r.dn.rdns.len() < dn.rdns.len() && dn.is_within(&r.dn))
            .max_by_key(|r| r.dn.rdns.len())
        else {
            return String::new();
        };
        let mut best = root.dn.to_string();
        let mut key = root.dn.norm();
        let below = dn.rdns.len() - root.dn.rdns.len();
        for rdn in dn.rdns[1..below].iter().rev() {
            // As Dn::norm spells each RDN.
            key = format!(
                "{}={},{key}",
                rdn.attr.to_ascii_lowercase(),
                super::dn::escape_value(&rdn.value.to_lowercase())
            );
            match self.by_dn.get(&key).and_then(|id| self.get(*id)) {
                Some(e) => best = e.dn.to_string(),
                None => break,
            }
        }
        best
    }

    pub fn children(&self, id: EntryId) -> impl Iterator<Item = EntryId> + '_ {
        self.children.get(&id).into_iter().flatten().copied()
    }

    pub fn has_children(&self, id: EntryId) -> bool {
        self.children.get(&id).is_some_and(|c| !c.is_empty())
    }

    /// `id` and everything below it, parents before children, in creation order.
    /// With `stop_at_nc`, other naming contexts below `id` are not entered.
    pub fn subtree(&self, id: EntryId, stop_at_nc: bool) -> Vec<EntryId> {
        self.walk(id, stop_at_nc, &[]).collect()
    }

    /// Every entry, parents before children.
    pub fn all(&self) -> Vec<EntryId> {
        self.all_after(&[]).collect()
    }

    /// Insert a new entry under its parent (already checked to exist). Returns its id.
    pub fn insert(&mut self, entry: Entry) -> EntryId {
        let (key, parent) = self.key_and_parent(&entry.dn);
        self.insert_keyed(entry, parent, key)
    }

    /// A DN's comparison key and its parent's id (none for the root or a missing parent).
    fn key_and_parent(&self, dn: &Dn) -> (String, Option<EntryId>) {
        let (key, at) = dn.norm_and_parent();
        let parent = match dn.is_root() {
            true => None,
            false => self.id_by_key(&key[at..]),
        };
        (key, parent)
    }

    /// [`Store::insert`] for a caller that has looked up the entry's comparison key and
    /// its parent already (an add does, to refuse an existing entry or a missing parent).
    pub fn insert_keyed(
        &mut self,
        mut entry: Entry,
        parent: Option<EntryId>,
        key: String,
    ) -> EntryId {
        self.next_id += 1;
        entry.id = self.next_id;
        entry.parent = parent;
        self.link(entry, key)
    }

    /// Put back an entry with the id it had (restoring a snapshot, parents first).
    pub fn restore(&mut self, mut entry: Entry) {
        self.next_id = self.next_id.max(entry.id);
        let (key, parent) = self.key_and_parent(&entry.dn);
        entry.parent = parent;
        self.link(entry, key);
    }

    /// File an entry whose id and parent are set: under its parent, in the indexes.
    fn link(&mut self, entry: Entry, key: String) -> EntryId {
        let id = entry.id;
        match entry.parent {
            Some(p) => {
                self.children.entry(p).or_default().insert(id);
            }
            None => {
                self.roots.insert(id);
            }
        }
        self.index_keyed(&entry, key);
        self.entries.insert(id, Arc::new(entry));
        id
    }

    /// Replace an entry's attributes (same id, same DN), keeping the indexes right.
    pub fn update(&mut self, entry: Entry) {
        if let Some(old) = self.entries.remove(&entry.id) {
            self.unindex(&old);
        }
        self.index(&entry);
        self.entries.insert(entry.id, Arc::new(entry));
    }

    pub fn remove(&mut self, id: EntryId) -> Option<Entry> {
        let entry = Arc::unwrap_or_clone(self.entries.remove(&id)?);
        self.unindex(&entry);
        match entry.parent {
            Some(p) => {
                if let Some(k) = self.children.get_mut(&p) {
                    k.remove(&id);
                }
            }
            None => {
                self.roots.remove(&id);
            }
        }
        self.children.remove(&id);
        Some(entry)
    }

    /// Give `id` a new DN (and parent); every descendant's DN follows.
    pub fn move_subtree(&mut self, id: EntryId, new_dn: Dn, new_parent: Option<EntryId>) {
        let Some(old_dn) = self.entries.get(&id).map(|e| e.dn.clone()) else {
            return;
        };
        let old_parent = self.entries.get(&id).and_then(|e| e.parent);
        if old_parent != new_parent {
            if let Some(p) = old_parent {
                if let Some(k) = self.children.get_mut(&p) {
                    k.remove(&id);
                }
            }
            if let Some(p) = new_parent {
                self.children.entry(p).or_default().insert(id);
            }
        }
        for member in self.subtree(id, false) {
            let Some(mut e) = self.entries.remove(&member).map(Arc::unwrap_or_clone) else {
                continue;
            };
            self.by_dn.remove(&e.dn.norm());
            if let Some(d) = e.dn.rebase(&old_dn, &new_dn) {
                e.dn = d;
            }
            if member == id {
                e.parent = new_parent;
            }
            e.set_str("distinguishedName", &e.dn.to_string());
            self.by_dn.insert(e.dn.norm(), member);
            self.entries.insert(member, Arc::new(e));
        }
    }

    /// Naming-context heads, in creation order.
    pub fn nc_heads(&self) -> impl Iterator<Item = EntryId> + '_ {
        self.nc_heads.iter().copied()
    }

    fn index(&mut self, e: &Entry) {
        self.index_keyed(e, e.dn.norm());
    }

    fn index_keyed(&mut self, e: &Entry, key: String) {
        self.by_dn.insert(key, e.id);
        if e.is_nc_head() {
            self.nc_heads.insert(e.id);
        }
        if let Some(g) = e
            .values("objectGUID")
            .first()
            .and_then(|g| g.try_into().ok())
        {
            self.by_guid.insert(g, e.id);
        }
        if let Some(s) = e.values("objectSid").first() {
            self.by_sid.insert(s.to_vec(), e.id);
        }
        if let Some(s) = e.str("sAMAccountName") {
            self.by_sam.insert(s.to_lowercase(), e.id);
        }
        if let Some(u) = e.str("userPrincipalName") {
            self.by_upn.insert(u.to_lowercase(), e.id);
        }
    }

    fn unindex(&mut self, e: &Entry) {
        self.by_dn.remove(&e.dn.norm());
        self.nc_heads.remove(&e.id);
        if let Some(g) = e
            .values("objectGUID")
            .first()
            .and_then(|g| g.try_into().ok())
        {
            self.by_guid.remove::<[u8; 16]>(&g);
        }
        if let Some(s) = e.values("objectSid").first() {
            self.by_sid.remove(s);
        }
        if let Some(s) = e.str("sAMAccountName") {
            self.by_sam.remove(&s.to_lowercase());
        }
        if let Some(u) = e.str("userPrincipalName") {
            self.by_upn.remove(&u.to_lowercase());
        }
    }

    /// Entries the DN-valued attribute `attr` of `id` points at (member, memberOf, …).
    pub fn linked(&self, id: EntryId, attr: &str) -> Vec<EntryId> {
        let Some(e) = self.get(id) else {
            return Vec::new();
        };
        e.strs(attr)
            .filter_map(|v| Dn::parse(v).ok())
            .filter_map(|d| self.id_by_dn(&d))
            .collect()
    }

    /// Mutable access for system bookkeeping that touches no indexed attribute.
    pub fn get_mut_unindexed(&mut self, id: EntryId) -> Option<&mut Entry> {
        self.entries.get_mut(&id).map(Arc::make_mut)
    }

    pub fn ids(&self) -> impl Iterator<Item = EntryId> + '_ {
        self.entries.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(dn: &str) -> Entry {
        let mut e = Entry::new(Dn::parse(dn).unwrap());
        e.set_str("distinguishedName", dn);
        e
    }

    #[test]
    fn indexes_follow_updates_and_moves() {
        let mut s = Store::default();
        let root = s.insert(entry("DC=gntech,DC=me"));
        let ou = s.insert(entry("OU=Staff,DC=gntech,DC=me"));
        let mut alice = entry("CN=Alice,OU=Staff,DC=gntech,DC=me");
        alice.set_str("sAMAccountName", "alice");
        let a = s.insert(alice);
        assert_eq!(s.by_sam("ALICE").map(|e| e.id), Some(a));
        assert_eq!(s.subtree(root, true), vec![root, ou, a]);

        let mut e = s.get(a).unwrap().clone();
        e.set_str("sAMAccountName", "alice2");
        s.update(e);
        assert!(s.by_sam("alice").is_none());
        assert!(s.by_sam("alice2").is_some());

        s.move_subtree(
            ou,
            Dn::parse("OU=People,DC=gntech,DC=me").unwrap(),
            Some(root),
        );
        let moved = s.get(a).unwrap();
        assert_eq!(moved.dn.to_string(), "CN=Alice,OU=People,DC=gntech,DC=me");
        assert_eq!(
            moved.str("distinguishedName"),
            Some("CN=Alice,OU=People,DC=gntech,DC=me")
        );
        assert!(s
            .by_dn(&Dn::parse("cn=alice,ou=people,dc=gntech,dc=me").unwrap())
            .is_some());
        assert_eq!(
            s.best_match(&Dn::parse("CN=X,OU=Nope,OU=People,DC=gntech,DC=me").unwrap()),
            "OU=People,DC=gntech,DC=me"
        );
    }
}
