//! The RootDSE (base `""`, scope base): what a DC tells anyone, even anonymously, about
//! itself — naming contexts, the controls and extended operations it serves, its
//! functional levels (`reference/ad-behaviour.md` §2).

use super::controls::*;
use super::State;
use crate::clock::generalized_time;
use chrono::{DateTime, Utc};
use ldap3_proto::proto::{LdapPartialAttribute, LdapSearchResultEntry};

/// Windows Server 2016 functional level.
const FUNCTIONAL_LEVEL: &str = "7";

pub fn entry(st: &State, attrs: &[String], now: DateTime<Utc>) -> LdapSearchResultEntry {
    let d = &st.domain;
    let domain = d.dn.to_string();
    let config = d.config_dn.to_string();
    let schema = d.schema_dn.to_string();
    let host = d
        .dc_host
        .split('.')
        .next()
        .unwrap_or("dc1")
        .to_ascii_uppercase();
    let server = format!("CN={host},CN=Servers,CN=Default-First-Site-Name,CN=Sites,{config}");
    let values: Vec<(&str, Vec<String>)> = vec![
        ("configurationNamingContext", vec![config.clone()]),
        ("currentTime", vec![generalized_time(now)]),
        ("defaultNamingContext", vec![domain.clone()]),
        ("dnsHostName", vec![d.dc_host.clone()]),
        (
            "domainControllerFunctionality",
            vec![FUNCTIONAL_LEVEL.into()],
        ),
        ("domainFunctionality", vec![FUNCTIONAL_LEVEL.into()]),
        ("dsServiceName", vec![format!("CN=NTDS Settings,{server}")]),
        ("forestFunctionality", vec![FUNCTIONAL_LEVEL.into()]),
        ("highestCommittedUSN", vec![st.store.usn.to_string()]),
        ("isGlobalCatalogReady", vec!["TRUE".into()]),
        ("isSynchronized", vec!["TRUE".into()]),
        (
            "ldapServiceName",
            vec![format!(
                "{}:{}$@{}",
                d.dns_name,
                host.to_ascii_lowercase(),
                d.dns_name.to_ascii_uppercase()
            )],
        ),
        (
            "namingContexts",
            vec![
                domain.clone(),
                config.clone(),
                schema.clone(),
                format!("DC=DomainDnsZones,{domain}"),
                format!("DC=ForestDnsZones,{domain}"),
            ],
        ),
        ("rootDomainNamingContext", vec![domain.clone()]),
        ("schemaNamingContext", vec![schema.clone()]),
        ("serverName", vec![server]),
        ("subschemaSubentry", vec![format!("CN=Aggregate,{schema}")]),
        (
            "supportedCapabilities",
            [
                "1.2.840.113556.1.4.800",
                "1.2.840.113556.1.4.1670",
                "1.2.840.113556.1.4.1791",
                "1.2.840.113556.1.4.1935",
                "1.2.840.113556.1.4.2080",
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "supportedControl",
            // The measured list (`reference/ad-behaviour.md` §2) plus policy hints.
            // Notification, DirSync and VLV are listed as a DC lists them, but refused
            // when sent critical (12): this DC does not serve them.
            [
                OID_PAGED_RESULTS,
                OID_SERVER_SORT,
                OID_SD_FLAGS,
                OID_SHOW_DELETED,
                OID_PERMISSIVE_MODIFY,
                OID_NOTIFICATION,
                OID_DIRSYNC,
                OID_TREE_DELETE,
                OID_EXTENDED_DN,
                OID_DOMAIN_SCOPE,
                OID_SEARCH_OPTIONS,
                OID_RANGE_OPTION,
                OID_SHOW_RECYCLED,
                OID_VLV,
                OID_POLICY_HINTS,
                OID_POLICY_HINTS_DEPRECATED,
            ]
            .map(String::from)
            .to_vec(),
        ),
        (
            "supportedExtension",
            vec![OID_START_TLS.into(), ldap3_proto::proto::OID_WHOAMI.into()],
        ),
        (
            "supportedLDAPPolicies",
            vec!["MaxPageSize".into(), "MaxReceiveBuffer".into()],
        ),
        ("supportedLDAPVersion", vec!["2".into(), "3".into()]),
        (
            "supportedSASLMechanisms",
            vec!["GSS-SPNEGO".into(), "GSSAPI".into(), "NTLM".into()],
        ),
    ];
    let all = attrs.is_empty() || attrs.iter().any(|a| a == "*");
    let attributes = values
        .into_iter()
        .filter(|(name, _)| all || attrs.iter().any(|a| a.eq_ignore_ascii_case(name)))
        .map(|(name, vals)| LdapPartialAttribute {
            atype: name.to_string(),
            vals: vals.into_iter().map(String::into_bytes).collect(),
        })
        .collect();
    LdapSearchResultEntry {
        dn: String::new(),
        attributes,
    }
}
