//! `expect_ad`: an entry (exists or not, attribute values, or `changed` / `unchanged`
//! against AD before the first step, `absent` / `present`), or how many entries a subtree
//! search with an RFC 4515 filter finds.

use super::{Compared, Mismatch};
use crate::scenario::model::{AttrValue, ExpectAd};
use crate::scenario::report::{Baseline, StepReport};
use crate::world::ad::dn_key;
use crate::world::World;

pub async fn check(world: &World, x: &ExpectAd, n: usize, before: &Baseline) -> StepReport {
    if let (Some(base), Some(filter)) = (&x.base, &x.filter) {
        let label = format!("expect_ad {filter} under {base}");
        let mut c = Compared::default();
        match (world.ad_count(base, filter).await, x.count) {
            (Err(e), _) => c.failed(Mismatch::new("search", format!("{filter} under {base}"), e)),
            (Ok(found), Some(want)) => c.saw("count", want, found, found == want),
            (Ok(found), None) => c.saw("count", found, found, true),
        }
        return c.report(n, label);
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
    let mut c = Compared::default();
    let e = match (world.ad_entry(dn).await, exists) {
        (None, true) => {
            c.saw("the entry", "exists", "does not exist", false);
            return c.report(n, label);
        }
        (Some(_), false) => {
            c.saw("the entry", "does not exist", "exists", false);
            return c.report(n, label);
        }
        (None, false) => {
            c.saw("the entry", "does not exist", "does not exist", true);
            return c.report(n, label);
        }
        (Some(e), true) => e,
    };
    let old = dn_key(dn).and_then(|k| before.entries.get(&k));
    let shown = |v: &[String]| {
        if v.is_empty() {
            "(none)".to_string()
        } else {
            v.join(" | ")
        }
    };
    for (attr, want) in &x.attributes {
        let got = e.readable(attr);
        let was = old.map(|o| o.values(attr));
        let now = e.values(attr);
        let before_text = old
            .map(|o| shown(&o.readable(attr)))
            .unwrap_or_else(|| "(no entry)".into());
        match want {
            AttrValue::Text(w) if w == "changed" => {
                let held = was != Some(now);
                let line = if held {
                    format!("{attr}: changed, {before_text} → {}", shown(&got))
                } else {
                    format!("{attr}: expected changed, still {}", shown(&got))
                };
                c.noted(line, held, || {
                    Mismatch::new(attr, "changed", format!("still {got:?}"))
                })
            }
            AttrValue::Text(w) if w == "unchanged" => {
                let held = was == Some(now);
                let line = if held {
                    format!("{attr}: unchanged, {}", shown(&got))
                } else {
                    format!(
                        "{attr}: expected unchanged, {before_text} → {}",
                        shown(&got)
                    )
                };
                c.noted(line, held, || {
                    Mismatch::new(attr, "unchanged", format!("now {got:?}"))
                })
            }
            AttrValue::Text(w) if w == "absent" => {
                let held = got.is_empty();
                let line = if held {
                    format!("{attr}: absent")
                } else {
                    format!("{attr}: expected absent, found {}", shown(&got))
                };
                c.noted(line, held, || {
                    Mismatch::new(attr, "absent", format!("{got:?}"))
                })
            }
            AttrValue::Text(w) if w == "present" => {
                let held = !got.is_empty();
                let line = if held {
                    format!("{attr}: present, {}", shown(&got))
                } else {
                    format!("{attr}: expected present, absent")
                };
                c.noted(line, held, || Mismatch::new(attr, "present", "absent"))
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
                // Spelled as written when it holds (case aside), else as AD has it.
                let found = if same { shown(&want) } else { shown(&got) };
                c.saw(attr, shown(&want), found, same)
            }
        }
    }
    c.report(n, label)
}
