//! `expect_ad`: an entry (exists or not, attribute values, or `changed` / `unchanged`
//! against AD before the first step, `absent` / `present`), or how many entries a subtree
//! search with an RFC 4515 filter finds.

use super::Mismatch;
use crate::scenario::model::{AttrValue, ExpectAd};
use crate::scenario::report::{Baseline, StepReport};
use crate::world::ad::dn_key;
use crate::world::World;

pub async fn check(world: &World, x: &ExpectAd, n: usize, before: &Baseline) -> StepReport {
    if let (Some(base), Some(filter)) = (&x.base, &x.filter) {
        let label = format!("expect_ad {filter} under {base}");
        let mismatches = match (world.ad_count(base, filter).await, x.count) {
            (Err(e), _) => vec![Mismatch::new("search", format!("{filter} under {base}"), e)],
            (Ok(found), Some(c)) if found != c => {
                vec![Mismatch::new("count", c.to_string(), found.to_string())]
            }
            _ => vec![],
        };
        return StepReport::check(n, label, mismatches);
    }
    let Some(dn) = &x.dn else {
        return StepReport::check(
            n,
            "expect_ad".into(),
            vec![Mismatch::new(
                "expect_ad",
                "`dn`, or `base` and `filter`",
                "neither",
            )],
        );
    };
    let label = format!("expect_ad {dn}");
    let exists = x.exists.unwrap_or(true);
    let e = match (world.ad_entry(dn).await, exists) {
        (None, true) => {
            return StepReport::check(
                n,
                label,
                vec![Mismatch::new("the entry", "to exist", "it does not exist")],
            )
        }
        (Some(_), false) => {
            return StepReport::check(
                n,
                label,
                vec![Mismatch::new("the entry", "not to exist", "it exists")],
            )
        }
        (None, false) => return StepReport::check(n, label, vec![]),
        (Some(e), true) => e,
    };
    let old = dn_key(dn).and_then(|k| before.entries.get(&k));
    let mut mismatches = Vec::new();
    for (attr, want) in &x.attributes {
        let got = e.readable(attr);
        let was: Option<&[Vec<u8>]> = old.map(|o| o.values(attr));
        let now = e.values(attr);
        match want {
            AttrValue::Text(w) if w == "changed" => {
                if was == Some(now) {
                    mismatches.push(Mismatch::new(attr, "changed", format!("still {got:?}")));
                }
            }
            AttrValue::Text(w) if w == "unchanged" => {
                if was != Some(now) {
                    mismatches.push(Mismatch::new(attr, "unchanged", format!("now {got:?}")));
                }
            }
            AttrValue::Text(w) if w == "absent" => {
                if !got.is_empty() {
                    mismatches.push(Mismatch::new(attr, "absent", format!("{got:?}")));
                }
            }
            AttrValue::Text(w) if w == "present" => {
                if got.is_empty() {
                    mismatches.push(Mismatch::new(attr, "present", "absent"));
                }
            }
            other => {
                let want = other.texts();
                let raw: Vec<String> = now
                    .iter()
                    .map(|v| String::from_utf8_lossy(v).to_string())
                    .collect();
                let same = want.len() == raw.len()
                    && want
                        .iter()
                        .all(|w| raw.iter().any(|r| r.eq_ignore_ascii_case(w)));
                if !same {
                    mismatches.push(Mismatch::new(attr, format!("{want:?}"), format!("{got:?}")));
                }
            }
        }
    }
    StepReport::check(n, label, mismatches)
}
