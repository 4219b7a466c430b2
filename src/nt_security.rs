//! `nTSecurityDescriptor` on the wire: MS-DTYP 2.4.6 self-relative security descriptors,
//! their ACLs (2.4.5) and ACEs (2.4.4), and the AD GUIDs writeback's ACEs name (extended
//! rights, classes, attributes; MS-ADTS 5.1.3.2.1 and MS-ADSC). Both sides use it: the
//! embedded AD serves its grants as a descriptor and reads written ones back; the engine's
//! wizard reads a container's descriptor, adds the connector's ACEs and writes it back, as
//! `dsacls` and `Initialize-ADSyncDeviceWriteback` do.
//!
//! ACE types without a mask and a SID (callback and resource-attribute ACEs) are kept as
//! their raw bytes, so a descriptor read and written back loses nothing.

/// SE_DACL_PRESENT, SE_SACL_PRESENT, SE_DACL_PROTECTED, SE_SELF_RELATIVE (MS-DTYP 2.4.6).
pub mod control {
    pub const DACL_PRESENT: u16 = 0x0004;
    pub const SACL_PRESENT: u16 = 0x0010;
    pub const DACL_PROTECTED: u16 = 0x1000;
    pub const SELF_RELATIVE: u16 = 0x8000;
}

/// ACE types (MS-DTYP 2.4.4.1).
pub mod ace_type {
    pub const ACCESS_ALLOWED: u8 = 0x00;
    pub const ACCESS_DENIED: u8 = 0x01;
    pub const SYSTEM_AUDIT: u8 = 0x02;
    pub const ACCESS_ALLOWED_OBJECT: u8 = 0x05;
    pub const ACCESS_DENIED_OBJECT: u8 = 0x06;
    pub const SYSTEM_AUDIT_OBJECT: u8 = 0x07;
}

/// ACE flags (MS-DTYP 2.4.4.1).
pub mod ace_flags {
    pub const CONTAINER_INHERIT: u8 = 0x02;
    pub const INHERIT_ONLY: u8 = 0x08;
    pub const INHERITED: u8 = 0x10;
}

/// Access mask bits of directory objects (MS-ADTS 5.1.3.2).
pub mod mask {
    pub const CREATE_CHILD: u32 = 0x1;
    pub const DELETE_CHILD: u32 = 0x2;
    pub const WRITE_PROP: u32 = 0x20;
    pub const CONTROL_ACCESS: u32 = 0x100;
    /// READ_CONTROL | LIST_OBJECT | READ_PROP | LIST_CHILDREN (`RPLCLORC`).
    pub const READ: u32 = 0x20094;
    /// Every right of a directory object (`GA` as dsacls grants it).
    pub const FULL_CONTROL: u32 = 0xF01FF;
    pub const GENERIC_ALL: u32 = 0x1000_0000;
}

/// The schemaIDGUIDs and rightsGUIDs writeback's permissions name (MS-ADTS, MS-ADSC).
pub mod guids {
    /// Extended right User-Force-Change-Password ("Reset Password").
    pub const RESET_PASSWORD: &str = "00299570-246d-11d0-a768-00aa006e0529";
    /// Extended right User-Change-Password ("Change Password").
    pub const CHANGE_PASSWORD: &str = "ab721a53-1e2f-11d0-9819-00aa0040529b";
    /// Extended right Unexpire-Password.
    pub const UNEXPIRE_PASSWORD: &str = "ccc2dc7d-a6ad-4a7a-8846-c04e3cc53501";
    pub const ATTR_PWD_LAST_SET: &str = "bf967a0a-0de6-11d0-a285-00aa003049e2";
    pub const ATTR_LOCKOUT_TIME: &str = "28630ebf-41d5-11d1-a9c1-0000f80367c1";
    pub const CLASS_USER: &str = "bf967aba-0de6-11d0-a285-00aa003049e2";
    pub const CLASS_COMPUTER: &str = "bf967a86-0de6-11d0-a285-00aa003049e2";
    pub const CLASS_GROUP: &str = "bf967a9c-0de6-11d0-a285-00aa003049e2";
    pub const CLASS_MS_DS_DEVICE: &str = "5df2b673-6d41-4774-b3e8-d52e8ee9ff99";
    pub const CLASS_CONTAINER: &str = "bf967a8b-0de6-11d0-a285-00aa003049e2";
    pub const CLASS_ORGANIZATIONAL_UNIT: &str = "bf967aa5-0de6-11d0-a285-00aa003049e2";
}

/// A GUID's text form as the 16 bytes an ACE carries (MS-DTYP 2.3.4.2: the first three
/// fields little-endian). `None` for text that is not a GUID.
pub fn guid_bytes(text: &str) -> Option<[u8; 16]> {
    uuid::Uuid::parse_str(text).ok().map(|u| u.to_bytes_le())
}

/// One ACE. Types with a mask and a SID are read into the fields; others keep `raw`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ace {
    pub kind: u8,
    pub flags: u8,
    pub mask: u32,
    /// The right, property or child class the ACE is about (object ACEs).
    pub object_type: Option<[u8; 16]>,
    /// The class of descendant the ACE is inherited by (object ACEs).
    pub inherited_object_type: Option<[u8; 16]>,
    pub sid: Vec<u8>,
    /// The body after the 4-byte header, for ACE types not read into the fields.
    pub raw: Option<Vec<u8>>,
}

impl Ace {
    /// An allow ACE for `sid`: an object ACE when it names an object or inherited type.
    pub fn allow(
        flags: u8,
        mask: u32,
        object_type: Option<[u8; 16]>,
        inherited_object_type: Option<[u8; 16]>,
        sid: Vec<u8>,
    ) -> Self {
        let object = object_type.is_some() || inherited_object_type.is_some();
        Self {
            kind: if object {
                ace_type::ACCESS_ALLOWED_OBJECT
            } else {
                ace_type::ACCESS_ALLOWED
            },
            flags,
            mask,
            object_type,
            inherited_object_type,
            sid,
            raw: None,
        }
    }

    /// The same ACE denying instead of allowing (ACCESS_DENIED / ACCESS_DENIED_OBJECT).
    pub fn denying(mut self) -> Self {
        self.kind = match self.kind {
            ace_type::ACCESS_ALLOWED => ace_type::ACCESS_DENIED,
            ace_type::ACCESS_ALLOWED_OBJECT => ace_type::ACCESS_DENIED_OBJECT,
            other => other,
        };
        self
    }

    /// The same ACE as a descendant holds it: INHERITED set.
    pub fn inherited(mut self) -> Self {
        self.flags |= ace_flags::INHERITED;
        self
    }

    pub fn is_deny(&self) -> bool {
        matches!(
            self.kind,
            ace_type::ACCESS_DENIED | ace_type::ACCESS_DENIED_OBJECT
        )
    }

    fn is_object(kind: u8) -> bool {
        matches!(kind, 0x05..=0x08)
    }

    fn has_fields(kind: u8) -> bool {
        matches!(kind, 0x00..=0x03 | 0x05..=0x08)
    }

    pub fn is_allow(&self) -> bool {
        matches!(
            self.kind,
            ace_type::ACCESS_ALLOWED | ace_type::ACCESS_ALLOWED_OBJECT
        )
    }

    pub fn is_inherited(&self) -> bool {
        self.flags & ace_flags::INHERITED != 0
    }

    fn encode(&self, out: &mut Vec<u8>) {
        let mut body = Vec::new();
        match &self.raw {
            Some(raw) => body.extend_from_slice(raw),
            None => {
                body.extend_from_slice(&self.mask.to_le_bytes());
                if Self::is_object(self.kind) {
                    let mut f = 0u32;
                    if self.object_type.is_some() {
                        f |= 0x1;
                    }
                    if self.inherited_object_type.is_some() {
                        f |= 0x2;
                    }
                    body.extend_from_slice(&f.to_le_bytes());
                    for g in [&self.object_type, &self.inherited_object_type]
                        .into_iter()
                        .flatten()
                    {
                        body.extend_from_slice(g);
                    }
                }
                body.extend_from_slice(&self.sid);
            }
        }
        out.push(self.kind);
        out.push(self.flags);
        out.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
        out.extend_from_slice(&body);
    }

    fn decode(ace: &[u8]) -> Result<Self, DescriptorError> {
        let kind = ace[0];
        let flags = ace[1];
        let body = &ace[4..];
        if !Self::has_fields(kind) {
            return Ok(Self {
                kind,
                flags,
                mask: 0,
                object_type: None,
                inherited_object_type: None,
                sid: Vec::new(),
                raw: Some(body.to_vec()),
            });
        }
        let mask = u32_at(body, 0).ok_or(DescriptorError::Truncated("ACE mask"))?;
        let mut p = 4;
        let (mut object_type, mut inherited_object_type) = (None, None);
        if Self::is_object(kind) {
            let f = u32_at(body, 4).ok_or(DescriptorError::Truncated("object ACE flags"))?;
            p = 8;
            let guid = |p: &mut usize| -> Result<[u8; 16], DescriptorError> {
                let g = body
                    .get(*p..*p + 16)
                    .and_then(|g| <[u8; 16]>::try_from(g).ok())
                    .ok_or(DescriptorError::Truncated("object type"))?;
                *p += 16;
                Ok(g)
            };
            if f & 0x1 != 0 {
                object_type = Some(guid(&mut p)?);
            }
            if f & 0x2 != 0 {
                inherited_object_type = Some(guid(&mut p)?);
            }
        }
        let sid = body.get(p..).ok_or(DescriptorError::Truncated("ACE SID"))?;
        if sid.len() < 8 {
            return Err(DescriptorError::Truncated("ACE SID"));
        }
        Ok(Self {
            kind,
            flags,
            mask,
            object_type,
            inherited_object_type,
            sid: sid.to_vec(),
            raw: None,
        })
    }
}

/// An ACL: its revision and ACEs in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Acl {
    /// ACL_REVISION (2) or ACL_REVISION_DS (4, needed for object ACEs).
    pub revision: u8,
    pub aces: Vec<Ace>,
}

impl Acl {
    pub fn new(aces: Vec<Ace>) -> Self {
        Self { revision: 4, aces }
    }

    fn encode(&self) -> Vec<u8> {
        let mut body = Vec::new();
        for a in &self.aces {
            a.encode(&mut body);
        }
        let mut acl = vec![self.revision, 0];
        acl.extend_from_slice(&((body.len() + 8) as u16).to_le_bytes());
        acl.extend_from_slice(&(self.aces.len() as u16).to_le_bytes());
        acl.extend_from_slice(&[0, 0]);
        acl.extend_from_slice(&body);
        acl
    }

    fn decode(acl: &[u8]) -> Result<Self, DescriptorError> {
        let revision = *acl.first().ok_or(DescriptorError::Truncated("ACL"))?;
        let count = u16_at(acl, 4).ok_or(DescriptorError::Truncated("ACL"))? as usize;
        let mut pos = 8;
        let mut aces = Vec::with_capacity(count.min(1024));
        for _ in 0..count {
            let size = u16_at(acl, pos + 2).ok_or(DescriptorError::Truncated("ACE"))? as usize;
            if size < 4 {
                return Err(DescriptorError::Truncated("ACE"));
            }
            let ace = acl
                .get(pos..pos + size)
                .ok_or(DescriptorError::Truncated("ACE runs past the ACL"))?;
            aces.push(Ace::decode(ace)?);
            pos += size;
        }
        Ok(Self { revision, aces })
    }
}

/// A security descriptor: owner, group, SACL and DACL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityDescriptor {
    /// The control flags other than the ones the parts imply (DACL_PROTECTED, …).
    pub control: u16,
    pub owner: Option<Vec<u8>>,
    pub group: Option<Vec<u8>>,
    pub sacl: Option<Acl>,
    pub dacl: Option<Acl>,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DescriptorError {
    #[error("not a self-relative security descriptor (revision 1)")]
    NotSelfRelative,
    #[error("truncated {0}")]
    Truncated(&'static str),
}

fn u16_at(b: &[u8], i: usize) -> Option<u16> {
    b.get(i..i + 2).map(|x| u16::from_le_bytes([x[0], x[1]]))
}

fn u32_at(b: &[u8], i: usize) -> Option<u32> {
    b.get(i..i + 4)
        .map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]]))
}

/// The length of the SID at the start of `b` (MS-DTYP 2.4.2.2: 8 + 4 per sub-authority).
fn sid_len(b: &[u8]) -> Option<usize> {
    let n = 8 + 4 * usize::from(*b.get(1)?);
    (b.len() >= n).then_some(n)
}

impl SecurityDescriptor {
    /// Read a self-relative descriptor.
    pub fn decode(sd: &[u8]) -> Result<Self, DescriptorError> {
        if sd.len() < 20 || sd[0] != 1 {
            return Err(DescriptorError::NotSelfRelative);
        }
        let control = u16_at(sd, 2).unwrap_or(0);
        if control & control::SELF_RELATIVE == 0 {
            return Err(DescriptorError::NotSelfRelative);
        }
        let part = |i: usize| -> Result<Option<&[u8]>, DescriptorError> {
            match u32_at(sd, i).unwrap_or(0) as usize {
                0 => Ok(None),
                off => sd
                    .get(off..)
                    .map(Some)
                    .ok_or(DescriptorError::Truncated("descriptor offset")),
            }
        };
        let sid = |b: Option<&[u8]>| -> Result<Option<Vec<u8>>, DescriptorError> {
            b.map(|b| {
                sid_len(b)
                    .map(|n| b[..n].to_vec())
                    .ok_or(DescriptorError::Truncated("SID"))
            })
            .transpose()
        };
        let owner = sid(part(4)?)?;
        let group = sid(part(8)?)?;
        let sacl = match part(12)? {
            Some(b) if control & control::SACL_PRESENT != 0 => Some(Acl::decode(b)?),
            _ => None,
        };
        let dacl = match part(16)? {
            Some(b) if control & control::DACL_PRESENT != 0 => Some(Acl::decode(b)?),
            _ => None,
        };
        Ok(Self {
            control: control
                & !(control::SELF_RELATIVE | control::DACL_PRESENT | control::SACL_PRESENT),
            owner,
            group,
            sacl,
            dacl,
        })
    }

    /// Write it self-relative: header, owner, group, SACL, DACL.
    pub fn encode(&self) -> Vec<u8> {
        let mut control = self.control | control::SELF_RELATIVE;
        let sacl = self.sacl.as_ref().map(Acl::encode);
        let dacl = self.dacl.as_ref().map(Acl::encode);
        if sacl.is_some() {
            control |= control::SACL_PRESENT;
        }
        if dacl.is_some() {
            control |= control::DACL_PRESENT;
        }
        let mut body = Vec::new();
        let mut offsets = [0u32; 4];
        let parts: [Option<&[u8]>; 4] = [
            self.owner.as_deref(),
            self.group.as_deref(),
            sacl.as_deref(),
            dacl.as_deref(),
        ];
        for (i, p) in parts.into_iter().enumerate() {
            if let Some(p) = p {
                offsets[i] = (20 + body.len()) as u32;
                body.extend_from_slice(p);
            }
        }
        let mut sd = vec![1, 0];
        sd.extend_from_slice(&control.to_le_bytes());
        for off in offsets {
            sd.extend_from_slice(&off.to_le_bytes());
        }
        sd.extend_from_slice(&body);
        sd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sid(rid: u32) -> Vec<u8> {
        // S-1-5-21-1-2-3-rid
        let mut s = vec![1, 5, 0, 0, 0, 0, 0, 5];
        for a in [21u32, 1, 2, 3, rid] {
            s.extend_from_slice(&a.to_le_bytes());
        }
        s
    }

    #[test]
    fn a_descriptor_reads_back_as_it_was_written_unknown_aces_included() {
        let reset = guid_bytes(guids::RESET_PASSWORD).unwrap();
        let computer = guid_bytes(guids::CLASS_COMPUTER).unwrap();
        let callback = Ace {
            kind: 0x09,
            flags: 0,
            mask: 0,
            object_type: None,
            inherited_object_type: None,
            sid: Vec::new(),
            raw: Some(vec![1, 2, 3, 4, 5, 6, 7, 8]),
        };
        let sd = SecurityDescriptor {
            control: control::DACL_PROTECTED,
            owner: Some(sid(512)),
            group: Some(sid(513)),
            sacl: None,
            dacl: Some(Acl::new(vec![
                Ace::allow(0, mask::READ, None, None, sid(11)),
                Ace::allow(
                    ace_flags::CONTAINER_INHERIT,
                    mask::CONTROL_ACCESS,
                    Some(reset),
                    None,
                    sid(1104),
                ),
                Ace::allow(
                    ace_flags::CONTAINER_INHERIT | ace_flags::INHERIT_ONLY,
                    mask::WRITE_PROP,
                    None,
                    Some(computer),
                    sid(1104),
                ),
                Ace {
                    kind: ace_type::ACCESS_DENIED,
                    ..Ace::allow(0, mask::DELETE_CHILD, None, None, sid(1105))
                },
                callback,
            ])),
        };
        let bytes = sd.encode();
        assert_eq!(&bytes[..4], &[1, 0, 0x04, 0x90]);
        assert_eq!(SecurityDescriptor::decode(&bytes).unwrap(), sd);
    }

    #[test]
    fn broken_descriptors_say_what_is_wrong_instead_of_panicking() {
        assert_eq!(
            SecurityDescriptor::decode(&[0; 10]),
            Err(DescriptorError::NotSelfRelative)
        );
        let mut sd = SecurityDescriptor {
            control: 0,
            owner: None,
            group: None,
            sacl: None,
            dacl: Some(Acl::new(vec![Ace::allow(
                0,
                mask::READ,
                None,
                None,
                sid(11),
            )])),
        }
        .encode();
        sd.truncate(sd.len() - 6);
        assert!(SecurityDescriptor::decode(&sd).is_err());
        for cut in 0..sd.len() {
            let _ = SecurityDescriptor::decode(&sd[..cut]);
        }
    }
}
