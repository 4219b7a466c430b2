//! Updates and names (`ad-behaviour.md` §7–§8): what the DC fills in, schema and naming
//! violations, modify rules, delete, modify-DN, compare, DN case.

use crate::support::*;
use ldap3::Mod;
use std::collections::HashSet;

fn user(sam: &str) -> Vec<(Vec<u8>, HashSet<Vec<u8>>)> {
    attrs(&[("objectClass", &["user"]), ("sAMAccountName", &[sam])])
}

#[tokio::test]
async fn the_dc_fills_in_a_new_users_attributes() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let dn = "CN=New User,OU=Probe,DC=gntech,DC=me";
    l.add(
        dn,
        attrs(&[(
            "objectClass",
            &["top", "person", "organizationalPerson", "user"],
        )]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let e = dc.dir.entry(dn).unwrap();
    assert_eq!(e.values("objectGUID")[0].len(), 16);
    assert_eq!(e.str("whenCreated"), e.str("whenChanged"));
    assert_eq!(e.str("whenCreated"), Some("20260105090000.0Z"));
    assert_eq!(e.int("uSNCreated"), e.int("uSNChanged"));
    assert_eq!(e.int("instanceType"), Some(4));
    assert_eq!(e.str("name"), Some("New User"));
    assert_eq!(e.str("cn"), Some("New User"));
    assert_eq!(e.str("distinguishedName"), Some(dn));
    assert_eq!(
        e.str("objectCategory"),
        Some("CN=Person,CN=Schema,CN=Configuration,DC=gntech,DC=me")
    );
    assert_eq!(e.int("userAccountControl"), Some(546));
    assert_eq!(e.int("primaryGroupID"), Some(513));
    assert_eq!(e.int("pwdLastSet"), Some(0));
    assert_eq!(e.int("sAMAccountType"), Some(805306368));
    assert_eq!(e.int("accountExpires"), Some(9223372036854775807));
    assert_eq!(e.int("badPwdCount"), Some(0));
    let objectclasses: Vec<&str> = e.strs("objectClass").collect();
    assert_eq!(
        objectclasses,
        ["top", "person", "organizationalPerson", "user"]
    );
    let sid = writeback_sim::directory::ids::sid_text(&e.values("objectSid")[0]).unwrap();
    let domain_sid = writeback_sim::directory::ids::sid_text(
        &dc.dir.entry(DOMAIN).unwrap().values("objectSid")[0],
    )
    .unwrap();
    assert!(
        sid.starts_with(&format!("{domain_sid}-")),
        "{sid} under {domain_sid}"
    );
    // Generated sAMAccountName: $ + 8 hex + - + 16 hex.
    let sam = e.str("sAMAccountName").unwrap();
    assert_eq!(sam.len(), 26, "{sam}");
    assert!(sam.starts_with('$') && sam.as_bytes()[9] == b'-', "{sam}");

    // A modify moves whenChanged and uSNChanged, not whenCreated.
    let usn = e.int("uSNChanged").unwrap();
    dc.advance(chrono::Duration::minutes(5));
    l.modify(dn, replace("description", "changed"))
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = dc.dir.entry(dn).unwrap();
    assert!(e.int("uSNChanged").unwrap() > usn);
    assert_eq!(e.str("whenChanged"), Some("20260105090500.0Z"));
    assert_eq!(e.str("whenCreated"), Some("20260105090000.0Z"));
    // Enabling before a password is set is allowed.
    assert_eq!(
        l.modify(dn, replace("userAccountControl", "512"))
            .await
            .unwrap()
            .rc,
        0
    );
}

#[tokio::test]
async fn computers_get_their_own_defaults() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let dn = "CN=PC01,CN=Computers,DC=gntech,DC=me";
    l.add(
        dn,
        attrs(&[
            ("objectClass", &["computer"]),
            ("sAMAccountName", &["PC01$"]),
        ]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let e = dc.dir.entry(dn).unwrap();
    assert_eq!(e.int("userAccountControl"), Some(4130));
    assert_eq!(e.int("primaryGroupID"), Some(515));
    assert_eq!(e.int("sAMAccountType"), Some(805306369));
    assert_eq!(
        e.str("objectCategory"),
        Some("CN=Computer,CN=Schema,CN=Configuration,DC=gntech,DC=me")
    );
    // An admin may create one without the trailing $ (as measured); others may not (KB5008102).
    assert_eq!(
        l.add(
            "CN=PC02,CN=Computers,DC=gntech,DC=me",
            attrs(&[
                ("objectClass", &["computer"]),
                ("sAMAccountName", &["PC02"])
            ])
        )
        .await
        .unwrap()
        .rc,
        0
    );
    dc.dir
        .grant(HELPDESK, "create_computer".parse().unwrap(), PROBE_OU)
        .unwrap();
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    let r = hd
        .add(
            "CN=PC03,OU=Probe,DC=gntech,DC=me",
            attrs(&[
                ("objectClass", &["computer"]),
                ("sAMAccountName", &["PC03"]),
            ]),
        )
        .await
        .unwrap();
    assert_eq!(r.rc, 19, "{}", r.text);
    assert_eq!(
        hd.add(
            "CN=PC03,OU=Probe,DC=gntech,DC=me",
            attrs(&[
                ("objectClass", &["computer"]),
                ("sAMAccountName", &["PC03$"])
            ])
        )
        .await
        .unwrap()
        .rc,
        0
    );
}

#[tokio::test]
async fn add_conflicts_and_missing_parents() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    assert_ad(&l.add(ALICE, user("other")).await.unwrap(), 68, "00000524:");
    let r = l
        .add("CN=X,OU=Nope,OU=Probe,DC=gntech,DC=me", user("x"))
        .await
        .unwrap();
    assert_ad(&r, 32, "0000208D:");
    assert_eq!(r.matched, PROBE_OU);
    assert_ad(
        &l.add("CN=Dup,OU=Probe,DC=gntech,DC=me", user("alice.p"))
            .await
            .unwrap(),
        68,
        "00002071:",
    );
    let upn = attrs(&[
        ("objectClass", &["user"]),
        ("userPrincipalName", &["ALICE.P@gntech.me"]),
    ]);
    assert_ad(
        &l.add("CN=Dup,OU=Probe,DC=gntech,DC=me", upn).await.unwrap(),
        19,
        "0000202F:",
    );
}

#[tokio::test]
async fn schema_violations_are_answered_like_ad() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let add = |cls: &'static [&'static str]| attrs(&[("objectClass", cls)]);
    assert_eq!(
        l.add("CN=T,OU=Probe,DC=gntech,DC=me", add(&["top"]))
            .await
            .unwrap()
            .rc,
        53
    );
    assert_ad(
        &l.add("CN=T,OU=Probe,DC=gntech,DC=me", add(&["noSuchClass"]))
            .await
            .unwrap(),
        16,
        "0000200A:",
    );
    let bad_attr = attrs(&[("objectClass", &["user"]), ("noSuchAttribute", &["x"])]);
    assert_ad(
        &l.add("CN=T,OU=Probe,DC=gntech,DC=me", bad_attr)
            .await
            .unwrap(),
        17,
        "00000057:",
    );
    assert_ad(
        &l.modify(ALICE, replace("noSuchAttribute", "x"))
            .await
            .unwrap(),
        17,
        "00000057:",
    );
    assert_ad(
        &l.add("OU=T,OU=Probe,DC=gntech,DC=me", add(&["user"]))
            .await
            .unwrap(),
        64,
        "00002037:",
    );
    assert_ad(
        &l.add(&format!("OU=Under,{ALICE}"), add(&["organizationalUnit"]))
            .await
            .unwrap(),
        64,
        "00002037:",
    );
    assert_ad(
        &l.add(
            "CN=Devices,OU=Probe,DC=gntech,DC=me",
            add(&["msDS-DeviceContainer"]),
        )
        .await
        .unwrap(),
        64,
        "00002037:",
    );
    let device = attrs(&[
        ("objectClass", &["msDS-Device"]),
        ("displayName", &["d"]),
        ("msDS-IsEnabled", &["TRUE"]),
        ("altSecurityIdentities", &["X509:x"]),
    ]);
    assert_ad(
        &l.add("CN=dev,OU=Probe,DC=gntech,DC=me", device)
            .await
            .unwrap(),
        64,
        "00002037:",
    );
    assert_ad(
        &l.modify(ALICE, replace("userAccountControl", "not-a-number"))
            .await
            .unwrap(),
        21,
        "00000057:",
    );
}

#[tokio::test]
async fn modify_rules() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    assert_ad(
        &l.modify(ALICE, replace("cn", "Renamed")).await.unwrap(),
        67,
        &format!("00002016: Modify of RDN 'CN' on {ALICE} not permitted"),
    );
    let guid = vec![Mod::Replace(
        b"objectGUID".to_vec(),
        HashSet::from([vec![1u8; 16]]),
    )];
    assert_ad(&l.modify(ALICE, guid).await.unwrap(), 19, "0000202F:");
    let del = vec![Mod::Delete(
        b"description".to_vec(),
        HashSet::from([b"not there".to_vec()]),
    )];
    assert_eq!(l.modify(ALICE, del).await.unwrap().rc, 16);
    let add_second = vec![Mod::Add(
        b"displayName".to_vec(),
        HashSet::from([b"Second".to_vec()]),
    )];
    assert_eq!(l.modify(ALICE, add_second).await.unwrap().rc, 20);
    // Multi-valued: add, then adding the same value again is 20, permissive modify makes it 0.
    let add_desc = || {
        vec![Mod::Add(
            b"description".to_vec(),
            HashSet::from([b"one".to_vec()]),
        )]
    };
    assert_eq!(l.modify(ALICE, add_desc()).await.unwrap().rc, 0);
    assert_eq!(l.modify(ALICE, add_desc()).await.unwrap().rc, 20);
    let permissive = ldap3::controls::RawControl {
        ctype: "1.2.840.113556.1.4.1413".into(),
        crit: false,
        val: None,
    };
    assert_eq!(
        l.with_controls(vec![permissive])
            .modify(ALICE, add_desc())
            .await
            .unwrap()
            .rc,
        0
    );
    // Missing object: 32 with the best match.
    let r = l
        .modify(
            "CN=Ghost,OU=Probe,DC=gntech,DC=me",
            replace("description", "x"),
        )
        .await
        .unwrap();
    assert_ad(&r, 32, "0000208D:");
    assert_eq!(r.matched, PROBE_OU);
    let r = l.delete("CN=Ghost,OU=Probe,DC=gntech,DC=me").await.unwrap();
    assert_eq!((r.rc, r.matched.as_str()), (32, PROBE_OU));
    // An unknown critical control is refused.
    let unknown = ldap3::controls::RawControl {
        ctype: "1.2.3.4.5".into(),
        crit: true,
        val: None,
    };
    assert_eq!(
        l.with_controls(vec![unknown])
            .modify(ALICE, replace("description", "x"))
            .await
            .unwrap()
            .rc,
        12
    );
}

#[tokio::test]
async fn delete_refuses_non_leaves_unless_tree_delete() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    assert_ad(&l.delete(PROBE_OU).await.unwrap(), 66, "0000208C:");
    let tree = ldap3::controls::RawControl {
        ctype: "1.2.840.113556.1.4.805".into(),
        crit: true,
        val: None,
    };
    assert_eq!(
        l.with_controls(vec![tree])
            .delete(PROBE_OU)
            .await
            .unwrap()
            .rc,
        0
    );
    assert!(dc.dir.entry(ALICE).is_none());
}

#[tokio::test]
async fn rename_and_move() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let guid = dc.dir.entry(ALICE).unwrap().guid().unwrap().to_vec();
    assert_eq!(
        l.modifydn(ALICE, "CN=Alice Renamed", true, None)
            .await
            .unwrap()
            .rc,
        0
    );
    let renamed = "CN=Alice Renamed,OU=Probe,DC=gntech,DC=me";
    let e = dc.dir.entry(renamed).unwrap();
    assert_eq!(
        (e.str("cn"), e.str("name"), e.str("distinguishedName")),
        (Some("Alice Renamed"), Some("Alice Renamed"), Some(renamed))
    );
    assert_eq!(e.str("sAMAccountName"), Some("alice.p"));
    assert_eq!(e.guid().unwrap(), guid.as_slice());

    l.add(
        "OU=Moved,DC=gntech,DC=me",
        attrs(&[("objectClass", &["organizationalUnit"])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(
        l.modifydn(
            renamed,
            "CN=Alice Renamed",
            true,
            Some("OU=Moved,DC=gntech,DC=me")
        )
        .await
        .unwrap()
        .rc,
        0
    );
    assert!(dc
        .dir
        .entry("CN=Alice Renamed,OU=Moved,DC=gntech,DC=me")
        .is_some());
    assert_eq!(
        dc.try_bind("CN=Alice Renamed,OU=Moved,DC=gntech,DC=me", ALICE_PW)
            .await
            .rc,
        0
    );

    let r = l
        .modifydn(
            "CN=Alice Renamed,OU=Moved,DC=gntech,DC=me",
            "CN=Alice Renamed",
            true,
            Some("OU=Nope,DC=gntech,DC=me"),
        )
        .await
        .unwrap();
    assert_ad(&r, 80, "00002095:");
    let r = l
        .modifydn(
            "CN=Alice Renamed,OU=Moved,DC=gntech,DC=me",
            "CN=Helpdesk Probe",
            true,
            Some(PROBE_OU),
        )
        .await
        .unwrap();
    assert_eq!(r.rc, 68);
    // Moving an OU moves everything below it.
    assert_eq!(
        l.modifydn(PROBE_OU, "OU=Probe2", true, None)
            .await
            .unwrap()
            .rc,
        0
    );
    assert!(dc
        .dir
        .entry("CN=Helpdesk Probe,OU=Probe2,DC=gntech,DC=me")
        .is_some());
}

#[tokio::test]
async fn compare_answers_true_false_and_ignores_case() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    assert_eq!(
        l.compare(ALICE, "sAMAccountName", "alice.p")
            .await
            .unwrap()
            .0
            .rc,
        6
    );
    assert_eq!(
        l.compare(ALICE, "sAMAccountName", "ALICE.P")
            .await
            .unwrap()
            .0
            .rc,
        6
    );
    assert_eq!(
        l.compare(ALICE, "sAMAccountName", "bob")
            .await
            .unwrap()
            .0
            .rc,
        5
    );
    assert_eq!(
        l.compare(ALICE, "noSuchAttribute", "x").await.unwrap().0.rc,
        5
    );
    assert_eq!(
        l.compare(ALICE, "userAccountControl", "512")
            .await
            .unwrap()
            .0
            .rc,
        6
    );
}

#[tokio::test]
async fn dns_compare_case_insensitively_and_come_back_as_stored() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let (e, r) = search(
        &mut l,
        "CN=ALICE PROBE,OU=PROBE,DC=GNTECH,DC=ME",
        "(objectClass=*)",
        &["distinguishedName"],
    )
    .await;
    assert_eq!(r.rc, 0);
    assert_eq!(e[0].dn, ALICE);
    assert_eq!(e[0].attrs["distinguishedName"], vec![ALICE]);
}

#[tokio::test]
async fn search_star_returns_the_user_attributes_and_plus_alone_none() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let (e, _) = search(&mut l, ALICE, "(objectClass=*)", &["*"]).await;
    let mut names: Vec<&String> = e[0].attrs.keys().chain(e[0].bin_attrs.keys()).collect();
    names.sort();
    for want in [
        "accountExpires",
        "badPasswordTime",
        "badPwdCount",
        "cn",
        "codePage",
        "countryCode",
        "displayName",
        "distinguishedName",
        "instanceType",
        "lastLogoff",
        "lastLogon",
        "logonCount",
        "name",
        "objectCategory",
        "objectClass",
        "objectGUID",
        "objectSid",
        "primaryGroupID",
        "pwdLastSet",
        "sAMAccountName",
        "sAMAccountType",
        "uSNChanged",
        "uSNCreated",
        "userAccountControl",
        "userPrincipalName",
        "whenChanged",
        "whenCreated",
    ] {
        assert!(
            names.iter().any(|n| *n == want),
            "{want} missing from {names:?}"
        );
    }
    let (e, _) = search(&mut l, ALICE, "(objectClass=*)", &["+"]).await;
    assert!(e[0].attrs.is_empty() && e[0].bin_attrs.is_empty());
    let (e, _) = search(&mut l, ALICE, "(objectClass=*)", &["1.1"]).await;
    assert!(e[0].attrs.is_empty());
}

#[tokio::test]
async fn guid_and_sid_dn_forms_find_the_object() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let e = dc.dir.entry(ALICE).unwrap();
    let guid = writeback_sim::directory::ids::guid_text(e.guid().unwrap()).unwrap();
    let sid = writeback_sim::directory::ids::sid_text(&e.values("objectSid")[0]).unwrap();
    for base in [format!("<GUID={guid}>"), format!("<SID={sid}>")] {
        let r = l
            .search(&base, ldap3::Scope::Base, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap();
        assert_eq!((r.1.rc, r.0.len()), (0, 1), "{base}");
    }
    let (found, _) = search(&mut l, DOMAIN, &format!("(objectSid={sid})"), &["cn"]).await;
    assert_eq!(found.len(), 1);
    // Binary filter values (not UTF-8) work as on a DC, and keep the connection.
    let escaped = |b: &[u8]| b.iter().map(|x| format!("\\{x:02x}")).collect::<String>();
    for (attr, value) in [
        ("objectGUID", e.guid().unwrap().to_vec()),
        ("objectSid", e.values("objectSid")[0].to_vec()),
    ] {
        let (found, r) = search(
            &mut l,
            DOMAIN,
            &format!("({attr}={})", escaped(&value)),
            &["cn"],
        )
        .await;
        assert_eq!((r.rc, found.len()), (0, 1), "{attr}");
        let (found, _) = search(
            &mut l,
            PROBE_OU,
            &format!("(&(objectClass=user)({attr}={}))", escaped(&value)),
            &["cn"],
        )
        .await;
        assert_eq!(found[0].dn, ALICE);
    }
}

/// description is multi-valued in the schema, but a modify that leaves a security
/// principal with two is 20 0000200D (measured on Samba); an OU keeps several, and an add
/// may carry several.
#[tokio::test]
async fn description_keeps_one_value_on_principals_only() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let two = || {
        vec![Mod::Replace(
            b"description".to_vec(),
            HashSet::from([b"a".to_vec(), b"b".to_vec()]),
        )]
    };
    assert_ad(
        &l.modify(ALICE, two()).await.unwrap(),
        20,
        &format!(
            "0000200D: SINGLE-VALUE attribute description on {ALICE} specified more than once"
        ),
    );
    assert_eq!(
        l.modify("OU=Probe,DC=gntech,DC=me", two())
            .await
            .unwrap()
            .rc,
        0
    );
    let (e, _) = search(
        &mut l,
        "OU=Probe,DC=gntech,DC=me",
        "(objectClass=organizationalUnit)",
        &["description"],
    )
    .await;
    let staff = e
        .iter()
        .find(|e| e.dn == "OU=Probe,DC=gntech,DC=me")
        .unwrap();
    assert_eq!(staff.attrs["description"].len(), 2);
    let group = l
        .add(
            "CN=Two Descriptions,OU=Probe,DC=gntech,DC=me",
            attrs(&[("objectClass", &["group"]), ("description", &["x", "y"])]),
        )
        .await
        .unwrap();
    assert_eq!(group.rc, 0, "{group:?}");
}
