//! `scenarios/README.md` is the catalogue: every scenario is in it, every file it names
//! exists, every row of the article's tables has a scenario, and every troubleshooting
//! scenario shows the symptom and then the fix.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use writeback_sim::scenario::suite;

/// The article's rows that must each have a scenario — the three troubleshooting tables,
/// the device checklist, the licensing table, "When to Skip Writeback" and "What We
/// Built" — as the catalogue row starts, and the words by which a linked scenario's `case:`
/// names that row (quotes and case aside).
const ARTICLE_ROWS: &[(&str, &str)] = &[
    // Troubleshooting Writeback: Password / Device / Group Writeback Fails.
    (
        "“Password does not meet complexity requirements”",
        "Password does not meet complexity requirements",
    ),
    ("“Writeback timeout”", "Writeback timeout"),
    ("“Access denied”", "Access denied"),
    ("Device not in AD after sync", "Device not in AD after sync"),
    (
        "Export error “no-writeback-container”",
        "Export error no-writeback-container",
    ),
    (
        "Device shows in Entra but not on-prem",
        "Device shows in Entra but not on-prem",
    ),
    ("M365 group not in AD", "M365 group not in AD"),
    (
        "“Group writeback not enabled”",
        "Group writeback not enabled",
    ),
    (
        "Cloud Sync group not provisioned",
        "Cloud Sync group not provisioned",
    ),
    // Device Writeback, Step 4.
    (
        "Is the device registered in Entra ID?",
        "is the device registered in Entra ID?",
    ),
    (
        "Has a sync cycle completed since registration?",
        "Has a sync cycle completed since registration?",
    ),
    (
        "Check for device writeback errors",
        "Check for device writeback errors",
    ),
    // Writeback Licensing Summary.
    (
        "Password writeback — Entra ID P1 or P2",
        "Password writeback",
    ),
    ("Device writeback — Entra ID P1 or P2", "Device writeback"),
    (
        "Group writeback v1 (M365 groups) — Entra ID P1 or P2 + Exchange hybrid",
        "Group writeback v1 (M365 groups)",
    ),
    (
        "Group writeback Cloud Sync (security groups) — Entra ID P1 or P2",
        "Group writeback Cloud Sync (security groups)",
    ),
    (
        "Without at least P1 licenses",
        "Without at least P1 licenses",
    ),
    // When to Skip Writeback.
    (
        "No on-premises Exchange? Skip group writeback v1",
        "No on-premises Exchange? Skip group writeback v1",
    ),
    (
        "No Hybrid Entra Join planned? Skip device writeback",
        "No Hybrid Entra Join planned? Skip device writeback",
    ),
    (
        "Small lab with same admin passwords?",
        "Small lab with same admin passwords?",
    ),
    (
        "If unsure, enable password writeback and skip the others",
        "if unsure, enable password writeback and skip the others",
    ),
    // What We Built: the scenario is about that feature.
    ("Password writeback (SSPR)", "Password writeback"),
    (
        "Device writeback — registered devices appear in AD",
        "Device writeback",
    ),
    (
        "Group writeback v1 (M365 groups) — optional",
        "Group writeback v1",
    ),
    ("Group writeback Cloud Sync — optional", "Cloud Sync"),
];

fn scenarios_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scenarios")
}

fn catalogue() -> String {
    std::fs::read_to_string(scenarios_dir().join("README.md")).expect("scenarios/README.md")
}

/// The scenarios a catalogue line links.
fn links(line: &str) -> Vec<&str> {
    suite::yaml_links(line)
}

fn relative(path: &Path) -> String {
    path.strip_prefix(scenarios_dir())
        .unwrap()
        .to_string_lossy()
        .replace('\\', "/")
}

#[test]
fn every_scenario_is_in_the_catalogue_and_every_link_exists() {
    let text = catalogue();
    let linked: BTreeSet<&str> = text.lines().flat_map(links).collect();
    let missing_files: Vec<_> = linked
        .iter()
        .filter(|l| !scenarios_dir().join(l).is_file())
        .collect();
    assert!(
        missing_files.is_empty(),
        "scenarios/README.md names files that do not exist: {missing_files:?}"
    );
    let files = suite::discover(&scenarios_dir()).unwrap();
    assert!(
        files.len() > 50,
        "only {} scenario files found",
        files.len()
    );
    let unlisted: Vec<_> = files
        .iter()
        .map(|f| relative(f))
        .filter(|f| !linked.contains(f.as_str()))
        .collect();
    assert!(
        unlisted.is_empty(),
        "scenarios missing from scenarios/README.md: {unlisted:?}"
    );
}

/// Lower case, without quotes: how a row's words are looked for in a `case:`.
fn plain(text: &str) -> String {
    text.chars()
        .filter(|c| !matches!(c, '"' | '“' | '”'))
        .collect::<String>()
        .to_lowercase()
}

/// The scenarios a catalogue row links: its own and those of the rows under it that
/// continue it (`| | …`).
fn row_links(rows: &[&str], start: usize) -> Vec<String> {
    let mut out: Vec<String> = links(rows[start]).into_iter().map(String::from).collect();
    for row in &rows[start + 1..] {
        if !row.starts_with("| |") {
            break;
        }
        out.extend(links(row).into_iter().map(String::from));
    }
    out
}

#[test]
fn every_article_row_has_a_scenario_about_that_row() {
    let text = catalogue();
    let rows: Vec<&str> = text.lines().filter(|l| l.starts_with('|')).collect();
    let mut wrong = Vec::new();
    for (row_text, words) in ARTICLE_ROWS {
        let Some(start) = rows
            .iter()
            .position(|r| r.starts_with(&format!("| {row_text}")))
        else {
            wrong.push(format!("{row_text}: no row in scenarios/README.md"));
            continue;
        };
        let linked = row_links(&rows, start);
        if linked.is_empty() {
            wrong.push(format!("{row_text}: the row links no scenario"));
            continue;
        }
        let cases: Vec<String> = linked
            .iter()
            .filter_map(|l| {
                writeback_sim::scenario::runner::parse(&scenarios_dir().join(l))
                    .ok()?
                    .case
            })
            .collect();
        if !cases.iter().any(|c| plain(c).contains(&plain(words))) {
            wrong.push(format!(
                "{row_text}: no linked scenario's case names it ({words:?}); cases: {cases:?}"
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n"));
}

#[test]
fn troubleshooting_scenarios_show_the_symptom_then_the_fix() {
    let mut checked = 0;
    for file in suite::discover(&scenarios_dir()).unwrap() {
        let scenario = writeback_sim::scenario::runner::parse(&file).unwrap();
        if !scenario.tags.iter().any(|t| t == "troubleshooting") {
            continue;
        }
        checked += 1;
        let name = relative(&file);
        assert!(
            scenario.case.is_some(),
            "{name}: a troubleshooting scenario names its case"
        );
        let text = std::fs::read_to_string(&file).unwrap();
        let Some((symptom, fix)) = text.split_once("# The fix") else {
            panic!("{name}: no `# The fix` comment between the symptom and the fix");
        };
        let steps_before = symptom.lines().filter(|l| l.starts_with("  - ")).count();
        assert!(steps_before > 0, "{name}: no step shows the symptom");
        assert!(
            symptom.contains("expect"),
            "{name}: the symptom is not checked"
        );
        assert!(
            fix.lines().any(|l| l.starts_with("  - ")) && fix.contains("expect"),
            "{name}: the fix is not applied and checked"
        );
        let snap = file.parent().unwrap().join("snapshots").join(format!(
            "{}.snap",
            file.file_stem().unwrap().to_string_lossy()
        ));
        assert!(snap.is_file(), "{name}: no snapshot proves it");
    }
    assert!(checked >= 20, "only {checked} troubleshooting scenarios");
}

/// Determinism, proven on the whole catalogue: replayed once in file order one at a time,
/// then in a shuffled order four at a time, every report is byte-identical to the other
/// round and to the stored snapshot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_catalogue_replays_byte_identical_in_order_and_shuffled() {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let files = suite::discover(&scenarios_dir()).unwrap();
    let in_order = suite::replay(&files, 1).await;
    let mut order = files.clone();
    order.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(7));
    assert_ne!(order, files);
    let shuffled = suite::replay(&order, 4).await;
    assert_eq!(in_order.len(), files.len());
    for file in &files {
        let name = writeback_sim::scenario::runner::scenario_name(file, &scenarios_dir());
        let first = &in_order[&name];
        assert!(!first.starts_with("error:"), "{name}: {first}");
        assert_eq!(
            first, &shuffled[&name],
            "{name}: the shuffled round differs"
        );
        let stored = suite::stored_body(&suite::snapshot_file(file))
            .unwrap_or_else(|| panic!("{name}: no stored snapshot"));
        assert_eq!(
            first.trim_end(),
            stored.trim_end(),
            "{name}: differs from its stored snapshot"
        );
    }
}
