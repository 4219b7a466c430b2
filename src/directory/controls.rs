//! The OIDs of the controls and extended operations the DC knows (RFC 4511, MS-ADTS
//! 3.1.1.3.4.1): what RootDSE advertises and what the session acts on.

pub const OID_START_TLS: &str = "1.3.6.1.4.1.1466.20037";
pub const OID_NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";
pub const OID_PAGED_RESULTS: &str = "1.2.840.113556.1.4.319";
pub const OID_SERVER_SORT: &str = "1.2.840.113556.1.4.473";
pub const OID_SD_FLAGS: &str = "1.2.840.113556.1.4.801";
pub const OID_SHOW_DELETED: &str = "1.2.840.113556.1.4.417";
pub const OID_TREE_DELETE: &str = "1.2.840.113556.1.4.805";
pub const OID_NOTIFICATION: &str = "1.2.840.113556.1.4.528";
pub const OID_DIRSYNC: &str = "1.2.840.113556.1.4.841";
pub const OID_EXTENDED_DN: &str = "1.2.840.113556.1.4.529";
/// LDAP_SERVER_DOMAIN_SCOPE_OID: no referrals.
pub const OID_DOMAIN_SCOPE: &str = "1.2.840.113556.1.4.1339";
/// LDAP_SERVER_SEARCH_OPTIONS_OID: SEQUENCE { INTEGER flags } (1 domain scope, 2 phantom root).
pub const OID_SEARCH_OPTIONS: &str = "1.2.840.113556.1.4.1340";
/// LDAP_SERVER_RANGE_OPTION_OID: range retrieval; nothing here is ever ranged.
pub const OID_RANGE_OPTION: &str = "1.2.840.113556.1.4.1341";
/// LDAP_SERVER_SHOW_RECYCLED_OID: there is no recycle bin, so nothing more to show.
pub const OID_SHOW_RECYCLED: &str = "1.2.840.113556.1.4.2064";
pub const OID_VLV: &str = "2.16.840.1.113730.3.4.9";
pub const OID_PERMISSIVE_MODIFY: &str = "1.2.840.113556.1.4.1413";
/// LDAP_SERVER_POLICY_HINTS_OID (MS-ADTS 3.1.1.3.4.1.27).
pub const OID_POLICY_HINTS: &str = "1.2.840.113556.1.4.2239";
/// LDAP_SERVER_POLICY_HINTS_DEPRECATED_OID.
pub const OID_POLICY_HINTS_DEPRECATED: &str = "1.2.840.113556.1.4.2066";
