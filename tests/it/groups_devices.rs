//! Groups and devices (`ad-behaviour.md` §9–§10).

use crate::support::*;
use ldap3::Mod;
use std::collections::HashSet;

const SALES: &str = "CN=Sales,OU=Probe,DC=gntech,DC=me";

type ModOp = fn(Vec<u8>, HashSet<Vec<u8>>) -> Mod<Vec<u8>>;

fn members(op: ModOp, dns: &[&str]) -> Vec<Mod<Vec<u8>>> {
    vec![op(
        b"member".to_vec(),
        dns.iter().map(|d| d.as_bytes().to_vec()).collect(),
    )]
}

#[tokio::test]
async fn group_types_and_account_types() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    l.add(SALES, attrs(&[("objectClass", &["group"])]))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(dc.int(SALES, "groupType"), -2147483646);
    assert_eq!(dc.int(SALES, "sAMAccountType"), 268435456);
    let dist = "CN=M365,OU=Probe,DC=gntech,DC=me";
    l.add(
        dist,
        attrs(&[("objectClass", &["group"]), ("groupType", &["8"])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(dc.int(dist, "sAMAccountType"), 268435457);
    let sec = "CN=M365 Sec,OU=Probe,DC=gntech,DC=me";
    l.add(
        sec,
        attrs(&[("objectClass", &["group"]), ("groupType", &["-2147483640"])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(dc.int(sec, "groupType"), -2147483640);
    let r = l
        .add(
            "CN=Bad,OU=Probe,DC=gntech,DC=me",
            attrs(&[("objectClass", &["group"]), ("groupType", &["3"])]),
        )
        .await
        .unwrap();
    assert_ad(&r, 53, "00002035:");
    assert_ad(
        &l.modify(SALES, replace("groupType", "3")).await.unwrap(),
        53,
        "00002035:",
    );
}

#[tokio::test]
async fn membership_keeps_member_of_in_step() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    l.add(SALES, attrs(&[("objectClass", &["group"])]))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        l.modify(SALES, members(Mod::Add, &[ALICE]))
            .await
            .unwrap()
            .rc,
        0
    );
    let (e, _) = search(&mut l, ALICE, "(objectClass=*)", &["memberOf"]).await;
    assert_eq!(e[0].attrs["memberOf"], vec![SALES]);
    let (e, _) = search(&mut l, DOMAIN, &format!("(memberOf={SALES})"), &["cn"]).await;
    assert_eq!(e.len(), 1);

    assert_eq!(
        l.modify(
            SALES,
            members(Mod::Add, &["CN=Ghost,OU=Probe,DC=gntech,DC=me"])
        )
        .await
        .unwrap()
        .rc,
        32
    );
    assert_eq!(
        l.modify(SALES, members(Mod::Add, &[ALICE]))
            .await
            .unwrap()
            .rc,
        68
    );
    assert_eq!(
        l.modify(SALES, members(Mod::Delete, &[HELPDESK]))
            .await
            .unwrap()
            .rc,
        53
    );

    // Nested membership through the in-chain rule.
    let outer = "CN=All Staff,OU=Probe,DC=gntech,DC=me";
    l.add(
        outer,
        attrs(&[("objectClass", &["group"]), ("member", &[SALES])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let (e, _) = search(
        &mut l,
        DOMAIN,
        &format!("(memberOf:1.2.840.113556.1.4.1941:={outer})"),
        &["cn"],
    )
    .await;
    let mut names: Vec<_> = e.iter().map(|e| e.dn.clone()).collect();
    names.sort();
    assert_eq!(names, vec![ALICE.to_string(), SALES.to_string()]);

    // Deleting the member removes it from the group.
    assert_eq!(l.delete(ALICE).await.unwrap().rc, 0);
    let (e, _) = search(&mut l, SALES, "(objectClass=*)", &["member"]).await;
    assert!(!e[0].attrs.contains_key("member"));
}

#[tokio::test]
async fn renaming_a_member_updates_the_group() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    l.add(
        SALES,
        attrs(&[("objectClass", &["group"]), ("member", &[ALICE])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    l.modifydn(ALICE, "CN=Alice Smith", true, None)
        .await
        .unwrap()
        .success()
        .unwrap();
    let (e, _) = search(&mut l, SALES, "(objectClass=*)", &["member"]).await;
    assert_eq!(
        e[0].attrs["member"],
        vec!["CN=Alice Smith,OU=Probe,DC=gntech,DC=me"]
    );
}

#[tokio::test]
async fn devices_live_in_a_device_container_with_their_mandatory_attributes() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let container = "CN=RegisteredDevices,DC=gntech,DC=me";
    let r = l
        .search(container, ldap3::Scope::Base, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(r.1.rc, 32, "a new domain has no RegisteredDevices");
    l.add(
        container,
        attrs(&[("objectClass", &["msDS-DeviceContainer"])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let dn = format!("CN=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,{container}");
    let mut dev = attrs(&[
        ("objectClass", &["msDS-Device"]),
        ("displayName", &["LAPTOP-01"]),
        ("msDS-IsEnabled", &["TRUE"]),
    ]);
    dev.push((b"msDS-DeviceID".to_vec(), HashSet::from([vec![9u8; 16]])));
    assert_ad(&l.add(&dn, dev.clone()).await.unwrap(), 65, "00002014:");
    dev.push((
        b"altSecurityIdentities".to_vec(),
        HashSet::from([b"X509:<SHA1-TP-PUBKEY>abc".to_vec()]),
    ));
    assert_eq!(l.add(&dn, dev).await.unwrap().rc, 0);
    let e = dc.dir.entry(&dn).unwrap();
    assert!(!e.has("objectSid"), "a device has no objectSid");
    assert_eq!(
        e.str("objectCategory"),
        Some("CN=ms-DS-Device,CN=Schema,CN=Configuration,DC=gntech,DC=me")
    );
}
