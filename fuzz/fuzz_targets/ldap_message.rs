//! The directory's LDAP decoder (`AdCodec`: ldap3_proto plus the binary-filter repair and
//! the size and messageID checks) on arbitrary bytes: every message it yields, then a
//! clean end or an error — never a panic, a hang or unbounded memory.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use writeback_sim::directory::codec::AdCodec;

fuzz_target!(|data: &[u8]| {
    let mut codec = AdCodec::new(64 * 1024);
    let mut buf = BytesMut::from(data);
    while let Ok(Some(_msg)) = codec.decode(&mut buf) {}
});
