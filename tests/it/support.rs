//! Shared fixtures: a directory served on 127.0.0.1:0 on a manual clock, and `ldap3`
//! clients connected to it over plain LDAP, StartTLS and LDAPS.

use chrono::Duration;
use ldap3::{Ldap, LdapConnAsync, LdapConnSettings, LdapResult, Mod, Scope, SearchEntry};
use std::collections::HashSet;
use std::sync::Arc;
use writeback_sim::clock::ManualClock;
use writeback_sim::directory::password_policy::encode_unicode_pwd;
use writeback_sim::directory::server::Running;
use writeback_sim::directory::{Directory, DirectoryConfig};
use writeback_sim::tls::TlsMaterial;

pub const DOMAIN: &str = "DC=gntech,DC=me";
pub const ADMIN_DN: &str = "CN=Administrator,CN=Users,DC=gntech,DC=me";
pub const ADMIN_PW: &str = "Adm1n!Pass2026";
pub const PROBE_OU: &str = "OU=Probe,DC=gntech,DC=me";
pub const ALICE: &str = "CN=Alice Probe,OU=Probe,DC=gntech,DC=me";
pub const ALICE_PW: &str = "Initial#Pass2026";
pub const HELPDESK: &str = "CN=Helpdesk Probe,OU=Probe,DC=gntech,DC=me";
pub const HELPDESK_PW: &str = "Service#Pass2026";

/// The probe users of `reference/ad-behaviour.md`: alice.p and helpdesk.p in OU=Probe,
/// enabled, with passwords, and the policy of §4 (length 8, complexity, history 3, min age 0).
pub const PROBE_LDIF: &str = r#"
dn: OU=Probe,DC=gntech,DC=me
objectClass: organizationalUnit

dn: CN=Alice Probe,OU=Probe,DC=gntech,DC=me
objectClass: user
sAMAccountName: alice.p
userPrincipalName: alice.p@gntech.me
displayName: Alice Probe
givenName: Alice
sn: Probe
userAccountControl: 512
unicodePwd:: IgBJAG4AaQB0AGkAYQBsACMAUABhAHMAcwAyADAAMgA2ACIA

dn: CN=Helpdesk Probe,OU=Probe,DC=gntech,DC=me
objectClass: user
sAMAccountName: helpdesk.p
userPrincipalName: helpdesk.p@gntech.me
displayName: Helpdesk Probe
userAccountControl: 512
unicodePwd:: IgBTAGUAcgB2AGkAYwBlACMAUABhAHMAcwAyADAAMgA2ACIA

dn: DC=gntech,DC=me
changetype: modify
replace: minPwdLength
minPwdLength: 8
-
replace: pwdHistoryLength
pwdHistoryLength: 3
-
replace: minPwdAge
minPwdAge: 0
-
"#;

pub struct Dc {
    pub dir: Directory,
    pub clock: ManualClock,
    pub running: Running,
}

impl Dc {
    /// A provisioned gntech.me with the probe users.
    pub async fn start() -> Dc {
        Self::start_with(DirectoryConfig::default()).await
    }

    pub async fn start_with(config: DirectoryConfig) -> Dc {
        let clock = ManualClock::scenario_start();
        let dir = Directory::new(config, Arc::new(clock.clone())).expect("provision");
        dir.import_ldif(PROBE_LDIF, "probe.ldif")
            .expect("probe users");
        let tls = TlsMaterial::generate(&["dc1.gntech.me".into(), "localhost".into()])
            .expect("certificate");
        let any = "127.0.0.1:0".parse().ok();
        let running = Running::start(dir.clone(), any, any, tls)
            .await
            .expect("listen");
        Dc {
            dir,
            clock,
            running,
        }
    }

    pub fn ldap_url(&self) -> String {
        self.running.ldap_url().expect("ldap listener")
    }

    pub fn ldaps_url(&self) -> String {
        self.running.ldaps_url().expect("ldaps listener")
    }

    /// A plain LDAP connection (no TLS).
    pub async fn plain(&self) -> Ldap {
        connect(&self.ldap_url(), false).await
    }

    /// A plain connection upgraded with StartTLS.
    pub async fn starttls(&self) -> Ldap {
        connect(&self.ldap_url(), true).await
    }

    /// An LDAPS connection.
    pub async fn ldaps(&self) -> Ldap {
        connect(&self.ldaps_url(), false).await
    }

    /// LDAPS, bound as `who`; panics when the bind fails.
    pub async fn bound(&self, who: &str, pw: &str) -> Ldap {
        let mut l = self.ldaps().await;
        l.simple_bind(who, pw)
            .await
            .expect("bind")
            .success()
            .expect("bind succeeds");
        l
    }

    pub async fn admin(&self) -> Ldap {
        self.bound(ADMIN_DN, ADMIN_PW).await
    }

    /// Result of a simple bind over LDAPS.
    pub async fn try_bind(&self, who: &str, pw: &str) -> LdapResult {
        let mut l = self.ldaps().await;
        l.simple_bind(who, pw).await.expect("bind round trip")
    }

    pub fn advance(&self, d: Duration) {
        self.clock.advance(d);
    }

    pub fn int(&self, dn: &str, attr: &str) -> i64 {
        self.dir
            .entry(dn)
            .and_then(|e| e.int(attr))
            .unwrap_or_else(|| panic!("{dn} has no integer {attr}"))
    }
}

pub async fn connect(url: &str, starttls: bool) -> Ldap {
    let settings = LdapConnSettings::new()
        .set_no_tls_verify(true)
        .set_starttls(starttls);
    let (conn, ldap) = LdapConnAsync::with_settings(settings, url)
        .await
        .expect("connect");
    ldap3::drive!(conn);
    ldap
}

/// The unicodePwd value for `pw`.
pub fn pwd(pw: &str) -> Vec<u8> {
    encode_unicode_pwd(pw)
}

/// A reset: one replace of unicodePwd.
pub fn reset(pw: &str) -> Vec<Mod<Vec<u8>>> {
    vec![Mod::Replace(
        b"unicodePwd".to_vec(),
        HashSet::from([pwd(pw)]),
    )]
}

/// A change: delete the old value, add the new one.
pub fn change(old: &str, new: &str) -> Vec<Mod<Vec<u8>>> {
    vec![
        Mod::Delete(b"unicodePwd".to_vec(), HashSet::from([pwd(old)])),
        Mod::Add(b"unicodePwd".to_vec(), HashSet::from([pwd(new)])),
    ]
}

/// Replace one text attribute.
pub fn replace(attr: &str, value: &str) -> Vec<Mod<Vec<u8>>> {
    vec![Mod::Replace(
        attr.as_bytes().to_vec(),
        HashSet::from([value.as_bytes().to_vec()]),
    )]
}

/// Add request attributes from (name, values) pairs.
pub fn attrs(pairs: &[(&str, &[&str])]) -> Vec<(Vec<u8>, HashSet<Vec<u8>>)> {
    pairs
        .iter()
        .map(|(n, vs)| {
            (
                n.as_bytes().to_vec(),
                vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
            )
        })
        .collect()
}

/// Subtree search; the entries and the result.
pub async fn search(
    l: &mut Ldap,
    base: &str,
    filter: &str,
    attrs: &[&str],
) -> (Vec<SearchEntry>, LdapResult) {
    let r = l
        .search(base, Scope::Subtree, filter, attrs.to_vec())
        .await
        .expect("search round trip");
    (
        r.0.into_iter()
            .filter(|e| !e.is_ref())
            .map(SearchEntry::construct)
            .collect(),
        r.1,
    )
}

/// The diagnostic starts with the Win32 code (`0000052D: …`).
#[track_caller]
pub fn assert_ad(r: &LdapResult, rc: u32, hex: &str) {
    assert_eq!(r.rc, rc, "result code; text: {}", r.text);
    assert!(
        r.text.starts_with(hex),
        "diagnostic should start with {hex}: {:?}",
        r.text
    );
}

/// A bind answered 49 with `data <code>`.
#[track_caller]
pub fn assert_bind_data(r: &LdapResult, data: &str) {
    assert_eq!(r.rc, 49, "{}", r.text);
    assert!(r.text.starts_with("80090308:"), "{}", r.text);
    assert!(
        r.text.contains(&format!("data {data},")),
        "want data {data}: {}",
        r.text
    );
}

/// A cloud group for Graph and writeback tests: objectId `30000000-…-<i as 12 hex>`, a
/// Microsoft 365 group (mail `<name>@gntech.me`, proxyAddresses) or a security group.
pub fn cloud_group(
    i: usize,
    name: &str,
    unified: bool,
    members: Vec<String>,
) -> writeback_sim::cloud::tenant::CloudGroup {
    let nickname: String = name
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect::<String>()
        .to_lowercase();
    let mail = unified.then(|| format!("{nickname}@gntech.me"));
    writeback_sim::cloud::tenant::CloudGroup {
        id: format!("30000000-0000-4000-8000-{i:012x}"),
        display_name: name.into(),
        description: None,
        mail_nickname: nickname,
        proxy_addresses: mail.iter().map(|m| format!("SMTP:{m}")).collect(),
        mail,
        mail_enabled: unified,
        security_enabled: !unified,
        group_types: if unified {
            vec!["Unified".into()]
        } else {
            vec![]
        },
        members,
        writeback: Default::default(),
        on_premises_sync_enabled: false,
    }
}

/// The nTSecurityDescriptor of `dn`, as its bytes.
pub async fn descriptor_bytes(l: &mut Ldap, dn: &str) -> Vec<u8> {
    let (entries, _) = l
        .search(
            dn,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["nTSecurityDescriptor"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    ldap3::SearchEntry::construct(entries.into_iter().next().unwrap()).bin_attrs
        ["nTSecurityDescriptor"][0]
        .clone()
}
