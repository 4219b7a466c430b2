//! Access control as the connector account meets it: rights granted to a principal on a
//! subtree (an inherited ACE, `dsacls OU /I:T /G principal:CA;Reset Password`), checked on
//! every write, so "Access denied" is a real LDAP 50 answer.
//!
//! Modelled: the extended rights writeback uses (Reset Password, Change Password,
//! Unexpire Password), write-property on pwdLastSet and lockoutTime, and create / delete /
//! write per object kind, each allowed or denied; inheritance down the tree, blocked where
//! an object's DACL is protected; AD's canonical order (explicit deny, explicit allow, then
//! each ancestor's inherited deny and allow, nearest first), the first ACE that applies
//! deciding. Administrator, Domain Admins and Enterprise Admins hold full control through
//! an explicit ACE on every object (so an explicit deny reaches them, an inherited one does
//! not); every authenticated principal may read; a user may change (not reset) their own
//! password. Left out: per-attribute ACEs beyond pwdLastSet and lockoutTime, property sets,
//! SACLs and owners.

use super::dn::Dn;
use super::store::EntryId;
use super::{ids, AdError, AdResult, Principal, State};
use std::fmt;
use std::str::FromStr;

/// The kinds of object a create / write / delete right applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ObjectKind {
    User,
    Computer,
    Group,
    Device,
    Container,
    OrganizationalUnit,
}

impl ObjectKind {
    /// The kind of an object by its structural class.
    pub fn of_class(class: &str) -> Option<Self> {
        Some(match class.to_ascii_lowercase().as_str() {
            "user" | "contact" => Self::User,
            "computer" => Self::Computer,
            "group" => Self::Group,
            "msds-device" => Self::Device,
            "container" | "msds-devicecontainer" => Self::Container,
            "organizationalunit" => Self::OrganizationalUnit,
            _ => return None,
        })
    }

    fn word(self) -> &'static str {
        match self {
            Self::User => "user",
            Self::Computer => "computer",
            Self::Group => "group",
            Self::Device => "device",
            Self::Container => "container",
            Self::OrganizationalUnit => "ou",
        }
    }

    const ALL: [Self; 6] = [
        Self::User,
        Self::Computer,
        Self::Group,
        Self::Device,
        Self::Container,
        Self::OrganizationalUnit,
    ];
}

/// A right that can be granted on a subtree.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Right {
    /// Extended right User-Force-Change-Password (00299570-246d-11d0-a768-00aa006e0529).
    ResetPassword,
    /// Extended right User-Change-Password (ab721a53-1e2f-11d0-9819-00aa0040529b).
    ChangePassword,
    /// Extended right Unexpire-Password (ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501), checked on
    /// the domain object (MS-SAMR 3.1.1.8.7).
    UnexpirePassword,
    /// Write property pwdLastSet.
    WritePwdLastSet,
    /// Write property lockoutTime.
    WriteLockoutTime,
    Create(ObjectKind),
    Write(ObjectKind),
    Delete(ObjectKind),
    /// GenericAll.
    FullControl,
}

impl fmt::Display for Right {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ResetPassword => f.write_str("reset_password"),
            Self::ChangePassword => f.write_str("change_password"),
            Self::UnexpirePassword => f.write_str("unexpire_password"),
            Self::WritePwdLastSet => f.write_str("write_pwd_last_set"),
            Self::WriteLockoutTime => f.write_str("write_lockout_time"),
            Self::Create(k) => write!(f, "create_{}", k.word()),
            Self::Write(k) => write!(f, "write_{}", k.word()),
            Self::Delete(k) => write!(f, "delete_{}", k.word()),
            Self::FullControl => f.write_str("full_control"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown right `{0}`; known rights: reset_password, change_password, unexpire_password, write_pwd_last_set, write_lockout_time, full_control, and create_/write_/delete_ + user, computer, group, device, container, ou")]
pub struct UnknownRight(pub String);

impl FromStr for Right {
    type Err = UnknownRight;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        let simple = match lower.as_str() {
            "reset_password" => Some(Self::ResetPassword),
            "change_password" => Some(Self::ChangePassword),
            "unexpire_password" => Some(Self::UnexpirePassword),
            "write_pwd_last_set" => Some(Self::WritePwdLastSet),
            "write_lockout_time" => Some(Self::WriteLockoutTime),
            "full_control" => Some(Self::FullControl),
            _ => None,
        };
        if let Some(r) = simple {
            return Ok(r);
        }
        let kind_of = |w: &str| {
            ObjectKind::ALL
                .into_iter()
                .find(|k| k.word() == w || (w == "msds_device" && *k == ObjectKind::Device))
        };
        let parsed = if let Some(w) = lower.strip_prefix("create_") {
            kind_of(w).map(Self::Create)
        } else if let Some(w) = lower.strip_prefix("write_") {
            kind_of(w).map(Self::Write)
        } else if let Some(w) = lower.strip_prefix("delete_") {
            kind_of(w).map(Self::Delete)
        } else {
            None
        };
        parsed.ok_or_else(|| UnknownRight(s.to_string()))
    }
}

/// One explicit, inheritable ACE: `trustee` is allowed (or, `deny`, refused) `right` on
/// `scope` and everything below it that inherits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The trustee's objectSid (an account or a group), or a well-known SID without an
    /// object ([`EVERYONE`], [`AUTHENTICATED_USERS`]). SIDs survive renames and moves.
    pub trustee: Vec<u8>,
    pub right: Right,
    /// Normalised DN of the object the ACE sits on.
    pub scope: String,
    pub deny: bool,
}

/// S-1-1-0 (`WD`) and S-1-5-11 (`AU`): in every account's token, with no object of their
/// own in the directory.
pub const EVERYONE: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0];
pub const AUTHENTICATED_USERS: &[u8] = &[1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0];

impl State {
    /// The SIDs in `p`'s token: its own, its groups' (transitively), Everyone and
    /// Authenticated Users.
    pub fn token_sids(&self, p: &Principal) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = self
            .token(p)
            .iter()
            .filter_map(|g| self.store.by_guid(g))
            .filter_map(|e| e.values("objectSid").first().map(<[u8]>::to_vec))
            .collect();
        if matches!(p, Principal::Account(_)) {
            out.push(EVERYONE.to_vec());
            out.push(AUTHENTICATED_USERS.to_vec());
        }
        out
    }

    /// The normalised DNs whose ACEs apply to `target`, nearest first: the object itself,
    /// then each ancestor up to the first whose DACL is protected (inheritance blocked).
    pub fn acl_levels(&self, target: &Dn) -> Vec<String> {
        let mut out = Vec::new();
        let mut at = Some(target.clone());
        while let Some(dn) = at {
            if dn.is_root() {
                break;
            }
            let norm = dn.norm();
            let stop = self.protected.contains(&norm);
            out.push(norm);
            if stop {
                break;
            }
            at = dn.parent();
        }
        out
    }

    /// Does `p` hold `right` on the entry `target`? AD's evaluation: the ACEs on the
    /// object, then those inherited from each ancestor, denies before allows at each level;
    /// the first that names a SID of the token and covers the right decides.
    pub fn has_right(&self, p: &Principal, right: Right, target: EntryId) -> bool {
        match p {
            Principal::System => return true,
            Principal::Anonymous => return false,
            Principal::Account(_) => {}
        }
        let Some(t) = self.store.get(target) else {
            return false;
        };
        let kind = ObjectKind::of_class(t.structural());
        let sids = self.token_sids(p);
        let admin = self.has_admin_sid(&sids);
        for (level, scope) in self.acl_levels(&t.dn).iter().enumerate() {
            for deny in [true, false] {
                let decided = self.grants.iter().any(|g| {
                    g.deny == deny
                        && g.scope == *scope
                        && sids.contains(&g.trustee)
                        && covers(g.right, right, kind)
                });
                if decided {
                    return !deny;
                }
                // The admins' full control is an explicit allow on every object.
                if level == 0 && !deny && admin {
                    return true;
                }
            }
        }
        false
    }

    pub(super) fn grant_for(
        &self,
        trustee: &str,
        right: Right,
        scope: &str,
        deny: bool,
    ) -> AdResult<Grant> {
        let s = self.resolve(scope)?;
        Ok(Grant {
            trustee: self.sid_of(trustee)?,
            right,
            scope: self.store.get(s).map(|e| e.dn.norm()).unwrap_or_default(),
            deny,
        })
    }

    /// The objectSid of the account or group a DN names (`S-1-…` text is taken as it is).
    pub fn sid_of(&self, trustee: &str) -> AdResult<Vec<u8>> {
        if let Some(sid) = ids::parse_sid(trustee.trim()).filter(|_| !trustee.contains('=')) {
            return Ok(sid);
        }
        let id = self.resolve(trustee)?;
        self.store
            .get(id)
            .and_then(|e| e.values("objectSid").first().map(<[u8]>::to_vec))
            .ok_or_else(|| {
                AdError::Unwilling(format!(
                    "{trustee} is not a security principal (it has no objectSid)"
                ))
            })
    }
}

/// Does `right` (as granted) cover `wanted`? FullControl covers everything; write on an
/// object kind covers pwdLastSet and lockoutTime of that kind.
pub fn covers(granted: Right, wanted: Right, target_kind: Option<ObjectKind>) -> bool {
    if granted == wanted || granted == Right::FullControl {
        return true;
    }
    matches!(
        (granted, wanted, target_kind),
        (Right::Write(k), Right::WritePwdLastSet | Right::WriteLockoutTime, Some(t)) if k == t
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_parse_and_print_the_scenario_spelling() {
        for s in [
            "reset_password",
            "change_password",
            "unexpire_password",
            "write_pwd_last_set",
            "write_lockout_time",
            "create_computer",
            "write_group",
            "delete_device",
            "full_control",
        ] {
            assert_eq!(s.parse::<Right>().unwrap().to_string(), s);
        }
        assert_eq!(
            "create_msds_device".parse::<Right>().unwrap(),
            Right::Create(ObjectKind::Device)
        );
        assert!("reset_everything".parse::<Right>().is_err());
    }

    #[test]
    fn write_on_a_kind_covers_its_password_bookkeeping_attributes() {
        let w = Right::Write(ObjectKind::User);
        assert!(covers(w, Right::WritePwdLastSet, Some(ObjectKind::User)));
        assert!(!covers(
            w,
            Right::WritePwdLastSet,
            Some(ObjectKind::Computer)
        ));
        assert!(!covers(w, Right::ResetPassword, Some(ObjectKind::User)));
        assert!(covers(Right::FullControl, Right::ResetPassword, None));
    }
}
