//! Access control (`ad-behaviour.md` §6): a plain user can read but not write; each right,
//! granted on a subtree, allows exactly its operation; revoke takes it away; the MSOL_
//! connector gets the wizard's rights; Domain Admins can do everything.

use crate::support::*;
use ldap3::Ldap;
use writeback_sim::directory::access::Right;

async fn helpdesk(dc: &Dc) -> Ldap {
    dc.bound("helpdesk.p@gntech.me", HELPDESK_PW).await
}

#[tokio::test]
async fn a_plain_user_reads_but_cannot_write() {
    let dc = Dc::start().await;
    let mut hd = helpdesk(&dc).await;
    let (entries, r) = search(&mut hd, PROBE_OU, "(objectClass=user)", &["cn"]).await;
    assert_eq!((r.rc, entries.len()), (0, 2));
    assert_ad(
        &hd.modify(ALICE, reset("Summer#2026x")).await.unwrap(),
        50,
        "00002098:",
    );
    assert_ad(
        &hd.modify(ALICE, replace("lockoutTime", "0")).await.unwrap(),
        50,
        "00002098:",
    );
    assert_ad(
        &hd.modify(ALICE, replace("description", "x")).await.unwrap(),
        50,
        "00002098:",
    );
    let add = hd
        .add(
            "CN=Sneaky,OU=Probe,DC=gntech,DC=me",
            attrs(&[("objectClass", &["user"])]),
        )
        .await
        .unwrap();
    assert_ad(&add, 50, "00002098:");
    assert_ad(&hd.delete(ALICE).await.unwrap(), 50, "00002098:");
    assert!(dc.dir.entry(ALICE).is_some());
}

#[tokio::test]
async fn each_password_right_allows_its_operation_and_revoke_removes_it() {
    let dc = Dc::start().await;
    let mut hd = helpdesk(&dc).await;

    dc.dir
        .grant(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
    assert!(dc
        .dir
        .revoke(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap());
    assert_eq!(
        hd.modify(ALICE, reset("Autumn#2026x")).await.unwrap().rc,
        50
    );

    assert_eq!(
        hd.modify(ALICE, change("Summer#2026x", "Autumn#2026x"))
            .await
            .unwrap()
            .rc,
        50
    );
    dc.dir
        .grant(HELPDESK, Right::ChangePassword, PROBE_OU)
        .unwrap();
    assert_eq!(
        hd.modify(ALICE, change("Summer#2026x", "Autumn#2026x"))
            .await
            .unwrap()
            .rc,
        0
    );

    assert_eq!(
        hd.modify(ALICE, replace("lockoutTime", "0"))
            .await
            .unwrap()
            .rc,
        50
    );
    dc.dir
        .grant(HELPDESK, Right::WriteLockoutTime, PROBE_OU)
        .unwrap();
    assert_eq!(
        hd.modify(ALICE, replace("lockoutTime", "0"))
            .await
            .unwrap()
            .rc,
        0
    );

    assert_eq!(
        hd.modify(ALICE, replace("pwdLastSet", "-1"))
            .await
            .unwrap()
            .rc,
        50
    );
    dc.dir
        .grant(HELPDESK, Right::WritePwdLastSet, PROBE_OU)
        .unwrap();
    assert_eq!(
        hd.modify(ALICE, replace("pwdLastSet", "-1"))
            .await
            .unwrap()
            .rc,
        0
    );
    // Still no general write.
    assert_eq!(
        hd.modify(ALICE, replace("description", "x"))
            .await
            .unwrap()
            .rc,
        50
    );
}

#[tokio::test]
async fn a_right_on_one_ou_does_not_reach_another() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .add(
            "OU=Other,DC=gntech,DC=me",
            attrs(&[("objectClass", &["organizationalUnit"])]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, "OU=Other,DC=gntech,DC=me")
        .unwrap();
    let mut hd = helpdesk(&dc).await;
    assert_eq!(
        hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc,
        50
    );
}

#[tokio::test]
async fn rights_granted_to_a_group_reach_its_members() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let group = "CN=Helpdesk Team,OU=Probe,DC=gntech,DC=me";
    admin
        .add(
            group,
            attrs(&[("objectClass", &["group"]), ("member", &[HELPDESK])]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    dc.dir.grant(group, Right::ResetPassword, PROBE_OU).unwrap();
    let mut hd = helpdesk(&dc).await;
    assert_eq!(hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
}

#[tokio::test]
async fn object_rights_for_computers_groups_and_devices() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .add(
            "CN=RegisteredDevices,DC=gntech,DC=me",
            attrs(&[("objectClass", &["msDS-DeviceContainer"])]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut hd = helpdesk(&dc).await;
    let pc = "CN=PC01,OU=Probe,DC=gntech,DC=me";
    let grp = "CN=Sales,OU=Probe,DC=gntech,DC=me";
    let dev = "CN=0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0,CN=RegisteredDevices,DC=gntech,DC=me";
    let pc_attrs = attrs(&[
        ("objectClass", &["computer"]),
        ("sAMAccountName", &["PC01$"]),
    ]);
    let grp_attrs = attrs(&[("objectClass", &["group"])]);
    let dev_attrs = |_: ()| {
        let mut a = attrs(&[
            ("objectClass", &["msDS-Device"]),
            ("displayName", &["LAPTOP-01"]),
            ("msDS-IsEnabled", &["TRUE"]),
            ("altSecurityIdentities", &["X509:<SHA1-TP-PUBKEY>abc"]),
        ]);
        a.push((
            b"msDS-DeviceID".to_vec(),
            std::collections::HashSet::from([vec![7u8; 16]]),
        ));
        a
    };
    let cases = [
        (pc, PROBE_OU, pc_attrs, "computer"),
        (grp, PROBE_OU, grp_attrs, "group"),
        (
            dev,
            "CN=RegisteredDevices,DC=gntech,DC=me",
            dev_attrs(()),
            "device",
        ),
    ];
    for (dn, scope, a, kind) in cases {
        let right = |verb: &str| -> Right { format!("{verb}_{kind}").parse().unwrap() };
        let (create, write, delete) = (right("create"), right("write"), right("delete"));
        assert_eq!(
            hd.add(dn, a.clone()).await.unwrap().rc,
            50,
            "{dn} create without right"
        );
        dc.dir.grant(HELPDESK, create, scope).unwrap();
        assert_eq!(hd.add(dn, a).await.unwrap().rc, 0, "{dn} create with right");
        assert_eq!(
            hd.modify(dn, replace("description", "x")).await.unwrap().rc,
            50,
            "{dn} write without right"
        );
        dc.dir.grant(HELPDESK, write, scope).unwrap();
        assert_eq!(
            hd.modify(dn, replace("description", "x")).await.unwrap().rc,
            0,
            "{dn} write with right"
        );
        assert_eq!(
            hd.delete(dn).await.unwrap().rc,
            50,
            "{dn} delete without right"
        );
        dc.dir.grant(HELPDESK, delete, scope).unwrap();
        assert_eq!(hd.delete(dn).await.unwrap().rc, 0, "{dn} delete with right");
    }
    // create_computer does not allow creating a user.
    assert_eq!(
        hd.add(
            "CN=Sneaky,OU=Probe,DC=gntech,DC=me",
            attrs(&[("objectClass", &["user"])])
        )
        .await
        .unwrap()
        .rc,
        50
    );
}

#[tokio::test]
async fn the_connector_account_has_the_wizards_password_rights() {
    let dc = Dc::start().await;
    let connector = dc.dir.connector_dn().unwrap();
    assert!(connector.starts_with("CN=MSOL_"));
    for r in [
        "reset_password",
        "change_password",
        "write_pwd_last_set",
        "write_lockout_time",
    ] {
        assert!(
            dc.dir
                .has_right(&connector, r.parse().unwrap(), ALICE)
                .unwrap(),
            "{r}"
        );
    }
    assert!(dc
        .dir
        .has_right(&connector, Right::UnexpirePassword, DOMAIN)
        .unwrap());
    assert!(!dc
        .dir
        .has_right(&connector, "create_computer".parse().unwrap(), PROBE_OU)
        .unwrap());

    let mut l = dc
        .bound(&connector, &dc.dir.connector_password().unwrap())
        .await;
    let r = l
        .with_controls(vec![ldap3::controls::RawControl {
            ctype: "1.2.840.113556.1.4.2239".into(),
            crit: true,
            val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
        }])
        .modify(ALICE, reset("Summer#2026x"))
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{}", r.text);
    assert_ne!(
        dc.int(ALICE, "pwdLastSet"),
        0,
        "the connector holds Unexpire Password"
    );
    assert_eq!(
        l.modify(ALICE, replace("lockoutTime", "0"))
            .await
            .unwrap()
            .rc,
        0
    );
}

#[tokio::test]
async fn domain_admins_members_can_do_everything() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .modify(
            "CN=Domain Admins,CN=Users,DC=gntech,DC=me",
            vec![ldap3::Mod::Add(
                b"member".to_vec(),
                std::collections::HashSet::from([HELPDESK.as_bytes().to_vec()]),
            )],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut hd = helpdesk(&dc).await;
    assert_eq!(hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
    assert_eq!(hd.delete(ALICE).await.unwrap().rc, 0);
}

/// An inheritable allow-object ACE `(OA;CI;CR;<right>;;<sid>)` built by hand (MS-DTYP 2.4.4.3).
fn control_access_ace(right_guid: &str, sid: &[u8]) -> Vec<u8> {
    let mut body = Vec::new();
    body.extend_from_slice(&0x100u32.to_le_bytes()); // ADS_RIGHT_DS_CONTROL_ACCESS
    body.extend_from_slice(&1u32.to_le_bytes()); // ACE_OBJECT_TYPE_PRESENT
    body.extend_from_slice(&writeback_sim::directory::ids::parse_guid(right_guid).unwrap());
    body.extend_from_slice(sid);
    let mut ace = vec![0x05, 0x02]; // ACCESS_ALLOWED_OBJECT_ACE_TYPE, CONTAINER_INHERIT_ACE
    ace.extend_from_slice(&((body.len() + 4) as u16).to_le_bytes());
    ace.extend_from_slice(&body);
    ace
}

/// Append an ACE to the DACL of a self-relative descriptor whose DACL comes last.
fn with_ace(sd: &[u8], ace: &[u8]) -> Vec<u8> {
    let dacl = u32::from_le_bytes(sd[16..20].try_into().unwrap()) as usize;
    let mut out = sd.to_vec();
    let size = u16::from_le_bytes([out[dacl + 2], out[dacl + 3]]) + ace.len() as u16;
    let count = u16::from_le_bytes([out[dacl + 4], out[dacl + 5]]) + 1;
    out[dacl + 2..dacl + 4].copy_from_slice(&size.to_le_bytes());
    out[dacl + 4..dacl + 6].copy_from_slice(&count.to_le_bytes());
    out.extend_from_slice(ace);
    out
}

#[tokio::test]
async fn granting_reset_password_through_nt_security_descriptor_like_dsacls() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let sd = descriptor_bytes(&mut admin, PROBE_OU).await;
    assert_eq!(&sd[..2], &[1, 0], "revision 1");
    let helpdesk_sid = dc.dir.entry(HELPDESK).unwrap().values("objectSid")[0].to_vec();
    let granted = with_ace(
        &sd,
        &control_access_ace("00299570-246d-11d0-a768-00aa006e0529", &helpdesk_sid),
    );

    // Only someone with WRITE_DAC may write it.
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    let write = |sd: Vec<u8>| {
        vec![ldap3::Mod::Replace(
            b"nTSecurityDescriptor".to_vec(),
            std::collections::HashSet::from([sd]),
        )]
    };
    assert_eq!(
        hd.modify(PROBE_OU, write(granted.clone()))
            .await
            .unwrap()
            .rc,
        50
    );
    assert_eq!(
        hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc,
        50
    );

    admin
        .modify(PROBE_OU, write(granted))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(dc
        .dir
        .has_right(HELPDESK, Right::ResetPassword, ALICE)
        .unwrap());
    assert_eq!(hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
    assert_eq!(dc.int(ALICE, "pwdLastSet"), 0, "no Unexpire Password");

    // Reading it back shows the ACE; writing back the original revokes it.
    let now = descriptor_bytes(&mut admin, PROBE_OU).await;
    assert!(now
        .windows(helpdesk_sid.len())
        .any(|w| w == helpdesk_sid.as_slice()));
    admin
        .modify(PROBE_OU, write(sd))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(
        hd.modify(ALICE, reset("Autumn#2026x")).await.unwrap().rc,
        50
    );
    // Garbage is refused.
    assert_eq!(
        admin
            .modify(PROBE_OU, write(vec![9, 9, 9]))
            .await
            .unwrap()
            .rc,
        21
    );
}
