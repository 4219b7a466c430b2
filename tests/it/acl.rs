//! Access control as AD evaluates it: deny ACEs, inheritance down the tree and blocked
//! inheritance, AD's canonical order (explicit deny, explicit allow, then each ancestor's
//! inherited deny and allow, nearest first), and all of it through nTSecurityDescriptor.
//! Each check is what a client sees: the result code of its write.

use crate::support::*;
use ldap3::{Ldap, Mod};
use std::collections::HashSet;
use writeback_sim::directory::access::Right;
use writeback_sim::nt_security::{ace_flags, control, SecurityDescriptor};

async fn reset_rc(hd: &mut Ldap, pw: &str) -> u32 {
    hd.modify(ALICE, reset(pw)).await.unwrap().rc
}

#[tokio::test]
async fn a_deny_on_an_ou_wins_over_an_allow_inherited_from_the_domain() {
    let dc = Dc::start().await;
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, DOMAIN)
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 0);

    dc.dir
        .deny(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Autumn#2026x").await, 50);
    // A deny of one right leaves the others: the user's own change still needs Change
    // Password, which nobody denied (it is not granted either, so: still 50).
    assert!(!dc
        .dir
        .has_right(HELPDESK, Right::ResetPassword, ALICE)
        .unwrap());

    // Revoking removes the deny as well as an allow.
    assert!(dc
        .dir
        .revoke(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap());
    assert_eq!(reset_rc(&mut hd, "Autumn#2026x").await, 0);
    assert!(!dc
        .dir
        .revoke(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap());
}

#[tokio::test]
async fn an_allow_nearer_the_object_wins_over_a_deny_inherited_from_further_up() {
    let dc = Dc::start().await;
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    dc.dir.deny(HELPDESK, Right::ResetPassword, DOMAIN).unwrap();
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, DOMAIN)
        .unwrap();
    assert_eq!(
        reset_rc(&mut hd, "Summer#2026x").await,
        50,
        "at the same level the deny comes first"
    );
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(
        reset_rc(&mut hd, "Summer#2026x").await,
        0,
        "the OU's inherited allow comes before the domain's inherited deny"
    );
}

#[tokio::test]
async fn a_deny_to_authenticated_users_reaches_every_account() {
    let dc = Dc::start().await;
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, DOMAIN)
        .unwrap();
    dc.dir
        .deny("S-1-5-11", Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 50);
}

#[tokio::test]
async fn blocking_inheritance_cuts_what_comes_from_above_until_it_is_restored() {
    let dc = Dc::start().await;
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, DOMAIN)
        .unwrap();
    assert!(dc.dir.set_inheritance_blocked(PROBE_OU, true).unwrap());
    assert!(!dc.dir.set_inheritance_blocked(PROBE_OU, true).unwrap());
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 50);
    // What is granted on the protected OU itself still reaches its subtree.
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 0);
    dc.dir
        .revoke(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Autumn#2026x").await, 50);
    assert!(dc.dir.set_inheritance_blocked(PROBE_OU, false).unwrap());
    assert_eq!(reset_rc(&mut hd, "Autumn#2026x").await, 0);
}

#[tokio::test]
async fn an_explicit_deny_reaches_domain_admins_an_inherited_one_does_not() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    dc.dir
        .deny("S-1-5-11", "write_user".parse().unwrap(), PROBE_OU)
        .unwrap();
    let rc = |r: ldap3::LdapResult| r.rc;
    assert_eq!(
        rc(admin
            .modify(ALICE, replace("description", "a"))
            .await
            .unwrap()),
        0,
        "Domain Admins' explicit full control on the user comes before the OU's inherited deny"
    );
    dc.dir
        .deny("S-1-5-11", "write_user".parse().unwrap(), ALICE)
        .unwrap();
    assert_eq!(
        rc(admin
            .modify(ALICE, replace("description", "b"))
            .await
            .unwrap()),
        50,
        "an explicit deny comes before every allow"
    );
}

async fn read_descriptor(admin: &mut Ldap, dn: &str) -> SecurityDescriptor {
    SecurityDescriptor::decode(&descriptor_bytes(admin, dn).await).unwrap()
}

#[tokio::test]
async fn deny_aces_and_blocked_inheritance_are_written_and_read_through_the_descriptor() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, DOMAIN)
        .unwrap();
    let helpdesk_sid = dc.dir.entry(HELPDESK).unwrap().values("objectSid")[0].to_vec();

    // An admin's tool reads the OU's descriptor, adds a deny ACE for Reset Password and
    // protects the DACL, and writes it back.
    let mut sd = read_descriptor(&mut admin, PROBE_OU).await;
    assert_eq!(sd.control & control::DACL_PROTECTED, 0);
    let dacl = sd.dacl.as_mut().unwrap();
    let inherited_from_domain = dacl
        .aces
        .iter()
        .find(|a| a.sid == helpdesk_sid)
        .cloned()
        .expect("the domain's grant shows as inherited on the OU");
    assert!(inherited_from_domain.is_inherited() && inherited_from_domain.is_allow());
    let deny = writeback_sim::directory::security_descriptor::ace_for(
        Right::ResetPassword,
        helpdesk_sid.clone(),
    )
    .denying();
    dacl.aces.insert(0, deny.clone());
    let write = |sd: &SecurityDescriptor| {
        vec![Mod::Replace(
            b"nTSecurityDescriptor".to_vec(),
            HashSet::from([sd.encode()]),
        )]
    };
    admin
        .modify(PROBE_OU, write(&sd))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 50);

    // Alice's descriptor shows the OU's deny, inherited, before the domain's allow.
    let alice = read_descriptor(&mut admin, ALICE).await;
    let aces = &alice.dacl.unwrap().aces;
    let d = aces
        .iter()
        .position(|a| a.is_deny() && a.sid == helpdesk_sid);
    let a = aces
        .iter()
        .position(|a| a.is_allow() && a.sid == helpdesk_sid);
    assert!(d.is_some() && a.is_some() && d < a, "{aces:?}");
    assert_ne!(aces[d.unwrap()].flags & ace_flags::INHERITED, 0);

    // Protecting the OU's DACL (and dropping the deny) cuts the domain's allow too.
    let mut sd = read_descriptor(&mut admin, PROBE_OU).await;
    sd.control |= control::DACL_PROTECTED;
    let dacl = sd.dacl.as_mut().unwrap();
    dacl.aces.retain(|a| *a != deny && !a.is_inherited());
    admin
        .modify(PROBE_OU, write(&sd))
        .await
        .unwrap()
        .success()
        .unwrap();
    let back = read_descriptor(&mut admin, PROBE_OU).await;
    assert_ne!(back.control & control::DACL_PROTECTED, 0);
    assert!(back.dacl.unwrap().aces.iter().all(|a| !a.is_inherited()));
    assert_eq!(reset_rc(&mut hd, "Summer#2026x").await, 50);
    assert!(!dc
        .dir
        .has_right(HELPDESK, Right::ResetPassword, ALICE)
        .unwrap());
}

/// A scenario's `revoke` of something never granted fails and says so; `deny` and
/// `block_inheritance` steps reach the connector as the catalogue shows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoke_that_removes_nothing_is_an_error_that_says_so() {
    let path = std::env::temp_dir().join(format!("wbsim-acl-{}.yaml", std::process::id()));
    std::fs::write(
        &path,
        r#"
world:
  directory:
    entries:
      - { dn: "OU=Staff,DC=gntech,DC=me", objectClass: organizationalUnit }
steps:
  - revoke: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me" }
  - deny: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me" }
  - revoke: { right: reset_password, on: "OU=Staff,DC=gntech,DC=me" }
  - block_inheritance: { on: "OU=Staff,DC=gntech,DC=me" }
"#,
    )
    .unwrap();
    let replayed = writeback_sim::scenario::runner::run(&path, &std::env::temp_dir())
        .await
        .unwrap();
    let _ = std::fs::remove_file(&path);
    let failed: Vec<String> = replayed.failures.iter().map(|f| format!("{f:?}")).collect();
    assert_eq!(failed.len(), 1, "{failed:?}");
    assert!(
        failed[0].contains("there is no such permission to remove"),
        "{failed:?}"
    );
    let steps = &replayed.report.steps;
    assert_eq!(steps[0].outcome.word(), "failed");
    assert_eq!(
        steps[2].outcome.word(),
        "ok",
        "the deny was there to revoke"
    );
    assert_eq!(steps[3].outcome.word(), "ok");
}
