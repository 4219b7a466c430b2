//! The subschema entry (`CN=Aggregate,CN=Schema,…`, RFC 4512): the definitions of the
//! attributes and classes of [`super::schema`] as a DC publishes them, `attributeTypes`
//! and `objectClasses`, returned when asked for by name (see `subschema.txt`).

use super::schema::is_exchange;

/// The definitions the subschema entry publishes, as RFC 4512 descriptions: what a Samba
/// AD DC (gntech.me, measured) answers for these attributes and classes, plus the ones
/// its schema lacks, from Microsoft's schema documentation ([MS-ADA2], Exchange).
static SUBSCHEMA: &str = include_str!("subschema.txt");

/// [`subschema`] of a forest whose schema is (`exchange`) or is not prepared for
/// Exchange: without it, no Exchange attribute type, and none named in a class.
pub fn subschema_of(attr: &str, exchange: bool) -> Vec<Vec<u8>> {
    let all = subschema(attr);
    if exchange {
        return all;
    }
    let types = attr.eq_ignore_ascii_case("attributeTypes");
    all.into_iter()
        .filter_map(|d| {
            let text = String::from_utf8(d).ok()?;
            if types {
                let name = text.split('\'').nth(1).unwrap_or_default();
                return (!is_exchange(name)).then(|| text.into_bytes());
            }
            // A class: its MAY list without the Exchange names (and their `$`).
            let mut out: Vec<&str> = Vec::new();
            let mut skip_dollar = false;
            for t in text.split(' ') {
                if is_exchange(t) {
                    if out.last() == Some(&"$") {
                        out.pop();
                    } else {
                        skip_dollar = true;
                    }
                    continue;
                }
                if skip_dollar && t == "$" {
                    skip_dollar = false;
                    continue;
                }
                skip_dollar = false;
                out.push(t);
            }
            Some(out.join(" ").into_bytes())
        })
        .collect()
}

/// `attributeTypes` or `objectClasses` of the subschema entry.
pub fn subschema(attr: &str) -> Vec<Vec<u8>> {
    let prefix = format!("{attr}: ");
    SUBSCHEMA
        .lines()
        .filter_map(|l| {
            l.get(..prefix.len())
                .filter(|p| p.eq_ignore_ascii_case(&prefix))
                .map(|_| l.as_bytes()[prefix.len()..].to_vec())
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::directory::schema::{ATTRS, CLASSES};

    #[test]
    fn a_forest_not_prepared_for_exchange_publishes_no_exchange_attribute() {
        let text = |v: Vec<Vec<u8>>| -> String {
            v.into_iter()
                .map(|d| String::from_utf8(d).unwrap() + "\n")
                .collect()
        };
        let prepared = text(subschema_of("attributeTypes", true));
        assert!(prepared.contains("NAME 'mailNickname'"));
        let plain = text(subschema_of("attributeTypes", false));
        assert!(!plain.contains("NAME 'mailNickname'"));
        assert!(!plain.contains("NAME 'extensionAttribute1'"));
        assert!(plain.contains("NAME 'proxyAddresses'"));
        let classes = text(subschema_of("objectClasses", false));
        assert!(!classes.contains("mailNickname"), "{classes}");
        assert!(
            !classes.contains("$ $") && !classes.contains("( $"),
            "{classes}"
        );
        assert_eq!(
            classes.lines().count(),
            subschema("objectClasses").len(),
            "every class is still published"
        );
    }

    #[test]
    fn the_subschema_defines_every_attribute_and_class_exactly_once() {
        let types: Vec<String> = subschema("attributeTypes")
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect();
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
        assert_eq!(types.len(), ATTRS.len());
        let classes: Vec<String> = subschema("objectClasses")
            .into_iter()
            .map(|v| String::from_utf8(v).unwrap())
            .collect();
        for c in CLASSES.iter().flat_map(|c| c.chain.iter()) {
            let named = format!(" NAME '{c}' ");
            assert_eq!(
                classes.iter().filter(|d| d.contains(&named)).count(),
                1,
                "{c}"
            );
        }
    }
}
