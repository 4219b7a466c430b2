//! A connection's searches: size limits, server-side sort, and paged results (RFC 2696)
//! kept as AD keeps them ([`super::result_sets`]): a page runs the search again from the
//! last entry sent, so one paged search over any number of entries costs the DC the same
//! few hundred bytes.

use super::ad_error::{AdError, AdResult};
use super::result_sets::{Restart, SortKey};
use super::search::Resume;
use super::session::{plain, result, Controls, Session};
use super::store::EntryId;
use super::{rootdse, Directory, State};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapMsg, LdapOp, LdapResult, LdapResultCode, LdapSearchRequest, LdapSearchResultReference,
    LdapSearchScope,
};
use std::cmp::Ordering;

/// What AD answers for a cookie it does not hold (never issued, used, abandoned, or
/// discarded under one of the bounds of [`super::result_sets`]).
const UNKNOWN_COOKIE: &str = "00002024: LdapErr: DSID-0C090F78, comment: Error processing control: unknown paged-results cookie, data 0, v4563";

impl Session {
    pub(super) fn search(
        &mut self,
        dir: &Directory,
        id: i32,
        req: LdapSearchRequest,
        c: Controls,
    ) -> Vec<LdapMsg> {
        let now = dir.now();
        let st = dir.read();
        let done = |res: AdResult<()>| LdapMsg::new(id, LdapOp::SearchResultDone(result(res)));
        if req.base.is_empty() && req.scope == LdapSearchScope::Base {
            let e = rootdse::entry(&st, &req.attrs, now);
            return vec![LdapMsg::new(id, LdapOp::SearchResultEntry(e)), done(Ok(()))];
        }
        if req.base.is_empty() && !c.phantom_root {
            return vec![done(Err(AdError::NoSuchObject {
                matched: String::new(),
            }))];
        }
        let resumed = match &c.paging {
            Some((_, cookie)) if !cookie.is_empty() => match self.sets.take(self.conn, cookie) {
                Some(r) => Some(r),
                None => return vec![done(Err(AdError::Unwilling(UNKNOWN_COOKIE.into())))],
            },
            _ => None,
        };
        let first_page = resumed.is_none();
        let mut restart = resumed.unwrap_or(Restart {
            req,
            sort: c.sort,
            extended_dn: c.extended_dn,
            after: Vec::new(),
            after_key: None,
        });
        let page_size = c.paging.as_ref().map(|(size, _)| *size);
        if let Some(size) = page_size {
            if size <= 0 {
                // A page size of 0 abandons the paged search (RFC 2696 §3).
                return vec![paged_done(id, Vec::new())];
            }
        }
        let max_page = dir.config().max_page_size.max(1);
        let want = match (page_size, restart.req.sizelimit) {
            (Some(size), _) => usize::try_from(size).unwrap_or(usize::MAX).min(max_page),
            (None, n) if n > 0 => usize::try_from(n).unwrap_or(usize::MAX).min(max_page),
            _ => max_page,
        };
        // A sorted search sorts all it selects; otherwise one more than wanted tells
        // whether there is more.
        let resume = match &restart.sort {
            Some(_) => Resume::default(),
            None => Resume {
                after: restart.after.clone(),
                at_most: want.saturating_add(1),
            },
        };
        let sel = match st.select_request(&self.principal, &restart.req, now, &resume) {
            Ok(sel) => sel,
            Err(e) => return vec![done(Err(e))],
        };
        let mut ids = sel.ids;
        if let Some((attr, reverse)) = &restart.sort {
            let after = (restart.after_key.as_ref()).map(|k| (k, restart.after.as_slice()));
            ids = sorted_page(&st, ids, (attr, *reverse), after, want.saturating_add(1));
        }
        let refs = if first_page && !c.no_references {
            sel.references
        } else {
            Vec::new()
        };
        let more = ids.len() > want;
        ids.truncate(want);
        let mut out = Vec::with_capacity(ids.len() + refs.len() + 1);
        for eid in &ids {
            if let Some(e) = st.store.get(*eid) {
                let r = &restart.req;
                let mut entry = st.render(e, &r.attrs, r.typesonly, now);
                if let Some(format) = restart.extended_dn {
                    entry.dn = super::search::extended_dn(e, format);
                }
                out.push(LdapMsg::new(id, LdapOp::SearchResultEntry(entry)));
            }
        }
        push_refs(&mut out, id, refs);
        if page_size.is_none() {
            out.push(match more {
                true => LdapMsg::new(id, LdapOp::SearchResultDone(size_limit_exceeded())),
                false => done(Ok(())),
            });
            return out;
        }
        let cookie = match ids.last() {
            Some(last) if more => {
                restart.after = st.store.path(*last);
                restart.after_key = (restart.sort.as_ref()).map(|(a, _)| sort_key(&st, *last, a));
                self.sets.keep(self.conn, restart)
            }
            _ => Vec::new(),
        };
        out.push(paged_done(id, cookie));
        out
    }
}

fn size_limit_exceeded() -> LdapResult {
    plain(LdapResultCode::SizeLimitExceeded)
}

fn push_refs(out: &mut Vec<LdapMsg>, id: i32, refs: Vec<String>) {
    for r in refs {
        out.push(LdapMsg::new(
            id,
            LdapOp::SearchResultReference(LdapSearchResultReference { uris: vec![r] }),
        ));
    }
}

fn paged_done(id: i32, cookie: Vec<u8>) -> LdapMsg {
    LdapMsg::new_with_ctrls(
        id,
        LdapOp::SearchResultDone(plain(LdapResultCode::Success)),
        vec![LdapControl::SimplePagedResults { size: 0, cookie }],
    )
}

/// The key server-side sort (1.2.840.113556.1.4.473) orders an entry by: the attribute's
/// first value, as a number when it is one, else case-insensitively.
fn sort_key(st: &State, id: EntryId, attr: &str) -> SortKey {
    let s = (st.store.get(id))
        .and_then(|e| e.str(attr))
        .unwrap_or_default()
        .to_lowercase();
    (s.parse().ok(), s)
}

/// The first `take` entries in the order of server-side sort on `attr` (reversed or not)
/// that come after `after` (the last entry sent: its sort key and path). Equal keys keep
/// the walk's order (reversed with the rest when the order is). Linear in the entries
/// selected, whatever the page: only the page is sorted.
fn sorted_page(
    st: &State,
    ids: Vec<EntryId>,
    (attr, reverse): (&str, bool),
    after: Option<(&SortKey, &[EntryId])>,
    take: usize,
) -> Vec<EntryId> {
    let mut keyed: Vec<(SortKey, usize, EntryId)> = (ids.into_iter().enumerate())
        .map(|(i, id)| (sort_key(st, id, attr), i, id))
        .collect();
    if let Some((key, path)) = after {
        keyed.retain(|(k, _, id)| {
            // The path only for an entry whose key equals the last one's.
            let at = k
                .cmp(key)
                .then_with(|| st.store.path(*id).as_slice().cmp(path));
            at == if reverse {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        });
    }
    let order = |a: &(SortKey, usize, EntryId), b: &(SortKey, usize, EntryId)| {
        let o = (&a.0, a.1).cmp(&(&b.0, b.1));
        if reverse {
            o.reverse()
        } else {
            o
        }
    };
    if keyed.len() > take && take > 0 {
        keyed.select_nth_unstable_by(take - 1, order);
        keyed.truncate(take);
    }
    keyed.sort_unstable_by(order);
    keyed.into_iter().map(|(_, _, id)| id).collect()
}
