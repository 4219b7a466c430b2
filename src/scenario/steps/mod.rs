//! One step run against the world: each action is a world verb, in a file per family —
//! `people` (resets, changes, unlocks, sign-ins), `cloud` (devices, groups, tenant
//! settings), `onprem` (the wizard, sync cycles, the service, changes and rights in AD),
//! `faults` (faults and the clock); the checks are in [`super::expect`].

mod cloud;
mod faults;
mod onprem;
pub use onprem::{cloud_sync_detail, cycle_notes};
mod people;

use super::expect;
use super::model::{Action, Step};
use super::report::{Baseline, StepReport};
use crate::world::World;
use onprem::Verb;

/// Run step number `n`.
pub async fn run(world: &mut World, step: &Step, n: usize, baseline: &Baseline) -> StepReport {
    match &step.action {
        Action::SsprReset(s) => people::sspr_reset(world, s, n).await,
        Action::AdminReset(s) => people::admin_reset(world, s, n).await,
        Action::SsprUnlock(u) => people::sspr_unlock(world, u, n).await,
        Action::ChangePassword(s) => people::change_password(world, s, n).await,
        Action::SignIn(s) => people::sign_in(world, s, n).await,
        Action::RegisterDevice(d) => cloud::register_device(world, d, n),
        Action::UpdateDevice(u) => cloud::update_device(world, u, n),
        Action::DeleteDevice(d) => cloud::delete_device(world, d, n),
        Action::CreateGroup(g) => cloud::create_group(world, g, n),
        Action::UpdateGroup(u) => cloud::update_group(world, u, n),
        Action::DeleteGroup(d) => cloud::delete_group(world, d, n),
        Action::Tenant(t) => cloud::tenant(world, t, n).await,
        Action::Configure(c) => onprem::configure(world, c, n).await,
        Action::Sync(kind) => onprem::sync(world, *kind, n).await,
        Action::RestartEngine => onprem::restart_engine(world, n).await,
        Action::Ad(c) => onprem::ad(world, c, n).await,
        Action::Grant(g) => onprem::permission(world, g, n, Verb::Grant).await,
        Action::Deny(g) => onprem::permission(world, g, n, Verb::Deny).await,
        Action::Revoke(g) => onprem::permission(world, g, n, Verb::Revoke).await,
        Action::BlockInheritance(i) => onprem::inheritance(world, &i.on, n, true).await,
        Action::RestoreInheritance(i) => onprem::inheritance(world, &i.on, n, false).await,
        Action::Fault(f) => faults::fault(world, f, n),
        Action::ClearFaults => faults::clear(world, n),
        Action::Advance(d) => faults::advance(world, *d, n).await,
        Action::ExpectAd(x) => expect::ad::check(world, x, n, baseline).await,
        Action::ExpectRun(x) => expect::runs::check(world, x, n),
        Action::ExpectFeatures(want) => expect::features::check(world, want, n),
    }
}
