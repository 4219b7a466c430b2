//! An entry's attributes packed in one allocation whatever their number: which attributes
//! it has (their schema numbers, [`schema::attr_id`], with where their values end), where
//! each value ends, and every value's octets one after the other. A user's thirty-odd
//! attributes took as many allocations and more (each value its own vector); a copy of an
//! entry — what a change to a shared entry makes — is now one.
//!
//! The buffer, in 4-byte little-endian words then octets: the number of attributes `n`;
//! `n` pairs (schema number, index one past the attribute's last value); one word per
//! value, where it ends among the octets; the values' octets.

use crate::directory::schema;
use std::fmt;

/// An entry's attributes, in the order of their names (byte order of the schema spelling).
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Attrs {
    /// Empty when the entry has no attributes.
    buf: Box<[u8]>,
}

const WORD: usize = 4;

/// The `i`th 4-byte word of `words`.
fn word(words: &[u8], i: usize) -> u32 {
    let mut w = [0; WORD];
    w.copy_from_slice(&words[i * WORD..(i + 1) * WORD]);
    u32::from_le_bytes(w)
}

/// An attribute's values, borrowed from its entry (raw octets; text is UTF-8).
#[derive(Clone, Copy)]
pub struct Vals<'a> {
    /// Where the first value starts in `data`.
    start: u32,
    /// Per value, a word: where it ends in `data`.
    ends: &'a [u8],
    data: &'a [u8],
}

impl<'a> Vals<'a> {
    /// No values: what an absent attribute reads as.
    pub const EMPTY: Vals<'static> = Vals {
        start: 0,
        ends: &[],
        data: &[],
    };

    pub fn len(&self) -> usize {
        self.ends.len() / WORD
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    pub fn get(&self, i: usize) -> Option<&'a [u8]> {
        if i >= self.len() {
            return None;
        }
        let start = match i.checked_sub(1) {
            Some(before) => word(self.ends, before),
            None => self.start,
        };
        self.data.get(start as usize..word(self.ends, i) as usize)
    }

    pub fn first(&self) -> Option<&'a [u8]> {
        self.get(0)
    }

    pub fn last(&self) -> Option<&'a [u8]> {
        self.len().checked_sub(1).and_then(|i| self.get(i))
    }

    pub fn iter(&self) -> ValsIter<'a> {
        ValsIter {
            vals: *self,
            front: 0,
            back: self.len(),
        }
    }

    pub fn contains(&self, value: &[u8]) -> bool {
        self.iter().any(|v| v == value)
    }

    /// Owned copies (to edit them and [`Attrs::set`] them again).
    pub fn to_vec(&self) -> Vec<Vec<u8>> {
        self.iter().map(<[u8]>::to_vec).collect()
    }
}

impl<'a> IntoIterator for Vals<'a> {
    type Item = &'a [u8];
    type IntoIter = ValsIter<'a>;

    fn into_iter(self) -> ValsIter<'a> {
        self.iter()
    }
}

/// The `i`th value, as a slice's index: out of range is a bug of the caller (it panics).
impl std::ops::Index<usize> for Vals<'_> {
    type Output = [u8];

    fn index(&self, i: usize) -> &[u8] {
        match self.get(i) {
            Some(v) => v,
            None => panic!("value {i} of {}", self.len()),
        }
    }
}

/// The same values in the same order.
impl PartialEq for Vals<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.iter().eq(other.iter())
    }
}

impl fmt::Debug for Vals<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.iter().map(String::from_utf8_lossy))
            .finish()
    }
}

/// The values of one attribute, in order.
#[derive(Clone)]
pub struct ValsIter<'a> {
    vals: Vals<'a>,
    front: usize,
    back: usize,
}

impl<'a> Iterator for ValsIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.front == self.back {
            return None;
        }
        self.front += 1;
        self.vals.get(self.front - 1)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        (self.back - self.front, Some(self.back - self.front))
    }
}

impl DoubleEndedIterator for ValsIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.front == self.back {
            return None;
        }
        self.back -= 1;
        self.vals.get(self.back)
    }
}

impl ExactSizeIterator for ValsIter<'_> {}

impl Attrs {
    fn slot_id(&self, at: usize) -> u16 {
        // Written from a u16 by the builder.
        word(&self.buf, 1 + 2 * at) as u16
    }

    /// Index one past the attribute's last value.
    fn slot_end(&self, at: usize) -> usize {
        word(&self.buf, 2 + 2 * at) as usize
    }

    fn values_total(&self) -> usize {
        self.len()
            .checked_sub(1)
            .map_or(0, |last| self.slot_end(last))
    }

    /// The value ends' words and the octets.
    fn ends_and_data(&self) -> (&[u8], &[u8]) {
        if self.buf.is_empty() {
            return (&[], &[]);
        }
        let ends = (1 + 2 * self.len()) * WORD;
        let data = ends + self.values_total() * WORD;
        (&self.buf[ends..data], &self.buf[data..])
    }

    fn find(&self, id: u16) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.len());
        while low < high {
            let mid = (low + high) / 2;
            match self.slot_id(mid).cmp(&id) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Ok(mid),
            }
        }
        Err(low)
    }

    fn vals(&self, at: usize) -> Vals<'_> {
        let first = at.checked_sub(1).map_or(0, |b| self.slot_end(b));
        let end = self.slot_end(at);
        let (ends, data) = self.ends_and_data();
        Vals {
            start: first.checked_sub(1).map_or(0, |b| word(ends, b)),
            ends: &ends[first * WORD..end * WORD],
            data,
        }
    }

    /// By any spelling of the name; an attribute the entry lacks has no values.
    pub fn get(&self, name: &str) -> Vals<'_> {
        schema::attr_id(name)
            .and_then(|id| self.find(id).ok())
            .map_or(Vals::EMPTY, |at| self.vals(at))
    }

    pub fn len(&self) -> usize {
        match self.buf.is_empty() {
            true => 0,
            false => word(&self.buf, 0) as usize,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The schema numbers of the attributes the entry has, in order.
    pub fn numbers(&self) -> impl Iterator<Item = u16> + '_ {
        (0..self.len()).map(|at| self.slot_id(at))
    }

    /// Each attribute under its schema spelling, in the order of the names.
    pub fn iter(&self) -> impl Iterator<Item = (&'static str, Vals<'_>)> + '_ {
        (0..self.len()).map(|at| (schema::attr_name(self.slot_id(at)), self.vals(at)))
    }

    /// Set an attribute (by any spelling of a schema attribute's name); no values removes
    /// it. False when the schema does not know the name (nothing changes).
    pub fn set<V: AsRef<[u8]>>(&mut self, name: &str, values: &[V]) -> bool {
        let values: Vec<&[u8]> = values.iter().map(AsRef::as_ref).collect();
        match self.with(&[(name, values)]) {
            Some(next) => {
                *self = next;
                true
            }
            None => false,
        }
    }

    /// These attributes with each change made (a name and its values; no values removes
    /// it; of a name given twice, the last values win), in one build. None when the schema
    /// does not know a name.
    pub fn with(&self, changes: &[(&str, Vec<&[u8]>)]) -> Option<Attrs> {
        let mut changes: Vec<(u16, &[&[u8]])> = (changes.iter())
            .map(|(name, values)| Some((schema::attr_id(name)?, values.as_slice())))
            .collect::<Option<_>>()?;
        by_number_last_wins(&mut changes);
        // The merge of the attributes kept and the ones changed, in the order of numbers.
        let (mut kept, mut changed) = (0, 0);
        let mut merged: Vec<(u16, Merged<'_, '_>)> = Vec::with_capacity(self.len() + changes.len());
        while kept < self.len() || changed < changes.len() {
            let old = (kept < self.len()).then(|| self.slot_id(kept));
            match changes.get(changed) {
                // A change comes first (or replaces the attribute it names).
                Some((c, values)) if old.is_none_or(|o| *c <= o) => {
                    if !values.is_empty() {
                        merged.push((*c, Merged::New(values)));
                    }
                    kept += usize::from(old == Some(*c));
                    changed += 1;
                }
                _ => {
                    let Some(o) = old else { break };
                    merged.push((o, Merged::Kept(self.vals(kept))));
                    kept += 1;
                }
            }
        }
        let values = |e: &Merged<'_, '_>| match e {
            Merged::Kept(v) => (v.len(), v.iter().map(<[u8]>::len).sum::<usize>()),
            Merged::New(v) => (v.len(), v.iter().map(|v| v.len()).sum()),
        };
        let (count, bytes) = (merged.iter().map(|(_, e)| values(e)))
            .fold((0, 0), |(c, b), (vc, vb)| (c + vc, b + vb));
        let mut next = Builder::new(merged.len(), count, bytes);
        for (id, e) in &merged {
            match e {
                Merged::Kept(v) => next.push(*id, v.iter()),
                Merged::New(v) => next.push(*id, v.iter().copied()),
            }
        }
        Some(next.finish())
    }

    /// Attributes at once: one build instead of one per attribute. Names the schema does
    /// not know and attributes without values are left out; of a name given twice, the
    /// last values stay.
    pub fn from_pairs<N: AsRef<str>, V: AsRef<[u8]>>(
        pairs: impl IntoIterator<Item = (N, Vec<V>)>,
    ) -> Attrs {
        let pairs: Vec<(N, Vec<V>)> = pairs.into_iter().collect();
        let changes: Vec<(&str, Vec<&[u8]>)> = (pairs.iter())
            .filter(|(name, _)| schema::attr_id(name.as_ref()).is_some())
            .map(|(name, values)| (name.as_ref(), values.iter().map(AsRef::as_ref).collect()))
            .collect();
        Attrs::default().with(&changes).unwrap_or_default()
    }

    /// Attributes by schema number ([`schema::attr_id`]), in one build; attributes without
    /// values are left out, and of a number given twice the last values stay.
    pub fn from_numbered(mut attrs: Vec<(u16, Vec<Vec<u8>>)>) -> Attrs {
        by_number_last_wins(&mut attrs);
        attrs.retain(|(_, values)| !values.is_empty());
        let values = attrs.iter().map(|(_, v)| v.len()).sum();
        let bytes = (attrs.iter().flat_map(|(_, v)| v)).map(Vec::len).sum();
        let mut next = Builder::new(attrs.len(), values, bytes);
        for (id, v) in &attrs {
            next.push(*id, v.iter().map(Vec::as_slice));
        }
        next.finish()
    }

    /// Remove an attribute (any spelling of its name).
    pub fn remove(&mut self, name: &str) {
        self.set::<&[u8]>(name, &[]);
    }
}

impl fmt::Debug for Attrs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Sorted by schema number, one per number: of a number given twice, the later stays.
fn by_number_last_wins<T>(attrs: &mut Vec<(u16, T)>) {
    // Stable, so of two with the same number the later one comes last.
    attrs.sort_by_key(|(id, _)| *id);
    attrs.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0;
        if same {
            std::mem::swap(later, earlier);
        }
        same
    });
}

/// An attribute's values in a merge: the ones it had or new ones.
enum Merged<'a, 'n> {
    Kept(Vals<'a>),
    New(&'n [&'n [u8]]),
}

/// Attributes pushed in the order of their numbers, into a buffer of the size they need.
struct Builder {
    buf: Vec<u8>,
    /// The next attribute's pair of words.
    slot: usize,
    /// The next value's end word.
    end: usize,
    /// Where the octets start, and how many are written.
    data: usize,
    written: usize,
    values: u32,
}

impl Builder {
    /// For `attrs` attributes holding `values` values of `bytes` octets in all.
    fn new(attrs: usize, values: usize, bytes: usize) -> Self {
        let data = (1 + 2 * attrs + values) * WORD;
        let mut buf = vec![0; if attrs == 0 { 0 } else { data + bytes }];
        if let Some(n) = buf.get_mut(..WORD) {
            n.copy_from_slice(&offset(attrs).to_le_bytes());
        }
        Self {
            buf,
            slot: WORD,
            end: (1 + 2 * attrs) * WORD,
            data,
            written: 0,
            values: 0,
        }
    }

    fn put(&mut self, at: usize, w: u32) {
        self.buf[at..at + WORD].copy_from_slice(&w.to_le_bytes());
    }

    fn push<'v>(&mut self, id: u16, values: impl IntoIterator<Item = &'v [u8]>) {
        for v in values {
            let start = self.data + self.written;
            self.buf[start..start + v.len()].copy_from_slice(v);
            self.written += v.len();
            self.put(self.end, offset(self.written));
            self.end += WORD;
            self.values += 1;
        }
        self.put(self.slot, u32::from(id));
        self.put(self.slot + WORD, self.values);
        self.slot += 2 * WORD;
    }

    fn finish(self) -> Attrs {
        Attrs {
            buf: self.buf.into_boxed_slice(),
        }
    }
}

/// An offset within one entry: an LDAP message (and so an entry) is far below 4 GiB.
fn offset(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_stay_with_their_attribute_through_sets_and_removes() {
        let mut a = Attrs::default();
        assert!(a.set("sn", &["Smith"]));
        assert!(a.set("objectClass", &["top", "person", "user"]));
        assert!(a.set("CN", &["Alice"]));
        assert!(a.set("description", &[""]));
        assert!(!a.set("noSuchAttribute", &["x"]));
        let names: Vec<_> = a.iter().map(|(n, v)| (n, v.len())).collect();
        assert_eq!(
            names,
            [("cn", 1), ("description", 1), ("objectClass", 3), ("sn", 1)]
        );
        let classes = a.get("objectclass");
        assert_eq!(classes.to_vec(), [&b"top"[..], b"person", b"user"]);
        assert_eq!(classes.iter().next_back(), Some(&b"user"[..]));
        assert_eq!(classes.last(), Some(&b"user"[..]));
        assert_eq!(a.get("description").first(), Some(&b""[..]));

        assert!(a.set("objectClass", &["top"]));
        a.remove("cn");
        a.remove("cn");
        assert!(a.get("cn").is_empty());
        assert_eq!(a.get("sn").first(), Some(&b"Smith"[..]));
        assert_eq!(a.get("objectClass").to_vec(), [b"top"]);
        assert_eq!(a.len(), 3);
        let mut b = Attrs::default();
        b.set("sn", &["Smith"]);
        b.set("objectClass", &["top"]);
        b.set("description", &[""]);
        assert_eq!(
            a, b,
            "the same attributes compare equal whatever the order of sets"
        );

        let c = Attrs::from_pairs([
            ("SN", vec!["Smith"]),
            ("noSuchAttribute", vec!["x"]),
            ("cn", vec![]),
            ("description", vec![""]),
            ("objectClass", vec!["user"]),
            ("objectclass", vec!["top"]),
        ]);
        assert_eq!(
            c, b,
            "unknown and empty left out, the last of a name twice kept"
        );

        for name in ["sn", "objectClass", "description"] {
            a.remove(name);
        }
        assert!(a.is_empty());
        assert_eq!(a, Attrs::default());
        assert!(a.get("sn").is_empty());
        assert_eq!(a.iter().count(), 0);
    }
}
