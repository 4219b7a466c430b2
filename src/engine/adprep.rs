//! What the wizard does to a forest with Enterprise Admin credentials, as AdSyncPrep's
//! `Initialize-ADSyncDeviceWriteback` and `Set-ADSyncUnifiedGroupWritebackPermissions` do
//! it: create the writeback container or OU when it is missing, and add to its
//! nTSecurityDescriptor the connector's ACEs — create and delete child objects of the class
//! it writes, write their properties — unless they are there already. Over LDAP only, with
//! LDAP_SERVER_SD_FLAGS so just the DACL is read and written.

use super::ad::{AdFailure, AdSession};
use crate::nt_security::{ace_flags, guid_bytes, guids, mask, Ace, Acl, SecurityDescriptor};

/// What AD said, in its first line.
fn first_line(f: AdFailure) -> String {
    f.message.lines().next().unwrap_or_default().to_string()
}

/// The kinds of object the wizard grants the connector rights over.
#[derive(Debug, Clone, Copy)]
pub(super) enum Kind {
    Computer,
    Device,
    Group,
}

impl Kind {
    fn class_guid(self) -> &'static str {
        match self {
            Kind::Computer => guids::CLASS_COMPUTER,
            Kind::Device => guids::CLASS_MS_DS_DEVICE,
            Kind::Group => guids::CLASS_GROUP,
        }
    }
}

/// Option A for one writeback target: create the container when it is missing, then make
/// sure the connector may create, write and delete `kind` objects in it (ACEs added to the
/// container's descriptor only when missing). Returns what it did.
pub(super) async fn prepare(
    ad: &mut AdSession,
    connector_dn: &str,
    dn: &str,
    object_class: &str,
    kind: Kind,
) -> Result<Vec<String>, String> {
    let mut detail = Vec::new();
    if !ad.exists(dn).await.map_err(first_line)? {
        let mut attrs = super::ad::Attrs::new();
        attrs.insert("objectClass", vec![object_class.as_bytes().to_vec()]);
        ad.add(dn, attrs)
            .await
            .map_err(|f| format!("creating {dn}: {}", f.message))?;
        detail.push(format!("created {dn}"));
    }
    let sid = ad
        .object_sid(connector_dn)
        .await
        .map_err(first_line)?
        .ok_or_else(|| format!("the connector account {connector_dn} does not exist"))?;
    let class = guid_bytes(kind.class_guid());
    let inherit = ace_flags::CONTAINER_INHERIT;
    let wanted = [
        Ace::allow(inherit, mask::CREATE_CHILD, class, None, sid.clone()),
        Ace::allow(inherit, mask::DELETE_CHILD, class, None, sid.clone()),
        Ace::allow(
            inherit | ace_flags::INHERIT_ONLY,
            mask::WRITE_PROP,
            None,
            class,
            sid.clone(),
        ),
    ];
    let bytes = ad.security_descriptor(dn).await.map_err(first_line)?;
    let mut sd = match bytes.as_deref().map(SecurityDescriptor::decode) {
        Some(Ok(sd)) => sd,
        Some(Err(e)) => return Err(format!("the descriptor of {dn}: {e}")),
        None => SecurityDescriptor {
            control: 0,
            owner: None,
            group: None,
            sacl: None,
            dacl: None,
        },
    };
    let dacl = sd.dacl.get_or_insert_with(|| Acl::new(Vec::new()));
    let missing: Vec<Ace> = wanted
        .into_iter()
        .filter(|w| !dacl.aces.iter().any(|a| grants(a, w)))
        .collect();
    if !missing.is_empty() {
        dacl.revision = dacl.revision.max(4);
        dacl.aces.extend(missing);
        ad.set_security_descriptor(dn, &sd.encode())
            .await
            .map_err(first_line)?;
    }
    detail.push(format!(
        "granted the connector create/write/delete of {kind:?} objects on {dn}"
    ));
    Ok(detail)
}

/// Does the explicit allow ACE `have` grant at least what `want` does?
fn grants(have: &Ace, want: &Ace) -> bool {
    have.is_allow()
        && !have.is_inherited()
        && have.sid == want.sid
        && have.mask & want.mask == want.mask
        && have.object_type == want.object_type
        && have.inherited_object_type == want.inherited_object_type
        && have.flags & ace_flags::CONTAINER_INHERIT != 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ace_counts_as_granted_only_for_the_same_principal_types_and_bits() {
        let sid = vec![1, 1, 0, 0, 0, 0, 0, 5, 11, 0, 0, 0];
        let other = vec![1, 1, 0, 0, 0, 0, 0, 5, 12, 0, 0, 0];
        let class = guid_bytes(guids::CLASS_COMPUTER);
        let inherit = ace_flags::CONTAINER_INHERIT;
        let want = Ace::allow(inherit, mask::CREATE_CHILD, class, None, sid.clone());
        let both = Ace::allow(
            inherit,
            mask::CREATE_CHILD | mask::DELETE_CHILD,
            class,
            None,
            sid.clone(),
        );
        assert!(grants(&both, &want));
        assert!(!grants(
            &Ace::allow(inherit, mask::CREATE_CHILD, class, None, other),
            &want
        ));
        assert!(!grants(
            &Ace::allow(0, mask::CREATE_CHILD, class, None, sid.clone()),
            &want
        ));
        let mut inherited = both.clone();
        inherited.flags |= ace_flags::INHERITED;
        assert!(!grants(&inherited, &want));
        let group = guid_bytes(guids::CLASS_GROUP);
        assert!(!grants(
            &Ace::allow(inherit, mask::CREATE_CHILD, group, None, sid),
            &want
        ));
    }
}
