//! The checks: one file per family — [`ad`] (`expect_ad`: an entry, or a count under a
//! base), [`runs`] (`expect_run`: the newest run of a profile), [`features`]
//! (`expect_features`) — and here, `expect:` on an action step (its outcome and error).
//! A check that fails gives what it checked, what was expected and what was found as
//! values ([`Mismatch`]).

pub mod ad;
pub mod features;
pub mod runs;

use super::model::{Expect, ExpectedOutcome};
pub use super::report::Mismatch;
use super::report::{self, Outcome, StepReport};

/// What an action step's `expect` finds wrong with its report.
pub fn outcome(exp: &Expect, r: &StepReport, at: &str) -> Vec<Failure> {
    let failure = |expected: String, got: String| Failure {
        step: r.step,
        action: r.action.clone(),
        at: at.to_string(),
        expected,
        got,
    };
    let mut failures = Vec::new();
    if let Some(want) = exp.outcome {
        let want = match want {
            ExpectedOutcome::Ok => Outcome::Ok,
            ExpectedOutcome::Rejected => Outcome::Rejected,
            ExpectedOutcome::Failed => Outcome::Failed,
        };
        if r.outcome != want {
            failures.push(failure(
                format!("outcome {}", want.word()),
                format!(
                    "outcome {}{}",
                    r.outcome.word(),
                    r.error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(text) = &exp.error {
        let found = r
            .error
            .as_deref()
            .is_some_and(|e| e.contains(text.as_str()))
            || r.detail.iter().any(|d| d.contains(text.as_str()));
        if !found {
            let got = match (&r.error, r.detail.is_empty()) {
                (Some(e), true) => format!("error {e:?}"),
                (Some(e), false) => format!("error {e:?}, detail {:?}", r.detail),
                (None, true) => "no error".to_string(),
                (None, false) => format!("no error, detail {:?}", r.detail),
            };
            failures.push(failure(format!("an error containing {text:?}"), got));
        }
    }
    failures
}

/// An expectation that did not hold (or a step that could not run): which step, when on
/// the scenario's virtual clock, what was expected and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub step: usize,
    /// The step as the report names it (`sspr_reset alice@gntech.me`).
    pub action: String,
    /// The virtual time the step ran at (RFC 3339, UTC).
    pub at: String,
    pub expected: String,
    pub got: String,
}

impl Failure {
    /// A step that did not go as its report says it should: a check's mismatches side by
    /// side, or an action's error.
    pub fn of_step(r: &StepReport, at: String) -> Self {
        let (expected, got) = if r.mismatches.is_empty() {
            (
                "the step to succeed".to_string(),
                r.error.clone().unwrap_or_default(),
            )
        } else {
            let side = |f: fn(&report::Mismatch) -> &str| {
                r.mismatches
                    .iter()
                    .map(|m| format!("{}: {}", m.what, f(m)))
                    .collect::<Vec<_>>()
                    .join("; ")
            };
            (side(|m| &m.expected), side(|m| &m.found))
        };
        Self {
            step: r.step,
            action: r.action.clone(),
            at,
            expected,
            got,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} ({}) at {}: expected {}, got {}",
            self.step, self.action, self.at, self.expected, self.got
        )
    }
}
