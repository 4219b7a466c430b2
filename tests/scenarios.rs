//! One test per scenario file under `scenarios/`, discovered at run time
//! (datatest-stable): the scenario's expectations must hold and its snapshot must match.
//! `cargo nextest run --partition hash:1/3` splits them across machines.

use std::path::Path;
use writeback_sim::scenario::suite;

fn scenario(path: &Path) -> datatest_stable::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    let mode = suite::SnapshotMode::ci(false);
    let checked = rt.block_on(suite::run_and_check(path, mode, None, false));
    // Under `cargo test` a new snapshot fails too (as insta's own assertions do), so it
    // is reviewed before it lands.
    let mut problems = checked.problems();
    if let Some(suite::SnapshotStatus::New { pending }) = &checked.snapshot {
        if !checked.ci {
            problems.push(format!(
                "new snapshot written as pending: {} ({})",
                pending.display(),
                suite::accept_hint(&checked.name)
            ));
        }
    }
    if let Some(suite::SnapshotStatus::Changed { diff, .. }) = &checked.snapshot {
        problems.push(diff.clone());
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!("seed {}\n{}", checked.seed, problems.join("\n")).into())
    }
}

datatest_stable::harness! {
    { test = scenario, root = "scenarios", pattern = r"\.ya?ml$" },
}
