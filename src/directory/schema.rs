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

use std::collections::HashMap;
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

/// Look an attribute up by any spelling of its name; options such as `;binary` are ignored.
/// The definitions above win; every other attribute of the AD schema follows its
/// published syntax and flags ([`super::ad_schema`]).
pub fn attr(name: &str) -> Option<&'static AttrDef> {
    let base = name.split(';').next().unwrap_or(name);
    ATTR_INDEX.get(&base.to_ascii_lowercase()).copied()
}

/// Attributes that exist only in search results, computed on the fly.
pub const CONSTRUCTED: &[&str] = &[
    "msDS-User-Account-Control-Computed",
    "attributeTypes",
    "objectClasses",
];

/// The classes whose schema object has defaultHidingValue TRUE (Windows Server 2016
/// schema, MS-ADSC): their objects are created with showInAdvancedViewOnly TRUE.
pub const HIDDEN_BY_DEFAULT: &[&str] = &[
    "builtinDomain",
    "configuration",
    "container",
    "dMD",
    "msDS-Device",
    "msDS-DeviceContainer",
    "subSchema",
];

/// A structural class the directory can instantiate.
#[derive(Debug)]
pub struct ClassDef {
    pub name: &'static str,
    /// objectClass values, most general first, ending with this class.
    pub chain: &'static [&'static str],
    /// The naming attribute (`cn`, `ou`, `dc`).
    pub rdn: &'static str,
    /// Classes an instance may be created under (possSuperiors).
    pub superiors: &'static [&'static str],
    /// Mandatory attributes beyond what the DC fills in.
    pub must: &'static [&'static str],
    /// The CN of the default objectCategory under CN=Schema.
    pub category: &'static str,
    /// Security principals get an objectSid and a sAMAccountName.
    pub principal: bool,
}

const PRINCIPAL_PARENTS: &[&str] = &[
    "container",
    "organizationalUnit",
    "domainDNS",
    "builtinDomain",
];

pub static CLASSES: &[ClassDef] = &[
    ClassDef {
        name: "domainDNS",
        chain: &["top", "domain", "domainDNS"],
        rdn: "dc",
        superiors: &["domainDNS"],
        must: &[],
        category: "Domain-DNS",
        principal: false,
    },
    ClassDef {
        name: "configuration",
        chain: &["top", "configuration"],
        rdn: "cn",
        superiors: &["domainDNS"],
        must: &[],
        category: "Configuration",
        principal: false,
    },
    ClassDef {
        name: "dMD",
        chain: &["top", "dMD"],
        rdn: "cn",
        superiors: &["configuration"],
        must: &[],
        category: "DMD",
        principal: false,
    },
    ClassDef {
        name: "subSchema",
        chain: &["top", "subSchema"],
        rdn: "cn",
        superiors: &["dMD"],
        must: &[],
        category: "SubSchema",
        principal: false,
    },
    ClassDef {
        name: "builtinDomain",
        chain: &["top", "builtinDomain"],
        rdn: "cn",
        superiors: &["domainDNS"],
        must: &[],
        category: "Builtin-Domain",
        principal: false,
    },
    ClassDef {
        name: "container",
        chain: &["top", "container"],
        rdn: "cn",
        superiors: &[
            "domainDNS",
            "container",
            "organizationalUnit",
            "configuration",
        ],
        must: &[],
        category: "Container",
        principal: false,
    },
    ClassDef {
        name: "organizationalUnit",
        chain: &["top", "organizationalUnit"],
        rdn: "ou",
        superiors: &["domainDNS", "organizationalUnit"],
        must: &[],
        category: "Organizational-Unit",
        principal: false,
    },
    ClassDef {
        name: "user",
        chain: &["top", "person", "organizationalPerson", "user"],
        rdn: "cn",
        superiors: PRINCIPAL_PARENTS,
        must: &[],
        category: "Person",
        principal: true,
    },
    ClassDef {
        name: "computer",
        chain: &["top", "person", "organizationalPerson", "user", "computer"],
        rdn: "cn",
        superiors: PRINCIPAL_PARENTS,
        must: &[],
        category: "Computer",
        principal: true,
    },
    ClassDef {
        name: "contact",
        chain: &["top", "person", "organizationalPerson", "contact"],
        rdn: "cn",
        superiors: &["container", "organizationalUnit", "domainDNS"],
        must: &[],
        category: "Person",
        principal: false,
    },
    ClassDef {
        name: "group",
        chain: &["top", "group"],
        rdn: "cn",
        superiors: PRINCIPAL_PARENTS,
        must: &[],
        category: "Group",
        principal: true,
    },
    ClassDef {
        name: "msDS-DeviceContainer",
        chain: &["top", "msDS-DeviceContainer"],
        rdn: "cn",
        superiors: &["domainDNS"],
        must: &[],
        category: "ms-DS-Device-Container",
        principal: false,
    },
    ClassDef {
        name: "msDS-Device",
        chain: &["top", "msDS-Device"],
        rdn: "cn",
        superiors: &["msDS-DeviceContainer"],
        must: &[
            "altSecurityIdentities",
            "displayName",
            "msDS-DeviceID",
            "msDS-IsEnabled",
        ],
        category: "ms-DS-Device",
        principal: false,
    },
];

/// Abstract classes that may be named in objectClass but never instantiated alone.
const ABSTRACT: &[&str] = &["top", "domain", "person", "organizationalPerson"];

/// A structural class by name (any case).
pub fn class(name: &str) -> Option<&'static ClassDef> {
    CLASSES.iter().find(|c| c.name.eq_ignore_ascii_case(name))
}

/// True when `name` is a class the schema knows (structural or abstract).
pub fn is_known_class(name: &str) -> bool {
    class(name).is_some() || ABSTRACT.iter().any(|a| a.eq_ignore_ascii_case(name))
}

/// The canonical spelling of a known class name.
pub fn canonical_class(name: &str) -> Option<&'static str> {
    class(name).map(|c| c.name).or_else(|| {
        ABSTRACT
            .iter()
            .find(|a| a.eq_ignore_ascii_case(name))
            .copied()
    })
}

/// The most specific structural class among the given objectClass values: the one whose
/// chain holds all the others. `Ok(None)` when only abstract classes were given; `Err` with
/// the offending name when a class is unknown or two structural classes conflict.
pub fn structural_class(values: &[String]) -> Result<Option<&'static ClassDef>, ClassProblem> {
    let mut best: Option<&'static ClassDef> = None;
    for v in values {
        if !is_known_class(v) {
            return Err(ClassProblem::Unknown(v.clone()));
        }
        if let Some(c) = class(v) {
            best = match best {
                None => Some(c),
                Some(b) if c.chain.iter().any(|x| x.eq_ignore_ascii_case(b.name)) => Some(c),
                Some(b) if b.chain.iter().any(|x| x.eq_ignore_ascii_case(c.name)) => Some(b),
                Some(b) => return Err(ClassProblem::Conflict(b.name, c.name)),
            };
        }
    }
    if let Some(b) = best {
        if let Some(v) = values
            .iter()
            .find(|v| !b.chain.iter().any(|x| x.eq_ignore_ascii_case(v)))
        {
            return Err(ClassProblem::Conflict(
                b.name,
                canonical_class(v).unwrap_or("?"),
            ));
        }
    }
    Ok(best)
}

#[derive(Debug, PartialEq, Eq)]
pub enum ClassProblem {
    Unknown(String),
    Conflict(&'static str, &'static str),
}

/// The objectCategory short names a filter may use: `(objectCategory=person)`.
pub fn category_for_short_name(name: &str) -> Option<&'static str> {
    match name.to_ascii_lowercase().as_str() {
        "person" | "organizationalperson" => Some("Person"),
        _ => class(name).map(|c| c.category),
    }
}

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

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn finds_the_most_specific_structural_class() {
        let c =
            structural_class(&strings(&["top", "person", "organizationalPerson", "user"])).unwrap();
        assert_eq!(c.unwrap().name, "user");
        let c = structural_class(&strings(&["computer"])).unwrap();
        assert_eq!(c.unwrap().name, "computer");
        assert_eq!(
            structural_class(&strings(&["top"]))
                .unwrap()
                .map(|c| c.name),
            None
        );
    }

    #[test]
    fn rejects_unknown_and_conflicting_classes() {
        assert_eq!(
            structural_class(&strings(&["noSuchClass"])).unwrap_err(),
            ClassProblem::Unknown("noSuchClass".into())
        );
        assert!(matches!(
            structural_class(&strings(&["user", "group"])),
            Err(ClassProblem::Conflict(..))
        ));
    }

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
