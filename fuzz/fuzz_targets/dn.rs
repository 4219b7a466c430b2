//! DN parsing (RFC 4514 as AD reads it) and what the directory does with a parsed DN: its
//! normal form, its parent, rebasing, and the escaping of a value.
#![no_main]

use libfuzzer_sys::fuzz_target;
use writeback_sim::directory::dn::{self, Dn};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let _ = dn::norm(text);
    let _ = dn::escape_value(text);
    if let Ok(d) = Dn::parse(text) {
        let n = d.norm();
        // The normal form parses again, to the same normal form.
        let again = Dn::parse(&n).expect("a normal form parses");
        assert_eq!(again.norm(), n);
        if let Some(p) = d.parent() {
            let _ = d.rebase(&p, &Dn::root());
            assert!(d.is_within(&p));
        }
    }
});
