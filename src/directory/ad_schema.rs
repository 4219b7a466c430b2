//! The whole AD schema of a Windows Server 2016 forest — every attribute and class with its
//! OID, syntax, single-valuedness, system-only flag, schemaIDGUID, superclass, MUST / MAY
//! lists and possible superiors — read from `ad_schema.tsv`, which
//! `tools/ad-schema/generate.py` writes from Microsoft's published schema ([MS-ADA1..3],
//! [MS-ADSC]). Shared, immutable and parsed once: the names are slices of the embedded
//! text, so the whole schema costs one table of small records.
//!
//! [`super::schema`] keeps the hand-made definitions the directory's special rules need
//! (unicodePwd, member, …) and falls back to this one for every other attribute; the
//! subschema entry ([`super::subschema`]) publishes it as RFC 4512 descriptions.

use foldhash::HashMap;
use std::sync::LazyLock;

static DATA: &str = include_str!("ad_schema.tsv");

/// FLAG_ATTR_IS_CONSTRUCTED in an attribute's systemFlags (MS-ADTS 2.2.10).
const CONSTRUCTED: u32 = 0x4;

/// One attributeSchema object.
#[derive(Debug)]
pub struct SchemaAttr {
    pub name: &'static str,
    pub oid: &'static str,
    /// attributeSyntax (`2.5.5.12`).
    pub attribute_syntax: &'static str,
    pub om_syntax: u16,
    pub single: bool,
    pub system_only: bool,
    pub system_flags: u32,
    pub link_id: Option<i32>,
    pub schema_id_guid: &'static str,
}

/// One classSchema object.
#[derive(Debug)]
pub struct SchemaClass {
    pub name: &'static str,
    pub oid: &'static str,
    /// objectClassCategory: 0 (88 class), 1 structural, 2 abstract, 3 auxiliary.
    pub category: u8,
    /// subClassOf (`top` for top itself).
    pub sup: &'static str,
    pub rdn: &'static str,
    /// The CN of defaultObjectCategory.
    pub default_category: &'static str,
    pub hidden: bool,
    must: &'static str,
    may: &'static str,
    superiors: &'static str,
    auxiliary: &'static str,
    pub schema_id_guid: &'static str,
}

fn list(s: &'static str) -> impl Iterator<Item = &'static str> {
    s.split(',').filter(|v| !v.is_empty() && *v != "-")
}

impl SchemaClass {
    /// systemMustContain and mustContain.
    pub fn must(&self) -> impl Iterator<Item = &'static str> {
        list(self.must)
    }
    /// systemMayContain and mayContain.
    pub fn may(&self) -> impl Iterator<Item = &'static str> {
        list(self.may)
    }
    /// systemPossSuperiors and possSuperiors.
    pub fn superiors(&self) -> impl Iterator<Item = &'static str> {
        list(self.superiors)
    }
    /// systemAuxiliaryClass and auxiliaryClass.
    pub fn auxiliary(&self) -> impl Iterator<Item = &'static str> {
        list(self.auxiliary)
    }

    /// The class as the subschema entry's objectClasses publishes it.
    pub fn description(&self) -> String {
        // 88 classes (category 0) are published as structural, as a DC does.
        let kind = match self.category {
            0 | 1 => " STRUCTURAL",
            2 => " ABSTRACT",
            3 => " AUXILIARY",
            _ => "",
        };
        let mut s = format!("( {} NAME '{}'", self.oid, self.name);
        if self.name != "top" {
            s += &format!(" SUP {}", self.sup);
        }
        s += kind;
        for (word, names) in [("MUST", self.must), ("MAY", self.may)] {
            let names: Vec<&str> = list(names).collect();
            if !names.is_empty() {
                s += &format!(" {word} ({} )", names.join(" $ "));
            }
        }
        s + " )"
    }
}

impl SchemaClass {
    /// The class's DIT content rule as the subschema entry's dITContentRules publishes it:
    /// the auxiliary classes it allows and what they must and may hold (their superclasses'
    /// included). `None` for a class that allows none.
    pub fn content_rule(&self) -> Option<String> {
        let aux: Vec<&str> = self.auxiliary().collect();
        if aux.is_empty() {
            return None;
        }
        let (mut must, mut may): (Vec<&str>, Vec<&str>) = (Vec::new(), Vec::new());
        let mut seen: Vec<&str> = Vec::new();
        let mut todo: Vec<&str> = aux.clone();
        while let Some(name) = todo.pop() {
            if seen.contains(&name) || name == "top" {
                continue;
            }
            seen.push(name);
            let Some(c) = class(name) else { continue };
            for (into, from) in [(&mut must, c.must), (&mut may, c.may)] {
                for a in list(from) {
                    if !into.contains(&a) {
                        into.push(a);
                    }
                }
            }
            todo.push(c.sup);
        }
        let mut s = format!(
            "( {} NAME '{}' AUX ( {} )",
            self.oid,
            self.name,
            aux.join(" $ ")
        );
        for (word, names) in [("MUST", must), ("MAY", may)] {
            if !names.is_empty() {
                s += &format!(" {word} ({} )", names.join(" $ "));
            }
        }
        Some(s + " )")
    }
}

impl SchemaAttr {
    /// The LDAP syntax OID AD publishes for the attribute's attributeSyntax / oMSyntax
    /// (MS-ADTS 3.1.1.2.2.2).
    pub fn ldap_syntax(&self) -> &'static str {
        match (self.attribute_syntax, self.om_syntax) {
            ("2.5.5.1", _) => "1.3.6.1.4.1.1466.115.121.1.12",
            ("2.5.5.2", _) => "1.3.6.1.4.1.1466.115.121.1.38",
            ("2.5.5.3", _) => "1.2.840.113556.1.4.1362",
            ("2.5.5.4", _) => "1.2.840.113556.1.4.905",
            ("2.5.5.5", 19) => "1.3.6.1.4.1.1466.115.121.1.44",
            ("2.5.5.5", _) => "1.3.6.1.4.1.1466.115.121.1.26",
            ("2.5.5.6", _) => "1.3.6.1.4.1.1466.115.121.1.36",
            ("2.5.5.7", _) => "1.2.840.113556.1.4.903",
            ("2.5.5.8", _) => "1.3.6.1.4.1.1466.115.121.1.7",
            ("2.5.5.9", _) => "1.3.6.1.4.1.1466.115.121.1.27",
            ("2.5.5.11", 23) => "1.3.6.1.4.1.1466.115.121.1.53",
            ("2.5.5.11", _) => "1.3.6.1.4.1.1466.115.121.1.24",
            ("2.5.5.12", _) => "1.3.6.1.4.1.1466.115.121.1.15",
            ("2.5.5.13", _) => "1.3.6.1.4.1.1466.115.121.1.43",
            ("2.5.5.14", _) => "1.2.840.113556.1.4.904",
            ("2.5.5.15", _) => "1.2.840.113556.1.4.907",
            ("2.5.5.16", _) => "1.2.840.113556.1.4.906",
            _ => "1.3.6.1.4.1.1466.115.121.1.40",
        }
    }

    /// Only the DC writes system-only, constructed and back-link attributes.
    pub fn dc_only(&self) -> bool {
        let back_link = self.link_id.is_some_and(|l| l % 2 != 0);
        self.system_only || self.system_flags & CONSTRUCTED != 0 || back_link
    }

    /// The attribute as the subschema entry's attributeTypes publishes it.
    pub fn description(&self) -> String {
        let mut s = format!(
            "( {} NAME '{}' SYNTAX '{}'",
            self.oid,
            self.name,
            self.ldap_syntax()
        );
        if self.single {
            s += " SINGLE-VALUE";
        }
        // As a DC publishes it: for systemOnly attributes (not constructed or back links,
        // which the directory refuses all the same).
        if self.system_only {
            s += " NO-USER-MODIFICATION";
        }
        s + " )"
    }
}

/// The parsed schema and its case-insensitive indexes.
pub struct AdSchema {
    pub attrs: Vec<SchemaAttr>,
    pub classes: Vec<SchemaClass>,
    attr_index: HashMap<String, usize>,
    class_index: HashMap<String, usize>,
}

fn parse() -> AdSchema {
    let mut attrs = Vec::new();
    let mut classes = Vec::new();
    for line in DATA.lines().filter(|l| !l.starts_with('#')) {
        let f: Vec<&'static str> = line.split('\t').collect();
        match (f.first(), f.len()) {
            (Some(&"A"), 12) => attrs.push(SchemaAttr {
                name: f[1],
                oid: f[2],
                attribute_syntax: f[3],
                om_syntax: f[4].parse().unwrap_or(0),
                single: f[6] == "1",
                system_only: f[7] == "1",
                system_flags: f[8].parse().unwrap_or(0),
                link_id: f[9].parse().ok(),
                schema_id_guid: f[11],
            }),
            (Some(&"C"), 13) => classes.push(SchemaClass {
                name: f[1],
                oid: f[2],
                category: f[3].parse().unwrap_or(1),
                sup: f[4],
                rdn: f[5],
                default_category: f[6],
                hidden: f[7] == "1",
                must: f[8],
                may: f[9],
                superiors: f[10],
                auxiliary: f[11],
                schema_id_guid: f[12],
            }),
            // The file is generated and checked by a test; a line of another shape is
            // skipped rather than taking the directory down.
            _ => {}
        }
    }
    let index = |names: Vec<&str>| {
        names
            .into_iter()
            .enumerate()
            .map(|(i, n)| (n.to_ascii_lowercase(), i))
            .collect()
    };
    AdSchema {
        attr_index: index(attrs.iter().map(|a| a.name).collect()),
        class_index: index(classes.iter().map(|c| c.name).collect()),
        attrs,
        classes,
    }
}

pub static AD_SCHEMA: LazyLock<AdSchema> = LazyLock::new(parse);

/// An attribute of the AD schema by its lDAPDisplayName, any case.
pub fn attribute(name: &str) -> Option<&'static SchemaAttr> {
    let s: &'static AdSchema = &AD_SCHEMA;
    s.attr_index
        .get(&name.to_ascii_lowercase())
        .map(|i| &s.attrs[*i])
}

/// A class of the AD schema by its lDAPDisplayName, any case.
pub fn class(name: &str) -> Option<&'static SchemaClass> {
    let s: &'static AdSchema = &AD_SCHEMA;
    s.class_index
        .get(&name.to_ascii_lowercase())
        .map(|i| &s.classes[*i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_line_of_the_generated_schema_is_read() {
        let lines = DATA.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(AD_SCHEMA.attrs.len() + AD_SCHEMA.classes.len(), lines);
        // Windows Server 2016: 1,497 live attributes (one defunct left out), 269 classes.
        assert_eq!(AD_SCHEMA.attrs.len(), 1497);
        assert_eq!(AD_SCHEMA.classes.len(), 269);
    }

    #[test]
    fn definitions_read_as_the_published_schema_has_them() {
        let a = attribute("MSDS-ISCOMPLIANT").unwrap();
        assert_eq!(a.oid, "1.2.840.113556.1.4.2314");
        assert_eq!(
            a.description(),
            "( 1.2.840.113556.1.4.2314 NAME 'msDS-IsCompliant' SYNTAX '1.3.6.1.4.1.1466.115.121.1.7' SINGLE-VALUE )"
        );
        let member_of = attribute("memberOf").unwrap();
        assert!(member_of.dc_only(), "a back link");
        assert_eq!(member_of.attribute_syntax, "2.5.5.1");
        let user = class("user").unwrap();
        assert_eq!(
            (user.sup, user.category, user.rdn),
            ("organizationalPerson", 1, "cn")
        );
        assert!(user.may().any(|m| m == "msDS-KeyCredentialLink"));
        assert!(user.superiors().any(|s| s == "organizationalUnit"));
        assert_eq!(user.schema_id_guid, "bf967aba-0de6-11d0-a285-00aa003049e2");
        let trusted = class("trustedDomain").unwrap();
        assert!(trusted
            .description()
            .starts_with("( 1.2.840.113556.1.5.34 NAME 'trustedDomain' SUP leaf STRUCTURAL"));
    }
}
