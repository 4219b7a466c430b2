//! Delete (RFC 4511 §4.8): leaves only (66 notAllowedOnNonLeaf) unless the tree-delete
//! control (1.2.840.113556.1.4.805) is sent; the deleted object leaves every forward link
//! that named it (a group's `member`, a device's `managedBy`; that object's uSNChanged
//! moves), as AD's link cleanup does.
//! Left out: tombstones and the recycle bin — a deleted object is gone.

use super::access::{ObjectKind, Right};
use super::ad_error::{AdError, AdResult};
use super::store::EntryId;
use super::{OpContext, Principal, State};
use chrono::{DateTime, Utc};

impl State {
    pub fn delete(
        &mut self,
        p: &Principal,
        ctx: &OpContext,
        now: DateTime<Utc>,
        dn: &str,
    ) -> AdResult<()> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let id = self.resolve(dn)?;
        if id == self.store.id_by_dn(&self.domain.dn).unwrap_or_default() {
            return Err(AdError::Unwilling(
                "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0 (the domain object cannot be deleted)".into(),
            ));
        }
        if self.store.has_children(id) && !ctx.tree_delete {
            return Err(AdError::NotAllowedOnNonLeaf);
        }
        let doomed = self.store.subtree(id, false);
        for d in &doomed {
            let kind = self
                .store
                .get(*d)
                .and_then(|e| ObjectKind::of_class(e.structural()));
            self.require(p, kind.map(Right::Delete).unwrap_or(Right::FullControl), *d)?;
        }
        // Children first, so no entry ever loses its parent while present.
        for d in doomed.into_iter().rev() {
            self.unlink_everywhere(d, now);
            self.store.remove(d);
            self.store.usn += 1;
        }
        Ok(())
    }

    /// Drop every link that names `id`, in both directions: its DN leaves the forward
    /// links of the objects its back links name (a group's member, a device's managedBy,
    /// whose uSNChanged moves), and the back links of what its forward links name.
    fn unlink_everywhere(&mut self, id: EntryId, now: DateTime<Utc>) {
        let Some(e) = self.store.get(id) else { return };
        let dn = e.dn.to_string();
        let dn_norm = e.dn.norm();
        for (forward, back) in super::schema::links() {
            for source in self.store.linked(id, back) {
                if let Some(mut g) = self.store.get(source).cloned() {
                    let kept: Vec<Vec<u8>> = g
                        .values(forward)
                        .iter()
                        .filter(|v| {
                            std::str::from_utf8(v)
                                .ok()
                                .and_then(super::dn::norm)
                                .as_deref()
                                != Some(dn_norm.as_str())
                        })
                        .map(<[u8]>::to_vec)
                        .collect();
                    g.set(forward, kept);
                    self.stamp(&mut g, now);
                    self.store.update(g);
                }
            }
            for target in self.store.linked(id, forward) {
                self.set_back_link(back, target, &dn, false);
            }
        }
    }
}
