//! A located tree checked against the format's JSON Schema (the one `writeback-sim schema`
//! prints): unknown keys and actions with the closest known one, wrong types, values not
//! among an enum's, and the formats the model marks (duration, DN, LDAP filter).

use super::tree::{Node, Place, Value};
use super::{closest, problem, quoted_list, where_, Problem};
use crate::scenario::model;
use serde_json::Value as Json;
use std::collections::BTreeSet;

/// Checks a located tree against the JSON Schema.
pub(super) struct Schema<'a> {
    pub(super) root: &'a Json,
}

impl<'a> Schema<'a> {
    fn resolve(&self, schema: &'a Json) -> &'a Json {
        let mut s = schema;
        for _ in 0..16 {
            let Some(r) = s.get("$ref").and_then(Json::as_str) else {
                break;
            };
            let Some(name) = r.strip_prefix("#/$defs/") else {
                break;
            };
            match self.root.get("$defs").and_then(|d| d.get(name)) {
                Some(def) => s = def,
                None => break,
            }
        }
        s
    }

    pub(super) fn check(&self, node: &Node, schema: &'a Json, path: &str) -> Vec<Problem> {
        let schema = self.resolve(schema);
        if schema == &Json::Bool(true) {
            return Vec::new();
        }
        if let Some(branches) = schema
            .get("oneOf")
            .or_else(|| schema.get("anyOf"))
            .and_then(Json::as_array)
        {
            return self.check_branches(node, branches, path);
        }
        let mut out = Vec::new();
        if let Some(all) = schema.get("allOf").and_then(Json::as_array) {
            for s in all {
                out.extend(self.check(node, s, path));
            }
        }
        let types = types_of(schema);
        if !fits(node, &types) {
            let want = types
                .iter()
                .filter(|t| **t != "null")
                .map(|t| type_words(t))
                .collect::<Vec<_>>()
                .join(" or ");
            let found = match node.text() {
                Some(t) => format!("`{t}`"),
                None => node.kind().to_string(),
            };
            out.push(problem(
                node.at,
                format!("{}: expected {want}, found {found}", where_(path)),
                None,
            ));
            return out;
        }
        if let Some(values) = schema.get("enum").and_then(Json::as_array) {
            let words: Vec<&str> = values.iter().filter_map(Json::as_str).collect();
            if let Some(t) = node.text() {
                let null_allowed = t.is_empty() && values.contains(&Json::Null);
                if !words.contains(&t) && !null_allowed {
                    let help = closest(t, words.iter().copied())
                        .map(|c| format!("did you mean `{c}`?"))
                        .or_else(|| Some(format!("one of {}", quoted_list(&words))));
                    out.push(problem(
                        node.at,
                        format!(
                            "{}: `{t}` is not one of {}",
                            where_(path),
                            quoted_list(&words)
                        ),
                        help,
                    ));
                }
            }
        }
        if let (Some(min), Some(t)) = (schema.get("minimum").and_then(Json::as_f64), node.text()) {
            if t.parse::<f64>().is_ok_and(|n| n < min) {
                out.push(problem(
                    node.at,
                    format!("{}: `{t}` is below the minimum {min}", where_(path)),
                    None,
                ));
            }
        }
        if let (Some(format), Some(t)) = (schema.get("format").and_then(Json::as_str), node.text())
        {
            if let Some(p) = check_format(format, t, node.at, path) {
                out.push(p);
            }
        }
        if let Value::Map(entries) = &node.value {
            out.extend(self.check_map(node, entries, schema, path));
        }
        if let (Value::Seq(items), Some(item)) = (&node.value, schema.get("items")) {
            for (i, n) in items.iter().enumerate() {
                out.extend(self.check(n, item, &format!("{path}[{i}]")));
            }
        }
        out
    }

    fn check_map(
        &self,
        node: &Node,
        entries: &[(Node, Node)],
        schema: &'a Json,
        path: &str,
    ) -> Vec<Problem> {
        let mut out = Vec::new();
        let properties = schema.get("properties").and_then(Json::as_object);
        let known: Vec<&str> = properties
            .map(|p| p.keys().map(String::as_str).collect())
            .unwrap_or_default();
        let extra = schema.get("additionalProperties");
        let mut seen = BTreeSet::new();
        for (k, v) in entries {
            let key = k.text().unwrap_or_default();
            let here = if path.is_empty() {
                key.to_string()
            } else {
                format!("{path}.{key}")
            };
            if !seen.insert(key) {
                out.push(problem(
                    k.at,
                    format!("{here}: the key appears twice"),
                    Some("keep one of them".into()),
                ));
            }
            match (properties.and_then(|p| p.get(key)), extra) {
                (Some(s), _) => out.extend(self.check(v, s, &here)),
                (None, Some(Json::Bool(false))) => {
                    let help = match closest(key, known.iter().copied()) {
                        Some(c) => format!("did you mean `{c}`?"),
                        None => format!("known keys here: {}", quoted_list(&known)),
                    };
                    let place = if path.is_empty() {
                        "the top level"
                    } else {
                        path
                    };
                    out.push(problem(
                        k.at,
                        format!("unknown key `{key}` in {place}"),
                        Some(help),
                    ));
                }
                (None, Some(s)) if s.is_object() => out.extend(self.check(v, s, &here)),
                _ => {}
            }
        }
        if let Some(required) = schema.get("required").and_then(Json::as_array) {
            for r in required.iter().filter_map(Json::as_str) {
                if !seen.contains(r) {
                    let place = if path.is_empty() { "the file" } else { path };
                    out.push(problem(
                        node.at,
                        format!("{place}: `{r}` is missing"),
                        Some(format!("add `{r}: …`")),
                    ));
                }
            }
        }
        out
    }

    /// anyOf / oneOf: fine when one branch fits; otherwise the problems of the branch the
    /// node was most likely meant as (for a map, the one whose required key it has).
    fn check_branches(&self, node: &Node, branches: &'a [Json], path: &str) -> Vec<Problem> {
        let keys: BTreeSet<&str> = node
            .entries()
            .iter()
            .filter_map(|(k, _)| k.text())
            .collect();
        let mut best: Option<(bool, usize, Vec<Problem>)> = None;
        let mut fitting_type = false;
        for b in branches {
            let resolved = self.resolve(b);
            if !fits(node, &types_of(resolved)) {
                continue;
            }
            fitting_type = true;
            let problems = self.check(node, b, path);
            if problems.is_empty() {
                return problems;
            }
            let required: Vec<&str> = resolved
                .get("required")
                .and_then(Json::as_array)
                .map(|r| r.iter().filter_map(Json::as_str).collect())
                .unwrap_or_default();
            let meant = !required.is_empty() && required.iter().all(|r| keys.contains(r));
            let better = match &best {
                None => true,
                Some((m, n, _)) => (meant && !m) || (meant == *m && problems.len() < *n),
            };
            if better {
                best = Some((meant, problems.len(), problems));
            }
        }
        if !fitting_type {
            let found = match node.text() {
                Some(t) => format!("`{t}`"),
                None => node.kind().to_string(),
            };
            return vec![problem(
                node.at,
                format!("{}: {found} does not fit here", where_(path)),
                Some(describe_branches(self, branches)),
            )];
        }
        // A step with no known action key: say which keys are actions.
        if path.starts_with("steps[") && !path.contains('.') {
            if let Some((false, _, _)) = best {
                let actions: Vec<&str> = model::ACTIONS
                    .iter()
                    .copied()
                    .filter(|a| *a != "expect")
                    .collect();
                let unknown: Vec<&str> = keys
                    .iter()
                    .copied()
                    .filter(|k| *k != "expect" && !actions.contains(k))
                    .collect();
                let (message, help) = match unknown.first() {
                    Some(k) => (
                        format!("{path}: unknown action `{k}`"),
                        closest(k, actions.iter().copied())
                            .map(|c| format!("did you mean `{c}`?"))
                            .unwrap_or_else(|| format!("actions: {}", quoted_list(&actions))),
                    ),
                    None if keys.iter().filter(|k| **k != "expect").count() > 1 => (
                        format!("{path}: a step has exactly one action"),
                        "split it into one step per action".to_string(),
                    ),
                    None => (
                        format!("{path}: a step needs an action"),
                        format!("actions: {}", quoted_list(&actions)),
                    ),
                };
                return vec![problem(node.at, message, Some(help))];
            }
        }
        best.map(|(_, _, p)| p).unwrap_or_default()
    }
}

fn describe_branches(schema: &Schema<'_>, branches: &[Json]) -> String {
    let kinds: Vec<&str> = branches
        .iter()
        .map(|b| match types_of(schema.resolve(b)).first() {
            Some(t) => type_words(t),
            None => "a value",
        })
        .collect();
    format!("write {}", kinds.join(" or "))
}

/// The JSON Schema `type`s a schema allows (empty: any).
fn types_of(schema: &Json) -> Vec<&str> {
    match schema.get("type") {
        Some(Json::String(t)) => vec![t.as_str()],
        Some(Json::Array(ts)) => ts.iter().filter_map(Json::as_str).collect(),
        _ => Vec::new(),
    }
}

/// Whether `node` can stand for one of `types`.
fn fits(node: &Node, types: &[&str]) -> bool {
    let node_types = node.types();
    types.is_empty() || types.iter().any(|t| node_types.contains(t))
}

/// A JSON Schema type in words.
fn type_words(t: &str) -> &'static str {
    match t {
        "object" => "a map",
        "array" => "a list",
        "integer" => "a whole number",
        "number" => "a number",
        "boolean" => "true or false",
        _ => "text",
    }
}

/// The formats the model marks on its fields.
fn check_format(format: &str, text: &str, at: Place, path: &str) -> Option<Problem> {
    match format {
        "duration" if model::Duration::parse(text).is_none() => Some(problem(
            at,
            format!("{path}: `{text}` is not a duration"),
            Some("write it as 250ms, 90s, 30m, 2h or 1d".into()),
        )),
        "distinguished-name" => crate::world::ad::parse_dn(text).err().map(|e| {
            problem(
                at,
                format!("{path}: `{text}` is not a valid DN ({e})"),
                Some("write it like \"CN=Alice Smith,OU=Staff,DC=gntech,DC=me\"".into()),
            )
        }),
        "ldap-filter" => crate::world::ad::parse_filter(text)
            .err()
            .map(|e| problem(at, format!("{path}: {e}"), None)),
        _ => None,
    }
}
