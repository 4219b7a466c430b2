//! `writeback-sim new AREA/NAME [--from CASE]`: a commented starting scenario, or a copy
//! of an existing one to change, written where `run` finds it. Never overwrites.

use super::Outcome;
use anyhow::Context;
use std::path::{Path, PathBuf};
use writeback_sim::scenario::{runner, suite};

/// `../` once per directory between the new file and `scenarios/`'s parent.
fn up(depth: usize) -> String {
    "../".repeat(depth)
}

fn template(name: &str, area: &str, depth: usize) -> String {
    format!(
        r#"# yaml-language-server: $schema={schema}scenario.schema.json
# {name}: written by `writeback-sim new`. Replace the TODOs, then
#   writeback-sim validate scenarios/{name}.yaml      every problem, with hints
#   writeback-sim show scenarios/{name}.yaml          what happened, step by step
#   writeback-sim run --filter {name}                 checks it; the first run writes the snapshot as pending
#   writeback-sim run --accept --filter {name}        stores the snapshot (review it with git diff)
# and add a row for it to scenarios/README.md (the catalogue test asks for one).
summary: TODO - what happens, in a sentence or two an admin would understand.
case: "TODO - the article's row this replays (see scenarios/README.md)"
tags: [{area}]

# The world starts as the article ends ("What We Built"): Entra ID P1, SSPR for all with
# writeback, password writeback and device writeback on. State only what differs.
world:
  tenant:
    users:
      - {{ upn: alice@gntech.me, synced_from: "CN=Alice Smith,OU=Staff,DC=gntech,DC=me" }}
    # devices:
    #   - {{ name: LAPTOP-01, owner: alice@gntech.me, os: Windows, trust_type: ServerAd }}
    # groups:
    #   - {{ name: Marketing, type: m365, members: [alice@gntech.me], writeback: true }}
  directory:
    ldif: [{fixtures}fixtures/gntech.me.ldif]
  # engine:
  #   device_writeback: false
  #   group_writeback_v1: {{ ou: "OU=M365 Groups,DC=gntech,DC=me" }}

steps:
  # The symptom: what the user or the admin does, and what they see.
  - sspr_reset: {{ user: alice@gntech.me, new_password: "Summer#2026x" }}
    expect: {{ outcome: ok }}
  # The fix (for a troubleshooting case), then the check that proves it.
  - expect_ad:
      dn: "CN=Alice Smith,OU=Staff,DC=gntech,DC=me"
      attributes: {{ pwdLastSet: changed }}
"#,
        schema = up(depth - 1),
        fixtures = up(depth),
    )
}

/// The existing scenario `case` names: a path, or a name under `dir`.
fn source_of(case: &str, dir: &Path) -> anyhow::Result<PathBuf> {
    let as_path = PathBuf::from(case);
    if as_path.is_file() {
        return Ok(as_path);
    }
    let named = dir.join(format!("{case}.yaml"));
    if named.is_file() {
        return Ok(named);
    }
    let all = suite::discover(dir).unwrap_or_default();
    let names: Vec<String> = all.iter().map(|f| runner::scenario_name(f, dir)).collect();
    let hint = writeback_sim::scenario::validate::closest(case, names.iter().map(String::as_str))
        .map(|c| format!(" (did you mean {c}?)"))
        .unwrap_or_default();
    anyhow::bail!("no scenario {case} under {}{hint}", dir.display())
}

pub fn new(name: &str, from: Option<&str>, dir: &Path) -> anyhow::Result<Outcome> {
    let name = name.trim_end_matches(".yaml").trim_matches('/');
    let parts: Vec<&str> = name.split('/').collect();
    let valid = |p: &str| {
        !p.is_empty()
            && p != ".."
            && p.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    };
    if parts.len() < 2 || !parts.iter().all(|p| valid(p)) {
        println!(
            "`{name}` is not AREA/NAME: write it like password/my-case (letters, digits, - and _)"
        );
        return Ok(Outcome::Invalid);
    }
    let file = dir.join(format!("{name}.yaml"));
    if file.exists() {
        println!(
            "{} exists already; choose another name or edit it",
            file.display()
        );
        return Ok(Outcome::Invalid);
    }
    let text = match from {
        None => template(name, parts[0], parts.len()),
        Some(case) => {
            let source = source_of(case, dir)?;
            let original = std::fs::read_to_string(&source)
                .with_context(|| format!("reading {}", source.display()))?;
            let from_name = runner::scenario_name(&source, &suite::root_of(&source));
            let body: String = original
                .lines()
                .filter(|l| !l.starts_with("# yaml-language-server:"))
                .map(|l| format!("{l}\n"))
                .collect();
            format!(
                "# yaml-language-server: $schema={}scenario.schema.json\n# {name}: started from {from_name} by `writeback-sim new --from`. Change what differs,\n# update the summary, and add a row to scenarios/README.md.\n{body}",
                up(parts.len() - 1)
            )
        }
    };
    if let Some(parent) = file.parent() {
        std::fs::create_dir_all(parent)
            .with_context(|| format!("creating {}", parent.display()))?;
    }
    std::fs::write(&file, text).with_context(|| format!("writing {}", file.display()))?;
    println!("wrote {}", file.display());
    println!("next: writeback-sim validate {}", file.display());
    Ok(Outcome::Ok)
}
