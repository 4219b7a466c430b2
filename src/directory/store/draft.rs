//! An entry an add is building: its attributes gathered by schema number and packed once
//! when it is done ([`Draft::finish`]). An add sets thirty-odd attributes (what the request
//! gives, then what the DC fills in); set one by one on an [`Entry`], each would pack the
//! entry again.

use super::{Attrs, Entry};
use crate::directory::dn::Dn;
use crate::directory::schema;

#[derive(Debug)]
pub struct Draft {
    dn: Dn,
    /// By schema number, in the order first set.
    attrs: Vec<(u16, Vec<Vec<u8>>)>,
}

impl Draft {
    pub fn new(dn: Dn) -> Self {
        Self {
            dn,
            attrs: Vec::with_capacity(40),
        }
    }

    fn slot(&self, name: &str) -> Option<usize> {
        let id = schema::attr_id(name)?;
        self.attrs.iter().position(|(a, _)| *a == id)
    }

    /// An attribute's values by any spelling of its name (none when it is absent).
    pub fn values(&self, name: &str) -> &[Vec<u8>] {
        self.slot(name).map_or(&[], |at| &self.attrs[at].1)
    }

    pub fn str(&self, name: &str) -> Option<&str> {
        (self.values(name).first()).and_then(|v| std::str::from_utf8(v).ok())
    }

    pub fn int(&self, name: &str) -> Option<i64> {
        self.str(name).and_then(|s| s.trim().parse().ok())
    }

    pub fn has(&self, name: &str) -> bool {
        !self.values(name).is_empty()
    }

    /// Set an attribute of the schema (the operations reject other names first); no values
    /// removes it.
    pub fn set(&mut self, name: &str, values: Vec<Vec<u8>>) {
        let Some(id) = schema::attr_id(name) else {
            debug_assert!(false, "attribute {name} is not in the schema");
            return;
        };
        match self.attrs.iter_mut().find(|(a, _)| *a == id) {
            Some((_, vals)) => *vals = values,
            None => self.attrs.push((id, values)),
        }
    }

    /// Set an attribute the entry does not have yet (a value the DC fills in), with one
    /// look-up of its name.
    pub fn or_set(&mut self, name: &str, values: impl FnOnce() -> Vec<Vec<u8>>) {
        let Some(id) = schema::attr_id(name) else {
            debug_assert!(false, "attribute {name} is not in the schema");
            return;
        };
        match self.attrs.iter_mut().find(|(a, _)| *a == id) {
            Some((_, vals)) if !vals.is_empty() => {}
            Some((_, vals)) => *vals = values(),
            None => self.attrs.push((id, values())),
        }
    }

    pub fn or_set_str(&mut self, name: &str, value: &str) {
        self.or_set(name, || vec![value.as_bytes().to_vec()]);
    }

    pub fn or_set_int(&mut self, name: &str, value: i64) {
        self.or_set(name, || vec![int_text(value)]);
    }

    pub fn set_str(&mut self, name: &str, value: &str) {
        self.set(name, vec![value.as_bytes().to_vec()]);
    }

    pub fn set_int(&mut self, name: &str, value: i64) {
        self.set(name, vec![int_text(value)]);
    }

    /// The entry, its attributes packed in one build.
    pub fn finish(self) -> Entry {
        let mut e = Entry::new(self.dn);
        e.attrs = Attrs::from_numbered(self.attrs);
        e
    }
}

fn int_text(value: i64) -> Vec<u8> {
    itoa::Buffer::new().format(value).as_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_draft_packs_what_setting_each_attribute_on_an_entry_would() {
        let dn = Dn::parse("CN=pc1,CN=Computers,DC=gntech,DC=me").unwrap();
        let mut d = Draft::new(dn.clone());
        let mut e = Entry::new(dn);
        for (name, vals) in [
            ("objectClass", vec!["top", "computer"]),
            ("CN", vec!["pc1"]),
            ("description", vec!["first"]),
            ("sAMAccountName", vec!["PC1$"]),
            ("Description", vec!["second"]),
            ("userAccountControl", vec!["4096"]),
            ("sAMAccountName", vec![]),
        ] {
            let vals: Vec<Vec<u8>> = vals.iter().map(|v| v.as_bytes().to_vec()).collect();
            d.set(name, vals.clone());
            e.set(name, vals);
        }
        assert_eq!(d.str("description"), Some("second"));
        assert_eq!(d.int("userAccountControl"), Some(4096));
        assert!(!d.has("sAMAccountName"), "no values removes it");
        assert!(d.values("noSuchAttribute").is_empty());
        d.or_set_str("description", "third");
        d.or_set_int("sAMAccountName", 7);
        d.or_set_int("badPwdCount", 0);
        assert_eq!(d.str("description"), Some("second"), "a value is kept");
        assert_eq!(d.int("sAMAccountName"), Some(7), "an emptied one is set");
        assert_eq!(d.int("badPwdCount"), Some(0), "a missing one is set");
        d.set("sAMAccountName", vec![]);
        d.set("badPwdCount", vec![]);
        let built = d.finish();
        assert_eq!(built.attrs, e.attrs);
        assert_eq!(built.str("cn"), Some("pc1"));
        assert_eq!(built.values("objectClass").len(), 2);
    }
}
