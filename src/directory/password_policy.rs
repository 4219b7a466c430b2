//! The domain password and lockout policy, read from the attributes of the domain object
//! (minPwdLength, pwdProperties, pwdHistoryLength, minPwdAge, maxPwdAge, lockoutThreshold,
//! lockoutDuration, lockOutObservationWindow) every time it is needed, so an admin's modify
//! of the domain object applies at once, as on a DC.
//!
//! The rules are MS-SAMR 3.1.1.7.1 and the Windows complexity filter: at least three of
//! upper case, lower case, digits, symbols (other Unicode letters count as a fifth class);
//! no sAMAccountName (when longer than 2 characters) and no displayName token of 3 or more
//! characters, compared ignoring case. Every violation gets the same AD answer
//! (19, `0000052D`); [`Violation`] keeps the reason for logs and tests.
//!
//! [`apply_password`] is a password write as add and modify make it (MS-ADTS
//! 3.1.1.3.1.5): encryption, the Reset / Change Password rights, the policy, history and
//! pwdLastSet as MS-SAMR 3.1.1.8.7 sets it.

use super::access::Right;
use super::ad_error::{AdError, AdResult};
use super::store::{Entry, Secret};
use super::{OpContext, Principal, State};
use crate::clock::{ad_interval, from_filetime, to_filetime};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

/// pwdProperties bit DOMAIN_PASSWORD_COMPLEX.
const DOMAIN_PASSWORD_COMPLEX: i64 = 1;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    pub min_length: usize,
    pub complexity: bool,
    pub history: usize,
    pub min_age: Duration,
    /// `None`: passwords never expire (maxPwdAge 0 or the "never" value).
    pub max_age: Option<Duration>,
    /// 0: accounts never lock.
    pub lockout_threshold: i64,
    /// `None`: locked until an admin unlocks (lockoutDuration of "never").
    pub lockout_duration: Option<Duration>,
    pub observation_window: Duration,
}

impl PasswordPolicy {
    /// The policy stored on the domain object; AD's defaults where an attribute is absent.
    pub fn from_domain(domain: &Entry) -> Self {
        let int = |name: &str, default: i64| domain.int(name).unwrap_or(default);
        let max_age = int("maxPwdAge", -36_288_000_000_000);
        let lockout_duration = int("lockoutDuration", -18_000_000_000);
        Self {
            min_length: int("minPwdLength", 7).max(0) as usize,
            complexity: int("pwdProperties", 1) & DOMAIN_PASSWORD_COMPLEX != 0,
            history: int("pwdHistoryLength", 24).clamp(0, 1024) as usize,
            min_age: ad_interval(int("minPwdAge", -864_000_000_000)),
            max_age: (max_age != 0 && max_age != i64::MIN).then(|| ad_interval(max_age)),
            lockout_threshold: int("lockoutThreshold", 0).max(0),
            lockout_duration: (lockout_duration != i64::MIN).then(|| ad_interval(lockout_duration)),
            observation_window: ad_interval(int("lockOutObservationWindow", -18_000_000_000)),
        }
    }
}

/// Why a password was refused (AD says only `0000052D`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Violation {
    TooShort,
    NotComplex,
    ContainsAccountName,
    ContainsDisplayNameToken,
    InHistory,
    TooYoung,
}

/// What the check needs to know about the account and the request.
pub struct Candidate<'a> {
    pub password: &'a str,
    pub account: &'a Entry,
    /// History applies to a change, and to a reset sent with LDAP_SERVER_POLICY_HINTS.
    pub enforce_history: bool,
    /// Minimum age applies likewise.
    pub enforce_min_age: bool,
    pub now: DateTime<Utc>,
}

pub fn check(policy: &PasswordPolicy, c: &Candidate<'_>) -> Result<(), Violation> {
    let pw = c.password;
    if pw.chars().count() < policy.min_length {
        return Err(Violation::TooShort);
    }
    if policy.complexity {
        let classes = [
            pw.chars().any(|ch| ch.is_uppercase()),
            pw.chars().any(|ch| ch.is_lowercase()),
            pw.chars().any(|ch| ch.is_ascii_digit()),
            pw.chars().any(|ch| !ch.is_alphanumeric()),
            pw.chars()
                .any(|ch| ch.is_alphabetic() && !ch.is_uppercase() && !ch.is_lowercase()),
        ];
        if classes.iter().filter(|x| **x).count() < 3 {
            return Err(Violation::NotComplex);
        }
        let lower = pw.to_lowercase();
        if let Some(sam) = c.account.str("sAMAccountName") {
            let sam = sam.trim_end_matches('$').to_lowercase();
            if sam.chars().count() > 2 && lower.contains(&sam) {
                return Err(Violation::ContainsAccountName);
            }
        }
        if let Some(display) = c.account.str("displayName") {
            let delimiters = [',', '.', '-', '_', '#', ' ', '\t'];
            if display
                .split(|ch| delimiters.contains(&ch))
                .filter(|t| t.chars().count() >= 3)
                .any(|t| lower.contains(&t.to_lowercase()))
            {
                return Err(Violation::ContainsDisplayNameToken);
            }
        }
    }
    if c.enforce_min_age && policy.min_age > Duration::zero() {
        let last = c.account.int("pwdLastSet").unwrap_or(0);
        if last != 0 {
            if let Some(set_at) = from_filetime(last) {
                if c.now < set_at + policy.min_age {
                    return Err(Violation::TooYoung);
                }
            }
        }
    }
    if c.enforce_history && policy.history > 0 {
        let h = hash(c.account, pw);
        if (c.account.secret.iter())
            .flat_map(|s| &s.history)
            .take(policy.history)
            .any(|old| *old == h)
        {
            return Err(Violation::InHistory);
        }
    }
    Ok(())
}

/// Store `password` as the account's current one and remember it in the history.
pub fn set(account: &mut Entry, password: &str, policy: &PasswordPolicy) {
    let h = hash(account, password);
    let secret: &mut Secret = account.secret.get_or_insert_with(Default::default);
    secret.hash = Some(h);
    secret.history.insert(0, h);
    secret.history.truncate(policy.history.max(1));
}

/// Does `password` match the account's current one?
pub fn matches(account: &Entry, password: &str) -> bool {
    (account.secret.as_ref())
        .and_then(|s| s.hash)
        .is_some_and(|h| h == hash(account, password))
}

/// A salted hash; the salt is the objectGUID, so equal passwords differ across accounts.
fn hash(account: &Entry, password: &str) -> [u8; 32] {
    let mut d = Sha256::new();
    d.update(account.guid().unwrap_or_default());
    d.update(password.as_bytes());
    d.finalize().into()
}

/// MS-ADTS 3.1.1.3.1.5.1: unicodePwd is the password in double quotes, UTF-16LE.
pub fn decode_unicode_pwd(v: &[u8]) -> Option<String> {
    if !v.len().is_multiple_of(2) {
        return None;
    }
    let units: Vec<u16> = v
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let s = String::from_utf16(&units).ok()?;
    s.strip_prefix('"')?.strip_suffix('"').map(str::to_string)
}

/// The unicodePwd value for `password`.
pub fn encode_unicode_pwd(password: &str) -> Vec<u8> {
    format!("\"{password}\"")
        .encode_utf16()
        .flat_map(|u| u.to_le_bytes())
        .collect()
}

/// The two password writes MS-ADTS allows over LDAP.
pub enum PasswordWrite {
    /// One replace: set without knowing the old password.
    Reset(Vec<u8>),
    /// Delete the old value, add the new one.
    Change { old: Vec<u8>, new: Vec<u8> },
}

/// Write a password on `e` (a copy the caller commits): TLS, rights, policy, history,
/// and pwdLastSet as MS-SAMR 3.1.1.8.7 says.
pub fn apply_password(
    st: &State,
    p: &Principal,
    ctx: &OpContext,
    now: DateTime<Utc>,
    e: &mut Entry,
    w: PasswordWrite,
) -> AdResult<()> {
    // MS-ADTS 3.1.1.3.1.5.1: unicodePwd needs a 128-bit encrypted connection.
    if !ctx.tls && *p != Principal::System {
        return Err(AdError::PasswordWriteRefused);
    }
    if !e.is("user") {
        return Err(AdError::Unwilling(
            "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0 (unicodePwd is only on accounts)".into(),
        ));
    }
    let policy = st
        .domain_entry()
        .map(PasswordPolicy::from_domain)
        .ok_or(AdError::Unavailable)?;
    let decode = |v: &[u8]| decode_unicode_pwd(v).ok_or(AdError::PasswordWriteRefused);
    let (new, is_change) = match w {
        PasswordWrite::Reset(v) => {
            let new = decode(&v)?;
            st.require(p, Right::ResetPassword, e.id)?;
            (new, false)
        }
        PasswordWrite::Change { old, new } => {
            let old = decode(&old)?;
            let new = decode(&new)?;
            let is_self = st.principal_entry(p).is_some_and(|me| me.id == e.id);
            if !is_self {
                st.require(p, Right::ChangePassword, e.id)?;
            }
            if !matches(e, &old) {
                return Err(AdError::WrongOldPassword);
            }
            (new, true)
        }
    };
    let enforce = is_change || ctx.policy_hints;
    let candidate = Candidate {
        password: &new,
        account: e,
        enforce_history: enforce,
        enforce_min_age: enforce,
        now,
    };
    if let Err(why) = check(&policy, &candidate) {
        tracing::debug!(dn = %e.dn, reason = ?why, "password refused by the domain policy");
        return Err(AdError::PasswordPolicy);
    }
    set(e, &new, &policy);
    let domain_id = st.store.id_by_dn(&st.domain.dn).unwrap_or_default();
    let unexpire = is_change || st.has_right(p, Right::UnexpirePassword, domain_id);
    e.set_int("pwdLastSet", if unexpire { to_filetime(now) } else { 0 });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::dn::Dn;
    use rstest::rstest;

    fn alice() -> Entry {
        let mut e = Entry::new(Dn::parse("CN=Alice Probe,OU=Probe,DC=gntech,DC=me").unwrap());
        e.set("objectGUID", vec![vec![7; 16]]);
        e.set_str("sAMAccountName", "alice.p");
        e.set_str("displayName", "Alice Probe");
        e
    }

    fn policy() -> PasswordPolicy {
        let mut d = Entry::new(Dn::parse("DC=gntech,DC=me").unwrap());
        d.set_int("minPwdLength", 8);
        d.set_int("pwdHistoryLength", 3);
        d.set_int("minPwdAge", 0);
        PasswordPolicy::from_domain(&d)
    }

    #[rstest]
    #[case("Sh0rt!", Some(Violation::TooShort))]
    #[case("alllowercaseletters", Some(Violation::NotComplex))]
    #[case("Xx-alice.p-99", Some(Violation::ContainsAccountName))]
    #[case("Probe-Token-77", Some(Violation::ContainsDisplayNameToken))]
    #[case("Summer#2026x", None)]
    #[case("lower and 123 digits", None)]
    fn applies_the_windows_rules(#[case] pw: &str, #[case] want: Option<Violation>) {
        let a = alice();
        let c = Candidate {
            password: pw,
            account: &a,
            enforce_history: true,
            enforce_min_age: true,
            now: Utc::now(),
        };
        assert_eq!(check(&policy(), &c).err(), want);
    }

    #[test]
    fn history_is_checked_only_when_asked() {
        let p = policy();
        let mut a = alice();
        set(&mut a, "Summer#2026x", &p);
        set(&mut a, "Autumn#2026x", &p);
        let mut c = Candidate {
            password: "Summer#2026x",
            account: &a,
            enforce_history: false,
            enforce_min_age: false,
            now: Utc::now(),
        };
        assert_eq!(check(&p, &c), Ok(()));
        c.enforce_history = true;
        assert_eq!(check(&p, &c), Err(Violation::InHistory));
        assert!(matches(&a, "Autumn#2026x"));
        assert!(!matches(&a, "Summer#2026x"));
    }

    #[test]
    fn unicode_pwd_is_quoted_utf16le() {
        let v = encode_unicode_pwd("password");
        assert_eq!(v, b"\"\0p\0a\0s\0s\0w\0o\0r\0d\0\"\0");
        assert_eq!(decode_unicode_pwd(&v).as_deref(), Some("password"));
        assert_eq!(decode_unicode_pwd(b"password"), None);
    }

    #[test]
    fn defaults_are_a_new_domains() {
        let d = Entry::new(Dn::parse("DC=gntech,DC=me").unwrap());
        let p = PasswordPolicy::from_domain(&d);
        assert_eq!(p.min_length, 7);
        assert!(p.complexity);
        assert_eq!(p.history, 24);
        assert_eq!(p.min_age, Duration::days(1));
        assert_eq!(p.max_age, Some(Duration::days(42)));
        assert_eq!(p.lockout_threshold, 0);
    }
}
