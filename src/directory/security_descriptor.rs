//! `nTSecurityDescriptor` (MS-DTYP 2.4.6, self-relative; the codec is
//! [`crate::nt_security`]) as a view of the grants in [`super::access`], so admins' tools —
//! dsacls, `samba-tool dsacl`, ADSI Edit, the Entra Connect wizard, or a script that reads
//! the descriptor, adds an ACE and writes it back — grant and revoke rights over LDAP, as on
//! a DC.
//!
//! Read: in canonical order, the object's explicit ACEs (its deny ACEs, the defaults every
//! object shows — Authenticated Users read, Domain Admins full control — and its allow
//! ACEs), then the ACEs it inherits from each ancestor up to the first protected one,
//! flagged INHERITED; SE_DACL_PROTECTED when inheritance is blocked on it. Write: the
//! DACL's explicit allow and deny ACEs that map to a modelled right replace the object's
//! own, and SE_DACL_PROTECTED blocks or restores inheritance — what `samba-tool dsacl set`,
//! dsacls and ADSI Edit write. Trustees are accounts and groups of the directory, Everyone
//! and Authenticated Users. Left out on purpose: SACLs, owner changes, and ACEs for rights
//! this directory does not model (dropped on write).

use super::access::{Grant, ObjectKind, Right, AUTHENTICATED_USERS, EVERYONE};
use super::ids::sid_bytes;
use super::State;
use crate::nt_security::{
    ace_flags, control, guid_bytes, guids, mask, Ace, Acl, SecurityDescriptor,
};

fn class_guid(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => guids::CLASS_USER,
        ObjectKind::Computer => guids::CLASS_COMPUTER,
        ObjectKind::Group => guids::CLASS_GROUP,
        ObjectKind::Device => guids::CLASS_MS_DS_DEVICE,
        ObjectKind::Container => guids::CLASS_CONTAINER,
        ObjectKind::OrganizationalUnit => guids::CLASS_ORGANIZATIONAL_UNIT,
    }
}

const KINDS: [ObjectKind; 6] = [
    ObjectKind::User,
    ObjectKind::Computer,
    ObjectKind::Group,
    ObjectKind::Device,
    ObjectKind::Container,
    ObjectKind::OrganizationalUnit,
];

fn guid(text: &str) -> [u8; 16] {
    // The constants in `guids` are well-formed GUIDs.
    guid_bytes(text).unwrap_or_default()
}

fn kind_of_guid(g: &[u8; 16]) -> Option<ObjectKind> {
    KINDS.into_iter().find(|k| guid(class_guid(*k)) == *g)
}

/// The ACE a grant shows as: inheritable, an object ACE where the right names a type.
pub fn ace_for(right: Right, sid: Vec<u8>) -> Ace {
    let (bits, object_type, inherited) = match right {
        Right::ResetPassword => (mask::CONTROL_ACCESS, Some(guids::RESET_PASSWORD), None),
        Right::ChangePassword => (mask::CONTROL_ACCESS, Some(guids::CHANGE_PASSWORD), None),
        Right::UnexpirePassword => (mask::CONTROL_ACCESS, Some(guids::UNEXPIRE_PASSWORD), None),
        Right::WritePwdLastSet => (mask::WRITE_PROP, Some(guids::ATTR_PWD_LAST_SET), None),
        Right::WriteLockoutTime => (mask::WRITE_PROP, Some(guids::ATTR_LOCKOUT_TIME), None),
        Right::Create(k) => (mask::CREATE_CHILD, Some(class_guid(k)), None),
        Right::Delete(k) => (mask::DELETE_CHILD, Some(class_guid(k)), None),
        Right::Write(k) => (mask::WRITE_PROP, None, Some(class_guid(k))),
        Right::FullControl => (mask::FULL_CONTROL, None, None),
    };
    Ace::allow(
        ace_flags::CONTAINER_INHERIT,
        bits,
        object_type.map(guid),
        inherited.map(guid),
        sid,
    )
}

impl State {
    /// The descriptor of entry `id`, built from its ACEs and those it inherits.
    pub fn security_descriptor(&self, id: super::store::EntryId) -> Vec<u8> {
        let Some(e) = self.store.get(id) else {
            return Vec::new();
        };
        let admins = self.domain.sid(super::rid::DOMAIN_ADMINS);
        let levels = self.acl_levels(&e.dn);
        let mut aces = Vec::new();
        for (level, scope) in levels.iter().enumerate() {
            for deny in [true, false] {
                if level == 0 && !deny {
                    aces.push(Ace::allow(0, mask::READ, None, None, sid_bytes(5, &[11])));
                    aces.push(Ace::allow(
                        ace_flags::CONTAINER_INHERIT,
                        mask::FULL_CONTROL,
                        None,
                        None,
                        admins.clone(),
                    ));
                }
                for g in self
                    .grants
                    .iter()
                    .filter(|g| g.deny == deny && g.scope == *scope)
                {
                    let mut ace = ace_for(g.right, g.trustee.clone());
                    if deny {
                        ace = ace.denying();
                    }
                    if level > 0 {
                        ace = ace.inherited();
                    }
                    aces.push(ace);
                }
            }
        }
        let protected = levels.first().is_some_and(|s| self.protected.contains(s));
        SecurityDescriptor {
            control: if protected {
                control::DACL_PROTECTED
            } else {
                0
            },
            owner: Some(admins.clone()),
            group: Some(admins),
            sacl: None,
            dacl: Some(Acl::new(aces)),
        }
        .encode()
    }

    /// Replace the ACEs on entry `id` by the modelled rights in a written descriptor, and
    /// block or restore inheritance by its SE_DACL_PROTECTED flag. `Err` with a reason
    /// when the bytes are not a self-relative descriptor.
    pub fn set_security_descriptor(
        &mut self,
        id: super::store::EntryId,
        sd: &[u8],
    ) -> Result<(), String> {
        let Some(e) = self.store.get(id) else {
            return Err("no such object".into());
        };
        let scope = e.dn.norm();
        let decoded = SecurityDescriptor::decode(sd).map_err(|e| e.to_string())?;
        let Some(dacl) = decoded.dacl else {
            return Ok(()); // no DACL part written (SD flags without DACL_SECURITY_INFORMATION)
        };
        let grants = self.parse_dacl(&dacl.aces, &scope);
        self.grants.retain(|g| g.scope != scope);
        for g in grants {
            if !self.grants.contains(&g) {
                self.grants.push(g);
            }
        }
        if decoded.control & control::DACL_PROTECTED != 0 {
            self.protected.insert(scope);
        } else {
            self.protected.remove(&scope);
        }
        Ok(())
    }

    fn parse_dacl(&self, aces: &[Ace], scope: &str) -> Vec<Grant> {
        let admins = self.domain.sid(super::rid::DOMAIN_ADMINS);
        let mut out = Vec::new();
        for ace in aces {
            if ace.is_inherited() || !(ace.is_allow() || ace.is_deny()) {
                continue;
            }
            if ace.sid == admins && ace.is_allow() {
                continue; // the default ACE every descriptor shows; admins hold every right
            }
            let known = ace.sid == EVERYONE
                || ace.sid == AUTHENTICATED_USERS
                || self.store.by_sid(&ace.sid).is_some();
            if !known {
                continue; // foreign principals: not modelled
            }
            for right in rights_of(
                ace.mask,
                ace.object_type.as_ref(),
                ace.inherited_object_type.as_ref(),
            ) {
                out.push(Grant {
                    trustee: ace.sid.clone(),
                    right,
                    scope: scope.to_string(),
                    deny: ace.is_deny(),
                });
            }
        }
        out
    }
}

/// The modelled rights an allow ACE carries.
fn rights_of(
    bits: u32,
    object_type: Option<&[u8; 16]>,
    inherited: Option<&[u8; 16]>,
) -> Vec<Right> {
    if bits & mask::GENERIC_ALL != 0 || bits & mask::FULL_CONTROL == mask::FULL_CONTROL {
        return vec![Right::FullControl];
    }
    let kinds: Vec<ObjectKind> = match inherited.and_then(kind_of_guid) {
        Some(k) => vec![k],
        None if inherited.is_some() => Vec::new(),
        None => KINDS.to_vec(),
    };
    let mut out = Vec::new();
    if bits & mask::CONTROL_ACCESS != 0 {
        let all = [
            (guids::RESET_PASSWORD, Right::ResetPassword),
            (guids::CHANGE_PASSWORD, Right::ChangePassword),
            (guids::UNEXPIRE_PASSWORD, Right::UnexpirePassword),
        ];
        for (g, r) in all {
            if object_type.is_none_or(|o| *o == guid(g)) {
                out.push(r);
            }
        }
    }
    if bits & mask::WRITE_PROP != 0 {
        match object_type {
            Some(o) if *o == guid(guids::ATTR_PWD_LAST_SET) => out.push(Right::WritePwdLastSet),
            Some(o) if *o == guid(guids::ATTR_LOCKOUT_TIME) => out.push(Right::WriteLockoutTime),
            Some(_) => {}
            None => out.extend(kinds.iter().map(|k| Right::Write(*k))),
        }
    }
    for (bit, make) in [
        (mask::CREATE_CHILD, Right::Create as fn(ObjectKind) -> Right),
        (mask::DELETE_CHILD, Right::Delete),
    ] {
        if bits & bit != 0 {
            match object_type {
                Some(o) => out.extend(kind_of_guid(o).map(make)),
                None => out.extend(kinds.iter().map(|k| make(*k))),
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ace_for_each_modelled_right_reads_back_as_that_right() {
        let rights = [
            Right::ResetPassword,
            Right::ChangePassword,
            Right::UnexpirePassword,
            Right::WritePwdLastSet,
            Right::WriteLockoutTime,
            Right::Create(ObjectKind::Computer),
            Right::Delete(ObjectKind::Group),
            Right::Write(ObjectKind::Device),
            Right::FullControl,
        ];
        for r in rights {
            let a = ace_for(r, vec![]);
            assert_eq!(
                rights_of(
                    a.mask,
                    a.object_type.as_ref(),
                    a.inherited_object_type.as_ref()
                ),
                vec![r],
                "{r}"
            );
        }
    }

    #[test]
    fn control_access_without_an_object_type_is_every_extended_right() {
        assert_eq!(
            rights_of(mask::CONTROL_ACCESS, None, None),
            vec![
                Right::ResetPassword,
                Right::ChangePassword,
                Right::UnexpirePassword
            ]
        );
    }
}
