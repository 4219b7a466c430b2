//! The checks: one file per family — [`ad`] (`expect_ad`: an entry, or a count under a
//! base), [`runs`] (`expect_run`: the newest run of a profile), [`features`]
//! (`expect_features`) — and here, `expect:` on an action step (its outcome and error).
//! Every check reports what it compared, passed or not ([`Compared`]: one detail line per
//! value, `what: found` or `what: expected …, found …`), so a snapshot shows the symptom a
//! case is about; a check that fails also gives its [`Mismatch`]es.

pub mod ad;
pub mod features;
pub mod runs;

use super::model::{Expect, ExpectedOutcome};
pub use super::report::Mismatch;
use super::report::{self, Outcome, StepReport};

/// What one check compared, line by line, and what did not hold.
#[derive(Debug, Default)]
pub struct Compared {
    lines: Vec<String>,
    mismatches: Vec<Mismatch>,
}

impl Compared {
    /// `what` was expected to be `expected` and is `found`; `held` says whether that is
    /// right (a value may hold without being spelled the same: case, `changed`, …).
    pub fn saw(
        &mut self,
        what: &str,
        expected: impl std::fmt::Display,
        found: impl std::fmt::Display,
        held: bool,
    ) {
        let (expected, found) = (expected.to_string(), found.to_string());
        self.lines.push(if expected == found {
            format!("{what}: {found}")
        } else {
            format!("{what}: {expected} (found {found})")
        });
        if !held {
            self.mismatches.push(Mismatch::new(what, expected, found));
        }
    }

    /// A line of its own (`pwdLastSet: changed, X → Y`), and the mismatch when it did not
    /// hold.
    pub fn noted(&mut self, line: String, held: bool, miss: impl FnOnce() -> Mismatch) {
        self.lines.push(line);
        if !held {
            self.mismatches.push(miss());
        }
    }

    /// A mismatch with nothing else to show (a check that could not look).
    pub fn failed(&mut self, m: Mismatch) {
        self.mismatches.push(m);
    }

    /// The check's step report: passed or failed, and the lines as its detail.
    pub fn report(self, n: usize, action: String) -> StepReport {
        let mut r = StepReport::check(n, action, self.mismatches);
        r.detail = self.lines;
        r
    }
}

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
