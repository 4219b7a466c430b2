//! Search (RFC 4511 §4.5): base, one-level and subtree scopes from a DN (or `<GUID=…>` /
//! `<SID=…>`), the filter, the attribute selection (`*`, a list, `1.1`; AD has no `+`),
//! never a secret. Anonymous connections may read only the RootDSE. Other naming
//! contexts below the base (CN=Configuration) are not entered; a subtree search returns a
//! continuation reference to them, as AD does. A selection can start after a given entry
//! and stop after so many ([`Resume`]); size limits, paging and sorting are applied by
//! [`super::paging`].

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

/// AD's LDAP policy MaxQueryDuration (MS-ADTS 3.1.1.3.4.6): the longest a search may run,
/// 120 s, whatever time limit the client asks for.
pub const MAX_QUERY_DURATION: std::time::Duration = std::time::Duration::from_secs(120);

/// How long a search may run: the client's time limit in seconds (0: none), never more
/// than AD's MaxQueryDuration.
pub fn time_limit(seconds: i32) -> std::time::Duration {
    match u64::try_from(seconds) {
        Ok(s) if s > 0 => std::time::Duration::from_secs(s).min(MAX_QUERY_DURATION),
        _ => MAX_QUERY_DURATION,
    }
}

/// How many candidates are matched between two looks at the clock.
const CLOCK_EVERY: usize = 16;

/// Where a selection starts and how much of it is wanted.
#[derive(Debug, Clone)]
pub struct Resume {
    /// The [`Store::path`](super::store::Store::path) of the last entry already sent
    /// (empty: from the start). Entries are selected in walk order, which is the order of
    /// their paths, so the selection goes on after it.
    pub after: Vec<EntryId>,
    /// At most this many entries (the rest is not matched at all).
    pub at_most: usize,
}

impl Default for Resume {
    fn default() -> Self {
        Self {
            after: Vec::new(),
            at_most: usize::MAX,
        }
    }
}

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
        let all = Resume::default();
        self.select_within(p, base, scope, filter, now, MAX_QUERY_DURATION, &all)
    }

    /// What a search request selects, within the client's time limit, from where
    /// `resume` says.
    pub fn select_request(
        &self,
        p: &Principal,
        req: &ldap3_proto::proto::LdapSearchRequest,
        now: DateTime<Utc>,
        resume: &Resume,
    ) -> AdResult<Selection> {
        let limit = time_limit(req.timelimit);
        self.select_within(p, &req.base, &req.scope, &req.filter, now, limit, resume)
    }

    /// [`State::select`] that gives up with timeLimitExceeded once matching has taken
    /// `limit` (the client's time limit, at most [`MAX_QUERY_DURATION`]).
    #[allow(clippy::too_many_arguments)]
    fn select_within(
        &self,
        p: &Principal,
        base: &str,
        scope: &LdapSearchScope,
        filter: &LdapFilter,
        now: DateTime<Utc>,
        limit: std::time::Duration,
        resume: &Resume,
    ) -> AdResult<Selection> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let m = Matcher { st: self, now };
        let deadline = std::time::Instant::now() + limit.min(MAX_QUERY_DURATION);
        let (mut seen, mut late) = (0usize, false);
        // Whether a candidate matches; false for every one once the deadline has passed.
        let mut keep = |id: &EntryId| {
            // The first candidate, then every CLOCK_EVERY-th.
            if seen % CLOCK_EVERY == 0 && std::time::Instant::now() >= deadline {
                late = true;
            }
            seen += 1;
            !late && self.store.get(*id).is_some_and(|e| m.matches(e, filter))
        };
        if base.is_empty() {
            // Phantom root (search options flag 2): every naming context.
            let ids: Vec<EntryId> = (self.store.all_after(&resume.after))
                .filter(&mut keep)
                .take(resume.at_most)
                .collect();
            if late {
                return Err(AdError::TimeLimitExceeded);
            }
            return Ok(Selection {
                ids,
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
                .filter(|id| resume.after.is_empty() || self.store.path(*id) > resume.after)
                .filter(&mut keep)
                .take(resume.at_most)
                .collect();
        } else {
            let after = &resume.after;
            let candidates: Box<dyn Iterator<Item = EntryId>> = match scope {
                // Sent already when the search resumes.
                LdapSearchScope::Base if !after.is_empty() => Box::new(std::iter::empty()),
                LdapSearchScope::Base => Box::new(std::iter::once(base_id)),
                LdapSearchScope::OneLevel => {
                    let last = after.iter().skip_while(|x| **x != base_id).nth(1).copied();
                    let kids = self.store.children(base_id);
                    Box::new(kids.filter(move |k| last.is_none_or(|l| *k > l)))
                }
                LdapSearchScope::Subtree => Box::new(self.store.walk(base_id, true, after)),
                // The base is on the path it resumes from, so never in the walk after it.
                LdapSearchScope::Children => {
                    let walk = self.store.walk(base_id, true, after);
                    Box::new(walk.skip(usize::from(after.is_empty())))
                }
            };
            sel.ids = candidates.filter(&mut keep).take(resume.at_most).collect();
        }
        if late {
            return Err(AdError::TimeLimitExceeded);
        }
        if matches!(scope, LdapSearchScope::Subtree) && resume.after.is_empty() {
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
            for (name, values) in e.attrs.iter() {
                push(name, values.to_vec());
            }
        }
        for req in attrs {
            if req == "*" || req == "+" || req == "1.1" {
                continue;
            }
            // Names the schema does not know (including `dn`) select nothing, as on a DC.
            if let Some(def) = schema::attr(req) {
                push(def.name, m.values(e, def.name).into_vec());
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::{Clock, ManualClock};
    use crate::directory::{Directory, DirectoryConfig};
    use std::sync::Arc;
    use std::time::Duration;

    #[test]
    fn a_search_past_its_time_limit_answers_time_limit_exceeded() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::scenario_start());
        let dir = Directory::new(DirectoryConfig::default(), clock).unwrap();
        let st = dir.read();
        let now = dir.now();
        let every = LdapFilter::Present("objectClass".into());
        let (base, scope) = ("DC=gntech,DC=me", LdapSearchScope::Subtree);
        let whole = st
            .select(&Principal::System, base, &scope, &every, now)
            .unwrap();
        assert!(whole.ids.len() > 1, "{}", whole.ids.len());
        // A limit already spent: the first look at the clock ends the search.
        let late = st.select_within(
            &Principal::System,
            base,
            &scope,
            &every,
            now,
            Duration::ZERO,
            &Resume::default(),
        );
        assert!(matches!(late, Err(AdError::TimeLimitExceeded)), "{late:?}");
        let (code, text, _) = AdError::TimeLimitExceeded.answer();
        assert_eq!(code, ldap3_proto::LdapResultCode::TimeLimitExceeded);
        assert!(text.starts_with("00002022"), "{text}");
        // A client's limit counts up to AD's MaxQueryDuration; none or a negative one is it.
        assert_eq!(time_limit(5), Duration::from_secs(5));
        for asked in [0, -1, 121, i32::MAX] {
            assert_eq!(time_limit(asked), MAX_QUERY_DURATION, "{asked}");
        }
    }

    /// Resumed after any entry it selected, a search selects exactly what followed it
    /// (in every scope and from the phantom root), and `at_most` cuts it short.
    #[test]
    fn a_selection_resumes_after_any_entry_it_selected() {
        let clock: Arc<dyn Clock> = Arc::new(ManualClock::scenario_start());
        let dir = Directory::new(DirectoryConfig::default(), clock).unwrap();
        let st = dir.read();
        let now = dir.now();
        let every = LdapFilter::Present("objectClass".into());
        for (base, scope) in [
            ("DC=gntech,DC=me", LdapSearchScope::Subtree),
            ("DC=gntech,DC=me", LdapSearchScope::Children),
            ("DC=gntech,DC=me", LdapSearchScope::OneLevel),
            ("CN=Users,DC=gntech,DC=me", LdapSearchScope::OneLevel),
            ("CN=Users,DC=gntech,DC=me", LdapSearchScope::Base),
            ("", LdapSearchScope::Subtree),
        ] {
            let p = Principal::System;
            let whole = st.select(&p, base, &scope, &every, now).unwrap().ids;
            assert!(!whole.is_empty(), "{base} {scope:?}");
            for (i, id) in whole.iter().enumerate() {
                let resume = Resume {
                    after: st.store.path(*id),
                    at_most: usize::MAX,
                };
                let limit = MAX_QUERY_DURATION;
                let rest = st.select_within(&p, base, &scope, &every, now, limit, &resume);
                assert_eq!(
                    rest.unwrap().ids,
                    whole[i + 1..],
                    "{base} {scope:?} after {i}"
                );
            }
            let two = Resume {
                after: Vec::new(),
                at_most: 2,
            };
            let limit = MAX_QUERY_DURATION;
            let first = st.select_within(&p, base, &scope, &every, now, limit, &two);
            let n = whole.len().min(2);
            assert_eq!(first.unwrap().ids, whole[..n], "{base} {scope:?}");
        }
    }
}
