//! Simple bind as a DC answers it (`reference/ad-behaviour.md` §1, §5): by DN, by UPN
//! (explicit, or the implicit `sAMAccountName@dns.domain`), or by `NETBIOS\sAMAccountName`;
//! a bare sAMAccountName or an unknown name fails exactly like a wrong password (52e).
//! With the right password, the account state decides: locked 775, disabled 533,
//! expired account 701, must change 773, expired password 532.
//! Wrong passwords count in badPwdCount and lock the account at lockoutThreshold.
//! An empty password is an anonymous bind (Windows' default dSHeuristics).

use super::ad_error::{AdError, AdResult, BindFailure};
use super::dn::Dn;
use super::password_policy::{self, PasswordPolicy};
use super::store::{Entry, EntryId};
use super::values::{uac, NEVER};
use super::{Principal, State};
use crate::clock::{from_filetime, to_filetime};
use chrono::{DateTime, Utc};

/// What a bind changes in the directory besides answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindEffect {
    /// A wrong password is counted (and may lock the account).
    CountBadPassword(EntryId),
    /// A good bind clears a non-zero bad-password count.
    ClearBadPasswords(EntryId),
}

impl State {
    /// Check a simple bind; on success the principal the connection now acts as.
    pub fn bind(&mut self, name: &str, password: &str, now: DateTime<Utc>) -> AdResult<Principal> {
        let (answer, effect) = self.judge_bind(name, password, now);
        match effect {
            Some(BindEffect::CountBadPassword(id)) => self.register_bad_password(id, now),
            Some(BindEffect::ClearBadPasswords(id)) => {
                // badPwdCount is not replicated: no USN.
                if let Some(e) = self.store.get_mut_unindexed(id) {
                    e.set_int("badPwdCount", 0);
                }
            }
            None => {}
        }
        answer
    }

    /// The answer to a simple bind and what it would change, without changing anything:
    /// most binds change nothing and need no write lock.
    pub fn judge_bind(
        &self,
        name: &str,
        password: &str,
        now: DateTime<Utc>,
    ) -> (AdResult<Principal>, Option<BindEffect>) {
        if password.is_empty() {
            return (Ok(Principal::Anonymous), None);
        }
        let wrong = || Err(AdError::Bind(BindFailure::WrongPassword));
        let Some(id) = self.find_account(name) else {
            return (wrong(), None);
        };
        let Some(policy) = self.domain_entry().map(PasswordPolicy::from_domain) else {
            return (Err(AdError::Unavailable), None);
        };
        let Some(e) = self.store.get(id) else {
            return (wrong(), None);
        };
        if is_locked(e, &policy, now) {
            return (Err(AdError::Bind(BindFailure::Locked)), None);
        }
        if !password_policy::matches(e, password) {
            return (wrong(), Some(BindEffect::CountBadPassword(id)));
        }
        let failure = |f: BindFailure| (Err(AdError::Bind(f)), None);
        let u = e.int("userAccountControl").unwrap_or(0);
        if u & uac::ACCOUNTDISABLE != 0 {
            return failure(BindFailure::Disabled);
        }
        let expires = e.int("accountExpires").unwrap_or(NEVER);
        if expires != 0 && expires != NEVER && expires < to_filetime(now) {
            return failure(BindFailure::AccountExpired);
        }
        let last = e.int("pwdLastSet").unwrap_or(0);
        if last == 0 {
            return failure(BindFailure::MustChangePassword);
        }
        if u & uac::DONT_EXPIRE_PASSWORD == 0 {
            if let (Some(max), Some(set_at)) = (policy.max_age, from_filetime(last)) {
                if now > set_at + max {
                    return failure(BindFailure::PasswordExpired);
                }
            }
        }
        let guid = e.guid().map(<[u8]>::to_vec).unwrap_or_default();
        let effect =
            (e.int("badPwdCount").unwrap_or(0) != 0).then_some(BindEffect::ClearBadPasswords(id));
        (Ok(Principal::Account(guid)), effect)
    }

    /// The account a bind name designates, or `None` (which the caller answers as 52e).
    fn find_account(&self, name: &str) -> Option<EntryId> {
        let name = name.trim();
        if let Some((domain, sam)) = name.split_once('\\') {
            let ok = domain.eq_ignore_ascii_case(&self.domain.netbios)
                || domain.eq_ignore_ascii_case(&self.domain.dns_name);
            return ok.then(|| self.store.by_sam(sam)).flatten().map(|e| e.id);
        }
        if name.contains('=') {
            let dn = Dn::parse(name).ok()?;
            return self.store.id_by_dn(&dn);
        }
        if let Some((sam, domain)) = name.rsplit_once('@') {
            if let Some(e) = self.store.by_upn(name) {
                return Some(e.id);
            }
            // The implicit UPN: sAMAccountName@<DNS name of the domain>.
            if domain.eq_ignore_ascii_case(&self.domain.dns_name) {
                return self.store.by_sam(sam).map(|e| e.id);
            }
        }
        None
    }

    /// Count a wrong password: badPwdCount, badPasswordTime, and the lockout threshold.
    pub fn register_bad_password(&mut self, id: EntryId, now: DateTime<Utc>) {
        let Some(policy) = self.domain_entry().map(PasswordPolicy::from_domain) else {
            return;
        };
        let Some(mut e) = self.store.get(id).cloned() else {
            return;
        };
        let last_bad = e.int("badPasswordTime").and_then(from_filetime);
        let mut count = e.int("badPwdCount").unwrap_or(0);
        if last_bad.is_some_and(|t| now > t + policy.observation_window) {
            count = 0;
        }
        count += 1;
        e.set_int("badPwdCount", count);
        e.set_int("badPasswordTime", to_filetime(now));
        if policy.lockout_threshold > 0
            && count >= policy.lockout_threshold
            && !is_locked(&e, &policy, now)
        {
            e.set_int("lockoutTime", to_filetime(now));
            self.stamp(&mut e, now);
        }
        self.store.update(e);
    }
}

/// Locked when lockoutTime is set and lockoutDuration has not passed since.
pub fn is_locked(e: &Entry, policy: &PasswordPolicy, now: DateTime<Utc>) -> bool {
    let t = e.int("lockoutTime").unwrap_or(0);
    if t == 0 {
        return false;
    }
    match (policy.lockout_duration, from_filetime(t)) {
        (None, _) => true,
        (Some(d), Some(at)) => now < at + d,
        (Some(_), None) => true,
    }
}

/// What WhoAmI answers for a principal: `u:GNTECH\alice.p`, or "" when anonymous.
pub fn authz_id(st: &State, p: &Principal) -> String {
    match st.principal_entry(p).and_then(|e| e.str("sAMAccountName")) {
        Some(sam) => format!("u:{}\\{}", st.domain.netbios, sam),
        None => String::new(),
    }
}
