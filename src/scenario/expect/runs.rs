//! `expect_run`: the newest run of a profile in the run history — `password` (PasswordSet
//! or PasswordChange), `export`, `import` / `delta_import`, `full_import`,
//! `synchronization`, or a profile by its name — with its status, counts and export errors.
//! A password run counts one update when it succeeded and one error when it did not.

use super::Mismatch;
use crate::scenario::model::ExpectRun;
use crate::scenario::report::StepReport;
use crate::world::ad::same_dn;
use crate::world::{Profile, RunRecord, Status, World};

fn matches(wanted: &str, r: &RunRecord) -> bool {
    match wanted.to_ascii_lowercase().as_str() {
        "password" => matches!(r.profile, Profile::PasswordSet | Profile::PasswordChange),
        "export" => r.profile == Profile::Export,
        "delta_import" | "import" => r.profile.is_import(),
        "full_import" => r.profile == Profile::FullImport,
        "synchronization" => r.profile.is_synchronization(),
        p => r.profile.to_string().eq_ignore_ascii_case(p),
    }
}

pub fn check(world: &World, x: &ExpectRun, n: usize) -> StepReport {
    let label = format!("expect_run {}", x.profile);
    let runs = world.runs();
    let Some(run) = runs.iter().rev().find(|r| matches(&x.profile, r)) else {
        return StepReport::check(
            n,
            label,
            vec![Mismatch::new(
                "run",
                format!("a run of profile {}", x.profile),
                "none",
            )],
        );
    };
    let mut mismatches = Vec::new();
    if let Some(s) = &x.status {
        if !run.status.to_string().eq_ignore_ascii_case(s) {
            mismatches.push(Mismatch::new("status", s, run.status.to_string()));
        }
    }
    let password_run = matches!(run.profile, Profile::PasswordSet | Profile::PasswordChange);
    let succeeded = run.status == Status::Success;
    let updates = if password_run {
        u32::from(succeeded)
    } else {
        run.updates.unwrap_or(0)
    };
    for (what, want, got) in [
        ("adds", x.adds, run.adds.unwrap_or(0)),
        ("updates", x.updates, updates),
        ("deletes", x.deletes, run.deletes.unwrap_or(0)),
    ] {
        if let Some(w) = want {
            if w != got {
                mismatches.push(Mismatch::new(what, w.to_string(), got.to_string()));
            }
        }
    }
    if let Some(errors) = &x.errors {
        let got = if password_run {
            usize::from(!succeeded)
        } else {
            run.export_errors.len()
        };
        if errors.len() != got {
            mismatches.push(Mismatch::new(
                "errors",
                errors.len().to_string(),
                got.to_string(),
            ));
        } else if !password_run {
            for (want, got) in errors.iter().zip(&run.export_errors) {
                if let Some(t) = want.get("type") {
                    if *t != got.kind.to_string() {
                        mismatches.push(Mismatch::new("error type", t, got.kind.to_string()));
                    }
                }
                if let Some(d) = want.get("dn") {
                    if !same_dn(d, &got.dn) {
                        mismatches.push(Mismatch::new("error dn", d, &got.dn));
                    }
                }
            }
        }
    }
    StepReport::check(n, label, mismatches)
}
