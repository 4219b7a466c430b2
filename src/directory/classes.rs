//! The classes of the AD schema as the directory instantiates them: the structural
//! classes writeback and its admins create (hand-made, with the rules the directory applies
//! to them: naming attribute, possible superiors, mandatory attributes, default
//! objectCategory, security principals), and every other structural class of the Windows
//! Server 2016 schema derived from [`super::ad_schema`] — its superclass chain, possible
//! superiors and mandatory attributes, inherited ones included. Auxiliary classes may be
//! named in objectClass where the structural class (or one of its superclasses) lists them.

use super::ad_schema;
use std::sync::LazyLock;

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
    CLASSES
        .iter()
        .find(|c| c.name.eq_ignore_ascii_case(name))
        .or_else(|| {
            let generated: &'static [ClassDef] = &GENERATED;
            generated.iter().find(|c| c.name.eq_ignore_ascii_case(name))
        })
}

/// Every other structural class of the AD schema (88 classes count as structural).
static GENERATED: LazyLock<Vec<ClassDef>> = LazyLock::new(|| {
    ad_schema::AD_SCHEMA
        .classes
        .iter()
        .filter(|c| c.category <= 1)
        .filter(|c| !CLASSES.iter().any(|h| h.name.eq_ignore_ascii_case(c.name)))
        .map(|c| {
            let chain = chain_of(c.name);
            let all = || chain.iter().filter_map(|n| ad_schema::class(n));
            let mut superiors: Vec<&'static str> = Vec::new();
            let mut must: Vec<&'static str> = Vec::new();
            for k in all() {
                for s in k.superiors() {
                    if !superiors.contains(&s) {
                        superiors.push(s);
                    }
                }
                // top's MUST (objectClass, objectCategory, nTSecurityDescriptor,
                // instanceType) and the naming attribute are the DC's to fill in.
                for m in k.must().filter(|m| k.name != "top" && *m != c.rdn) {
                    if !must.contains(&m) {
                        must.push(m);
                    }
                }
            }
            // Subclasses of user, computer or group (inetOrgPerson, managed service
            // accounts) are security principals too.
            let principal = chain
                .iter()
                .any(|k| matches!(*k, "user" | "computer" | "group"));
            // Built once per process; the definitions live as long as it does.
            ClassDef {
                name: c.name,
                chain: Vec::leak(chain),
                rdn: c.rdn,
                superiors: Vec::leak(superiors),
                must: Vec::leak(must),
                category: c.default_category,
                principal,
            }
        })
        .collect()
});

/// `name`'s superclasses from `top` down to `name` itself.
fn chain_of(name: &'static str) -> Vec<&'static str> {
    let mut chain = vec![name];
    let mut at = name;
    while let Some(c) = ad_schema::class(at).filter(|c| c.name != "top" && chain.len() < 32) {
        at = c.sup;
        chain.push(at);
    }
    chain.reverse();
    chain
}

/// An auxiliary class `structural` (or one of its superclasses) may carry.
fn allowed_auxiliary(structural: &ClassDef, name: &str) -> Option<&'static str> {
    let aux = ad_schema::class(name).filter(|c| c.category == 3)?;
    structural
        .chain
        .iter()
        .filter_map(|k| ad_schema::class(k))
        .any(|k| k.auxiliary().any(|a| a.eq_ignore_ascii_case(aux.name)))
        .then_some(aux.name)
}

/// Whether a class's schema object has defaultHidingValue TRUE.
pub fn hidden_by_default(name: &str) -> bool {
    HIDDEN_BY_DEFAULT.contains(&name) || ad_schema::class(name).is_some_and(|c| c.hidden)
}

/// True when `name` is a class the schema knows (structural or abstract).
pub fn is_known_class(name: &str) -> bool {
    class(name).is_some()
        || ABSTRACT.iter().any(|a| a.eq_ignore_ascii_case(name))
        || ad_schema::class(name).is_some()
}

/// The canonical spelling of a known class name.
pub fn canonical_class(name: &str) -> Option<&'static str> {
    class(name)
        .map(|c| c.name)
        .or_else(|| {
            ABSTRACT
                .iter()
                .find(|a| a.eq_ignore_ascii_case(name))
                .copied()
        })
        .or_else(|| ad_schema::class(name).map(|c| c.name))
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
        if let Some(v) = values.iter().find(|v| {
            !b.chain.iter().any(|x| x.eq_ignore_ascii_case(v)) && allowed_auxiliary(b, v).is_none()
        }) {
            return Err(ClassProblem::Conflict(
                b.name,
                canonical_class(v).unwrap_or("?"),
            ));
        }
    }
    Ok(best)
}

/// The auxiliary classes among objectClass values that `structural` allows, in the
/// schema's spelling (they are stored after `top`, the structural chain last).
pub fn auxiliary_classes(structural: &ClassDef, values: &[String]) -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for v in values {
        if let Some(a) = allowed_auxiliary(structural, v) {
            if !out.contains(&a) {
                out.push(a);
            }
        }
    }
    out
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
    fn every_structural_class_of_the_schema_can_be_instantiated() {
        let c = structural_class(&strings(&["trustedDomain"]))
            .unwrap()
            .unwrap();
        assert_eq!(c.chain, ["top", "leaf", "trustedDomain"]);
        assert_eq!(c.category, "Trusted-Domain");
        assert!(c.superiors.contains(&"container"), "{:?}", c.superiors);
        let gpo = structural_class(&strings(&["groupPolicyContainer"]))
            .unwrap()
            .unwrap();
        assert_eq!(gpo.chain, ["top", "container", "groupPolicyContainer"]);
        assert!(hidden_by_default("groupPolicyContainer"));
        // An auxiliary class the structural class lists is allowed beside it; one it does
        // not list is a conflict, as on a DC.
        let user = structural_class(&strings(&["user", "posixAccount"]))
            .unwrap()
            .unwrap();
        assert_eq!(
            auxiliary_classes(user, &strings(&["user", "posixAccount"])),
            ["posixAccount"]
        );
        assert!(matches!(
            structural_class(&strings(&["group", "posixAccount"])),
            Err(ClassProblem::Conflict(..))
        ));
    }
}
