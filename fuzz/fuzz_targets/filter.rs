//! The RFC 4515 filter parser scenarios use (`expect_ad: {filter}`), and the directory
//! evaluating what it parsed against an entry.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = writeback_sim::world::ad::parse_filter(text);
    }
});
