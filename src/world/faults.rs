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
        Faults {
            relay: self.relay.faults(),
            ldap: self.directory.faults(),
            graph: self.graph.faults(),
        }
    }

    /// Put these faults in force (and lift the others).
    pub fn set_faults(&self, f: Faults) {
        self.relay.set_faults(f.relay);
        self.directory.set_faults(f.ldap);
        self.graph.set_faults(f.graph);
    }

    /// The relay closes every listener's control channel (the engine reconnects).
    pub fn drop_relay_listeners(&self) {
        self.relay.drop_listeners();
    }

    /// The DC resets every open LDAP connection.
    pub fn reset_ldap_connections(&self) {
        self.directory.reset_connections();
    }
}
