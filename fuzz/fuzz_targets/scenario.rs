//! A scenario file: the YAML parsed into the model, and `validate`'s checks with its
//! problems drawn as the user sees them.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = writeback_sim::scenario::model::from_yaml(text);
    let problems = writeback_sim::scenario::validate::check(text);
    let _ = writeback_sim::scenario::validate::render(
        std::path::Path::new("fuzz.yaml"),
        text,
        &problems,
        false,
    );
});
