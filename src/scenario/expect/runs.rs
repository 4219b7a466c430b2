//! `expect_run`: the newest run of a profile in the run history — `password` (PasswordSet
//! or PasswordChange), `export`, `import` / `delta_import`, `full_import`,
//! `synchronization`, or a profile by its name — with its status, counts and export errors.
//! A password run counts one update when it succeeded and one error when it did not.

use super::{Compared, Mismatch};
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
    let mut c = Compared::default();
    c.saw(
        "run",
        format!("{} at {}", run.profile, run.start),
        format!("{} at {}", run.profile, run.start),
        true,
    );
    if let Some(s) = &x.status {
        let got = run.status.to_string();
        c.saw("status", s, &got, got.eq_ignore_ascii_case(s));
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
            c.saw(what, w, got, w == got);
        }
    }
    if let Some(errors) = &x.errors {
        let got = if password_run {
            usize::from(!succeeded)
        } else {
            run.export_errors.len()
        };
        c.saw("errors", errors.len(), got, errors.len() == got);
        if errors.len() == got && !password_run {
            for (want, got) in errors.iter().zip(&run.export_errors) {
                if let Some(t) = &want.kind {
                    let kind = got.kind.to_string();
                    c.saw("error type", t, &kind, *t == kind);
                }
                if let Some(d) = &want.dn {
                    c.saw("error dn", d, &got.dn, same_dn(d, &got.dn));
                }
            }
        }
    }
    c.report(n, label)
}
