//! `nTSecurityDescriptor` (MS-DTYP 2.4.6, self-relative) as a view of the grants in
//! [`super::access`], so admins' tools — dsacls, `samba-tool dsacl`, ADSI Edit, or a
//! script that reads the descriptor, adds an ACE and writes it back — grant and revoke
//! rights over LDAP, as on a DC.
//!
//! Read: the explicit grants on the object as inheritable allow ACEs, plus the defaults
//! every object shows (Authenticated Users read, Domain Admins full control). Write: the
//! DACL's explicit allow ACEs that map to a modelled right replace the object's grants.
//! Left out on purpose: deny ACEs, SACLs, owner changes, inherited ACEs (rights already
//! apply to the subtree), and ACEs for rights this directory does not model.

use super::access::{Grant, ObjectKind, Right};
use super::ids::{parse_guid, sid_bytes};
use super::State;

const SE_DACL_PRESENT: u16 = 0x0004;
const SE_SELF_RELATIVE: u16 = 0x8000;
const ACL_REVISION_DS: u8 = 4;
const ACCESS_ALLOWED: u8 = 0x00;
const ACCESS_ALLOWED_OBJECT: u8 = 0x05;
const CONTAINER_INHERIT: u8 = 0x02;
const INHERITED_ACE: u8 = 0x10;
const OBJECT_TYPE_PRESENT: u32 = 0x1;
const INHERITED_OBJECT_TYPE_PRESENT: u32 = 0x2;

const CREATE_CHILD: u32 = 0x1;
const DELETE_CHILD: u32 = 0x2;
const WRITE_PROP: u32 = 0x20;
const CONTROL_ACCESS: u32 = 0x100;
const FULL_CONTROL: u32 = 0xF01FF;
const GENERIC_ALL: u32 = 0x1000_0000;
/// READ_CONTROL | LIST_OBJECT | READ_PROP | LIST_CHILDREN (`RPLCLORC`).
const READ: u32 = 0x20094;

/// Extended rights (rightsGuid) and schemaIDGUIDs the modelled rights refer to.
const RESET_PASSWORD: &str = "00299570-246d-11d0-a768-00aa006e0529";
const CHANGE_PASSWORD: &str = "ab721a53-1e2f-11d0-9819-00aa0040529b";
const UNEXPIRE_PASSWORD: &str = "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501";
const ATTR_PWD_LAST_SET: &str = "bf967a0a-0de6-11d0-a285-00aa003049e2";
const ATTR_LOCKOUT_TIME: &str = "28630ebf-41d5-11d1-a9c1-0000f80367c1";

fn class_guid(kind: ObjectKind) -> &'static str {
    match kind {
        ObjectKind::User => "bf967aba-0de6-11d0-a285-00aa003049e2",
        ObjectKind::Computer => "bf967a86-0de6-11d0-a285-00aa003049e2",
        ObjectKind::Group => "bf967a9c-0de6-11d0-a285-00aa003049e2",
        ObjectKind::Device => "5df2b673-6d41-4774-b3e8-d52e8ee9ff99",
        ObjectKind::Container => "bf967a8b-0de6-11d0-a285-00aa003049e2",
        ObjectKind::OrganizationalUnit => "bf967aa5-0de6-11d0-a285-00aa003049e2",
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

fn guid(text: &str) -> Vec<u8> {
    // The constants above are well-formed GUIDs.
    parse_guid(text).unwrap_or_default()
}

fn kind_of_guid(g: &[u8]) -> Option<ObjectKind> {
    KINDS.into_iter().find(|k| guid(class_guid(*k)) == g)
}

struct Ace {
    flags: u8,
    mask: u32,
    object_type: Option<Vec<u8>>,
    inherited_object_type: Option<Vec<u8>>,
    sid: Vec<u8>,
}

fn ace_for(right: Right, sid: Vec<u8>) -> Ace {
    let (mask, object_type, inherited) = match right {
        Right::ResetPassword => (CONTROL_ACCESS, Some(RESET_PASSWORD), None),
        Right::ChangePassword => (CONTROL_ACCESS, Some(CHANGE_PASSWORD), None),
        Right::UnexpirePassword => (CONTROL_ACCESS, Some(UNEXPIRE_PASSWORD), None),
        Right::WritePwdLastSet => (WRITE_PROP, Some(ATTR_PWD_LAST_SET), None),
        Right::WriteLockoutTime => (WRITE_PROP, Some(ATTR_LOCKOUT_TIME), None),
        Right::Create(k) => (CREATE_CHILD, Some(class_guid(k)), None),
        Right::Delete(k) => (DELETE_CHILD, Some(class_guid(k)), None),
        Right::Write(k) => (WRITE_PROP, None, Some(class_guid(k))),
        Right::FullControl => (FULL_CONTROL, None, None),
    };
    Ace {
        flags: CONTAINER_INHERIT,
        mask,
        object_type: object_type.map(guid),
        inherited_object_type: inherited.map(guid),
        sid,
    }
}

fn encode_ace(a: &Ace, out: &mut Vec<u8>) {
    let object = a.object_type.is_some() || a.inherited_object_type.is_some();
    let mut body = a.mask.to_le_bytes().to_vec();
    if object {
        let mut f = 0;
        if a.object_type.is_some() {
            f |= OBJECT_TYPE_PRESENT;
        }
        if a.inherited_object_type.is_some() {
            f |= INHERITED_OBJECT_TYPE_PRESENT;
        }
        body.extend_from_slice(&f.to_le_bytes());
        for g in [&a.object_type, &a.inherited_object_type]
            .into_iter()
            .flatten()
        {
            body.extend_from_slice(g);
        }
    }
    body.extend_from_slice(&a.sid);
    out.push(if object {
        ACCESS_ALLOWED_OBJECT
    } else {
        ACCESS_ALLOWED
    });
    out.push(a.flags);
    out.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
    out.extend_from_slice(&body);
}

impl State {
    /// The descriptor of entry `id`, built from its grants.
    pub fn security_descriptor(&self, id: super::store::EntryId) -> Vec<u8> {
        let Some(e) = self.store.get(id) else {
            return Vec::new();
        };
        let scope = e.dn.norm();
        let admins = self.domain.sid(super::rid::DOMAIN_ADMINS);
        let authenticated_users = sid_bytes(5, &[11]);
        let mut aces = vec![
            Ace {
                flags: 0,
                mask: READ,
                object_type: None,
                inherited_object_type: None,
                sid: authenticated_users,
            },
            Ace {
                flags: CONTAINER_INHERIT,
                mask: FULL_CONTROL,
                object_type: None,
                inherited_object_type: None,
                sid: admins.clone(),
            },
        ];
        for g in self.grants.iter().filter(|g| g.scope == scope) {
            let Some(sid) = self
                .store
                .by_guid(&g.trustee)
                .and_then(|t| t.values("objectSid").first().cloned())
            else {
                continue;
            };
            aces.push(ace_for(g.right, sid));
        }
        let mut acl_body = Vec::new();
        for a in &aces {
            encode_ace(a, &mut acl_body);
        }
        let mut acl = vec![ACL_REVISION_DS, 0];
        acl.extend_from_slice(&((acl_body.len() + 8) as u16).to_le_bytes());
        acl.extend_from_slice(&(aces.len() as u16).to_le_bytes());
        acl.extend_from_slice(&[0, 0]);
        acl.extend_from_slice(&acl_body);

        let owner_off = 20u32;
        let group_off = owner_off + admins.len() as u32;
        let dacl_off = group_off + admins.len() as u32;
        let mut sd = vec![1, 0];
        sd.extend_from_slice(&(SE_SELF_RELATIVE | SE_DACL_PRESENT).to_le_bytes());
        for off in [owner_off, group_off, 0, dacl_off] {
            sd.extend_from_slice(&off.to_le_bytes());
        }
        sd.extend_from_slice(&admins);
        sd.extend_from_slice(&admins);
        sd.extend_from_slice(&acl);
        sd
    }

    /// Replace the grants on entry `id` by the modelled rights in a written descriptor.
    /// `Err` with a reason when the bytes are not a self-relative descriptor.
    pub fn set_security_descriptor(
        &mut self,
        id: super::store::EntryId,
        sd: &[u8],
    ) -> Result<(), String> {
        let Some(e) = self.store.get(id) else {
            return Err("no such object".into());
        };
        let scope = e.dn.norm();
        let grants = self.parse_dacl(sd, &scope)?;
        self.grants.retain(|g| g.scope != scope);
        for g in grants {
            if !self.grants.contains(&g) {
                self.grants.push(g);
            }
        }
        Ok(())
    }

    fn parse_dacl(&self, sd: &[u8], scope: &str) -> Result<Vec<Grant>, String> {
        let u16_at = |b: &[u8], i: usize| b.get(i..i + 2).map(|x| u16::from_le_bytes([x[0], x[1]]));
        let u32_at = |b: &[u8], i: usize| {
            b.get(i..i + 4)
                .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
        };
        if sd.len() < 20 || sd[0] != 1 {
            return Err("not a self-relative security descriptor (revision 1)".into());
        }
        let control = u16_at(sd, 2).unwrap_or(0);
        if control & SE_SELF_RELATIVE == 0 {
            return Err("the descriptor is not self-relative".into());
        }
        let dacl_off = u32_at(sd, 16).unwrap_or(0) as usize;
        if control & SE_DACL_PRESENT == 0 || dacl_off == 0 {
            return Ok(Vec::new());
        }
        let acl = sd.get(dacl_off..).ok_or("DACL offset out of range")?;
        let count = u16_at(acl, 4).ok_or("truncated ACL")? as usize;
        let mut pos = 8;
        let mut out = Vec::new();
        for _ in 0..count {
            let kind = *acl.get(pos).ok_or("truncated ACE")?;
            let flags = *acl.get(pos + 1).ok_or("truncated ACE")?;
            let size = u16_at(acl, pos + 2).ok_or("truncated ACE")? as usize;
            let ace = acl.get(pos..pos + size).ok_or("ACE runs past the ACL")?;
            pos += size.max(4);
            if flags & INHERITED_ACE != 0
                || !(kind == ACCESS_ALLOWED || kind == ACCESS_ALLOWED_OBJECT)
            {
                continue;
            }
            let mask = u32_at(ace, 4).ok_or("truncated ACE")?;
            let mut p = 8;
            let (mut object_type, mut inherited) = (None, None);
            if kind == ACCESS_ALLOWED_OBJECT {
                let f = u32_at(ace, 8).ok_or("truncated object ACE")?;
                p = 12;
                if f & OBJECT_TYPE_PRESENT != 0 {
                    object_type = Some(ace.get(p..p + 16).ok_or("truncated object type")?.to_vec());
                    p += 16;
                }
                if f & INHERITED_OBJECT_TYPE_PRESENT != 0 {
                    inherited = Some(
                        ace.get(p..p + 16)
                            .ok_or("truncated inherited object type")?
                            .to_vec(),
                    );
                    p += 16;
                }
            }
            let sid = ace.get(p..).ok_or("ACE without a SID")?;
            if sid == self.domain.sid(super::rid::DOMAIN_ADMINS) {
                continue; // the default ACE every descriptor shows; admins hold every right
            }
            let Some(trustee) = self
                .store
                .by_sid(sid)
                .and_then(|t| t.guid())
                .map(<[u8]>::to_vec)
            else {
                continue; // well-known or foreign principals: not modelled
            };
            for right in rights_of(mask, object_type.as_deref(), inherited.as_deref()) {
                out.push(Grant {
                    trustee: trustee.clone(),
                    right,
                    scope: scope.to_string(),
                });
            }
        }
        Ok(out)
    }
}

/// The modelled rights an allow ACE carries.
fn rights_of(mask: u32, object_type: Option<&[u8]>, inherited: Option<&[u8]>) -> Vec<Right> {
    if mask & GENERIC_ALL != 0 || mask & FULL_CONTROL == FULL_CONTROL {
        return vec![Right::FullControl];
    }
    let kinds: Vec<ObjectKind> = match inherited.and_then(kind_of_guid) {
        Some(k) => vec![k],
        None if inherited.is_some() => Vec::new(),
        None => KINDS.to_vec(),
    };
    let mut out = Vec::new();
    if mask & CONTROL_ACCESS != 0 {
        let all = [
            (RESET_PASSWORD, Right::ResetPassword),
            (CHANGE_PASSWORD, Right::ChangePassword),
            (UNEXPIRE_PASSWORD, Right::UnexpirePassword),
        ];
        for (g, r) in all {
            if object_type.is_none_or(|o| o == guid(g)) {
                out.push(r);
            }
        }
    }
    if mask & WRITE_PROP != 0 {
        match object_type {
            Some(o) if o == guid(ATTR_PWD_LAST_SET) => out.push(Right::WritePwdLastSet),
            Some(o) if o == guid(ATTR_LOCKOUT_TIME) => out.push(Right::WriteLockoutTime),
            Some(_) => {}
            None => out.extend(kinds.iter().map(|k| Right::Write(*k))),
        }
    }
    for (bit, make) in [
        (CREATE_CHILD, Right::Create as fn(ObjectKind) -> Right),
        (DELETE_CHILD, Right::Delete),
    ] {
        if mask & bit != 0 {
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
                    a.object_type.as_deref(),
                    a.inherited_object_type.as_deref()
                ),
                vec![r],
                "{r}"
            );
        }
    }

    #[test]
    fn control_access_without_an_object_type_is_every_extended_right() {
        assert_eq!(
            rights_of(CONTROL_ACCESS, None, None),
            vec![
                Right::ResetPassword,
                Right::ChangePassword,
                Right::UnexpirePassword
            ]
        );
    }
}
