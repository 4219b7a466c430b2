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
use super::report::{Outcome, StepReport};
use super::runner::Failure;

/// What an action step's `expect` finds wrong with its report.
pub fn outcome(exp: &Expect, r: &StepReport, at: &str) -> Vec<Failure> {
    let failure = |expected: String, got: String| Failure {
        step: r.step,
        action: r.action.clone(),
        at: at.to_string(),
        expected,
        got,
    };
    let word = |o: Outcome| match o {
        Outcome::Ok => "ok",
        Outcome::Rejected => "rejected",
        Outcome::Failed => "failed",
        Outcome::Passed => "passed",
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
                format!("outcome {}", word(want)),
                format!(
                    "outcome {}{}",
                    word(r.outcome),
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
