//! The world's fault switches: the relay, the DC as the network sees it (the fault proxy),
//! and Graph.

use super::World;
use crate::cloud::graph::GraphFaults;
use crate::engine::export::ExportAhead;
use crate::fault_proxy::LdapFaults;
use crate::relay::RelayFaults;

/// Every fault switch of the world: the relay, the DC as the network sees it, and Graph.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults {
    pub relay: RelayFaults,
    pub ldap: LdapFaults,
    pub graph: GraphFaults,
}

impl World {
    /// The faults in force.
    pub fn faults(&self) -> Faults {
        Faults {
            relay: self.relay.faults(),
            ldap: self
                .ldap_proxy
                .as_ref()
                .map(|p| p.faults())
                .unwrap_or_default(),
            graph: self.graph.faults(),
        }
    }

    /// Put these faults in force (and lift the others). The LDAP faults are the fault
    /// proxy's, between the world's LDAP clients and the DC, the embedded AD or a real one.
    pub fn set_faults(&self, f: Faults) {
        // The proxy charges its latency once per exchange (an answer after the client
        // spoke): while it is on, the engine's export sends one add at a time, so each add
        // is an exchange however the bytes interleave and business time moves the same in
        // every run. Otherwise adds go ahead of their answers.
        self.engine_state.export_ahead.set(match f.ldap.latency {
            Some(_) => 1,
            None => ExportAhead::DEFAULT,
        });
        self.relay.set_faults(f.relay);
        match &self.ldap_proxy {
            Some(p) => p.set_faults(f.ldap),
            None if f.ldap != LdapFaults::default() => {
                tracing::warn!("LDAP faults need the fault proxy, which a verified DC certificate rules out (--directory-insecure puts it in)");
            }
            None => {}
        }
        self.graph.set_faults(f.graph);
    }

    /// The relay closes every listener's control channel (the engine reconnects).
    pub fn drop_relay_listeners(&self) {
        self.relay.drop_listeners();
    }

    /// The DC resets every open LDAP connection.
    pub fn reset_ldap_connections(&self) {
        if let Some(p) = &self.ldap_proxy {
            p.reset();
        }
    }
}
