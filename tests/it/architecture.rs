//! The boundaries of `../shared/DESIGN.md`, read off the source: what each module may use,
//! no import circles among the files of any module, and files a reader can take in. Paths
//! (`crate::…`, `super::…`, `use` trees with braces) are resolved to module paths; comments
//! and the test modules at the end of files are left out.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A source file's module path (`src/engine/wizard.rs` → `["engine", "wizard"]`).
fn module_of(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().to_string())
        .collect();
    if parts
        .last()
        .is_some_and(|p| p == "mod" || p == "lib" || p == "main")
    {
        parts.pop();
    }
    parts
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The code of a file without comments and without its trailing test module.
fn code(text: &str) -> String {
    let text = match text.find("#[cfg(test)]") {
        Some(i) => &text[..i],
        None => text,
    };
    text.lines()
        .map(|l| match l.find("//") {
            // Good enough here: no path in this crate is inside a string with `//`.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn ident(s: &str) -> (String, &str) {
    let n = s
        .char_indices()
        .find(|(_, c)| !(c.is_alphanumeric() || *c == '_'))
        .map_or(s.len(), |(i, _)| i);
    (s[..n].to_string(), &s[n..])
}

/// Expand the use tree (or plain path) at the start of `s` after `prefix`: every path it
/// names, as module paths.
fn tree(prefix: Vec<String>, s: &str, out: &mut Vec<Vec<String>>) -> usize {
    let mut path = prefix;
    let mut rest = s;
    loop {
        rest = rest.trim_start();
        if let Some(mut body) = rest.strip_prefix('{') {
            loop {
                body = body.trim_start();
                if let Some(after) = body.strip_prefix('}') {
                    return s.len() - after.len();
                }
                if body.is_empty() {
                    return s.len();
                }
                let used = tree(path.clone(), body, out);
                body = body[used..].trim_start();
                match body.strip_prefix(',') {
                    Some(b) => body = b,
                    None if body.starts_with('}') => {}
                    None => return s.len() - body.len(),
                }
            }
        }
        let (word, after) = ident(rest);
        if word.is_empty() {
            // `*` or the end of the path.
            out.push(path);
            return s.len() - rest.trim_start_matches('*').len();
        }
        match word.as_str() {
            "self" => {}
            "super" => {
                path.pop();
            }
            _ => path.push(word),
        }
        rest = after;
        match rest.strip_prefix("::") {
            Some(r) => rest = r,
            None => {
                out.push(path);
                return s.len() - rest.len();
            }
        }
    }
}

/// Every module path a file's code names through `crate::` or `super::`.
fn references(module: &[String], code: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    // `super` is the parent of the module the file is (a `mod.rs` is its module itself).
    let here: Vec<String> = module.to_vec();
    for (start, _) in code.match_indices("crate::") {
        if code[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_') {
            continue;
        }
        tree(Vec::new(), &code[start + "crate::".len()..], &mut out);
    }
    for (start, _) in code.match_indices("super::") {
        if code[..start].ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == ':') {
            continue;
        }
        let mut base = here.clone();
        base.pop();
        tree(base, &code[start + "super::".len()..], &mut out);
    }
    out
}

struct Crate {
    /// Module path of each file, and the module paths it names.
    files: BTreeMap<Vec<String>, (PathBuf, Vec<Vec<String>>)>,
}

fn read_crate() -> Crate {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut paths = Vec::new();
    rust_files(&src, &mut paths);
    let mut files = BTreeMap::new();
    for p in paths {
        let module = module_of(&src, &p);
        let text = std::fs::read_to_string(&p).unwrap();
        let refs = references(&module, &code(&text));
        files.insert(module, (p, refs));
    }
    Crate { files }
}

#[test]
fn use_trees_resolve_to_module_paths() {
    let refs = references(
        &["engine".into(), "wizard".into()],
        "use super::ad::{AdFailure, AdSession};\nuse crate::nt_security::{ace_flags, Ace};\nlet x = super::super::world::World::start();\nuse super::{config::{A, B}, history};",
    );
    let shown: BTreeSet<String> = refs.iter().map(|p| p.join("::")).collect();
    for want in [
        "engine::ad::AdFailure",
        "engine::ad::AdSession",
        "nt_security::ace_flags",
        "world::World::start",
        "engine::config::A",
        "engine::history",
    ] {
        assert!(shown.contains(want), "{want} in {shown:?}");
    }
}

/// DESIGN.md: the engine speaks protocols only; the fakes never import the engine; only
/// `world` wires them; `scenario` (and `lab`) drive the world and nothing else.
#[test]
fn each_module_uses_only_what_the_design_allows() {
    let forbidden: &[(&str, &[&str])] = &[
        (
            "engine",
            &["cloud", "directory", "relay", "scenario", "world", "lab"],
        ),
        ("cloud", &["engine", "scenario", "world", "lab"]),
        ("relay", &["engine", "scenario", "world", "lab"]),
        ("directory", &["engine", "scenario", "world", "lab"]),
        ("world", &["scenario", "lab"]),
        (
            "scenario",
            &["cloud", "directory", "relay", "engine", "lab"],
        ),
        (
            "lab",
            &["cloud", "directory", "relay", "engine", "scenario"],
        ),
    ];
    let c = read_crate();
    let mut problems = Vec::new();
    for (module, (file, refs)) in &c.files {
        let Some(top) = module.first() else { continue };
        let Some((_, banned)) = forbidden.iter().find(|(m, _)| m == top) else {
            continue;
        };
        for r in refs {
            if r.first().is_some_and(|t| banned.contains(&t.as_str())) {
                problems.push(format!("{}: uses {}", file.display(), r.join("::")));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// Within every module, the files (child modules) depend on each other without a circle.
#[test]
fn no_import_circles_inside_a_module() {
    let c = read_crate();
    // Every module that has children: its children's dependency graph.
    let parents: BTreeSet<Vec<String>> = c
        .files
        .keys()
        .filter(|m| !m.is_empty())
        .map(|m| m[..m.len() - 1].to_vec())
        .collect();
    let mut circles = Vec::new();
    for parent in parents {
        let depth = parent.len();
        let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for (module, (_, refs)) in &c.files {
            if module.len() <= depth || module[..depth] != parent[..] {
                continue;
            }
            let from = module[depth].clone();
            for r in refs {
                if r.len() > depth && r[..depth] == parent[..] && r[depth] != from {
                    // Only references to a child module (a file), not to an item of the parent.
                    let to = &r[depth];
                    let is_child = c
                        .files
                        .keys()
                        .any(|m| m.len() > depth && m[..depth] == parent[..] && &m[depth] == to);
                    if is_child {
                        edges.entry(from.clone()).or_default().insert(to.clone());
                    }
                }
            }
        }
        // Depth-first search for a back edge.
        fn visit(
            n: &str,
            edges: &BTreeMap<String, BTreeSet<String>>,
            stack: &mut Vec<String>,
            done: &mut BTreeSet<String>,
            found: &mut Vec<String>,
        ) {
            if let Some(i) = stack.iter().position(|s| s == n) {
                found.push(stack[i..].join(" → ") + " → " + n);
                return;
            }
            if !done.insert(n.to_string()) {
                return;
            }
            stack.push(n.to_string());
            for m in edges.get(n).into_iter().flatten() {
                visit(m, edges, stack, done, found);
            }
            stack.pop();
        }
        let mut done = BTreeSet::new();
        for n in edges.keys() {
            let mut found = Vec::new();
            visit(n, &edges, &mut Vec::new(), &mut done, &mut found);
            for f in found {
                circles.push(format!("{}: {f}", parent.join("::")));
            }
        }
    }
    assert!(circles.is_empty(), "{circles:#?}");
}

#[test]
fn no_source_file_is_over_600_lines() {
    let c = read_crate();
    let long: Vec<String> = c
        .files
        .values()
        .filter_map(|(p, _)| {
            let n = std::fs::read_to_string(p).unwrap().lines().count();
            (n > 600).then(|| format!("{} ({n} lines)", p.display()))
        })
        .collect();
    assert!(long.is_empty(), "split these by concern: {long:?}");
}
