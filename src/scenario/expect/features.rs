//! `expect_features`: Get-ADSyncAADCompanyFeature's rows, by the names it prints.

use super::Mismatch;
use crate::scenario::report::{self, StepReport};
use crate::world::World;
use std::collections::BTreeMap;

pub fn check(world: &World, want: &BTreeMap<String, String>, n: usize) -> StepReport {
    let have = report::features(&world.features());
    let mismatches = want
        .iter()
        .filter_map(|(k, v)| match have.get(k) {
            Some(h) if h.eq_ignore_ascii_case(v) => None,
            Some(h) => Some(Mismatch::new(k, v, h)),
            None => Some(Mismatch::new(
                k,
                v,
                "not a feature Get-ADSyncAADCompanyFeature prints",
            )),
        })
        .collect();
    StepReport::check(n, "expect_features".into(), mismatches)
}
