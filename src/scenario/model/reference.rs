//! The format's reference as Markdown (`writeback-sim schema --markdown`,
//! `docs/scenario-format.md`), generated from the same JSON Schema `validate` checks files
//! against, so the reference cannot drift from the format: every top-level key, every
//! action with its fields and an example, every type. The examples are steps written here
//! and parsed by the tests, which also require each of an action's fields to appear in its
//! example.

use serde_json::Value;
use std::fmt::Write as _;

/// One example step per action (a YAML list item), each using every field its action takes.
pub const EXAMPLES: &[(&str, &str)] = &[
    (
        "sspr_reset",
        r#"- sspr_reset: { user: alice@gntech.me, new_password: "Summer#2026x" }
  expect: { outcome: rejected, error: "SSPR_0010" }"#,
    ),
    (
        "change_password",
        r#"- change_password: { user: alice@gntech.me, old_password: "Initial#Pass2026", new_password: "Summer#2026x" }"#,
    ),
    (
        "admin_reset",
        r#"- admin_reset: { user: alice@gntech.me, new_password: "Summer#2026x", force_change_at_next_logon: true }"#,
    ),
    (
        "sign_in",
        r#"- sign_in: { user: alice@gntech.me, password: "Summer#2026x" }
  expect: { outcome: failed, error: "data 773" }"#,
    ),
    ("sspr_unlock", r#"- sspr_unlock: { user: alice@gntech.me }"#),
    (
        "register_device",
        r#"- register_device:
    name: LAPTOP-042
    owner: alice@gntech.me
    os: Windows
    os_version: "10.0.22631"
    trust_type: AzureAd
    enabled: true
    whfb: true"#,
    ),
    (
        "update_device",
        r#"- update_device: { name: LAPTOP-042, enabled: false, display_name: LAPTOP-042-OLD, owner: bob@gntech.me }"#,
    ),
    ("delete_device", r#"- delete_device: { name: LAPTOP-042 }"#),
    (
        "create_group",
        r#"- create_group:
    name: Project X
    type: m365
    members: [alice@gntech.me, bob@gntech.me]
    writeback: true
    on_prem_group_type: universalSecurityGroup"#,
    ),
    (
        "update_group",
        r#"- update_group:
    name: Project X
    add_members: [carol@gntech.me]
    remove_members: [bob@gntech.me]
    writeback: true
    display_name: Project X (2027)
    on_prem_group_type: universalDistributionGroup"#,
    ),
    ("delete_group", r#"- delete_group: { name: Project X }"#),
    (
        "tenant",
        r#"- tenant:
    license: P1
    sspr: { enabled: selected, selected_group: SSPR Users, writeback: true, unlock_option: true }
    exchange_hybrid: true
    group_writeback_default: false"#,
    ),
    (
        "configure",
        r#"- configure:
    password_writeback: true
    device_writeback: { forest: gntech.me, container: "CN=RegisteredDevices,DC=gntech,DC=me", prepare: true }
    group_writeback_v1: { ou: "OU=M365 Groups,DC=gntech,DC=me", naming: display_name }
    group_writeback_v2: false
    cloud_sync: false"#,
    ),
    ("sync", r#"- sync: delta"#),
    (
        "ad",
        r#"- ad:
    add: { dn: "OU=Contractors,DC=gntech,DC=me", objectClass: organizationalUnit }
- ad:
    modify: { dn: "DC=gntech,DC=me", replace: { minPwdLength: "12" }, add: { description: "lab" }, delete: { description: "lab" } }
- ad:
    delete: "OU=Contractors,DC=gntech,DC=me""#,
    ),
    (
        "grant",
        r#"- grant: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me", to: "CN=Helpdesk,OU=Groups,DC=gntech,DC=me" }"#,
    ),
    (
        "deny",
        r#"- deny: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me", to: "CN=Helpdesk,OU=Groups,DC=gntech,DC=me" }"#,
    ),
    (
        "revoke",
        r#"- revoke: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me", to: "CN=Helpdesk,OU=Groups,DC=gntech,DC=me" }"#,
    ),
    (
        "block_inheritance",
        r#"- block_inheritance: { on: "OU=Staff,DC=gntech,DC=me" }"#,
    ),
    (
        "restore_inheritance",
        r#"- restore_inheritance: { on: "OU=Staff,DC=gntech,DC=me" }"#,
    ),
    ("restart_engine", r#"- restart_engine: {}"#),
    (
        "fault",
        r#"- fault:
    relay: { latency: 90s, down: false, drop_listener: false }
    ldap: { latency: 2s, down: false, reset_connections: true }
    graph: { throttle: { requests: 3, retry_after: 30s }, status: 503, latency: 1s, empty_pages: false }"#,
    ),
    ("clear_faults", r#"- clear_faults: {}"#),
    ("advance", r#"- advance: 30m"#),
    (
        "expect_ad",
        r#"- expect_ad:
    dn: "CN=Alice Smith,OU=Staff,DC=gntech,DC=me"
    exists: true
    attributes: { pwdLastSet: changed, department: Finance }
- expect_ad:
    base: "OU=M365 Groups,DC=gntech,DC=me"
    filter: "(displayName=Project X)"
    count: 1"#,
    ),
    (
        "expect_run",
        r#"- expect_run:
    profile: export
    status: completed-export-errors
    adds: 0
    updates: 1
    deletes: 0
    errors: [{ type: no-writeback-container, dn: "CN=LAPTOP-042,CN=RegisteredDevices,DC=gntech,DC=me" }]"#,
    ),
    (
        "expect_features",
        r#"- expect_features: { PasswordWriteback: Enabled, DeviceWriteback: Disabled }"#,
    ),
];

fn anchor(name: &str) -> String {
    name.to_ascii_lowercase()
}

/// A schema node as a reader would say its type.
fn type_of(v: &Value) -> String {
    if let Some(r) = v.get("$ref").and_then(Value::as_str) {
        let name = r.rsplit('/').next().unwrap_or(r);
        // Steps have a section of their own rather than a type entry.
        let target = if name == "Step" {
            "steps".into()
        } else {
            anchor(name)
        };
        return format!("[{name}](#{target})");
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(options) = v.get(key).and_then(Value::as_array) {
            let shown: Vec<String> = options
                .iter()
                .filter(|o| o.get("type").and_then(Value::as_str) != Some("null"))
                .map(type_of)
                .collect();
            return shown.join(" or ");
        }
    }
    if let Some(values) = v.get("enum").and_then(Value::as_array) {
        return values
            .iter()
            .map(|x| format!("`{}`", x.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join(" \\| ");
    }
    let types: Vec<&str> = match v.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts
            .iter()
            .filter_map(Value::as_str)
            .filter(|t| *t != "null")
            .collect(),
        _ => vec![],
    };
    let shown: Vec<String> = types
        .iter()
        .map(|t| match *t {
            "array" => format!(
                "list of {}",
                v.get("items")
                    .map(type_of)
                    .unwrap_or_else(|| "values".into())
            ),
            "object" => match v.get("additionalProperties") {
                Some(Value::Object(_)) => {
                    format!("map of name → {}", type_of(&v["additionalProperties"]))
                }
                _ => "map".into(),
            },
            "string" => match v.get("format").and_then(Value::as_str) {
                Some("distinguished-name") => "DN".into(),
                Some("duration") => "duration".into(),
                _ => "text".into(),
            },
            "integer" => "number".into(),
            "boolean" => "`true` \\| `false`".into(),
            other => other.into(),
        })
        .collect();
    if shown.is_empty() {
        "any".into()
    } else {
        shown.join(" or ")
    }
}

fn cell(text: &str) -> String {
    text.replace('\n', " ").replace('|', "\\|")
}

/// The fields of an object schema as a table; nothing for other schemas.
fn fields(out: &mut String, v: &Value) {
    let Some(props) = v.get("properties").and_then(Value::as_object) else {
        return;
    };
    let required: Vec<&str> = v
        .get("required")
        .and_then(Value::as_array)
        .map(|r| r.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    out.push_str("\n| field | type | required | meaning |\n|---|---|---|---|\n");
    for (name, p) in props {
        let mut meaning = p
            .get("description")
            .and_then(Value::as_str)
            .map(cell)
            .unwrap_or_default();
        if let Some(d) = p.get("default") {
            if !meaning.is_empty() {
                meaning.push(' ');
            }
            meaning.push_str(&format!("Default `{}`.", d));
        }
        let _ = writeln!(
            out,
            "| `{name}` | {} | {} | {meaning} |",
            type_of(p),
            if required.contains(&name.as_str()) {
                "yes"
            } else {
                ""
            }
        );
    }
}

/// The reference, from the format's JSON Schema.
pub fn markdown() -> String {
    let schema = super::json_schema();
    let defs = schema["$defs"].as_object().cloned().unwrap_or_default();
    let mut out = String::from(
        "# Scenario format reference\n\n\
         Generated by `writeback-sim schema --markdown` from the JSON Schema that `validate`\n\
         checks scenario files against (`scenarios/scenario.schema.json`); `cargo test` fails\n\
         when this file is not what the command prints. The prose guide is\n\
         `../shared/SCENARIO-FORMAT.md`; the catalogue in `scenarios/` shows every action in use.\n\n\
         ## The file\n",
    );
    fields(&mut out, &schema);
    out.push_str(
        "\n## Steps\n\nA step is a map with exactly one action key and, optionally, `expect` \
         ([Expect](#expect)): what a person's step (a reset, a change, a sign-in) should end \
         with. Any other step that fails stops the scenario as not run as written.\n",
    );
    let branches = defs
        .get("Step")
        .and_then(|s| s.get("oneOf"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    for b in &branches {
        let Some(action) = b.get("title").and_then(Value::as_str) else {
            continue;
        };
        let _ = writeln!(
            out,
            "\n### `{action}`\n\n{}\n\nTakes: {}.",
            b.get("description").and_then(Value::as_str).unwrap_or(""),
            type_of(&b["properties"][action])
        );
        if let Some(name) = b["properties"][action]
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|r| r.rsplit('/').next())
        {
            if let Some(def) = defs.get(name) {
                fields(&mut out, def);
            }
        }
        for (_, example) in EXAMPLES.iter().filter(|(a, _)| *a == action) {
            let _ = writeln!(out, "\n```yaml\n{example}\n```");
        }
    }
    out.push_str("\n## Types\n");
    for (name, def) in &defs {
        if name == "Step" {
            continue;
        }
        let _ = writeln!(out, "\n### {name}\n");
        if let Some(d) = def.get("description").and_then(Value::as_str) {
            let _ = writeln!(out, "{d}\n");
        }
        if def.get("properties").is_some() {
            fields(&mut out, def);
        } else {
            let _ = writeln!(out, "{}.", type_of(def));
            if let Some(ex) = def.get("examples").and_then(Value::as_array) {
                let shown: Vec<String> = ex
                    .iter()
                    .map(|e| format!("`{}`", e.as_str().unwrap_or_default()))
                    .collect();
                let _ = writeln!(out, "\nFor example {}.", shown.join(", "));
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::super::steps::{Step, ACTIONS};
    use super::*;

    #[test]
    fn every_action_has_an_example_that_parses_and_uses_each_of_its_fields() {
        let schema = super::super::json_schema();
        let defs = &schema["$defs"];
        let mut missing = Vec::new();
        for action in ACTIONS.iter().filter(|a| **a != "expect") {
            let examples: Vec<&str> = EXAMPLES
                .iter()
                .filter(|(a, _)| a == action)
                .map(|(_, e)| *e)
                .collect();
            if examples.is_empty() {
                missing.push(format!("{action}: no example"));
                continue;
            }
            for e in &examples {
                let steps: Vec<Step> = serde_saphyr::from_str(e).unwrap_or_else(|err| {
                    panic!("the example of {action} does not parse: {err}\n{e}")
                });
                assert!(
                    steps.iter().all(|s| s.action.name() == *action),
                    "{action}: {e}"
                );
            }
            let branch = defs["Step"]["oneOf"]
                .as_array()
                .unwrap()
                .iter()
                .find(|b| b["title"] == *action)
                .unwrap_or_else(|| panic!("{action} is not in the schema"));
            let def = branch["properties"][*action]["$ref"]
                .as_str()
                .and_then(|r| r.rsplit('/').next())
                .and_then(|n| defs.get(n));
            let fields = def
                .and_then(|d| d.get("properties"))
                .and_then(Value::as_object);
            for field in fields.into_iter().flat_map(|f| f.keys()) {
                if !examples.iter().any(|e| e.contains(&format!("{field}:"))) {
                    missing.push(format!("{action}: the example does not use `{field}`"));
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn every_example_validates_in_a_world_that_has_what_it_names() {
        // Parsing is not enough: a value the run refuses (a group type, an error's key)
        // must be caught here, as `validate` would catch it in a newcomer's file.
        let world = r#"world:
  tenant:
    users:
      - { upn: alice@gntech.me, synced_from: "CN=Alice Smith,OU=Staff,DC=gntech,DC=me" }
      - { upn: bob@gntech.me, synced_from: "CN=Bob Jones,OU=Staff,DC=gntech,DC=me" }
      - { upn: carol@gntech.me, synced_from: "CN=Carol White,OU=Staff,DC=gntech,DC=me" }
    devices:
      - { name: LAPTOP-042, owner: alice@gntech.me }
    groups:
      - { name: Project X, members: [alice@gntech.me, bob@gntech.me] }
      - { name: SSPR Users, type: security, members: [alice@gntech.me] }
  directory:
    ldif: [fixtures/gntech.me.ldif]
    entries:
      - { dn: "CN=Helpdesk,OU=Groups,DC=gntech,DC=me", objectClass: group }
  engine:
    group_writeback_v1: { ou: "OU=M365 Groups,DC=gntech,DC=me" }
steps:
"#;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut wrong = Vec::new();
        for (action, example) in EXAMPLES {
            let steps: String = example.lines().map(|l| format!("  {l}\n")).collect();
            let text = format!("{world}{steps}");
            for p in crate::scenario::validate::check_in(&text, Some(dir)) {
                wrong.push(format!("{action}: {} ({:?})", p.message, p.help));
            }
        }
        assert!(wrong.is_empty(), "{}", wrong.join("\n"));
    }

    #[test]
    fn every_field_says_what_it_means() {
        // A newcomer writes a scenario from this reference alone: a field with a name and
        // a type but no meaning sends them to the source.
        let schema = super::super::json_schema();
        let mut bare = Vec::new();
        let look = |bare: &mut Vec<String>, owner: &str, v: &Value| {
            for (name, p) in v
                .get("properties")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if p.get("description").and_then(Value::as_str).is_none() && owner != "Step" {
                    bare.push(format!("{owner}.{name}"));
                }
            }
        };
        look(&mut bare, "the file", &schema);
        for (name, def) in schema["$defs"].as_object().unwrap() {
            look(&mut bare, name, def);
            if def.get("properties").is_none() && def.get("description").is_none() {
                bare.push(format!("{name} (the type)"));
            }
        }
        assert!(
            bare.is_empty(),
            "no meaning given for:\n{}",
            bare.join("\n")
        );
    }

    #[test]
    fn the_committed_reference_is_what_the_command_prints() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/scenario-format.md");
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            committed == markdown(),
            "{} is out of date: run `writeback-sim schema --markdown > docs/scenario-format.md`",
            path.display()
        );
    }

    #[test]
    fn the_reference_names_every_action_and_every_type() {
        let md = markdown();
        for action in ACTIONS.iter().filter(|a| **a != "expect") {
            assert!(md.contains(&format!("\n### `{action}`\n")), "{action}");
        }
        let schema = super::super::json_schema();
        for name in schema["$defs"].as_object().unwrap().keys() {
            assert!(
                name == "Step" || md.contains(&format!("\n### {name}\n")),
                "{name}"
            );
        }
        assert!(md.contains("| `on` | DN | yes |"), "{md}");
    }
}
