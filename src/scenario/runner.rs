//! Run one scenario file: parse it, build its world ([`super::setup`]), run each step
//! ([`super::steps`]), check every `expect` ([`super::expect`]), and report
//! ([`super::report`]).

pub use super::error::ScenarioError;
pub use super::expect::Failure;
use super::model::{self, Scenario};
use super::report::{self, Baseline, EventShown, Outcome, Report, RunShown};
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
}

/// The scenario's name: its path under `root` without `.yaml` (`password/sspr-reset-ok`).
pub fn scenario_name(file: &Path, root: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.with_extension("").to_string_lossy().replace('\\', "/")
}

pub fn parse(file: &Path) -> Result<Scenario, ScenarioError> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Read {
        file: name.clone(),
        source,
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
    let (scenario, mut world) = open(file, None).await?;
    let name = scenario
        .name
        .clone()
        .unwrap_or_else(|| scenario_name(file, root));
    let replayed = replay(&scenario, &name, &mut world).await;
    world.shutdown().await;
    Ok(replayed)
}

/// The world of the scenario in `file`, started and set up as its `world:` says, ready for
/// its first step: on the virtual clock, or on `base`'s clock, listeners and keys (a lab).
pub async fn open(
    file: &Path,
    base: Option<WorldOptions>,
) -> Result<(Scenario, World), ScenarioError> {
    let mut scenario = parse(file)?;
    super::setup::add_generated(&mut scenario);
    let opts = match base {
        Some(base) => super::setup::options_on(&scenario, base),
        None => super::setup::options(&scenario),
    };
    let mut world = World::start(opts)
        .await
        .map_err(|source| ScenarioError::World {
            file: file.display().to_string(),
            source,
        })?;
    if let Err(e) = super::setup::prepare(&scenario, file, &mut world).await {
        world.shutdown().await;
        return Err(e);
    }
    Ok((scenario, world))
}

/// The steps, on a world set up as the file says.
async fn replay(scenario: &Scenario, name: &str, world: &mut World) -> Replayed {
    let mark = world.history_mark();
    // AD before the first step, for `unchanged` and the snapshot.
    let baseline = Baseline::of(world.ad_state());
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
        steps,
        ad: report::changed_entries(&world.ad_state(), &baseline),
        runs: world.runs_since(mark).iter().map(RunShown::from).collect(),
        events: world
            .events_since(mark)
            .iter()
            .map(EventShown::from)
            .collect(),
        features: report::features(&world.features()),
    };
    Replayed {
        report,
        failures,
        clock: (started_at, now(world)),
    }
}
