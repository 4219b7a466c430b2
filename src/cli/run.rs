//! `writeback-sim run`: scenarios `--jobs` at a time, a progress bar on a terminal and
//! one plain line per scenario otherwise, readable failures (the step, expected against
//! got, the seed and the virtual time; a coloured snapshot diff and the command that
//! accepts it), a closing `N passed, N failed`, `--junit FILE`, and `--repeat N` to prove
//! the results do not depend on order or timing.

use super::Outcome;
use anyhow::Context;
use futures::StreamExt;
use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;
use writeback_sim::scenario::suite::{self, Checked, SnapshotMode, SnapshotStatus, Verdict};

/// What `run` was asked for, beyond the files.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub jobs: usize,
    pub junit: Option<PathBuf>,
    pub mode: SnapshotMode,
    pub repeat: u32,
    /// Colours and a progress bar (stdout is a terminal and `NO_COLOR` is not set).
    pub fancy: bool,
    /// A real DC to run the scenarios on instead of the embedded AD (one at a time).
    pub directory: Option<writeback_sim::world::external::DirectoryTarget>,
    /// `--compare`: each scenario on the embedded AD too, the AD parts compared.
    pub compare: bool,
    /// `--timeout`: a scenario still running after this long (wall clock) is stopped and
    /// reported as not finished.
    pub timeout: Option<std::time::Duration>,
}

impl RunOptions {
    /// `jobs` 0 means one per core.
    pub fn new(jobs: usize, junit: Option<PathBuf>, ci: bool, repeat: u32) -> Self {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        Self {
            jobs: if jobs == 0 { cores } else { jobs },
            junit,
            mode: SnapshotMode::ci(ci),
            repeat: repeat.max(1),
            fancy: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
            directory: None,
            compare: false,
            timeout: None,
        }
    }
}

/// Styles for the terminal, or none at all.
struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: anstyle::Style, text: &str) -> String {
        if self.on {
            format!("{}{text}{}", style.render(), style.render_reset())
        } else {
            text.to_string()
        }
    }
    fn red(&self, t: &str) -> String {
        self.paint(anstyle::AnsiColor::Red.on_default(), t)
    }
    fn green(&self, t: &str) -> String {
        self.paint(anstyle::AnsiColor::Green.on_default(), t)
    }
    fn yellow(&self, t: &str) -> String {
        self.paint(anstyle::AnsiColor::Yellow.on_default(), t)
    }
    fn dim(&self, t: &str) -> String {
        self.paint(anstyle::Style::new().dimmed(), t)
    }
    fn bold(&self, t: &str) -> String {
        self.paint(anstyle::Style::new().bold(), t)
    }
}

/// Where finished lines go: above the progress bar, or straight to stdout.
struct Out {
    bar: Option<indicatif::ProgressBar>,
}

impl Out {
    fn new(total: usize, fancy: bool) -> Self {
        let bar = fancy.then(|| {
            let bar = indicatif::ProgressBar::new(total as u64);
            bar.set_style(
                indicatif::ProgressStyle::with_template(
                    "{bar:30.cyan/blue} {pos}/{len} {elapsed_precise} {wide_msg}",
                )
                // The template is a constant that parses; a bad one would be a bug here.
                .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            bar
        });
        Self { bar }
    }
    fn line(&self, text: &str) {
        match &self.bar {
            Some(b) => b.println(text),
            None => println!("{text}"),
        }
    }
    fn tick(&self, name: &str) {
        if let Some(b) = &self.bar {
            b.inc(1);
            b.set_message(name.to_string());
        }
    }
    fn finish(&self) {
        if let Some(b) = &self.bar {
            b.finish_and_clear();
        }
    }
}

/// The lines that explain one scenario's result; empty details for a pass.
fn describe(c: &Checked, paint: &Paint) -> Vec<String> {
    let mut out = outcome_lines(c, paint);
    match c.compared.as_deref() {
        Some([]) => out.push(format!("       AD: {}", paint.green("same"))),
        Some(lines) => {
            let known = if c.note.is_some() {
                " (known, listed)"
            } else {
                ""
            };
            out.push(format!("       AD differs{known}:"));
            for l in lines {
                let l = if l.starts_with('+') {
                    paint.yellow(l)
                } else {
                    paint.dim(l)
                };
                out.push(format!("         {l}"));
            }
        }
        None => {}
    }
    out
}

/// [`describe`] without the comparison.
fn outcome_lines(c: &Checked, paint: &Paint) -> Vec<String> {
    let ms = c.elapsed.as_millis();
    let mut out = Vec::new();
    match c.verdict() {
        Verdict::Passed if c.snapshot == Some(SnapshotStatus::Accepted) => out.push(format!(
            "{} {} ({ms} ms): snapshot written",
            paint.yellow("accepted"),
            c.name
        )),
        Verdict::Passed => match &c.note {
            Some(note) => out.push(format!(
                "{}     {} ({ms} ms): {note}",
                paint.green("ok"),
                c.name
            )),
            None => out.push(format!("{}     {} ({ms} ms)", paint.green("ok"), c.name)),
        },
        Verdict::Pending => out.push(format!(
            "{} {} ({ms} ms): new snapshot written as pending: {}",
            paint.yellow("pending"),
            c.name,
            suite::accept_hint(&c.name)
        )),
        Verdict::Failed => {
            out.push(format!(
                "{} {} ({ms} ms)",
                paint.red("FAILED"),
                paint.bold(&c.name)
            ));
            let clock = c
                .clock
                .as_ref()
                .map(|(a, b)| format!(", virtual time {a} → {b}"))
                .unwrap_or_default();
            out.push(paint.dim(&format!(
                "       {} · seed {}{clock}",
                c.file.display(),
                c.seed
            )));
            if let Some(e) = &c.unusable {
                out.push(format!("       {e}"));
                // Point to `validate` only when it has something to say about the file:
                // a failure that can only show at run time is its own explanation.
                let validate_finds = || {
                    writeback_sim::files::read_text(&c.file, writeback_sim::files::SCENARIO_LIMIT)
                        .map(|t| {
                            !writeback_sim::scenario::validate::check_in(&t, c.file.parent())
                                .is_empty()
                        })
                        .unwrap_or(true)
                };
                if c.rendered.is_none() && validate_finds() {
                    out.push(paint.dim(&format!(
                        "       `writeback-sim validate {}` lists every problem in it, with hints",
                        c.file.display()
                    )));
                }
            }
            for f in &c.failures {
                out.push(format!(
                    "       step {} {} {}",
                    f.step,
                    paint.bold(&f.action),
                    paint.dim(&format!("(virtual time {})", f.at))
                ));
                out.push(format!("         expected: {}", paint.green(&f.expected)));
                out.push(format!("         got:      {}", paint.red(&f.got)));
            }
            match &c.snapshot {
                Some(SnapshotStatus::Changed { stored, diff }) => {
                    out.push(format!(
                        "       snapshot {} differs:",
                        relative(stored).display()
                    ));
                    for l in diff.lines() {
                        let l = if l.starts_with("+++") || l.starts_with("---") {
                            paint.bold(l)
                        } else if l.starts_with('+') {
                            paint.green(l)
                        } else if l.starts_with('-') {
                            paint.red(l)
                        } else if l.starts_with("@@") {
                            paint.dim(l)
                        } else {
                            l.to_string()
                        };
                        out.push(format!("         {l}"));
                    }
                    out.push(format!("       {}", suite::accept_hint(&c.name)));
                }
                Some(SnapshotStatus::New { .. }) if c.ci => {
                    out.push(format!("       {}", suite::ci_new_snapshot(&c.name)))
                }
                _ => {}
            }
        }
    }
    out
}

/// A path relative to the working directory when it is under it (shorter to read).
fn relative(p: &Path) -> PathBuf {
    std::env::current_dir()
        .ok()
        .and_then(|cwd| p.strip_prefix(cwd).ok().map(Path::to_path_buf))
        .unwrap_or_else(|| p.to_path_buf())
}

/// Run every file once, `jobs` at a time, reporting each as it finishes (in file order).
async fn run_once(files: &[PathBuf], opts: &RunOptions, out: &Out, paint: &Paint) -> Vec<Checked> {
    let mode = opts.mode;
    let mut results = Vec::with_capacity(files.len());
    let mut stream = futures::stream::iter(files.iter().cloned())
        .map(|f| async move {
            let file = f.clone();
            let directory = opts.directory.clone();
            let compare = opts.compare;
            let mut checked = tokio::spawn(async move {
                suite::run_and_check(&f, mode, directory.as_ref(), compare).await
            });
            let finished = match opts.timeout {
                Some(limit) => tokio::time::timeout(limit, &mut checked).await.ok(),
                None => Some((&mut checked).await),
            };
            match finished {
                Some(Ok(c)) => c,
                Some(Err(e)) => panicked(&file, &e.to_string()),
                None => {
                    checked.abort();
                    timed_out(&file, opts.timeout.unwrap_or_default())
                }
            }
        })
        .buffered(opts.jobs);
    while let Some(c) = stream.next().await {
        out.tick(&c.name);
        for l in describe(&c, paint) {
            out.line(&l);
        }
        results.push(c);
    }
    results
}

/// The result of a scenario whose task panicked (an internal error, reported, not lost).
fn panicked(file: &Path, why: &str) -> Checked {
    Checked {
        unusable: Some(format!("internal error: {why}")),
        ..Checked::new(file, false)
    }
}

/// The result of a scenario stopped by `--timeout`.
fn timed_out(file: &Path, limit: std::time::Duration) -> Checked {
    Checked {
        unusable: Some(format!(
            "did not finish within {} s of wall-clock time and was stopped; a step waiting on something that never answers (a DC, a listener) is the usual cause — run it alone with RUST_LOG=debug to see which, or allow more with --timeout SECONDS (0: no limit)",
            limit.as_secs_f64()
        )),
        elapsed: limit,
        ..Checked::new(file, false)
    }
}

/// A deterministic shuffle of `files` for repeat `round` (round 0 keeps the file order).
fn shuffled(files: &[PathBuf], round: u32) -> Vec<PathBuf> {
    use rand::seq::SliceRandom;
    use rand::SeedableRng;
    let mut v = files.to_vec();
    if round > 0 {
        v.shuffle(&mut rand::rngs::SmallRng::seed_from_u64(u64::from(round)));
    }
    v
}

/// `run`: every file, then `repeat - 1` more rounds in shuffled order whose reports must
/// be byte-identical to the first round's.
pub async fn run(files: &[PathBuf], opts: &RunOptions) -> anyhow::Result<Outcome> {
    let paint = Paint { on: opts.fancy };
    for (file, index) in suite::unlisted(files) {
        eprintln!(
            "warning: {} is not in the catalogue index {}: add a row linking it (`cargo test` checks that every scenario is listed)",
            file.display(),
            index.display()
        );
    }
    let started = std::time::Instant::now();
    let out = Out::new(files.len(), opts.fancy);
    let mut results = run_once(files, opts, &out, &paint).await;
    out.finish();
    let wall = started.elapsed();

    let first: BTreeMap<String, String> = results
        .iter()
        .filter_map(|c| c.rendered.clone().map(|r| (c.name.clone(), r)))
        .collect();
    let mut unstable = 0;
    for round in 1..opts.repeat {
        let order = shuffled(files, round);
        let again = suite::replay(&order, opts.jobs).await;
        let mut differing = Vec::new();
        for (name, report) in &again {
            if let Some(before) = first.get(name).filter(|b| *b != report) {
                differing.push(name.clone());
                if let Some(c) = results.iter_mut().find(|c| &c.name == name) {
                    c.unusable = Some(format!(
                        "round {} (shuffled, seed {round}) gave a different report:\n{}",
                        round + 1,
                        suite::diff(before, report)
                    ));
                }
            }
        }
        unstable += differing.len();
        println!(
            "round {}/{} (shuffled order, {} at a time): {} identical, {} different{}",
            round + 1,
            opts.repeat,
            opts.jobs,
            again.len() - differing.len(),
            differing.len(),
            if differing.is_empty() {
                String::new()
            } else {
                format!(": {}", differing.join(", "))
            }
        );
    }
    if unstable > 0 {
        for c in results.iter().filter(|c| c.unusable.is_some()) {
            for l in describe(c, &paint) {
                println!("{l}");
            }
        }
    }

    if let Some(path) = &opts.junit {
        write_junit(path, &results, wall)?;
    }
    let count = |v: Verdict| results.iter().filter(|c| c.verdict() == v).count();
    let (passed, pending, failed) = (
        count(Verdict::Passed),
        count(Verdict::Pending),
        count(Verdict::Failed),
    );
    let pending_note = if pending > 0 {
        format!(", {pending} pending review")
    } else {
        String::new()
    };
    let line = format!(
        "{passed} passed, {failed} failed{pending_note} ({} ms, {} at a time)",
        wall.as_millis(),
        opts.jobs
    );
    println!(
        "{}",
        if failed > 0 {
            paint.red(&line)
        } else {
            paint.green(&line)
        }
    );
    // A file that could not be read or set up is bad input (2), not a failed scenario.
    let unusable = results
        .iter()
        .any(|c| c.rendered.is_none() && c.unusable.is_some());
    Ok(if unusable {
        Outcome::Invalid
    } else if failed == 0 {
        Outcome::Ok
    } else {
        Outcome::Failed
    })
}

/// JUnit XML (one test suite, one test case per scenario; classname = the area).
fn write_junit(path: &Path, results: &[Checked], wall: Duration) -> anyhow::Result<()> {
    use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};
    let mut suite = TestSuite::new("scenarios");
    suite.set_time(wall);
    for c in results {
        let status = match c.verdict() {
            Verdict::Passed => TestCaseStatus::success(),
            Verdict::Pending => {
                // Not a pass: nothing was compared yet.
                let mut s = TestCaseStatus::skipped();
                s.set_message(format!(
                    "new snapshot written as pending review; {}",
                    suite::accept_hint(&c.name)
                ));
                s
            }
            Verdict::Failed => {
                let kind = if c.unusable.is_some() {
                    NonSuccessKind::Error
                } else {
                    NonSuccessKind::Failure
                };
                let problems = c.problems();
                let mut s = TestCaseStatus::non_success(kind);
                s.set_message(problems.first().cloned().unwrap_or_default());
                let mut body = format!("{} · seed {}\n", c.file.display(), c.seed);
                body.push_str(&problems.join("\n"));
                if let Some(SnapshotStatus::Changed { diff, .. }) = &c.snapshot {
                    body.push('\n');
                    body.push_str(diff);
                }
                s.set_description(body);
                s
            }
        };
        let mut case = TestCase::new(c.name.clone(), status);
        case.set_classname(c.name.split('/').next().unwrap_or_default().to_string());
        case.set_time(c.elapsed);
        suite.add_test_case(case);
    }
    let mut report = Report::new("writeback-sim");
    report.set_time(wall);
    report.add_test_suite(suite);
    let xml = report.to_string().context("rendering the JUnit report")?;
    std::fs::write(path, xml).with_context(|| format!("writing {}", path.display()))
}
