//! Binds: name forms, AD's `data` codes, anonymous access, WhoAmI (`ad-behaviour.md` §1–§2).

use crate::support::*;
use chrono::Duration;
use ldap3::exop::{WhoAmI, WhoAmIResp};
use writeback_sim::directory::DirectoryConfig;

#[tokio::test]
async fn bind_by_dn_upn_and_down_level_name() {
    let dc = Dc::start().await;
    for name in [
        ALICE,
        "alice.p@gntech.me",
        "GNTECH\\alice.p",
        "gntech\\ALICE.P",
        "cn=alice probe,ou=probe,dc=gntech,dc=me",
    ] {
        let r = dc.try_bind(name, ALICE_PW).await;
        assert_eq!(r.rc, 0, "{name}: {}", r.text);
    }
}

#[tokio::test]
async fn implicit_upn_of_sam_account_name_binds() {
    let dc = Dc::start().await;
    // Administrator has no userPrincipalName; sAMAccountName@dns-domain still works.
    assert_eq!(dc.try_bind("Administrator@gntech.me", ADMIN_PW).await.rc, 0);
}

#[tokio::test]
async fn unknown_names_and_wrong_passwords_all_answer_52e() {
    let dc = Dc::start().await;
    for (name, pw) in [
        (ALICE, "Wrong#Pass2026"),
        ("CN=Nobody,OU=Probe,DC=gntech,DC=me", ALICE_PW),
        ("nobody@gntech.me", ALICE_PW),
        ("alice.p", ALICE_PW),
        ("OTHER\\alice.p", ALICE_PW),
    ] {
        assert_bind_data(&dc.try_bind(name, pw).await, "52e");
    }
}

#[tokio::test]
async fn account_state_decides_after_a_right_password() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .modify(ALICE, replace("userAccountControl", "514"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "533");
    // A disabled account with a wrong password still says 52e.
    assert_bind_data(&dc.try_bind(ALICE, "Wrong#Pass2026").await, "52e");

    admin
        .modify(ALICE, replace("userAccountControl", "512"))
        .await
        .unwrap()
        .success()
        .unwrap();
    admin
        .modify(ALICE, replace("pwdLastSet", "0"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "773");

    admin
        .modify(ALICE, replace("pwdLastSet", "-1"))
        .await
        .unwrap()
        .success()
        .unwrap();
    admin
        .modify(ALICE, replace("accountExpires", "130000000000000000"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "701");

    admin
        .modify(ALICE, replace("accountExpires", "0"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(dc.try_bind(ALICE, ALICE_PW).await.rc, 0);
    dc.advance(Duration::days(43));
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "532");
}

#[tokio::test]
async fn require_tls_for_bind_answers_8_on_plain_ldap_only() {
    let dc = Dc::start_with(DirectoryConfig {
        require_tls_for_bind: true,
        ..DirectoryConfig::default()
    })
    .await;
    let mut plain = dc.plain().await;
    let r = plain.simple_bind(ADMIN_DN, ADMIN_PW).await.unwrap();
    assert_ad(&r, 8, "00002028:");
    assert_eq!(
        dc.starttls()
            .await
            .simple_bind(ADMIN_DN, ADMIN_PW)
            .await
            .unwrap()
            .rc,
        0
    );
    assert_eq!(dc.try_bind(ADMIN_DN, ADMIN_PW).await.rc, 0);
}

#[tokio::test]
async fn anonymous_reads_the_rootdse_only() {
    let dc = Dc::start().await;
    let mut l = dc.plain().await;
    let r = l
        .search("", ldap3::Scope::Base, "(objectClass=*)", vec!["*"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let root = ldap3::SearchEntry::construct(r.0.into_iter().next().unwrap());
    let get = |a: &str| root.attrs.get(a).cloned().unwrap_or_default();
    assert_eq!(get("defaultNamingContext"), vec![DOMAIN]);
    assert_eq!(get("rootDomainNamingContext"), vec![DOMAIN]);
    assert_eq!(
        get("configurationNamingContext"),
        vec!["CN=Configuration,DC=gntech,DC=me"]
    );
    assert_eq!(get("dnsHostName"), vec!["dc1.gntech.me"]);
    assert_eq!(get("domainFunctionality"), vec!["7"]);
    assert_eq!(get("forestFunctionality"), vec!["7"]);
    assert_eq!(get("supportedLDAPVersion"), vec!["2", "3"]);
    assert_eq!(get("isSynchronized"), vec!["TRUE"]);
    let controls = get("supportedControl");
    for oid in [
        "1.2.840.113556.1.4.319",
        "1.2.840.113556.1.4.2239",
        "1.2.840.113556.1.4.2066",
    ] {
        assert!(
            controls.iter().any(|c| c == oid),
            "{oid} missing from {controls:?}"
        );
    }
    assert!(get("supportedExtension").contains(&"1.3.6.1.4.1.4203.1.11.3".to_string()));
    assert!(!root.attrs.contains_key("vendorName"));

    let (_, r) = search(&mut l, DOMAIN, "(objectClass=*)", &["cn"]).await;
    assert_ad(&r, 1, "000004DC:");
}

#[tokio::test]
async fn whoami_names_the_bound_account() {
    let dc = Dc::start().await;
    let mut l = dc.bound("alice.p@gntech.me", ALICE_PW).await;
    let (exop, res) = l.extended(WhoAmI).await.unwrap().success().unwrap();
    assert_eq!(res.rc, 0);
    assert_eq!(exop.parse::<WhoAmIResp>().authzid, "u:GNTECH\\alice.p");
    let mut anon = dc.plain().await;
    let (exop, _) = anon.extended(WhoAmI).await.unwrap().success().unwrap();
    assert_eq!(exop.parse::<WhoAmIResp>().authzid, "");
}

#[tokio::test]
async fn a_failed_bind_leaves_the_connection_anonymous() {
    let dc = Dc::start().await;
    let mut l = dc.bound(ALICE, ALICE_PW).await;
    assert_bind_data(
        &l.simple_bind(ALICE, "Wrong#Pass2026").await.unwrap(),
        "52e",
    );
    let (_, r) = search(&mut l, DOMAIN, "(cn=*)", &["cn"]).await;
    assert_eq!(r.rc, 1);
}
