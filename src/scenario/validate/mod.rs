//! `writeback-sim validate`: every problem in a scenario file at once, each with its
//! file:line:col and a hint, rendered by miette.
//!
//! The file is read into a tree that keeps where each node is (granit-parser, the YAML
//! parser under serde-saphyr), checked against the format's JSON Schema (the one
//! `writeback-sim schema` prints, so the two cannot drift apart), and then for what a
//! schema cannot say: a step naming a user, device or group the world does not have, a
//! malformed DN or LDAP filter, a DN the world will not hold or outside the forest, a
//! password where a reference belongs. Whatever serde
//! itself refuses is reported too, so a file that validates also loads.
//!
//! - `tree`: the YAML position tree; `schema`: the JSON Schema check;
//!   `references`: names the world does not define; `dns`: DNs resolved against the world
//!   it builds; `render`: miette output.

mod dns;
mod references;
mod render;
mod schema;
mod tree;

pub use render::render;

use super::model;
use tree::{Lines, Place};

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

/// Each step's index, action key and body (the `expect` beside it left out).
fn step_actions(steps: &[tree::Node]) -> impl Iterator<Item = (usize, &str, &tree::Node)> {
    steps.iter().enumerate().filter_map(|(i, s)| {
        let (action, body) = s
            .entries()
            .iter()
            .find(|(k, _)| k.text() != Some("expect"))?;
        Some((i, action.text().unwrap_or_default(), body))
    })
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

/// Every problem in a scenario file's text, in file order.
pub fn check(text: &str) -> Vec<Problem> {
    check_in(text, None)
}

/// [`check`] for a file in `dir`, whose `ldif:` files are read from there so that the
/// DNs it names are resolved against everything the world will hold.
pub fn check_in(text: &str, dir: Option<&std::path::Path>) -> Vec<Problem> {
    let root = match tree::tree(text) {
        Ok(Some(root)) => root,
        Ok(None) => return Vec::new(),
        Err(p) => return vec![p],
    };
    // The schema is made once per process (`validate` checks file after file).
    static SCHEMA: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    let schema = SCHEMA.get_or_init(model::json_schema);
    let checker = schema::Schema { root: schema };
    let mut problems = checker.check(&root, schema, "");
    problems.extend(references::references(&root));
    problems.extend(dns::dns(&root, dir));
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    fn messages(text: &str) -> Vec<(usize, usize, String, Option<String>)> {
        check(text)
            .into_iter()
            .map(|p| (p.line, p.column, p.message, p.help))
            .collect()
    }

    #[test]
    fn dns_are_resolved_against_the_world_the_file_builds() {
        let text = r#"world:
  directory:
    entries:
      - { dn: "OU=IT,DC=gntech,DC=me", objectClass: organizationalUnit }
      - { dn: "OU=Staff,DC=gntech,DC=me", objectClass: organizationalUnit }
steps:
  - grant: { right: reset_password, on: "OU=ITT,DC=gntech,DC=me" }
  - expect_ad: { base: "OU=Staff,DC=gntech,DC=com", filter: "(cn=x)", count: 0 }
  - block_inheritance: { on: "DC=gntech.DC=me" }
  - expect_ad: { dn: "CN=PC1,CN=Registered Devices,DC=gntech,DC=me" }
  - ad: { add: { dn: "OU=New,DC=gntech,DC=me", objectClass: organizationalUnit } }
  - grant: { right: reset_password, on: "OU=New,DC=gntech,DC=me" }
  - expect_ad: { dn: "CN=PC1,CN=RegisteredDevices,DC=gntech,DC=me" }
  - expect_ad: { dn: "CN=Gone,OU=Nowhere,DC=gntech,DC=me", exists: false }
  - grant: { right: reset_password, on: "CN=Users,DC=gntech,DC=me" }
"#;
        let got = messages(text);
        let on = |line: usize| got.iter().find(|m| m.0 == line).cloned();
        let grant = on(7).expect("the grant on a missing OU");
        assert!(
            grant.2.contains("`OU=ITT,DC=gntech,DC=me` does not exist"),
            "{grant:?}"
        );
        assert_eq!(
            grant.3.as_deref(),
            Some("the nearest existing DN is `OU=IT,DC=gntech,DC=me`")
        );
        assert!(on(8)
            .unwrap()
            .2
            .contains("outside the forest (DC=gntech,DC=me)"));
        assert!(on(9).unwrap().2.contains("outside the forest"), "{got:#?}");
        let device = on(10).unwrap();
        assert!(
            device.2.contains("has no parent in this world"),
            "{device:?}"
        );
        assert_eq!(
            device.3.as_deref(),
            Some("the nearest existing DN is `CN=RegisteredDevices,DC=gntech,DC=me`")
        );
        // What a step adds, the wizard makes, the DC provisions or a check says is absent:
        // nothing to say.
        for line in 11..=15 {
            assert!(on(line).is_none(), "line {line}: {got:#?}");
        }
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
