//! The slice of the AD schema that writeback, the Entra Connect wizard and an admin's
//! ldapsearch touch: attribute syntaxes and single-valuedness, which attributes only the
//! system may write, and the structural classes with their naming attribute, possible
//! superiors, mandatory attributes and default objectCategory.
//!
//! The subschema entry (`CN=Aggregate,CN=Schema,…`, RFC 4512) publishes the definitions
//! of these attributes and classes as a DC does: see [`super::subschema`].
//!
//! Left out on purpose: the `mayContain` lists (any known attribute may sit on any class),
//! auxiliary classes, and schema objects under CN=Schema (the schema is compiled in).

use foldhash::HashMap;
use std::sync::LazyLock;

/// How values of an attribute compare and what they must look like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Syntax {
    /// Unicode string, compared ignoring case.
    Str,
    /// Integer or large integer (INTEGER / INTEGER8), as decimal text on the wire.
    Int,
    /// `TRUE` / `FALSE`.
    Bool,
    /// A DN that must name an existing object (member, manager, …).
    Dn,
    /// A DN kept as text, not checked (objectCategory, msDS-DeviceLocation).
    DnText,
    /// Object(DN-Binary) / Object(DN-String): `B:32:hex:DN` (wellKnownObjects).
    DnBinary,
    /// Raw octets.
    Bytes,
    /// GeneralizedTime (`20261125215640.0Z`).
    Time,
    /// A binary SID; filters may also use the `S-1-5-…` text form.
    Sid,
    /// A 16-byte GUID in Windows (little-endian) byte order.
    Guid,
}

/// Who may write an attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Writable {
    /// Anyone with write-property on the object.
    Yes,
    /// Only the DC itself (objectGUID, uSNChanged, memberOf, …): 19 `0000202F`.
    SystemOnly,
    /// Written through special rules (unicodePwd, pwdLastSet, lockoutTime, member).
    Special,
}

#[derive(Debug)]
pub struct AttrDef {
    /// The lDAPDisplayName, as AD spells it.
    pub name: &'static str,
    pub syntax: Syntax,
    pub single: bool,
    pub writable: Writable,
}

use Syntax::*;
use Writable::*;

macro_rules! attrs {
    ($( $name:literal : $syntax:ident, $single:literal, $w:ident; )*) => {
        &[ $( AttrDef { name: $name, syntax: $syntax, single: $single, writable: $w }, )* ]
    };
}

pub(crate) static ATTRS: &[AttrDef] = attrs! {
    "objectClass": Str, false, Special;
    "nTSecurityDescriptor": Bytes, true, Special;
    "cn": Str, true, Yes;
    "name": Str, true, SystemOnly;
    "ou": Str, false, Yes;
    "dc": Str, true, Yes;
    "distinguishedName": DnText, true, SystemOnly;
    "objectGUID": Guid, true, SystemOnly;
    "objectSid": Sid, true, SystemOnly;
    "objectCategory": DnText, true, SystemOnly;
    "instanceType": Int, true, SystemOnly;
    "whenCreated": Time, true, SystemOnly;
    "whenChanged": Time, true, SystemOnly;
    "uSNCreated": Int, true, SystemOnly;
    "uSNChanged": Int, true, SystemOnly;
    "systemFlags": Int, true, SystemOnly;
    "isCriticalSystemObject": Bool, true, SystemOnly;
    "wellKnownObjects": DnBinary, false, SystemOnly;
    "showInAdvancedViewOnly": Bool, true, Yes;
    // Multi-valued in the schema, but the SAM allows one value on the objects writeback
    // touches, and a DC answers a second one with 20 (measured).
    // Multi-valued in the schema; SAM objects keep one on modify (see `single_on_modify`).
    "description": Str, false, Yes;
    "displayName": Str, true, Yes;
    "givenName": Str, true, Yes;
    "sn": Str, true, Yes;
    "initials": Str, true, Yes;
    "mail": Str, true, Yes;
    "mailNickname": Str, true, Yes;
    "proxyAddresses": Str, false, Yes;
    "targetAddress": Str, true, Yes;
    "telephoneNumber": Str, true, Yes;
    "mobile": Str, true, Yes;
    "otherTelephone": Str, false, Yes;
    "facsimileTelephoneNumber": Str, true, Yes;
    "title": Str, true, Yes;
    "department": Str, true, Yes;
    "company": Str, true, Yes;
    "physicalDeliveryOfficeName": Str, true, Yes;
    "streetAddress": Str, true, Yes;
    "l": Str, true, Yes;
    "st": Str, true, Yes;
    "postalCode": Str, true, Yes;
    "co": Str, true, Yes;
    "c": Str, true, Yes;
    "employeeID": Str, true, Yes;
    "employeeNumber": Str, true, Yes;
    "employeeType": Str, true, Yes;
    "info": Str, true, Yes;
    "wWWHomePage": Str, true, Yes;
    "homeDirectory": Str, true, Yes;
    "homeDrive": Str, true, Yes;
    "scriptPath": Str, true, Yes;
    "profilePath": Str, true, Yes;
    "thumbnailPhoto": Bytes, true, Yes;
    "manager": Dn, true, Yes;
    "managedBy": Dn, true, Yes;
    "sAMAccountName": Str, true, Yes;
    "userPrincipalName": Str, true, Yes;
    "userAccountControl": Int, true, Yes;
    "sAMAccountType": Int, true, SystemOnly;
    "primaryGroupID": Int, true, Yes;
    "pwdLastSet": Int, true, Special;
    "lockoutTime": Int, true, Special;
    "badPwdCount": Int, true, SystemOnly;
    "badPasswordTime": Int, true, SystemOnly;
    "lastLogon": Int, true, SystemOnly;
    "lastLogoff": Int, true, SystemOnly;
    "lastLogonTimestamp": Int, true, SystemOnly;
    "logonCount": Int, true, SystemOnly;
    "accountExpires": Int, true, Yes;
    "codePage": Int, true, Yes;
    "countryCode": Int, true, Yes;
    "adminCount": Int, true, Yes;
    "unicodePwd": Bytes, true, Special;
    "userPassword": Bytes, false, Special;
    "memberOf": Dn, false, SystemOnly;
    "member": Dn, false, Special;
    "groupType": Int, true, Yes;
    "adminDescription": Str, true, Yes;
    "adminDisplayName": Str, true, Yes;
    "msDS-ExternalDirectoryObjectId": Str, true, Yes;
    "mS-DS-ConsistencyGuid": Bytes, true, Yes;
    "dNSHostName": Str, true, Yes;
    "operatingSystem": Str, true, Yes;
    "operatingSystemVersion": Str, true, Yes;
    "servicePrincipalName": Str, false, Yes;
    "userCertificate": Bytes, false, Yes;
    "altSecurityIdentities": Str, false, Yes;
    "msDS-DeviceID": Bytes, true, Yes;
    "msDS-IsEnabled": Bool, true, Yes;
    "msDS-DeviceOSType": Str, true, Yes;
    "msDS-DeviceOSVersion": Str, true, Yes;
    "msDS-DeviceTrustType": Int, true, Yes;
    "msDS-RegisteredOwner": Sid, true, Yes;
    "msDS-RegisteredUsers": Sid, false, Yes;
    "msDS-DevicePhysicalIDs": Bytes, false, Yes;
    "msDS-IsManaged": Bool, true, Yes;
    "msDS-IsCompliant": Bool, true, Yes;
    "msDS-CloudAnchor": Str, true, Yes;
    "msDS-DeviceObjectVersion": Int, true, Yes;
    "msDS-ApproximateLastLogonTimeStamp": Int, true, Yes;
    "msDS-KeyCredentialLink": Str, false, Yes;
    "msDS-DeviceLocation": DnText, true, Yes;
    "msDS-User-Account-Control-Computed": Int, true, SystemOnly;
    "attributeTypes": Str, false, SystemOnly;
    "objectClasses": Str, false, SystemOnly;
    "minPwdLength": Int, true, Yes;
    "pwdProperties": Int, true, Yes;
    "pwdHistoryLength": Int, true, Yes;
    "minPwdAge": Int, true, Yes;
    "maxPwdAge": Int, true, Yes;
    "lockoutThreshold": Int, true, Yes;
    "lockoutDuration": Int, true, Yes;
    "lockOutObservationWindow": Int, true, Yes;
    "msDS-Behavior-Version": Int, true, Yes;
    "extensionAttribute1": Str, true, Yes;
    "extensionAttribute2": Str, true, Yes;
    "extensionAttribute3": Str, true, Yes;
    "extensionAttribute4": Str, true, Yes;
    "extensionAttribute5": Str, true, Yes;
    "extensionAttribute6": Str, true, Yes;
    "extensionAttribute7": Str, true, Yes;
    "extensionAttribute8": Str, true, Yes;
    "extensionAttribute9": Str, true, Yes;
    "extensionAttribute10": Str, true, Yes;
    "extensionAttribute11": Str, true, Yes;
    "extensionAttribute12": Str, true, Yes;
    "extensionAttribute13": Str, true, Yes;
    "extensionAttribute14": Str, true, Yes;
    "extensionAttribute15": Str, true, Yes;
};

/// Every other attribute of the AD schema, as the directory checks it.
static GENERATED: LazyLock<Vec<AttrDef>> = LazyLock::new(|| {
    super::ad_schema::AD_SCHEMA
        .attrs
        .iter()
        .filter(|a| !ATTRS.iter().any(|h| h.name.eq_ignore_ascii_case(a.name)))
        .map(|a| AttrDef {
            name: a.name,
            syntax: syntax_of(a.attribute_syntax),
            single: a.single,
            writable: if a.dc_only() { SystemOnly } else { Yes },
        })
        .collect()
});

/// How the directory compares and checks values of an attributeSyntax (MS-ADTS 3.1.1.2.2).
fn syntax_of(attribute_syntax: &str) -> Syntax {
    match attribute_syntax {
        "2.5.5.1" => Dn,
        "2.5.5.7" | "2.5.5.14" => DnBinary,
        "2.5.5.8" => Bool,
        "2.5.5.9" | "2.5.5.16" => Int,
        "2.5.5.11" => Time,
        "2.5.5.17" => Sid,
        "2.5.5.10" | "2.5.5.15" => Bytes,
        _ => Str,
    }
}

static ATTR_INDEX: LazyLock<HashMap<String, &'static AttrDef>> = LazyLock::new(|| {
    let generated: &'static [AttrDef] = &GENERATED;
    ATTRS
        .iter()
        .chain(generated)
        .map(|a| (a.name.to_ascii_lowercase(), a))
        .collect()
});

/// The same by the schema's own spelling: what nearly every lookup uses, without
/// lower-casing a copy of the name first.
static ATTR_EXACT: LazyLock<HashMap<&'static str, &'static AttrDef>> =
    LazyLock::new(|| ATTR_INDEX.values().map(|a| (a.name, *a)).collect());

/// The linked attributes whose back links the directory keeps: every forward link of DN
/// syntax in the schema whose back link exists (member → memberOf, managedBy →
/// managedObjects, manager → directReports, …), as (forward, back).
pub fn links() -> &'static [(&'static str, &'static str)] {
    static LINKS: LazyLock<Vec<(&'static str, &'static str)>> = LazyLock::new(|| {
        let attrs = &super::ad_schema::AD_SCHEMA.attrs;
        attrs
            .iter()
            .filter(|a| a.attribute_syntax == "2.5.5.1")
            .filter_map(|a| {
                let id = a.link_id.filter(|l| l % 2 == 0)?;
                let back = attrs.iter().find(|b| b.link_id == Some(id + 1))?;
                Some((a.name, back.name))
            })
            .collect()
    });
    &LINKS
}

/// Which of [`links`] (its place there) a forward link is, by the attribute's number
/// ([`attr_id`]): none for an attribute that is not a forward link.
pub fn link_index(id: u16) -> Option<usize> {
    // By attribute number: every add and change asks for each attribute it has.
    static BY_ID: LazyLock<Vec<Option<usize>>> = LazyLock::new(|| {
        let mut v = vec![None; NAMES.len()];
        for (i, (forward, _)) in links().iter().enumerate() {
            if let Some(slot) = attr_id(forward).and_then(|id| v.get_mut(usize::from(id))) {
                *slot = Some(i);
            }
        }
        v
    });
    BY_ID.get(usize::from(id)).copied().flatten()
}

/// Look an attribute up by any spelling of its name; options such as `;binary` are ignored.
/// The definitions above win; every other attribute of the AD schema follows its
/// published syntax and flags ([`super::ad_schema`]).
pub fn attr(name: &str) -> Option<&'static AttrDef> {
    let base = name.split(';').next().unwrap_or(name);
    ATTR_EXACT
        .get(base)
        .or_else(|| ATTR_INDEX.get(&base.to_ascii_lowercase()))
        .copied()
}

/// Every attribute's schema spelling in byte order. An entry stores an attribute's place
/// here instead of its name ([`super::store::Attrs`]): two bytes, and they sort as the
/// names do.
static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
    let mut names: Vec<&'static str> = ATTR_EXACT.keys().copied().collect();
    names.sort_unstable();
    names
});

static IDS: LazyLock<HashMap<&'static str, u16>> = LazyLock::new(|| {
    (NAMES.iter().enumerate())
        .filter_map(|(i, n)| Some((*n, u16::try_from(i).ok()?)))
        .collect()
});

/// The number an entry stores for an attribute, by any spelling of its name (as [`attr`]).
pub fn attr_id(name: &str) -> Option<u16> {
    IDS.get(name)
        .or_else(|| attr(name).and_then(|d| IDS.get(d.name)))
        .copied()
}

/// The schema spelling of an attribute's number ([`attr_id`]).
pub fn attr_name(id: u16) -> &'static str {
    NAMES.get(usize::from(id)).copied().unwrap_or_default()
}

pub use super::classes::{
    auxiliary_classes, canonical_class, category_for_short_name, class, hidden_by_default,
    is_known_class, structural_class, ClassDef, ClassProblem, CLASSES, HIDDEN_BY_DEFAULT,
};

/// The attributes Exchange's `/PrepareSchema` adds to a forest (ms-Exch-Mail-Nickname,
/// ms-Exch-Target-Address, ms-Exch-Extension-Attribute-1..15): a forest not prepared for
/// Exchange does not know them.
pub fn is_exchange(name: &str) -> bool {
    name.eq_ignore_ascii_case("mailNickname")
        || name.eq_ignore_ascii_case("targetAddress")
        || name
            .get(..18)
            .is_some_and(|p| p.eq_ignore_ascii_case("extensionAttribute"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn attribute_lookup_ignores_case_and_options() {
        assert_eq!(
            attr("USERaccountcontrol").unwrap().name,
            "userAccountControl"
        );
        assert_eq!(
            attr("userCertificate;binary").unwrap().name,
            "userCertificate"
        );
        assert!(attr("noSuchAttribute").is_none());
        assert_eq!(category_for_short_name("person"), Some("Person"));
        assert_eq!(category_for_short_name("computer"), Some("Computer"));
    }
}
