//! `writeback-sim validate`: every problem in a scenario file at once, each with its
//! file:line:col and a hint, rendered by miette.
//!
//! The file is read into a tree that keeps where each node is (granit-parser, the YAML
//! parser under serde-saphyr), checked against the format's JSON Schema (the one
//! `writeback-sim schema` prints, so the two cannot drift apart), and then for what a
//! schema cannot say: a step naming a user, device or group the world does not have, a
//! malformed DN or LDAP filter, a password where a reference belongs. Whatever serde
//! itself refuses is reported too, so a file that validates also loads.

use super::model;
use serde_json::Value as Json;
use serde_saphyr::granit_parser::{Event, Marker, Parser, ScalarStyle};
use std::collections::BTreeSet;
use std::path::Path;

/// One problem, where it is and what to do about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line and column.
    pub line: usize,
    pub column: usize,
    /// Byte range in the file, for the underline.
    pub offset: usize,
    pub len: usize,
    pub message: String,
    pub help: Option<String>,
}

/// A YAML node and where it is.
#[derive(Debug, Clone)]
struct Node {
    value: Value,
    at: Place,
}

#[derive(Debug, Clone, Copy)]
struct Place {
    line: usize,
    column: usize,
    offset: usize,
    len: usize,
}

#[derive(Debug, Clone)]
enum Value {
    /// `plain` scalars may be numbers, booleans or null; quoted ones are strings.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<Node>),
    Map(Vec<(Node, Node)>),
}

impl Node {
    fn text(&self) -> Option<&str> {
        match &self.value {
            Value::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }
    fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.text() == Some(key))
                .map(|(_, v)| v),
            _ => None,
        }
    }
    fn items(&self) -> &[Node] {
        match &self.value {
            Value::Seq(items) => items,
            _ => &[],
        }
    }
    fn entries(&self) -> &[(Node, Node)] {
        match &self.value {
            Value::Map(entries) => entries,
            _ => &[],
        }
    }
    fn kind(&self) -> &'static str {
        match &self.value {
            Value::Scalar { .. } => "a scalar",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a map",
        }
    }
    /// The JSON Schema types this node can stand for (a plain scalar is read as YAML 1.2's
    /// core schema: null, boolean, integer, number, or else a string).
    fn types(&self) -> Vec<&'static str> {
        match &self.value {
            Value::Seq(_) => vec!["array"],
            Value::Map(_) => vec!["object"],
            Value::Scalar { plain: false, .. } => vec!["string"],
            Value::Scalar { text, plain: true } => {
                let t = text.as_str();
                if matches!(t, "" | "~" | "null" | "Null" | "NULL") {
                    vec!["null"]
                } else if matches!(t, "true" | "false" | "True" | "False" | "TRUE" | "FALSE") {
                    vec!["boolean", "string"]
                } else if t.parse::<i64>().is_ok() {
                    vec!["integer", "number", "string"]
                } else if t.parse::<f64>().is_ok() {
                    vec!["number", "string"]
                } else {
                    vec!["string"]
                }
            }
        }
    }
}

/// Line starts, to turn a (line, char column) into a byte offset.
struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> Lines<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        Self { text, starts }
    }
    fn offset(&self, m: &Marker) -> usize {
        if let Some(b) = m.byte_offset() {
            return b;
        }
        let start = self
            .starts
            .get(m.line().saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let line = &self.text[start..];
        start
            + line
                .char_indices()
                .nth(m.col())
                .map_or(line.len(), |(i, _)| i)
    }
    fn place(&self, start: &Marker, end: &Marker) -> Place {
        let offset = self.offset(start);
        let stop = self.offset(end).max(offset);
        // A node's end may be on a later line (a block map); underline its first line.
        let first_line_end = self.text[offset..]
            .find('\n')
            .map_or(self.text.len(), |i| offset + i);
        Place {
            line: start.line(),
            column: start.col() + 1,
            offset,
            len: stop.min(first_line_end).saturating_sub(offset).max(1),
        }
    }
    /// The place of a single point (a syntax error).
    fn point(&self, line: usize, column: usize) -> Place {
        let start = self
            .starts
            .get(line.saturating_sub(1))
            .copied()
            .unwrap_or(self.text.len());
        let line_text = &self.text[start..];
        let offset = start
            + line_text
                .char_indices()
                .nth(column.saturating_sub(1))
                .map_or(line_text.len(), |(i, _)| i);
        Place {
            line,
            column,
            offset: offset.min(self.text.len()),
            len: 1,
        }
    }
}

/// Read the whole document into a located tree. `Err` is a syntax error.
fn tree(text: &str) -> Result<Option<Node>, Problem> {
    let lines = Lines::new(text);
    let mut parser = Parser::new_from_str(text);
    // Open collections: their start, and what they hold so far.
    enum Open {
        Seq(Marker, Vec<Node>),
        Map(Marker, Vec<Node>),
    }
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    let finish = |node: Node, stack: &mut Vec<Open>, root: &mut Option<Node>| match stack.last_mut()
    {
        Some(Open::Seq(_, items) | Open::Map(_, items)) => items.push(node),
        None => *root = Some(node),
    };
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let m = e.marker();
            let at = lines.point(m.line(), m.col() + 1);
            Problem {
                line: at.line,
                column: at.column,
                offset: at.offset,
                len: at.len,
                message: format!("not valid YAML: {}", e.info()),
                help: Some("check the indentation and quoting around here".into()),
            }
        })?;
        match event {
            Event::Scalar(text, style, _, _) => {
                let node = Node {
                    value: Value::Scalar {
                        text: text.to_string(),
                        plain: style == ScalarStyle::Plain,
                    },
                    at: lines.place(&span.start, &span.end),
                };
                finish(node, &mut stack, &mut root);
            }
            Event::Alias(_) => {
                let node = Node {
                    value: Value::Scalar {
                        text: String::new(),
                        plain: true,
                    },
                    at: lines.place(&span.start, &span.end),
                };
                finish(node, &mut stack, &mut root);
            }
            Event::SequenceStart(..) => stack.push(Open::Seq(span.start, Vec::new())),
            Event::MappingStart(..) => stack.push(Open::Map(span.start, Vec::new())),
            Event::SequenceEnd | Event::MappingEnd => {
                let node = match stack.pop() {
                    Some(Open::Seq(start, items)) => Node {
                        value: Value::Seq(items),
                        at: lines.place(&start, &span.end),
                    },
                    Some(Open::Map(start, items)) => {
                        let mut entries = Vec::new();
                        let mut it = items.into_iter();
                        while let (Some(k), Some(v)) = (it.next(), it.next()) {
                            entries.push((k, v));
                        }
                        Node {
                            value: Value::Map(entries),
                            at: lines.place(&start, &span.end),
                        }
                    }
                    None => continue,
                };
                finish(node, &mut stack, &mut root);
            }
            Event::DocumentEnd if root.is_some() => break,
            _ => {}
        }
    }
    Ok(root)
}

/// Checks a located tree against the JSON Schema.
struct Schema<'a> {
    root: &'a Json,
}

fn problem(at: Place, message: String, help: Option<String>) -> Problem {
    Problem {
        line: at.line,
        column: at.column,
        offset: at.offset,
        len: at.len,
        message,
        help,
    }
}

/// The known word closest to `word`, when one is close enough to be a typo.
pub fn closest<'a>(word: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let lower = word.to_lowercase();
    known
        .into_iter()
        .map(|k| {
            let k_lower = k.to_lowercase();
            let close = strsim::jaro_winkler(&lower, &k_lower) >= 0.8
                || strsim::levenshtein(&lower, &k_lower) <= 1;
            (strsim::jaro_winkler(&lower, &k_lower), close, k)
        })
        .filter(|(_, close, _)| *close)
        .map(|(score, _, k)| (score, k))
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, k)| k)
}

/// A path for a message: the key path, or "the file" at the top.
fn where_(path: &str) -> &str {
    if path.is_empty() {
        "the file"
    } else {
        path
    }
}

fn quoted_list(words: &[&str]) -> String {
    words
        .iter()
        .map(|w| format!("`{w}`"))
        .collect::<Vec<_>>()
        .join(", ")
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

    fn check(&self, node: &Node, schema: &'a Json, path: &str) -> Vec<Problem> {
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
        "distinguished-name" => crate::directory::dn::Dn::parse(text).err().map(|e| {
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

/// What the world defines, for the references steps make.
#[derive(Default)]
struct Known {
    users: BTreeSet<String>,
    devices: BTreeSet<String>,
    groups: BTreeSet<String>,
    /// `world.tenant.generate` adds names nobody can list in advance.
    generated: bool,
}

fn references(root: &Node) -> Vec<Problem> {
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
    for (i, s) in steps.iter().enumerate() {
        let Some((action, body)) = s.entries().iter().find(|(k, _)| k.text() != Some("expect"))
        else {
            continue;
        };
        let action = action.text().unwrap_or_default();
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

/// Every problem in a scenario file's text, in file order.
pub fn check(text: &str) -> Vec<Problem> {
    let root = match tree(text) {
        Ok(Some(root)) => root,
        Ok(None) => return Vec::new(),
        Err(p) => return vec![p],
    };
    let schema = model::json_schema();
    let checker = Schema { root: &schema };
    let mut problems = checker.check(&root, &schema, "");
    problems.extend(references(&root));
    // Whatever serde refuses and the schema let through is still a problem.
    if let Err(e) = model::from_yaml(text) {
        let (line, column) = e
            .location()
            .map(|l| (l.line() as usize, l.column() as usize))
            .unwrap_or((1, 1));
        if !problems.iter().any(|p| p.line == line) {
            let lines = Lines::new(text);
            let at = lines.point(line, column);
            let message = e.to_string();
            let message = message.lines().next().unwrap_or_default().to_string();
            problems.push(problem(at, message, None));
        }
    }
    problems.sort_by_key(|p| (p.offset, p.message.clone()));
    problems.dedup();
    problems
}

/// A problem as miette shows it: the message, the file:line:col, the line with the
/// place underlined, and the hint.
#[derive(Debug, thiserror::Error, miette::Diagnostic)]
#[error("{message}")]
struct Shown {
    message: String,
    #[source_code]
    code: miette::NamedSource<String>,
    #[label("here")]
    span: miette::SourceSpan,
    #[help]
    help: Option<String>,
}

/// Render `problems` for a terminal (`color`) or a log.
pub fn render(file: &Path, text: &str, problems: &[Problem], color: bool) -> String {
    let theme = if color {
        miette::GraphicalTheme::unicode()
    } else {
        miette::GraphicalTheme::unicode_nocolor()
    };
    let handler = miette::GraphicalReportHandler::new_themed(theme).with_context_lines(1);
    let mut out = String::new();
    for p in problems {
        let shown = Shown {
            message: p.message.clone(),
            code: miette::NamedSource::new(file.display().to_string(), text.to_string()),
            span: (p.offset, p.len).into(),
            help: p.help.clone(),
        };
        if handler.render_report(&mut out, &shown).is_err() {
            out.push_str(&format!(
                "{}:{}:{}: {}\n",
                file.display(),
                p.line,
                p.column,
                p.message
            ));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn messages(text: &str) -> Vec<(usize, usize, String, Option<String>)> {
        check(text)
            .into_iter()
            .map(|p| (p.line, p.column, p.message, p.help))
            .collect()
    }

    #[test]
    fn a_good_file_has_no_problems() {
        let text = "summary: x\nworld:\n  tenant:\n    users:\n      - { upn: alice@gntech.me, synced_from: \"CN=Alice Smith,OU=Staff,DC=gntech,DC=me\" }\nsteps:\n  - sspr_reset: { user: alice@gntech.me, new_password: \"Summer#2026x\" }\n    expect: { outcome: ok }\n  - advance: 30m\n  - clear_faults: {}\n  - expect_ad: { base: \"DC=gntech,DC=me\", filter: \"(cn=x)\", count: 0 }\n";
        assert_eq!(messages(text), vec![]);
    }

    #[test]
    fn every_problem_is_reported_with_its_place_and_a_hint() {
        let text = "sumary: x\nseed: many\nworld:\n  tenant:\n    license: P3\n    users:\n      - { upn: alice@gntech.me }\nsteps:\n  - sspr_rest: { user: alice@gntech.me }\n  - sspr_reset: { user: \"Summer#2026\", new_password: x }\n  - advance: 5 minutes\n  - delete_device: { name: LAPTOP-9 }\n  - expect_ad: { dn: \"not a dn\" }\n  - sspr_reset: { user: alise@gntech.me, new_password: y }\n";
        let got = messages(text);
        let find = |line: usize| {
            got.iter()
                .find(|m| m.0 == line)
                .unwrap_or_else(|| panic!("nothing on line {line}: {got:#?}"))
        };
        assert_eq!(find(1).2, "unknown key `sumary` in the top level");
        assert_eq!(find(1).3.as_deref(), Some("did you mean `summary`?"));
        assert!(find(2)
            .2
            .contains("seed: expected a whole number, found `many`"));
        assert!(find(5).2.contains("`P3` is not one of `none`, `P1`, `P2`"));
        assert_eq!(find(9).2, "steps[0]: unknown action `sspr_rest`");
        assert_eq!(find(9).3.as_deref(), Some("did you mean `sspr_reset`?"));
        assert!(find(10)
            .3
            .as_deref()
            .unwrap()
            .contains("looks like a password"));
        assert!(find(11).2.contains("`5 minutes` is not a duration"));
        assert!(find(12).2.contains("unknown device `LAPTOP-9`"));
        assert!(find(13).2.contains("is not a valid DN"));
        assert_eq!(
            find(14).3.as_deref(),
            Some("did you mean `alice@gntech.me`?")
        );
        assert_eq!(find(9).1, 5, "column of the step's action");
    }

    #[test]
    fn a_syntax_error_is_one_problem_at_its_place() {
        let got = messages("steps:\n  - sync: delta\n - bad: [\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert!(got[0].2.starts_with("not valid YAML"), "{got:?}");
    }

    #[test]
    fn a_file_that_is_not_a_map_says_so_and_an_empty_one_is_the_default_world() {
        let got = messages("- a\n- b\n");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].2, "the file: expected a map, found a list");
        assert_eq!(messages(""), vec![]);
    }

    #[test]
    fn the_schema_lists_every_action_the_runner_parses() {
        let schema = model::json_schema();
        let branches = schema["$defs"]["Step"]["oneOf"].as_array().unwrap();
        let titles: BTreeSet<&str> = branches
            .iter()
            .filter_map(|b| b["title"].as_str())
            .collect();
        let actions: BTreeSet<&str> = model::ACTIONS
            .iter()
            .copied()
            .filter(|a| *a != "expect")
            .collect();
        assert_eq!(titles, actions);
    }
}
