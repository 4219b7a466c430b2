//! LDIF import (RFC 2849 as `directory --ldif` and `world.directory.ldif` read it): the
//! parser, then the records imported into a small provisioned forest.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::sync::Arc;
use writeback_sim::clock::ManualClock;
use writeback_sim::directory::{Directory, DirectoryConfig};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if writeback_sim::directory::ldif::parse(text, "fuzz.ldif").is_err() {
        return;
    }
    let clock = Arc::new(ManualClock::scenario_start());
    let dir = Directory::new(DirectoryConfig::default(), clock).expect("provision");
    let _ = dir.import_ldif(text, "fuzz.ldif");
});
