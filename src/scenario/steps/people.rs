//! What people do: SSPR resets and unlocks, an admin's reset, a user's change, and an
//! on-premises sign-in. Each reports what the person read (`error`) and what an admin
//! would see (`detail`: the SSPR code, the event, AD's answer).

use crate::scenario::model::{AdminReset, ChangePassword, SignIn, SsprReset, UserRef};
use crate::scenario::report::{Outcome, StepReport};
use crate::world::{AnswerOutcome, UserAnswer, World};

fn answer(n: usize, action: String, a: UserAnswer) -> StepReport {
    StepReport {
        step: n,
        action,
        outcome: match a.outcome {
            AnswerOutcome::Ok => Outcome::Ok,
            AnswerOutcome::Rejected => Outcome::Rejected,
            AnswerOutcome::Failed => Outcome::Failed,
        },
        error: a.error,
        detail: a.detail,
        mismatches: vec![],
    }
}

pub async fn sspr_reset(world: &World, s: &SsprReset, n: usize) -> StepReport {
    let a = world.sspr_reset(&s.user, &s.new_password).await;
    answer(n, format!("sspr_reset {}", s.user), a)
}

pub async fn admin_reset(world: &World, s: &AdminReset, n: usize) -> StepReport {
    let a = world
        .admin_reset(&s.user, &s.new_password, s.force_change_at_next_logon)
        .await;
    let extra = if s.force_change_at_next_logon {
        " (force change at next logon)"
    } else {
        ""
    };
    answer(n, format!("admin_reset {}{extra}", s.user), a)
}

pub async fn sspr_unlock(world: &World, u: &UserRef, n: usize) -> StepReport {
    let a = world.sspr_unlock(&u.user).await;
    answer(n, format!("sspr_unlock {}", u.user), a)
}

pub async fn change_password(world: &World, s: &ChangePassword, n: usize) -> StepReport {
    let a = world
        .change_password(&s.user, &s.old_password, &s.new_password)
        .await;
    answer(n, format!("change_password {}", s.user), a)
}

pub async fn sign_in(world: &World, s: &SignIn, n: usize) -> StepReport {
    let r = world.sign_in(&s.user, &s.password).await.map(|()| vec![]);
    StepReport::done(n, format!("sign_in {}", s.user), r)
}
