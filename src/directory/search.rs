//! Search (RFC 4511 §4.5): base, one-level and subtree scopes from a DN (or `<GUID=…>` /
//! `<SID=…>`), the filter, the attribute selection (`*`, a list, `1.1`; AD has no `+`),
//! never a secret. Anonymous connections may read only the RootDSE. Other naming
//! contexts below the base (CN=Configuration) are not entered; a subtree search returns a
//! continuation reference to them, as AD does. Size limits, paging and sorting are applied
//! by the session, which owns the paging cookies.

use super::ad_error::{AdError, AdResult};
use super::codec::filter_value_bytes;
use super::filter::Matcher;
use super::schema;
use super::store::{Entry, EntryId};
use super::{Principal, State};
use chrono::{DateTime, Utc};
use ldap3_proto::proto::{
    LdapFilter, LdapPartialAttribute, LdapSearchResultEntry, LdapSearchScope,
};

/// The entries a search selects, in the order AD would send them, and the references.
#[derive(Debug, Default)]
pub struct Selection {
    pub ids: Vec<EntryId>,
    pub references: Vec<String>,
}

impl State {
    /// Resolve the base, walk the scope and apply the filter.
    pub fn select(
        &self,
        p: &Principal,
        base: &str,
        scope: &LdapSearchScope,
        filter: &LdapFilter,
        now: DateTime<Utc>,
    ) -> AdResult<Selection> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let m = Matcher { st: self, now };
        if base.is_empty() {
            // Phantom root (search options flag 2): every naming context.
            let ids = self.store.all();
            return Ok(Selection {
                ids: ids
                    .into_iter()
                    .filter(|id| self.store.get(*id).is_some_and(|e| m.matches(e, filter)))
                    .collect(),
                references: Vec::new(),
            });
        }
        let base_id = self.resolve(base)?;
        let mut sel = Selection::default();
        if let Some(ids) = self.indexed(filter) {
            // The filter pins the candidates through an index: check only those.
            sel.ids = ids
                .into_iter()
                .filter(|id| self.in_scope(*id, base_id, scope))
                .filter(|id| self.store.get(*id).is_some_and(|e| m.matches(e, filter)))
                .collect();
        } else {
            let candidates: Vec<EntryId> = match scope {
                LdapSearchScope::Base => vec![base_id],
                LdapSearchScope::OneLevel => self.store.children(base_id).collect(),
                LdapSearchScope::Subtree => self.store.subtree(base_id, true),
                LdapSearchScope::Children => self
                    .store
                    .subtree(base_id, true)
                    .into_iter()
                    .skip(1)
                    .collect(),
            };
            sel.ids = candidates
                .into_iter()
                .filter(|id| self.store.get(*id).is_some_and(|e| m.matches(e, filter)))
                .collect();
        }
        if matches!(scope, LdapSearchScope::Subtree) {
            for head in self.store.nc_heads() {
                let Some(h) = self.store.get(head) else {
                    continue;
                };
                if head != base_id && h.parent.is_some_and(|p| self.in_scope(p, base_id, scope)) {
                    sel.references
                        .push(format!("ldap://{}/{}", self.domain.dns_name, h.dn));
                }
            }
        }
        Ok(sel)
    }

    /// Is `id` inside the scope of a search from `base` (without crossing into another
    /// naming context)?
    fn in_scope(&self, id: EntryId, base: EntryId, scope: &LdapSearchScope) -> bool {
        let parent = |x: EntryId| self.store.get(x).and_then(|e| e.parent);
        match scope {
            LdapSearchScope::Base => id == base,
            LdapSearchScope::OneLevel => parent(id) == Some(base),
            LdapSearchScope::Subtree | LdapSearchScope::Children => {
                if id == base {
                    return matches!(scope, LdapSearchScope::Subtree);
                }
                let mut cur = id;
                loop {
                    if self.store.get(cur).is_some_and(|e| e.is_nc_head()) {
                        return false;
                    }
                    match parent(cur) {
                        Some(p) if p == base => return true,
                        Some(p) => cur = p,
                        None => return false,
                    }
                }
            }
        }
    }

    /// Candidate ids from an index when the filter is (or ANDs) an equality on an
    /// indexed attribute; `None` when a scan is needed.
    fn indexed(&self, f: &LdapFilter) -> Option<Vec<EntryId>> {
        match f {
            LdapFilter::Equality(a, v) => {
                let hit = match a.to_ascii_lowercase().as_str() {
                    "samaccountname" => self.store.by_sam(v),
                    "userprincipalname" => self.store.by_upn(v),
                    "distinguishedname" => super::dn::Dn::parse(v)
                        .ok()
                        .and_then(|d| self.store.by_dn(&d)),
                    "objectguid" => self.store.by_guid(&filter_value_bytes(v)),
                    "objectsid" => {
                        let sid = super::ids::parse_sid(v).unwrap_or_else(|| filter_value_bytes(v));
                        self.store.by_sid(&sid)
                    }
                    _ => return None,
                };
                Some(hit.map(|e| vec![e.id]).unwrap_or_default())
            }
            LdapFilter::And(fs) => fs.iter().find_map(|f| self.indexed(f)),
            _ => None,
        }
    }

    /// The wire form of one entry with the requested attributes.
    pub fn render(
        &self,
        e: &Entry,
        attrs: &[String],
        types_only: bool,
        now: DateTime<Utc>,
    ) -> LdapSearchResultEntry {
        let m = Matcher { st: self, now };
        let all = attrs.is_empty() || attrs.iter().any(|a| a == "*");
        let mut out: Vec<LdapPartialAttribute> = Vec::new();
        let mut push = |name: &str, vals: Vec<Vec<u8>>| {
            if vals.is_empty()
                || out
                    .iter()
                    .any(|a: &LdapPartialAttribute| a.atype.eq_ignore_ascii_case(name))
            {
                return;
            }
            out.push(LdapPartialAttribute {
                atype: name.to_string(),
                vals: if types_only { Vec::new() } else { vals },
            });
        };
        if all {
            for a in e.attrs.values() {
                push(a.name, a.values.clone());
            }
        }
        for req in attrs {
            if req == "*" || req == "+" || req == "1.1" {
                continue;
            }
            // Names the schema does not know (including `dn`) select nothing, as on a DC.
            if let Some(def) = schema::attr(req) {
                push(def.name, m.values(e, def.name));
            }
        }
        LdapSearchResultEntry {
            dn: e.dn.to_string(),
            attributes: out,
        }
    }
}

/// An entry's DN in the LDAP_SERVER_EXTENDED_DN form: `<GUID=…>;<SID=…>;DN`, hexadecimal
/// (format 0) or string (format 1); objects without a SID get only the GUID.
pub fn extended_dn(e: &Entry, format: i32) -> String {
    let hex = |b: &[u8]| b.iter().map(|x| format!("{x:02x}")).collect::<String>();
    let mut out = String::new();
    if let Some(g) = e.guid() {
        let shown = if format == 1 {
            super::ids::guid_text(g).unwrap_or_else(|| hex(g))
        } else {
            hex(g)
        };
        out.push_str(&format!("<GUID={shown}>;"));
    }
    if let Some(s) = e.values("objectSid").first() {
        let shown = if format == 1 {
            super::ids::sid_text(s).unwrap_or_else(|| hex(s))
        } else {
            hex(s)
        };
        out.push_str(&format!("<SID={shown}>;"));
    }
    out.push_str(&e.dn.to_string());
    out
}
