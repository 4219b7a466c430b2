//! `expect_features`: Get-ADSyncAADCompanyFeature's rows, by the names it prints.

use super::{Compared, Mismatch};
use crate::scenario::report::{self, StepReport};
use crate::world::World;
use std::collections::BTreeMap;

pub fn check(world: &World, want: &BTreeMap<String, String>, n: usize) -> StepReport {
    let have = report::features(&world.features());
    let mut c = Compared::default();
    for (k, v) in want {
        match have.get(k) {
            Some(h) => c.saw(k, v, h, h.eq_ignore_ascii_case(v)),
            None => c.failed(Mismatch::new(
                k,
                v,
                "not a feature Get-ADSyncAADCompanyFeature prints",
            )),
        }
    }
    c.report(n, "expect_features".into())
}
