//! A whole LDAP session against a small forest: the input is a stream of LDAP messages
//! (decoded by the directory's codec), each handled in turn by one session over TLS —
//! binds, searches with controls, adds, modifies (passwords included), renames, deletes,
//! extended operations. Nothing may panic, whatever the order; a close ends the session.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tokio_util::codec::Decoder;
use writeback_sim::clock::ManualClock;
use writeback_sim::directory::codec::AdCodec;
use writeback_sim::directory::session::{Action, Session};
use writeback_sim::directory::snapshot::DirectorySnapshot;
use writeback_sim::directory::{Directory, DirectoryConfig};

fn config() -> DirectoryConfig {
    DirectoryConfig {
        admin_password: "Fuzz#Admin2026".into(),
        ..DirectoryConfig::default()
    }
}

/// A provisioned forest, as data: each input starts from a copy of it.
fn forest() -> &'static DirectorySnapshot {
    static FOREST: OnceLock<DirectorySnapshot> = OnceLock::new();
    FOREST.get_or_init(|| {
        let clock = Arc::new(ManualClock::scenario_start());
        let dir = Directory::new(config(), clock).expect("provision");
        dir.import_ldif(
            "dn: OU=Staff,DC=gntech,DC=me\nobjectClass: organizationalUnit\n\n\
             dn: CN=Alice Smith,OU=Staff,DC=gntech,DC=me\nobjectClass: user\n\
             sAMAccountName: alice\nuserPrincipalName: alice@gntech.me\n",
            "fuzz.ldif",
        )
        .expect("seed entries");
        dir.snapshot()
    })
}

fuzz_target!(|data: &[u8]| {
    let clock = Arc::new(ManualClock::scenario_start());
    let dir = Directory::restore(config(), clock, forest().clone()).expect("restore");
    let mut session = Session::new(&dir, true, false);
    let mut codec = AdCodec::new(64 * 1024);
    let mut buf = BytesMut::from(data);
    for _ in 0..64 {
        let Ok(Some(msg)) = codec.decode(&mut buf) else {
            return;
        };
        if let Action::Close(_) = session.handle(&dir, msg) {
            return;
        }
    }
});
