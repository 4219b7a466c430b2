//! The domain's fixed facts, decided at provisioning (names, SID prefix, the DC's host), and
//! the well-known RIDs.

use super::dn::{self, Dn};
use super::ids;

/// Well-known RIDs (MS-DTYP 2.4.2.4).
pub mod rid {
    pub const ADMINISTRATOR: u32 = 500;
    pub const GUEST: u32 = 501;
    pub const KRBTGT: u32 = 502;
    pub const DOMAIN_ADMINS: u32 = 512;
    pub const DOMAIN_USERS: u32 = 513;
    pub const DOMAIN_GUESTS: u32 = 514;
    pub const DOMAIN_COMPUTERS: u32 = 515;
    pub const DOMAIN_CONTROLLERS: u32 = 516;
    pub const SCHEMA_ADMINS: u32 = 518;
    pub const ENTERPRISE_ADMINS: u32 = 519;
    /// The first RID handed to an object created after provisioning.
    pub const FIRST_FREE: u32 = 1103;
}

/// The domain's fixed facts, decided at provisioning.
#[derive(Debug, Clone)]
pub struct DomainInfo {
    pub dns_name: String,
    pub netbios: String,
    pub dn: Dn,
    pub config_dn: Dn,
    pub schema_dn: Dn,
    /// The sub-authorities after 5: 21, a, b, c.
    pub sid_prefix: Vec<u32>,
    pub dc_host: String,
}

impl DomainInfo {
    pub fn new(forest: &str) -> Self {
        let dns_name = forest.trim().trim_end_matches('.').to_ascii_lowercase();
        let dn = Dn {
            rdns: dns_name.split('.').map(|l| dn::Rdn::new("DC", l)).collect(),
        };
        let config_dn = dn.child(dn::Rdn::new("CN", "Configuration"));
        let schema_dn = config_dn.child(dn::Rdn::new("CN", "Schema"));
        let netbios = dns_name
            .split('.')
            .next()
            .unwrap_or("DOMAIN")
            .to_ascii_uppercase();
        Self {
            dc_host: format!("dc1.{dns_name}"),
            dns_name,
            netbios,
            dn,
            config_dn,
            schema_dn,
            sid_prefix: Vec::new(),
        }
    }

    pub fn sid(&self, rid: u32) -> Vec<u8> {
        let mut subs = self.sid_prefix.clone();
        subs.push(rid);
        ids::sid_bytes(5, &subs)
    }

    /// `CN=Person,CN=Schema,CN=Configuration,DC=…`
    pub fn category_dn(&self, category: &str) -> String {
        format!("CN={category},{}", self.schema_dn)
    }
}
