//! DNs a scenario names, resolved against the world it builds: the forest as the DC
//! provisions it, the LDIF files and declared entries, what `generate`, the wizard
//! (device container, group OUs) and earlier `ad` steps create. A DN outside the forest is
//! flagged; a step that needs an object (a grant, a change, a delete, a search base) names
//! one that exists; one that expects or adds an object names an existing parent. The hint
//! is the nearest existing DN.

use super::tree::Node;
use super::{problem, Problem};
use crate::world::ad::{dn_key, ldif_added_dns, provisioned_dns};
use std::collections::BTreeSet;
use std::path::Path;

/// The DNs the world will hold, as keys, and whether that list is complete (an LDIF
/// file that could not be read leaves it incomplete: nothing is then said to be missing).
struct Known {
    domain: String,
    keys: BTreeSet<String>,
    /// The spellings, for hints.
    shown: Vec<String>,
    complete: bool,
}

impl Known {
    fn add(&mut self, dn: &str) {
        if let Some(k) = dn_key(dn) {
            if self.keys.insert(k) {
                self.shown.push(dn.to_string());
            }
        }
    }

    fn has(&self, dn: &str) -> bool {
        dn_key(dn).is_some_and(|k| self.keys.contains(&k))
    }

    /// The existing DN a typo most likely meant (a few characters off), else the nearest
    /// existing ancestor.
    fn nearest(&self, dn: &str) -> Option<String> {
        let lower = dn.to_lowercase();
        if let Some((d, c)) = self
            .shown
            .iter()
            .map(|s| (strsim::levenshtein(&lower, &s.to_lowercase()), s))
            .min_by_key(|(d, _)| *d)
        {
            if d <= 3 {
                return Some(c.clone());
            }
        }
        let key = dn_key(dn)?;
        let mut at = key.as_str();
        while let Some((_, parent)) = at.split_once(',') {
            if let Some(s) = self
                .shown
                .iter()
                .find(|s| dn_key(s).as_deref() == Some(parent))
            {
                return Some(s.clone());
            }
            at = parent;
        }
        None
    }
}

fn text<'a>(n: Option<&'a Node>, path: &[&str]) -> Option<&'a Node> {
    path.iter().try_fold(n?, |n, k| n.get(k))
}

pub(super) fn dns(root: &Node, base_dir: Option<&Path>) -> Vec<Problem> {
    let world = root.get("world");
    let forest = text(world, &["directory", "forest"])
        .and_then(Node::text)
        .unwrap_or("gntech.me")
        .to_string();
    let domain = forest
        .split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",");
    let mut known = Known {
        domain: domain.clone(),
        keys: BTreeSet::new(),
        shown: Vec::new(),
        complete: true,
    };
    for k in provisioned_dns(&forest).iter() {
        known.add(k);
    }
    for l in text(world, &["directory", "ldif"])
        .map(Node::items)
        .unwrap_or_default()
    {
        let read = match (base_dir, l.text()) {
            (Some(dir), Some(f)) => {
                let path = dir.join(f);
                crate::files::read_text(&path, crate::files::LDIF_LIMIT)
                    .ok()
                    .and_then(|t| ldif_added_dns(&t, f).ok())
            }
            _ => None,
        };
        match read {
            Some(dns) => dns.iter().for_each(|d| known.add(d)),
            None => known.complete = false,
        }
    }
    for e in text(world, &["directory", "entries"])
        .map(Node::items)
        .unwrap_or_default()
    {
        if let Some(dn) = e.get("dn").and_then(Node::text) {
            known.add(dn);
        }
    }
    if text(world, &["tenant", "generate", "users"]).is_some() {
        known.add(&format!("OU=Generated Users,{domain}"));
    }
    // What the wizard creates (world.engine and configure steps), and `ad` adds.
    let steps = root.get("steps").map(Node::items).unwrap_or_default();
    let engines = std::iter::once(text(world, &["engine"]))
        .chain(steps.iter().map(|s| s.get("configure")))
        .flatten();
    for e in engines {
        let chosen = |feature: &str, key: &str, default: String| -> Option<String> {
            let f = e.get(feature)?;
            if f.text() == Some("false") {
                return None;
            }
            Some(
                f.get(key)
                    .and_then(Node::text)
                    .map_or(default, str::to_string),
            )
        };
        let made = [
            chosen(
                "device_writeback",
                "container",
                format!("CN=RegisteredDevices,{domain}"),
            ),
            chosen(
                "group_writeback_v1",
                "ou",
                format!("OU=M365 Groups,{domain}"),
            ),
            chosen("cloud_sync", "ou", format!("OU=Users,{domain}")),
        ];
        made.iter().flatten().for_each(|d| known.add(d));
    }
    if text(world, &["engine", "device_writeback"]).is_none() {
        // Device writeback is on by default (option A): its container too.
        known.add(&format!("CN=RegisteredDevices,{domain}"));
    }
    for s in steps {
        if let Some(dn) = text(Some(s), &["ad", "add", "dn"]).and_then(Node::text) {
            known.add(dn);
        }
    }

    let mut out = Vec::new();
    let mut check = |n: &Node, path: String, need: Need| {
        let Some(dn) = n.text() else { return };
        if dn_key(dn).is_none() {
            return; // a malformed DN is the schema check's to report
        }
        let within = dn_key(dn)
            .zip(dn_key(&known.domain))
            .is_some_and(|(k, d)| k == d || k.ends_with(&format!(",{d}")));
        if !within {
            out.push(problem(
                n.at,
                format!("{path}: `{dn}` is outside the forest ({})", known.domain),
                known
                    .nearest(dn)
                    .map(|c| format!("did you mean `{c}`?"))
                    .or_else(|| Some(format!("DNs here end in {}", known.domain))),
            ));
            return;
        }
        if !known.complete {
            return;
        }
        let parent = dn_key(dn).and_then(|k| k.split_once(',').map(|(_, p)| p.to_string()));
        let missing = match need {
            Need::Object => !known.has(dn),
            Need::Parent => {
                !known.has(dn) && !parent.as_ref().is_some_and(|p| known.keys.contains(p))
            }
        };
        if missing {
            let what = match need {
                Need::Object => "does not exist in this world",
                Need::Parent => "has no parent in this world",
            };
            // For a missing parent, what the parent most likely meant.
            let probe = match (need, &parent) {
                (Need::Parent, Some(p)) => p.as_str(),
                _ => dn,
            };
            out.push(problem(
                n.at,
                format!("{path}: `{dn}` {what}"),
                known
                    .nearest(probe)
                    .map(|c| format!("the nearest existing DN is `{c}`")),
            ));
        }
    };
    for (i, action, body) in super::step_actions(steps) {
        let at = |key: &str| format!("steps[{i}].{action}.{key}");
        let fields: &[(&[&str], Need)] = match action {
            "grant" | "deny" | "revoke" | "block_inheritance" | "restore_inheritance" => {
                &[(&["on"], Need::Object)]
            }
            "ad" => &[
                (&["modify", "dn"], Need::Object),
                (&["delete"], Need::Object),
                (&["add", "dn"], Need::Parent),
            ],
            "expect_ad" => &[(&["base"], Need::Object), (&["dn"], Need::Parent)],
            _ => &[],
        };
        // Absence may be asserted anywhere.
        let absent =
            action == "expect_ad" && body.get("exists").and_then(Node::text) == Some("false");
        for (path, need) in fields {
            if absent && path == &["dn"] {
                continue;
            }
            if let Some(n) = text(Some(body), path) {
                check(n, at(&path.join(".")), *need);
            }
        }
    }
    out
}

#[derive(Clone, Copy)]
enum Need {
    /// The DN must name an object of the world.
    Object,
    /// The DN's parent must (the object itself may be made by the run).
    Parent,
}
