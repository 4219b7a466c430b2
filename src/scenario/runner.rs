//! Run one scenario file: parse it, build its world ([`super::setup`]), run each step
//! ([`super::steps`]), check every `expect` ([`super::expect`]), and report
//! ([`super::report`]).

pub use super::error::ScenarioError;
pub use super::expect::Failure;
use super::model::{self, Scenario};
use super::report::{self, Baseline, EventShown, Outcome, Report, RunShown};
use crate::world::external::DirectoryTarget;
use crate::world::{World, WorldOptions};
use std::path::Path;

/// A scenario's result: the report, and what did not hold.
#[derive(Debug)]
pub struct Replayed {
    pub report: Report,
    /// One per failed expectation or step that could not run, in step order.
    pub failures: Vec<Failure>,
    /// The virtual time before the first step and after the last one (RFC 3339, UTC).
    pub clock: (String, String),
    /// On a real DC: its kind (`samba`, `windows`), from its RootDSE.
    pub dc_kind: Option<String>,
    /// On a real DC: the failures were a known difference of that kind of DC (why).
    pub known_difference: Option<String>,
}

/// The scenario's name: its path under `root` without `.yaml` (`password/sspr-reset-ok`).
pub fn scenario_name(file: &Path, root: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.with_extension("").to_string_lossy().replace('\\', "/")
}

pub fn parse(file: &Path) -> Result<Scenario, ScenarioError> {
    let name = file.display().to_string();
    let text = crate::files::read_text(file, crate::files::SCENARIO_LIMIT).map_err(|source| {
        ScenarioError::Read {
            file: name.clone(),
            source,
        }
    })?;
    model::from_yaml(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default();
        // serde-saphyr repeats the place ("error: line 2 column 1: …"); it is already in front.
        let message = first
            .strip_prefix("error: ")
            .map(|m| match m.split_once(": ") {
                Some((place, rest)) if place.starts_with("line ") => rest,
                _ => m,
            })
            .unwrap_or(first)
            .to_string();
        ScenarioError::Parse {
            file: name,
            line,
            column,
            message,
        }
    })
}

pub async fn run(file: &Path, root: &Path) -> Result<Replayed, ScenarioError> {
    run_on(file, root, None).await
}

/// [`run`], with the world's directory on `directory` (a real DC) when given: the DC is
/// left as it was found afterwards, and a restore that cannot do so is a failure.
pub async fn run_on(
    file: &Path,
    root: &Path,
    directory: Option<&DirectoryTarget>,
) -> Result<Replayed, ScenarioError> {
    let (scenario, mut world) = open_on(file, None, directory).await?;
    let name = scenario
        .name
        .clone()
        .unwrap_or_else(|| scenario_name(file, root));
    let mut replayed = replay(&scenario, &name, &mut world).await;
    replayed.dc_kind = world.directory_kind().await.map(str::to_string);
    if let Some(problem) = leave_as_found(&world).await {
        replayed.failures.push(Failure {
            step: scenario.steps.len() + 1,
            action: "leave the DC as it was found".into(),
            at: replayed.clock.1.clone(),
            expected: "every change undone".into(),
            got: problem,
        });
    }
    world.shutdown().await;
    Ok(replayed)
}

/// On a DC of `kind`: a scenario that `dc-differences.yaml` lists for that kind may fail
/// there or leave AD otherwise than the embedded AD does (`ad_lines`: the differing lines
/// of `run --compare`, empty when not compared or the same) — its known difference; a
/// listed scenario that does neither is listed for nothing and fails, and an unlisted one
/// whose AD differs fails.
pub fn judge_difference(
    root: &Path,
    kind: &str,
    name: &str,
    replayed: &mut Replayed,
    ad_lines: &[String],
) {
    let failure = |expected: String, got: String| Failure {
        step: 0,
        action: super::differences::FILE.into(),
        at: replayed.clock.1.clone(),
        expected,
        got,
    };
    match super::differences::known(root, kind, name) {
        Ok(Some(k)) if replayed.failures.is_empty() && ad_lines.is_empty() => {
            let f = failure(
                format!("a difference on {kind}: {}", k.reason),
                format!("the same answers as the embedded AD: remove {name} from the {kind} list"),
            );
            replayed.failures.push(f);
        }
        Ok(Some(k)) => {
            replayed.known_difference = Some(format!(
                "known difference on {kind}: {} ({})",
                k.reason, k.reference
            ));
            replayed.failures.clear();
        }
        Ok(None) if !ad_lines.is_empty() => {
            let f = Failure {
                step: 0,
                action: "compare".into(),
                at: replayed.clock.1.clone(),
                expected: format!("AD on {kind} as on the embedded AD"),
                got: format!("{} differing lines (shown below)", ad_lines.len()),
            };
            replayed.failures.push(f);
        }
        Ok(None) => {}
        Err(e) => {
            let f = failure("a readable list of known differences".into(), e);
            replayed.failures.push(f);
        }
    }
}

/// Restore a real DC from the census taken when the world opened it; what could not be
/// undone, if anything.
async fn leave_as_found(world: &World) -> Option<String> {
    match world.restore_directory().await? {
        Ok(r) => r.problem(),
        Err(e) => Some(e.to_string()),
    }
}

/// The world of the scenario in `file`, started and set up as its `world:` says, ready for
/// its first step: on the virtual clock, or on `base`'s clock, listeners and keys (a lab).
pub async fn open(
    file: &Path,
    base: Option<WorldOptions>,
) -> Result<(Scenario, World), ScenarioError> {
    open_on(file, base, None).await
}

/// [`open`], on a real DC when `directory` names one.
pub async fn open_on(
    file: &Path,
    base: Option<WorldOptions>,
    directory: Option<&DirectoryTarget>,
) -> Result<(Scenario, World), ScenarioError> {
    let mut scenario = parse(file)?;
    super::setup::add_generated(&mut scenario);
    let mut opts = match base {
        Some(base) => super::setup::options_on(&scenario, base),
        None => super::setup::options(&scenario),
    };
    if let Some(d) = directory {
        opts.directory = Some(d.clone());
    }
    let mut world = World::start(opts)
        .await
        .map_err(|source| ScenarioError::World {
            file: file.display().to_string(),
            source,
        })?;
    if let Err(e) = super::setup::prepare(&mut scenario, file, &mut world).await {
        let left = leave_as_found(&world).await;
        world.shutdown().await;
        return Err(match left {
            Some(problem) => ScenarioError::World {
                file: file.display().to_string(),
                source: crate::world::WorldError::Refused(format!(
                    "{e}; and the DC could not be left as it was found: {problem}"
                )),
            },
            None => e,
        });
    }
    Ok((scenario, world))
}

/// The steps, on a world set up as the file says.
async fn replay(scenario: &Scenario, name: &str, world: &mut World) -> Replayed {
    let mark = world.history_mark();
    // AD before the first step, for `unchanged` and the snapshot.
    let baseline = Baseline::of(world.ad_state().await);
    let now = |world: &World| world.now().format("%Y-%m-%dT%H:%M:%SZ").to_string();
    let started_at = now(world);
    let mut steps = Vec::new();
    let mut failures = Vec::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let at = now(world);
        let report = super::steps::run(world, step, i + 1, &baseline).await;
        if let Some(exp) = &step.expect {
            failures.extend(super::expect::outcome(exp, &report, &at));
        } else if report.outcome == Outcome::Failed && !step.action.is_person() {
            failures.push(Failure::of_step(&report, at));
        }
        steps.push(report);
    }
    let report = Report {
        scenario: name.to_string(),
        summary: scenario.summary.clone(),
        case: scenario.case.clone(),
        seed: scenario.seed,
        initial_sync: scenario.initial_sync.clone(),
        steps,
        ad: report::changed_entries(&world.ad_state().await, &baseline),
        runs: world.runs_since(mark).iter().map(RunShown::from).collect(),
        events: world
            .events_since(mark)
            .iter()
            .map(EventShown::from)
            .collect(),
        provisioning_logs: world.provisioning_logs_since(mark),
        features: report::features(&world.features()),
    };
    Replayed {
        report,
        failures,
        clock: (started_at, now(world)),
        dc_kind: None,
        known_difference: None,
    }
}
