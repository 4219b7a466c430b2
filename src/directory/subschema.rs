//! The subschema entry (`CN=Aggregate,CN=Schema,…`, RFC 4512): every attribute and class
//! of the AD schema ([`super::ad_schema`], Windows Server 2016) as a DC publishes them,
//! `attributeTypes` and `objectClasses`, plus Exchange's attributes once the forest is
//! prepared for Exchange (`subschema.txt`). Built once, shared by every search.

use super::ad_schema::AD_SCHEMA;
use super::schema::is_exchange;
use std::sync::LazyLock;

/// Exchange's attribute types, RFC 4512 descriptions, one per line.
static EXCHANGE: &str = include_str!("subschema.txt");

struct Published {
    attribute_types: Vec<Vec<u8>>,
    exchange_types: Vec<Vec<u8>>,
    object_classes: Vec<Vec<u8>>,
    content_rules: Vec<Vec<u8>>,
}

static PUBLISHED: LazyLock<Published> = LazyLock::new(|| Published {
    attribute_types: AD_SCHEMA
        .attrs
        .iter()
        .map(|a| a.description().into_bytes())
        .collect(),
    exchange_types: EXCHANGE
        .lines()
        .filter_map(|l| l.strip_prefix("attributeTypes: "))
        .filter(|d| is_exchange(d.split('\'').nth(1).unwrap_or_default()))
        .map(|d| d.as_bytes().to_vec())
        .collect(),
    object_classes: AD_SCHEMA
        .classes
        .iter()
        .map(|c| c.description().into_bytes())
        .collect(),
    content_rules: AD_SCHEMA
        .classes
        .iter()
        .filter(|c| c.category <= 1)
        .filter_map(|c| c.content_rule())
        .map(String::into_bytes)
        .collect(),
});

/// The subschema entry's attributes built from the schema.
pub const PUBLISHED_ATTRIBUTES: [&str; 3] = ["attributeTypes", "objectClasses", "dITContentRules"];

/// `attributeTypes`, `objectClasses` or `dITContentRules` of a forest whose schema is
/// (`exchange`) or is not prepared for Exchange: without it, no Exchange attribute type.
pub fn subschema_of(attr: &str, exchange: bool) -> Vec<Vec<u8>> {
    let p = &*PUBLISHED;
    if attr.eq_ignore_ascii_case("objectClasses") {
        return p.object_classes.clone();
    }
    if attr.eq_ignore_ascii_case("dITContentRules") {
        return p.content_rules.clone();
    }
    if !attr.eq_ignore_ascii_case("attributeTypes") {
        return Vec::new();
    }
    let mut out = p.attribute_types.clone();
    if exchange {
        out.extend(p.exchange_types.iter().cloned());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::schema::{ATTRS, CLASSES};

    fn text(v: Vec<Vec<u8>>) -> Vec<String> {
        v.into_iter()
            .map(|d| String::from_utf8(d).unwrap())
            .collect()
    }

    #[test]
    fn a_forest_not_prepared_for_exchange_publishes_no_exchange_attribute() {
        let prepared = text(subschema_of("attributeTypes", true)).join("\n");
        assert!(prepared.contains("( 1.2.840.113556.1.2.447 NAME 'mailNickname' "));
        let plain = text(subschema_of("attributeTypes", false)).join("\n");
        assert!(!plain.contains("NAME 'mailNickname'"));
        assert!(!plain.contains("NAME 'extensionAttribute1'"));
        assert!(plain.contains("NAME 'proxyAddresses'"));
    }

    #[test]
    fn the_subschema_defines_every_attribute_and_class_exactly_once() {
        let types = text(subschema_of("attributeTypes", true));
        for a in ATTRS {
            let named = format!(" NAME '{}' ", a.name);
            let defs: Vec<&String> = types.iter().filter(|t| t.contains(&named)).collect();
            assert_eq!(defs.len(), 1, "{}: {defs:?}", a.name);
            assert_eq!(
                defs[0].contains(" SINGLE-VALUE"),
                a.single,
                "single-valuedness of {}",
                a.name
            );
        }
        let mut names: Vec<&str> = types.iter().filter_map(|t| t.split('\'').nth(1)).collect();
        let all = names.len();
        names.sort_unstable_by_key(|n| n.to_ascii_lowercase());
        names.dedup_by_key(|n| n.to_ascii_lowercase());
        assert_eq!(names.len(), all, "no attribute twice");
        assert_eq!(all, 1497 + 17, "the 2016 schema and Exchange's 17");
        let classes = text(subschema_of("objectClasses", false));
        assert_eq!(classes.len(), 269);
        for c in CLASSES.iter().flat_map(|c| c.chain.iter()) {
            let named = format!(" NAME '{c}' ");
            assert_eq!(
                classes.iter().filter(|d| d.contains(&named)).count(),
                1,
                "{c}"
            );
        }
        let rules = text(subschema_of("dITContentRules", false));
        assert!(rules.iter().any(|r| r.starts_with(
            "( 1.2.840.113556.1.5.9 NAME 'user' AUX ( msDS-CloudExtensions $ securityPrincipal $ mailRecipient $ shadowAccount $ posixAccount ) MUST ("
        )), "{rules:?}");
        // What ldapdomaindump filters on, and what the server itself returns.
        for name in ["trustedDomain", "groupPolicyContainer", "msDS-Device"] {
            assert!(
                classes
                    .iter()
                    .any(|d| d.contains(&format!(" NAME '{name}' "))),
                "{name}"
            );
        }
        for name in [
            "createTimeStamp",
            "modifyTimeStamp",
            "msDS-UserPasswordExpiryTimeComputed",
        ] {
            assert!(
                types
                    .iter()
                    .any(|d| d.contains(&format!(" NAME '{name}' "))),
                "{name}"
            );
        }
    }
}
