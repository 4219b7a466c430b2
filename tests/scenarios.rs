//! One test per scenario file under `scenarios/`, discovered at run time
//! (datatest-stable): the scenario's expectations must hold and its snapshot must match.
//! `cargo nextest run --partition hash:1/3` splits them across machines.

use std::path::Path;

fn scenario(path: &Path) -> datatest_stable::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    match rt.block_on(writeback_sim::scenario::suite::run_and_check(path)) {
        Ok(_) => Ok(()),
        Err(problems) => Err(problems.join("\n").into()),
    }
}

datatest_stable::harness! {
    { test = scenario, root = "scenarios", pattern = r"\.ya?ml$" },
}
