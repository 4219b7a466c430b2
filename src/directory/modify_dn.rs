//! Modify-DN (RFC 4511 §4.9): rename (new RDN) and move (new superior). The naming
//! attribute and `name` follow the new RDN, sAMAccountName does not; a moved subtree keeps
//! its objectGUIDs, and every DN-valued reference to it (member, memberOf, manager,
//! managedBy) follows, as AD's links do.

use super::access::{ObjectKind, Right};
use super::ad_error::{AdError, AdResult};
use super::dn::{Dn, Rdn};
use super::schema::{self, Syntax};
use super::{Principal, State};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone)]
pub struct ModifyDnRequest {
    pub dn: String,
    pub new_rdn: String,
    pub new_superior: Option<String>,
}

impl State {
    pub fn modify_dn(
        &mut self,
        p: &Principal,
        now: DateTime<Utc>,
        req: ModifyDnRequest,
    ) -> AdResult<String> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let id = self.resolve(&req.dn)?;
        let Some(e) = self.store.get(id).cloned() else {
            return Err(AdError::NoSuchObject {
                matched: String::new(),
            });
        };
        let rdn: Rdn = Dn::parse(&req.new_rdn)
            .ok()
            .filter(|d| d.rdns.len() == 1)
            .and_then(|d| d.rdn().cloned())
            .ok_or_else(|| AdError::InvalidDn(req.new_rdn.clone()))?;
        let class = schema::class(e.structural());
        let rdn_attr = class.map(|c| c.rdn).unwrap_or("cn");
        if !rdn.attr.eq_ignore_ascii_case(rdn_attr) {
            return Err(AdError::Naming(format!(
                "objectclass: Invalid RDN '{}' for objectclass '{}'!",
                rdn.attr,
                e.structural()
            )));
        }
        let old_parent = e.parent;
        let (parent_id, parent_dn) = match &req.new_superior {
            Some(sup) if !sup.is_empty() => {
                let d = Dn::parse(sup).map_err(|_| AdError::InvalidDn(sup.clone()))?;
                match self.store.id_by_dn(&d) {
                    Some(pid) => (
                        Some(pid),
                        self.store.get(pid).map(|x| x.dn.clone()).unwrap_or(d),
                    ),
                    None => {
                        return Err(AdError::MoveParentMissing {
                            dn: e.dn.to_string(),
                        })
                    }
                }
            }
            _ => (old_parent, e.dn.parent().unwrap_or_default()),
        };
        let new_dn = parent_dn.child(rdn.clone());
        if let Some(existing) = self.store.id_by_dn(&new_dn) {
            if existing != id {
                return Err(AdError::EntryExists);
            }
        }
        let kind = ObjectKind::of_class(e.structural());
        let moving = parent_id != old_parent;
        if moving {
            let pid = parent_id.ok_or(AdError::InsufficientAccess)?;
            if new_dn.is_within(&e.dn) {
                return Err(AdError::Unwilling(
                    "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0 (cannot move an object below itself)".into(),
                ));
            }
            let pclass = self
                .store
                .get(pid)
                .map(|x| x.structural().to_string())
                .unwrap_or_default();
            if let Some(c) = class {
                if !c.superiors.iter().any(|s| s.eq_ignore_ascii_case(&pclass)) {
                    return Err(AdError::Naming(format!(
                        "structural objectClass {} is not a valid child class for {parent_dn}",
                        c.name
                    )));
                }
            }
            self.require(p, kind.map(Right::Delete).unwrap_or(Right::FullControl), id)?;
            self.require(
                p,
                kind.map(Right::Create).unwrap_or(Right::FullControl),
                pid,
            )?;
        } else {
            self.require(p, kind.map(Right::Write).unwrap_or(Right::FullControl), id)?;
        }

        let old_dn = e.dn.clone();
        self.store.move_subtree(id, new_dn.clone(), parent_id);
        if let Some(mut moved) = self.store.get(id).cloned() {
            moved.set_str(rdn_attr, &rdn.value);
            moved.set_str("name", &rdn.value);
            self.stamp(&mut moved, now);
            self.store.update(moved);
        }
        self.rewrite_references(&old_dn, &new_dn);
        Ok(new_dn.to_string())
    }

    /// After a subtree moved from `old` to `new`, make every DN-valued attribute that
    /// pointed into it point at the new place.
    fn rewrite_references(&mut self, old: &Dn, new: &Dn) {
        let ids: Vec<_> = self.store.ids().collect();
        for id in ids {
            let Some(e) = self.store.get(id) else {
                continue;
            };
            let mut changed = None;
            for (name, values) in e.attrs.iter() {
                let Some(def) = schema::attr(name) else {
                    continue;
                };
                if def.syntax != Syntax::Dn {
                    continue;
                }
                let mut touched = false;
                let vals: Vec<Vec<u8>> = values
                    .iter()
                    .map(|v| {
                        match std::str::from_utf8(v)
                            .ok()
                            .and_then(|s| Dn::parse(s).ok())
                            .and_then(|d| d.rebase(old, new))
                        {
                            Some(d) => {
                                touched = true;
                                d.to_string().into_bytes()
                            }
                            None => v.to_vec(),
                        }
                    })
                    .collect();
                if touched {
                    changed.get_or_insert_with(Vec::new).push((name, vals));
                }
            }
            if let Some(changes) = changed {
                if let Some(e) = self.store.get_mut_unindexed(id) {
                    for (name, vals) in changes {
                        e.set(name, vals);
                    }
                }
            }
        }
    }
}
