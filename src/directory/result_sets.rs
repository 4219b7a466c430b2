//! What a DC keeps for the paged searches in progress on all its connections, bounded as
//! AD's LDAP policies bound it (MS-ADTS 3.1.1.3.4.6): MaxResultSetsPerConn (10) per
//! connection and MaxResultSetSize (262,144 bytes) for the whole DC; past either, the
//! oldest result set is discarded and its cookie is then unknown. What is kept of one is
//! where it stands ([`Restart`]), which [`super::paging`] runs again from.

use super::store::EntryId;
use ldap3_proto::proto::{LdapFilter, LdapSearchRequest};
use std::collections::BTreeMap;
use std::sync::atomic::{self, AtomicU64};
use std::sync::Mutex;

/// AD's MaxResultSetsPerConn: paged searches one connection may keep open.
pub const MAX_RESULT_SETS_PER_CONN: usize = 10;

/// AD's MaxResultSetSize: bytes the DC keeps for all paged searches in progress.
pub const MAX_RESULT_SET_SIZE: usize = 262_144;

/// What server-side sort orders an entry by: the first value as a number when it is one,
/// and as lower-case text.
pub type SortKey = (Option<i64>, String);

/// Where a paged search stands: enough to run it again from the next entry.
#[derive(Debug, Clone)]
pub struct Restart {
    pub req: LdapSearchRequest,
    pub sort: Option<(String, bool)>,
    pub extended_dn: Option<i32>,
    /// The path of the last entry sent ([`super::store::Store::path`]).
    pub after: Vec<EntryId>,
    /// That entry's sort key, when the search is sorted.
    pub after_key: Option<SortKey>,
}

impl Restart {
    /// What keeping it costs, in bytes.
    fn size(&self) -> usize {
        let strings = self.req.base.len()
            + self.req.attrs.iter().map(|a| a.len() + 24).sum::<usize>()
            + self.sort.as_ref().map_or(0, |(a, _)| a.len())
            + self.after_key.as_ref().map_or(0, |(_, k)| k.len());
        std::mem::size_of::<Self>()
            + strings
            + filter_size(&self.req.filter)
            + self.after.len() * std::mem::size_of::<EntryId>()
    }
}

/// The bytes a filter takes in memory.
fn filter_size(f: &LdapFilter) -> usize {
    let own = std::mem::size_of::<LdapFilter>();
    own + match f {
        LdapFilter::And(fs) | LdapFilter::Or(fs) => fs.iter().map(filter_size).sum(),
        LdapFilter::Not(f) => filter_size(f),
        LdapFilter::Equality(a, v)
        | LdapFilter::GreaterOrEqual(a, v)
        | LdapFilter::LessOrEqual(a, v)
        | LdapFilter::Approx(a, v) => a.len() + v.len(),
        LdapFilter::Present(a) => a.len(),
        LdapFilter::Substring(a, s) => {
            a.len()
                + s.initial.as_ref().map_or(0, String::len)
                + s.any.iter().map(|x| x.len() + 24).sum::<usize>()
                + s.final_.as_ref().map_or(0, String::len)
        }
        LdapFilter::Extensible(e) => {
            e.matching_rule.as_ref().map_or(0, String::len)
                + e.type_.as_ref().map_or(0, String::len)
                + e.match_value.len()
        }
    }
}

/// Every paged search in progress on one DC, across its connections.
#[derive(Debug, Default)]
pub struct ResultSets {
    kept: Mutex<Kept>,
    next_connection: AtomicU64,
}

#[derive(Debug, Default)]
struct Kept {
    /// By cookie, which grows: the first is the oldest.
    sets: BTreeMap<u64, (u64, Restart, usize)>,
    bytes: usize,
    next_cookie: u64,
}

impl Kept {
    /// A connection's cookies, oldest first.
    fn cookies_of(&self, conn: u64) -> Vec<u64> {
        (self.sets.iter())
            .filter(|(_, (owner, _, _))| *owner == conn)
            .map(|(c, _)| *c)
            .collect()
    }

    fn remove(&mut self, cookie: u64) -> Option<Restart> {
        let (_, restart, bytes) = self.sets.remove(&cookie)?;
        self.bytes -= bytes;
        Some(restart)
    }
}

impl ResultSets {
    /// A number for a new connection, which owns the cookies issued to it.
    pub fn connection(&self) -> u64 {
        self.next_connection.fetch_add(1, atomic::Ordering::Relaxed)
    }

    /// Bytes kept for paged searches now.
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    /// Paged searches kept now.
    pub fn len(&self) -> usize {
        self.lock().sets.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Kept> {
        self.kept.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Keep where a connection's paged search stands; its cookie. The oldest go first:
    /// the connection's own past [`MAX_RESULT_SETS_PER_CONN`], anyone's past
    /// [`MAX_RESULT_SET_SIZE`]. A search whose state alone is larger than that (a filter
    /// of many thousand terms) is not kept: its next page is refused as unknown.
    pub fn keep(&self, conn: u64, restart: Restart) -> Vec<u8> {
        let bytes = restart.size();
        let mut k = self.lock();
        k.next_cookie += 1;
        let cookie = k.next_cookie;
        let mine = k.cookies_of(conn);
        let over = (mine.len() + 1).saturating_sub(MAX_RESULT_SETS_PER_CONN);
        for c in &mine[..over] {
            k.remove(*c);
        }
        while k.bytes + bytes > MAX_RESULT_SET_SIZE {
            let Some(oldest) = k.sets.keys().next().copied() else {
                break;
            };
            k.remove(oldest);
        }
        if k.bytes + bytes <= MAX_RESULT_SET_SIZE {
            k.bytes += bytes;
            k.sets.insert(cookie, (conn, restart, bytes));
        }
        cookie.to_be_bytes().to_vec()
    }

    /// The paged search a connection's cookie stands for, no longer kept.
    pub fn take(&self, conn: u64, cookie: &[u8]) -> Option<Restart> {
        let cookie = u64::from_be_bytes(cookie.try_into().ok()?);
        let mut k = self.lock();
        match k.sets.get(&cookie) {
            Some((owner, _, _)) if *owner == conn => k.remove(cookie),
            _ => None,
        }
    }

    /// Drop every paged search of a connection (it closed, or bound again).
    pub fn forget(&self, conn: u64) {
        let mut k = self.lock();
        let mine = k.cookies_of(conn);
        for c in mine {
            k.remove(c);
        }
    }
}
