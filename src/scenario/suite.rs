//! A suite of scenario files: discovery under a directory, and the run-and-check that
//! `writeback-sim run` and `cargo test` share (insta: a mismatch or a new snapshot writes a
//! pending `.snap.new` for `cargo insta review`, except under CI; a new snapshot fails only
//! under CI).

use super::report::Report;
use super::runner;
use std::path::{Path, PathBuf};

/// Every `*.yaml` under `path` (or `path` itself), sorted, so runs are in a stable order.
pub fn discover(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if path.is_file() {
        return Ok(vec![path.to_path_buf()]);
    }
    let mut out = Vec::new();
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let p = entry.path();
            // A linked folder is not followed: a link back up the tree would never end.
            if entry.file_type()?.is_dir() {
                if p.file_name().is_some_and(|n| n != "snapshots") {
                    stack.push(p);
                }
            } else if p.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// The `(target)` of every markdown link in `line` that ends in `.yaml`: the scenarios a
/// catalogue index (`scenarios/README.md`) lists.
pub fn yaml_links(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .filter(|t| t.ends_with(".yaml"))
        .collect()
}

/// The files that are not in the catalogue index above them — the nearest `README.md` up
/// the tree, when it links scenarios — with that index (`cargo test` wants each listed).
pub fn unlisted(files: &[PathBuf]) -> Vec<(PathBuf, PathBuf)> {
    use std::collections::{BTreeSet, HashMap};
    let mut indexes: HashMap<PathBuf, Option<BTreeSet<String>>> = HashMap::new();
    let mut out = Vec::new();
    for file in files {
        let Ok(abs) = std::path::absolute(file) else {
            continue;
        };
        let Some(dir) = abs
            .ancestors()
            .skip(1)
            .find(|d| d.join("README.md").is_file())
        else {
            continue;
        };
        let listed = indexes.entry(dir.to_path_buf()).or_insert_with(|| {
            let text = std::fs::read_to_string(dir.join("README.md")).ok()?;
            let links: BTreeSet<String> = text
                .lines()
                .flat_map(yaml_links)
                .map(str::to_string)
                .collect();
            (!links.is_empty()).then_some(links)
        });
        let Some(listed) = listed else { continue };
        let relative = abs
            .strip_prefix(dir)
            .map(|r| r.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if !listed.contains(&relative) {
            out.push((file.clone(), dir.join("README.md")));
        }
    }
    out
}

/// The root scenario names are relative to: the nearest ancestor called `scenarios`.
pub fn root_of(file: &Path) -> PathBuf {
    file.ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "scenarios"))
        .map(Path::to_path_buf)
        .unwrap_or_else(|| file.parent().unwrap_or(Path::new(".")).to_path_buf())
}

/// The report as the snapshot's YAML. Loopback ports are picked by the OS at every run,
/// so `127.0.0.1:<port>` is shown as `127.0.0.1:PORT`.
pub fn render(report: &Report) -> String {
    let yaml = serde_saphyr::to_string(report)
        .unwrap_or_else(|e| format!("# report could not be rendered: {e}\n"));
    mask_ports(&yaml)
}

fn mask_ports(text: &str) -> String {
    const HOST: &str = "127.0.0.1:";
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find(HOST) {
        out.push_str(&rest[..i + HOST.len()]);
        rest = &rest[i + HOST.len()..];
        let digits = rest.chars().take_while(char::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("PORT");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

/// How a run treats snapshots.
#[derive(Debug, Clone, Copy, Default)]
pub struct SnapshotMode {
    /// `--ci` (or `CI=true` in the environment): a missing snapshot is a failure.
    pub ci: bool,
}

impl SnapshotMode {
    /// `--ci`, or a CI environment as insta recognises one (`CI` set and not false).
    pub fn ci(flag: bool) -> Self {
        let env = match std::env::var("CI").ok().as_deref() {
            Some("false" | "0" | "") => false,
            None => std::env::var("TF_BUILD").is_ok(),
            Some(_) => true,
        };
        Self { ci: flag || env }
    }
}

/// What the snapshot check found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SnapshotStatus {
    /// Identical to the stored snapshot.
    Matched,
    /// Written over the stored one (`INSTA_UPDATE=always`, `run --accept`).
    Accepted,
    /// No stored snapshot: written as pending `<name>.snap.new` for `cargo insta review`
    /// (insta writes none under CI). Fails under `--ci`.
    New { pending: PathBuf },
    /// Differs from the stored snapshot: a unified diff, stored (`-`) against this run (`+`).
    Changed { stored: PathBuf, diff: String },
}

/// One scenario file run to completion: expectations and snapshot.
#[derive(Debug, Clone)]
pub struct Checked {
    /// `password/sspr-reset-ok`.
    pub name: String,
    pub file: PathBuf,
    pub elapsed: std::time::Duration,
    pub seed: u64,
    /// The virtual time of the first step and after the last one.
    pub clock: Option<(String, String)>,
    /// The report as the snapshot holds it; `None` when the scenario could not run.
    pub rendered: Option<String>,
    pub failures: Vec<runner::Failure>,
    pub snapshot: Option<SnapshotStatus>,
    /// Why the scenario could not be read or set up.
    pub unusable: Option<String>,
    /// The run treated a missing snapshot as a failure.
    pub ci: bool,
    /// Passed as a known difference of the real DC it ran on (why).
    pub note: Option<String>,
    /// `run --compare`: the lines of the AD part that differ between the embedded AD and the
    /// DC (empty: the same); `None` when not compared.
    pub compared: Option<Vec<String>>,
}

/// How a checked scenario ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passed,
    /// Passed, but its snapshot is new and waits for review.
    Pending,
    Failed,
}

impl Checked {
    /// A scenario file before it has run: nothing checked yet.
    pub fn new(file: &Path, ci: bool) -> Self {
        Self {
            name: runner::scenario_name(file, &root_of(file)),
            file: file.to_path_buf(),
            elapsed: std::time::Duration::ZERO,
            seed: 0,
            clock: None,
            rendered: None,
            failures: Vec::new(),
            snapshot: None,
            unusable: None,
            ci,
            note: None,
            compared: None,
        }
    }

    pub fn verdict(&self) -> Verdict {
        let new = matches!(self.snapshot, Some(SnapshotStatus::New { .. }));
        if self.unusable.is_some()
            || !self.failures.is_empty()
            || matches!(self.snapshot, Some(SnapshotStatus::Changed { .. }))
            || (new && self.ci)
        {
            Verdict::Failed
        } else if new {
            Verdict::Pending
        } else {
            Verdict::Passed
        }
    }

    /// Every problem as one plain line (no colour, no diff body): for `cargo test`,
    /// JUnit messages and logs.
    pub fn problems(&self) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(e) = &self.unusable {
            out.push(e.clone());
        }
        out.extend(self.failures.iter().map(ToString::to_string));
        match &self.snapshot {
            Some(SnapshotStatus::Changed { stored, .. }) => out.push(format!(
                "snapshot {} does not match; {}",
                stored.display(),
                accept_hint(&self.name)
            )),
            Some(SnapshotStatus::New { .. }) if self.ci => out.push(ci_new_snapshot(&self.name)),
            _ => {}
        }
        out
    }
}

/// What a CI run says of a scenario without a stored snapshot, and what fixes it.
pub fn ci_new_snapshot(name: &str) -> String {
    format!("no stored snapshot, and a CI run does not accept new ones: `writeback-sim run --accept --filter {name}` writes and accepts it (or run it without --ci and review the pending file)")
}

/// The command that accepts a scenario's new snapshot.
pub fn accept_hint(name: &str) -> String {
    format!("accept it with `writeback-sim run --accept --filter {name}` (or `cargo insta review`)")
}

fn snapshot_paths(file: &Path) -> (PathBuf, PathBuf, String) {
    let file = std::path::absolute(file).unwrap_or_else(|_| file.to_path_buf());
    let dir = file.parent().unwrap_or(Path::new(".")).join("snapshots");
    let name = file
        .file_stem()
        .map(|s| s.to_string_lossy().to_string())
        .unwrap_or_default();
    (file, dir, name)
}

/// The stored snapshot of a scenario file: `snapshots/<file stem>.snap` beside it.
pub fn snapshot_file(scenario: &Path) -> PathBuf {
    let (_, dir, name) = snapshot_paths(scenario);
    dir.join(format!("{name}.snap"))
}

/// The body of a stored snapshot file (what follows insta's `---` header).
pub fn stored_body(path: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    let body = match text.strip_prefix("---\n") {
        Some(rest) => rest.split_once("\n---\n").map_or(rest, |(_, b)| b),
        None => &text,
    };
    Some(body.to_string())
}

/// A unified diff of two snapshot bodies, three lines of context.
pub fn diff(stored: &str, now: &str) -> String {
    similar::TextDiff::from_lines(stored.trim_end(), now.trim_end())
        .unified_diff()
        .context_radius(3)
        .header("stored", "this run")
        .to_string()
}

/// Compare `yaml` with `snapshots/<file stem>.snap` beside the scenario. insta does the
/// comparison and writes the files (`.snap.new` pending, or the `.snap` itself when
/// `INSTA_UPDATE=always`); this reads the result back as a [`SnapshotStatus`].
pub fn check_snapshot(file: &Path, summary: Option<&str>, yaml: &str) -> SnapshotStatus {
    let (file, dir, name) = snapshot_paths(file);
    let stored = dir.join(format!("{name}.snap"));
    let before = stored_body(&stored);
    let mut settings = insta::Settings::clone_current();
    settings.set_snapshot_path(&dir);
    settings.set_prepend_module_to_snapshot(false);
    settings.set_omit_expression(true);
    settings.set_input_file(&file);
    if let Some(s) = summary {
        settings.set_description(s);
    }
    let asserted = settings.bind(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            insta::assert_snapshot!(name.as_str(), yaml);
        }))
    });
    let same = |b: &str| b.trim_end() == yaml.trim_end();
    let pending = dir.join(format!("{name}.snap.new"));
    if asserted.is_ok() {
        // A pending file from an earlier run is out of date once the snapshot matches.
        let _ = std::fs::remove_file(&pending);
    }
    match (asserted, before) {
        (Ok(()), Some(b)) if !same(&b) => SnapshotStatus::Accepted,
        (Ok(()), None) => SnapshotStatus::Accepted,
        (Ok(()), Some(_)) => SnapshotStatus::Matched,
        (Err(_), None) => SnapshotStatus::New { pending },
        (Err(_), Some(b)) => SnapshotStatus::Changed {
            diff: diff(&b, yaml),
            stored,
        },
    }
}

/// Where the reports of runs on a real DC go (`target/dc-reports/password/…yaml`).
pub const DC_REPORTS: &str = "target/dc-reports";

/// Run one file to completion: expectations, then the snapshot. On a real DC
/// (`directory`) the stored snapshots (the embedded AD's) are not compared; with `compare`
/// the file runs on the embedded AD first (expectations and snapshot), then on the DC, and
/// the AD parts of the two reports are compared ([`super::compare`]).
pub async fn run_and_check(
    file: &Path,
    mode: SnapshotMode,
    directory: Option<&crate::world::external::DirectoryTarget>,
    compare: bool,
) -> Checked {
    let started = std::time::Instant::now();
    let root = root_of(file);
    let mut checked = Checked::new(file, mode.ci);
    let Some(dc) = directory else {
        let outcome = runner::run_on(file, &root, None).await;
        take(&mut checked, file, outcome, |c, yaml, report| {
            c.snapshot = Some(check_snapshot(file, report.summary.as_deref(), yaml));
        });
        checked.elapsed = started.elapsed();
        return checked;
    };
    let embedded = if compare {
        let outcome = runner::run_on(file, &root, None).await;
        let mut on_embedded = Checked::new(file, mode.ci);
        let mut report = None;
        take(&mut on_embedded, file, outcome, |c, yaml, r| {
            c.snapshot = Some(check_snapshot(file, r.summary.as_deref(), yaml));
            report = Some(r.clone());
        });
        Some((on_embedded, report))
    } else {
        None
    };
    let outcome = runner::run_on(file, &root, Some(dc)).await;
    let name = checked.name.clone();
    let outcome = outcome.map(|mut replayed| {
        let kind = replayed.dc_kind.clone().unwrap_or_else(|| "the DC".into());
        let lines = match &embedded {
            Some((_, Some(e))) => {
                let lines = super::compare::differing(e, &replayed.report, &kind);
                checked.compared = Some(lines.clone());
                lines
            }
            _ => Vec::new(),
        };
        if let Some(kind) = replayed.dc_kind.clone() {
            runner::judge_difference(&root, &kind, &name, &mut replayed, &lines);
        }
        replayed
    });
    take(&mut checked, file, outcome, |c, yaml, _| {
        // The report of the run on the real DC, to read beside the snapshot.
        let path = Path::new(DC_REPORTS).join(format!("{}.yaml", c.name));
        let written = path
            .parent()
            .map_or(Ok(()), std::fs::create_dir_all)
            .and_then(|()| std::fs::write(&path, yaml));
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "the report could not be written");
        }
    });
    if let Some((on_embedded, _)) = embedded {
        // What failed on the embedded AD fails here too, named as such.
        checked.snapshot = on_embedded.snapshot;
        if let Some(e) = on_embedded.unusable {
            checked
                .unusable
                .get_or_insert(format!("on the embedded AD: {e}"));
        }
        let mut failures: Vec<runner::Failure> = on_embedded
            .failures
            .into_iter()
            .map(|mut f| {
                f.action = format!("{} (embedded AD)", f.action);
                f
            })
            .collect();
        failures.append(&mut checked.failures);
        checked.failures = failures;
    }
    checked.elapsed = started.elapsed();
    checked
}

/// Fill `checked` from one run's outcome; `report` sees the rendered report.
fn take(
    checked: &mut Checked,
    file: &Path,
    outcome: Result<runner::Replayed, runner::ScenarioError>,
    mut report: impl FnMut(&mut Checked, &str, &Report),
) {
    match outcome {
        Ok(outcome) => {
            let yaml = render(&outcome.report);
            report(checked, &yaml, &outcome.report);
            checked.seed = outcome.report.seed;
            checked.clock = Some(outcome.clock);
            checked.failures = outcome.failures;
            checked.note = outcome.known_difference;
            checked.rendered = Some(yaml);
        }
        Err(e) => {
            // The file's own seed, when it reads, so that the failure names it.
            if let Ok(s) = runner::parse(file) {
                checked.seed = s.seed;
            }
            checked.unusable = Some(e.to_string());
        }
    }
}

/// Run `files` and return each one's report as the snapshot holds it, by scenario name,
/// `jobs` at a time, in the order given: the determinism check behind `run --repeat` and
/// the catalogue test. A file that cannot run maps to its error.
pub async fn replay(files: &[PathBuf], jobs: usize) -> std::collections::BTreeMap<String, String> {
    use futures::StreamExt;
    futures::stream::iter(files.iter().cloned())
        .map(|f| async move {
            let root = root_of(&f);
            let name = runner::scenario_name(&f, &root);
            let text = match tokio::spawn(async move { runner::run(&f, &root).await }).await {
                Ok(Ok(o)) => render(&o.report),
                Ok(Err(e)) => format!("error: {e}"),
                Err(e) => format!("error: the scenario panicked: {e}"),
            };
            (name, text)
        })
        .buffer_unordered(jobs.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    #[test]
    fn loopback_ports_are_masked() {
        assert_eq!(
            super::mask_ports("ldaps://127.0.0.1:46607: eof, 127.0.0.1:"),
            "ldaps://127.0.0.1:PORT: eof, 127.0.0.1:"
        );
    }
}
