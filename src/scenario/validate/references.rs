//! What a schema cannot say: a step or the world naming a user, device or group the world
//! does not have (with the closest known name), or a password where a UPN belongs.

use super::tree::Node;
use super::{closest, problem, quoted_list, Problem};
use std::collections::BTreeSet;

/// What the world defines, for the references steps make.
#[derive(Default)]
struct Known {
    users: BTreeSet<String>,
    devices: BTreeSet<String>,
    groups: BTreeSet<String>,
    /// `world.tenant.generate` adds names nobody can list in advance.
    generated: bool,
}

pub(super) fn references(root: &Node) -> Vec<Problem> {
    let mut known = Known::default();
    let tenant = root.get("world").and_then(|w| w.get("tenant"));
    if let Some(t) = tenant {
        known.generated = t.get("generate").is_some();
        for u in t.get("users").map(Node::items).unwrap_or_default() {
            if let Some(upn) = u.get("upn").and_then(Node::text) {
                known.users.insert(upn.to_string());
            }
        }
        for d in t.get("devices").map(Node::items).unwrap_or_default() {
            if let Some(n) = d.get("name").and_then(Node::text) {
                known.devices.insert(n.to_string());
            }
        }
        for g in t.get("groups").map(Node::items).unwrap_or_default() {
            if let Some(n) = g.get("name").and_then(Node::text) {
                known.groups.insert(n.to_string());
            }
        }
    }
    let steps = root.get("steps").map(Node::items).unwrap_or_default();
    // Devices and groups created by any step may be referred to (a later step deletes
    // what an earlier one made; order is the runner's business).
    for s in steps {
        if let Some(n) = s
            .get("register_device")
            .and_then(|d| d.get("name"))
            .and_then(Node::text)
        {
            known.devices.insert(n.to_string());
        }
        if let Some(g) = s.get("create_group") {
            if let Some(n) = g.get("name").and_then(Node::text) {
                known.groups.insert(n.to_string());
            }
        }
        if let Some(n) = s
            .get("update_group")
            .and_then(|g| g.get("display_name"))
            .and_then(Node::text)
        {
            known.groups.insert(n.to_string());
        }
    }
    if known.generated {
        return Vec::new();
    }
    let mut out = Vec::new();
    let user = |n: &Node, path: String, out: &mut Vec<Problem>| {
        let Some(t) = n.text() else { return };
        if known.users.contains(t) {
            return;
        }
        let looks_like_password = !t.contains('@')
            && t.chars().any(|c| c.is_ascii_digit())
            && t.chars().any(|c| !c.is_ascii_alphanumeric());
        let help = if looks_like_password {
            "this looks like a password; this key takes a user's UPN from world.tenant.users (the password goes in new_password / password)".to_string()
        } else {
            match closest(t, known.users.iter().map(String::as_str)) {
                Some(c) => format!("did you mean `{c}`?"),
                None if known.users.is_empty() => {
                    "add the user under world.tenant.users".to_string()
                }
                None => format!(
                    "known users: {}",
                    quoted_list(&known.users.iter().map(String::as_str).collect::<Vec<_>>())
                ),
            }
        };
        out.push(problem(
            n.at,
            format!("{path}: unknown user `{t}`"),
            Some(help),
        ));
    };
    let named = |n: &Node, path: String, kind: &str, set: &BTreeSet<String>, where_: &str| {
        let t = n.text()?;
        if set.contains(t) {
            return None;
        }
        let help = closest(t, set.iter().map(String::as_str))
            .map(|c| format!("did you mean `{c}`?"))
            .unwrap_or_else(|| format!("define it under {where_}"));
        Some(problem(
            n.at,
            format!("{path}: unknown {kind} `{t}`"),
            Some(help),
        ))
    };
    if let Some(t) = tenant {
        for (i, d) in t
            .get("devices")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            if let Some(o) = d.get("owner") {
                user(o, format!("world.tenant.devices[{i}].owner"), &mut out);
            }
        }
        for (i, g) in t
            .get("groups")
            .map(Node::items)
            .unwrap_or_default()
            .iter()
            .enumerate()
        {
            for (j, m) in g
                .get("members")
                .map(Node::items)
                .unwrap_or_default()
                .iter()
                .enumerate()
            {
                user(
                    m,
                    format!("world.tenant.groups[{i}].members[{j}]"),
                    &mut out,
                );
            }
        }
    }
    for (i, action, body) in super::step_actions(steps) {
        let at = |key: &str| format!("steps[{i}].{action}.{key}");
        // A step that changes or deletes a device or group names one that exists.
        let target = match action {
            "update_device" | "delete_device" => Some((
                "device",
                &known.devices,
                "world.tenant.devices or a register_device step",
            )),
            "update_group" | "delete_group" => Some((
                "group",
                &known.groups,
                "world.tenant.groups or a create_group step",
            )),
            _ => None,
        };
        if let (Some((kind, set, where_)), Some(n)) = (target, body.get("name")) {
            out.extend(named(n, at("name"), kind, set, where_));
        }
        match action {
            "sspr_reset" | "change_password" | "admin_reset" | "sspr_unlock" => {
                if let Some(u) = body.get("user") {
                    user(u, at("user"), &mut out);
                }
            }
            "register_device" => {
                if let Some(o) = body.get("owner") {
                    user(o, at("owner"), &mut out);
                }
            }
            "update_device" | "delete_device" => {
                if let Some(o) = body.get("owner") {
                    user(o, at("owner"), &mut out);
                }
            }
            "create_group" | "update_group" => {
                for key in ["members", "add_members", "remove_members"] {
                    for (j, m) in body
                        .get(key)
                        .map(Node::items)
                        .unwrap_or_default()
                        .iter()
                        .enumerate()
                    {
                        user(m, format!("{}[{j}]", at(key)), &mut out);
                    }
                }
            }
            _ => {}
        }
    }
    out
}
