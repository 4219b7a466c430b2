//! What reaches the relay and the engine from outside: a Hybrid Connections control frame
//! (JSON), a SAS token (`ServiceBusAuthorization`), and a sealed password request opened
//! with the agent's key.
#![no_main]

use libfuzzer_sys::fuzz_target;
use writeback_sim::hybrid_connections::ControlMessage;
use writeback_sim::writeback_protocol::{AgentKey, Sealed};

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<ControlMessage>(data);
    if let Ok(sealed) = serde_json::from_slice::<Sealed>(data) {
        let _ = AgentKey::fixture(0).open(&sealed);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(t) = writeback_sim::sas::parse(text) {
            let _ = writeback_sim::sas::verify(&t, "key");
        }
    }
});
