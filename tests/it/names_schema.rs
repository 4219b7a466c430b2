//! What admin tools lean on besides plain DNs and a handful of attributes: the
//! `<WKGUID=…>`, `<SID=…>` and `<GUID=…>` names (samba-tool creates users and groups in
//! the default containers through them), and the whole AD schema in the subschema entry
//! and behind the checks (python ldap3 and ldapdomaindump validate against it).

use crate::support::*;
use ldap3::{Ldap, Scope, SearchEntry};

const USERS_WKGUID: &str = "<WKGUID=a9d1ca15768811d1aded00c04fd8d5cd,DC=gntech,DC=me>";

async fn dns(l: &mut Ldap, base: &str, scope: Scope, filter: &str) -> (u32, Vec<String>) {
    let r = l.search(base, scope, filter, vec!["1.1"]).await.unwrap();
    let mut dns: Vec<String> =
        r.0.into_iter()
            .map(|e| SearchEntry::construct(e).dn)
            .collect();
    dns.sort();
    (r.1.rc, dns)
}

#[tokio::test]
async fn well_known_guids_name_the_default_containers_as_the_domain_lists_them() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    assert_eq!(
        dns(&mut admin, USERS_WKGUID, Scope::Base, "(objectClass=*)").await,
        (0, vec!["CN=Users,DC=gntech,DC=me".to_string()])
    );
    let computers = "<WKGUID=AA312825768811D1ADED00C04FD8D5CD,DC=gntech,DC=me>";
    assert_eq!(
        dns(&mut admin, computers, Scope::Base, "(objectClass=*)")
            .await
            .1,
        vec!["CN=Computers,DC=gntech,DC=me".to_string()]
    );
    let dcs = "<WKGUID=a361b2ffffd211d1aa4b00c04fd7d83a,DC=gntech,DC=me>";
    assert_eq!(
        dns(&mut admin, dcs, Scope::Base, "(objectClass=*)").await.1,
        vec!["OU=Domain Controllers,DC=gntech,DC=me".to_string()]
    );
    // One level below it, as samba-tool's default container lookups do.
    let (rc, below) = dns(
        &mut admin,
        USERS_WKGUID,
        Scope::OneLevel,
        "(cn=Administrator)",
    )
    .await;
    assert_eq!((rc, below), (0, vec![ADMIN_DN.to_string()]));
    // A GUID the object does not list, or an object that lists none: no such object.
    for missing in [
        "<WKGUID=b9d1ca15768811d1aded00c04fd8d5cd,DC=gntech,DC=me>",
        "<WKGUID=a9d1ca15768811d1aded00c04fd8d5cd,CN=Users,DC=gntech,DC=me>",
    ] {
        assert_eq!(
            dns(&mut admin, missing, Scope::Base, "(objectClass=*)")
                .await
                .0,
            32
        );
    }
    // An entry added under a default container named that way lands in it.
    let dn = "CN=Wk User,CN=Users,DC=gntech,DC=me";
    admin
        .add(dn, attrs(&[("objectClass", &["user"])]))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(dc.dir.entry(dn).is_some());
}

#[tokio::test]
async fn sid_and_guid_names_work_as_bases_filter_values_and_member_values() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let alice = dc.dir.entry(ALICE).unwrap();
    let sid = writeback_sim::directory::ids::sid_text(&alice.values("objectSid")[0]).unwrap();
    let guid = writeback_sim::directory::ids::guid_text(alice.guid().unwrap()).unwrap();
    let hex: String = alice.values("objectSid")[0]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    for base in [
        format!("<SID={sid}>"),
        format!("<SID={hex}>"),
        format!("<GUID={guid}>"),
    ] {
        assert_eq!(
            dns(&mut admin, &base, Scope::Base, "(objectClass=*)").await,
            (0, vec![ALICE.to_string()]),
            "{base}"
        );
    }

    // A group with Alice as member, added by her SID; found by a filter on her SID.
    let group = "CN=Sid Group,OU=Probe,DC=gntech,DC=me";
    let member = format!("<SID={sid}>");
    admin
        .add(
            group,
            attrs(&[("objectClass", &["group"]), ("member", &[member.as_str()])]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        dc.dir.entry(group).unwrap().values("member")[0],
        ALICE.as_bytes().to_vec()
    );
    let group_sid = writeback_sim::directory::ids::sid_text(
        &dc.dir.entry(group).unwrap().values("objectSid")[0],
    )
    .unwrap();
    let (_, members) = dns(
        &mut admin,
        DOMAIN,
        Scope::Subtree,
        &format!("(memberOf=<SID={group_sid}>)"),
    )
    .await;
    assert_eq!(members, vec![ALICE.to_string()]);
    let (_, groups) = dns(
        &mut admin,
        DOMAIN,
        Scope::Subtree,
        &format!("(member=<GUID={guid}>)"),
    )
    .await;
    assert_eq!(groups, vec![group.to_string()]);
    // A SID nobody has matches nothing (not an error).
    let (rc, none) = dns(
        &mut admin,
        DOMAIN,
        Scope::Subtree,
        "(member=<SID=S-1-5-21-1-2-3-4242>)",
    )
    .await;
    assert_eq!((rc, none.len()), (0, 0));
}

fn subschema(entries: Vec<ldap3::ResultEntry>) -> SearchEntry {
    SearchEntry::construct(entries.into_iter().next().unwrap())
}

#[tokio::test]
async fn the_subschema_publishes_the_whole_2016_schema_and_the_checks_follow_it() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let (entries, _) = admin
        .search(
            "CN=Aggregate,CN=Schema,CN=Configuration,DC=gntech,DC=me",
            Scope::Base,
            "(objectClass=*)",
            vec!["attributeTypes", "objectClasses"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = subschema(entries);
    assert_eq!(e.attrs["attributeTypes"].len(), 1497);
    assert_eq!(e.attrs["objectClasses"].len(), 269);
    let has = |a: &str, needle: &str| e.attrs[a].iter().any(|d| d.contains(needle));
    assert!(has(
        "attributeTypes",
        "( 1.2.840.113556.1.4.2314 NAME 'msDS-IsCompliant' SYNTAX '1.3.6.1.4.1.1466.115.121.1.7' SINGLE-VALUE )"
    ));
    assert!(has("attributeTypes", "NAME 'createTimeStamp'"));
    assert!(has(
        "objectClasses",
        "NAME 'trustedDomain' SUP leaf STRUCTURAL"
    ));

    // An attribute no hand-written rule knows follows the published definition: a
    // single-valued string takes one value, not two.
    let two = admin
        .modify(
            ALICE,
            vec![ldap3::Mod::Replace(
                b"employeeID".to_vec(),
                std::collections::HashSet::from([b"1".to_vec(), b"2".to_vec()]),
            )],
        )
        .await
        .unwrap();
    assert_eq!(two.rc, 19, "{two:?}");
    admin
        .modify(ALICE, replace("employeeID", "E-1"))
        .await
        .unwrap()
        .success()
        .unwrap();
    // A back link and a constructed attribute are the DC's own.
    assert_eq!(
        admin
            .modify(ALICE, replace("directReports", ADMIN_DN))
            .await
            .unwrap()
            .rc,
        19
    );

    // The operational timestamps and the computed password expiry read like a DC's.
    let (entries, _) = admin
        .search(
            ALICE,
            Scope::Base,
            "(objectClass=*)",
            vec![
                "createTimeStamp",
                "modifyTimeStamp",
                "whenCreated",
                "msDS-UserPasswordExpiryTimeComputed",
                "pwdLastSet",
            ],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let a = SearchEntry::construct(entries.into_iter().next().unwrap()).attrs;
    assert_eq!(a["createTimeStamp"], a["whenCreated"]);
    assert!(a.contains_key("modifyTimeStamp"));
    let last: i64 = a["pwdLastSet"][0].parse().unwrap();
    let expiry: i64 = a["msDS-UserPasswordExpiryTimeComputed"][0].parse().unwrap();
    assert_eq!(
        expiry - last,
        42 * 24 * 3600 * 10_000_000,
        "maxPwdAge, 42 days"
    );
}

#[tokio::test]
async fn any_structural_class_of_the_schema_can_be_created_with_its_rules() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let gpo = "CN={31B2F340-016D-11D2-945F-00C04FB984F9},CN=Users,DC=gntech,DC=me";
    admin
        .add(
            gpo,
            attrs(&[
                ("objectClass", &["groupPolicyContainer"]),
                ("displayName", &["Default Domain Policy"]),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = dc.dir.entry(gpo).unwrap();
    assert_eq!(
        e.strs("objectClass").collect::<Vec<_>>(),
        ["top", "container", "groupPolicyContainer"]
    );
    assert_eq!(e.strs("showInAdvancedViewOnly").next(), Some("TRUE"));
    assert!(e
        .strs("objectCategory")
        .next()
        .unwrap()
        .starts_with("CN=Group-Policy-Container,CN=Schema"));
    // Its possible superiors come from the schema: not under a user.
    let under_user = admin
        .add(
            &format!("CN=x,{ALICE}"),
            attrs(&[("objectClass", &["groupPolicyContainer"])]),
        )
        .await
        .unwrap();
    assert_eq!(under_user.rc, 64, "{under_user:?}");
    // A user with an auxiliary class its class allows keeps it in objectClass.
    let posix = "CN=Pat Posix,CN=Users,DC=gntech,DC=me";
    admin
        .add(
            posix,
            attrs(&[
                ("objectClass", &["user", "posixAccount"]),
                ("uidNumber", &["10001"]),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = dc.dir.entry(posix).unwrap();
    assert_eq!(
        e.strs("objectClass").collect::<Vec<_>>(),
        [
            "top",
            "posixAccount",
            "person",
            "organizationalPerson",
            "user"
        ]
    );
    assert!(e.has("objectSid"), "still a security principal");
    // Only those with the right may create what writeback does not model.
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    let denied = hd
        .add(
            "CN=Nope,OU=Probe,DC=gntech,DC=me",
            attrs(&[("objectClass", &["groupPolicyContainer"])]),
        )
        .await
        .unwrap();
    assert_eq!(denied.rc, 50);
}

#[tokio::test]
async fn every_linked_attribute_keeps_its_back_link() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let ws = "CN=WS-9,OU=Probe,DC=gntech,DC=me";
    admin
        .add(
            ws,
            attrs(&[
                ("objectClass", &["computer"]),
                ("sAMAccountName", &["WS-9$"]),
                ("managedBy", &[ALICE]),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let back = |dc: &Dc, dn: &str, attr: &str| -> Vec<String> {
        dc.dir
            .entry(dn)
            .map(|e| e.strs(attr).map(str::to_string).collect())
            .unwrap_or_default()
    };
    assert_eq!(back(&dc, ALICE, "managedObjects"), [ws]);
    // manager → directReports, changed by a modify.
    admin
        .modify(ALICE, replace("manager", HELPDESK))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(back(&dc, HELPDESK, "directReports"), [ALICE]);
    admin
        .modify(ws, replace("managedBy", HELPDESK))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(back(&dc, ALICE, "managedObjects").is_empty());
    assert_eq!(back(&dc, HELPDESK, "managedObjects"), [ws]);
    // Deleting the manager clears the forward links that named it.
    admin.delete(HELPDESK).await.unwrap().success().unwrap();
    assert!(back(&dc, ALICE, "manager").is_empty());
    assert!(back(&dc, ws, "managedBy").is_empty());
}
