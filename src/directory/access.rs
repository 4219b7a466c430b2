//! Access control as the connector account meets it: rights granted to a principal on a
//! subtree (an inherited ACE, `dsacls OU /I:T /G principal:CA;Reset Password`), checked on
//! every write, so "Access denied" is a real LDAP 50 answer.
//!
//! Modelled: the extended rights writeback uses (Reset Password, Change Password,
//! Unexpire Password), write-property on pwdLastSet and lockoutTime, and create / delete /
//! write per object kind. Administrator and members of Domain Admins or Enterprise Admins
//! may do anything; every authenticated principal may read; a user may change (not reset)
//! their own password. Left out: deny ACEs, per-attribute ACEs beyond those two,
//! security descriptors on the wire (nTSecurityDescriptor).

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

/// One inherited allow ACE: `trustee` holds `right` on `scope` and everything below it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grant {
    /// The objectGUID of the trustee (a user or a group), so renames do not lose it.
    pub trustee: Vec<u8>,
    pub right: Right,
    /// Normalised DN of the object the ACE sits on.
    pub scope: String,
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
