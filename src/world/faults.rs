//! The world's fault switches: the relay, the DC as the network sees it, and Graph.

use super::World;
use crate::cloud::graph::GraphFaults;
use crate::directory::DirectoryFaults as LdapFaults;
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
        let ldap = match self.external.as_ref().map(|x| x.proxy.as_ref()) {
            Some(Some(p)) => LdapFaults {
                down: p.down(),
                latency: p.latency(),
            },
            Some(None) => LdapFaults::default(),
            None => self.directory.faults(),
        };
        Faults {
            relay: self.relay.faults(),
            ldap,
            graph: self.graph.faults(),
        }
    }

    /// Put these faults in force (and lift the others). In front of a real DC the LDAP
    /// faults are the fault proxy's (latency in real time there).
    pub fn set_faults(&self, f: Faults) {
        self.relay.set_faults(f.relay);
        match self.external.as_ref().map(|x| x.proxy.as_ref()) {
            Some(Some(p)) => {
                p.set_down(f.ldap.down);
                p.set_latency(f.ldap.latency);
            }
            Some(None) => {
                if f.ldap != LdapFaults::default() {
                    tracing::warn!("LDAP faults need the fault proxy, which a verified DC certificate rules out (--directory-insecure puts it in)");
                }
            }
            None => self.directory.set_faults(f.ldap),
        }
        self.graph.set_faults(f.graph);
    }

    /// The relay closes every listener's control channel (the engine reconnects).
    pub fn drop_relay_listeners(&self) {
        self.relay.drop_listeners();
    }

    /// The DC resets every open LDAP connection.
    pub fn reset_ldap_connections(&self) {
        match self.external.as_ref().map(|x| x.proxy.as_ref()) {
            Some(Some(p)) => p.reset(),
            Some(None) => {}
            None => self.directory.reset_connections(),
        }
    }
}
