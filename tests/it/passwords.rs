//! Passwords (`ad-behaviour.md` §3–§6): unicodePwd over TLS only, reset vs change, the
//! domain policy, history with the policy-hints control, pwdLastSet, lockout and unlock.

use crate::support::*;
use chrono::Duration;
use ldap3::controls::RawControl;
use writeback_sim::clock::to_filetime;
use writeback_sim::directory::access::Right;

fn hints(oid: &str, critical: bool) -> RawControl {
    RawControl {
        ctype: oid.into(),
        crit: critical,
        // SEQUENCE { INTEGER 1 }
        val: Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
    }
}

#[tokio::test]
async fn unicode_pwd_over_plain_ldap_is_unwilling_to_perform() {
    let dc = Dc::start().await;
    let mut l = dc.plain().await;
    l.simple_bind(ADMIN_DN, ADMIN_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let r = l.modify(ALICE, reset("Summer#2026x")).await.unwrap();
    assert_ad(&r, 53, "0000001F:");
    assert_eq!(
        dc.try_bind(ALICE, ALICE_PW).await.rc,
        0,
        "password unchanged"
    );
}

#[tokio::test]
async fn admin_reset_over_tls_sets_pwd_last_set_to_now() {
    let dc = Dc::start().await;
    dc.advance(Duration::hours(2));
    let mut l = dc.admin().await;
    l.modify(ALICE, reset("Summer#2026x"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(dc.int(ALICE, "pwdLastSet"), to_filetime(dc.dir.now()));
    assert_eq!(dc.try_bind(ALICE, "Summer#2026x").await.rc, 0);
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "52e");
    // Also over StartTLS.
    let mut s = dc.starttls().await;
    s.simple_bind(ADMIN_DN, ADMIN_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(s.modify(ALICE, reset("Autumn#2026x")).await.unwrap().rc, 0);
}

#[tokio::test]
async fn every_policy_rule_answers_0000052d() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    for bad in [
        "Sh0rt!",
        "alllowercaseletters",
        "Xx-alice.p-99",
        "Xx-ALICE.P-99",
        "Probe-Token-77",
    ] {
        let r = l.modify(ALICE, reset(bad)).await.unwrap();
        assert_ad(&r, 19, "0000052D:");
        assert!(r.text.contains("unicodePwd"), "{}", r.text);
    }
    assert_eq!(dc.try_bind(ALICE, ALICE_PW).await.rc, 0);
}

#[tokio::test]
async fn a_reset_ignores_history_unless_policy_hints_are_sent() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    l.modify(ALICE, reset("Summer#2026x"))
        .await
        .unwrap()
        .success()
        .unwrap();
    l.modify(ALICE, reset("Autumn#2026x"))
        .await
        .unwrap()
        .success()
        .unwrap();
    // In history, no control: accepted.
    assert_eq!(l.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
    for (oid, critical) in [
        ("1.2.840.113556.1.4.2239", true),
        ("1.2.840.113556.1.4.2066", true),
        ("1.2.840.113556.1.4.2239", false),
    ] {
        let r = l
            .with_controls(vec![hints(oid, critical)])
            .modify(ALICE, reset("Autumn#2026x"))
            .await
            .unwrap();
        assert_ad(&r, 19, "0000052D:");
    }
    // A password not in history passes with the control.
    let r = l
        .with_controls(vec![hints("1.2.840.113556.1.4.2239", true)])
        .modify(ALICE, reset("Winter#2026x"))
        .await
        .unwrap();
    assert_eq!(r.rc, 0, "{}", r.text);
}

#[tokio::test]
async fn a_value_that_is_not_quoted_utf16le_is_refused() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let m = vec![ldap3::Mod::Replace(
        b"unicodePwd".to_vec(),
        std::collections::HashSet::from([b"Summer#2026x".to_vec()]),
    )];
    assert_ad(&l.modify(ALICE, m).await.unwrap(), 53, "0000001F:");
}

#[tokio::test]
async fn passwords_are_never_readable() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let (entries, _) = search(
        &mut l,
        ALICE,
        "(objectClass=*)",
        &["*", "unicodePwd", "userPassword"],
    )
    .await;
    let e = &entries[0];
    assert!(!e.attrs.contains_key("unicodePwd") && !e.bin_attrs.contains_key("unicodePwd"));
    assert!(!e.attrs.contains_key("userPassword") && !e.bin_attrs.contains_key("userPassword"));
    assert!(!dc
        .dir
        .export_ldif(None)
        .unwrap()
        .to_lowercase()
        .contains("unicodepwd"));
}

#[tokio::test]
async fn a_user_changes_their_own_password_with_the_old_one() {
    let dc = Dc::start().await;
    let mut me = dc.bound(ALICE, ALICE_PW).await;
    let r = me
        .modify(ALICE, change("Wrong#Pass2026", "Summer#2026x"))
        .await
        .unwrap();
    assert_ad(&r, 19, "00000056:");
    assert_ad(
        &me.modify(ALICE, change(ALICE_PW, "Sh0rt!")).await.unwrap(),
        19,
        "0000052D:",
    );
    assert_eq!(
        me.modify(ALICE, change(ALICE_PW, "Summer#2026x"))
            .await
            .unwrap()
            .rc,
        0
    );
    assert_eq!(dc.int(ALICE, "pwdLastSet"), to_filetime(dc.dir.now()));
    // Back to a password in history: refused on a change.
    assert_ad(
        &me.modify(ALICE, change("Summer#2026x", ALICE_PW))
            .await
            .unwrap(),
        19,
        "0000052D:",
    );
}

#[tokio::test]
async fn minimum_age_applies_to_a_change() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .modify(DOMAIN, replace("minPwdAge", "-864000000000"))
        .await
        .unwrap()
        .success()
        .unwrap();
    admin
        .modify(ALICE, reset("Summer#2026x"))
        .await
        .unwrap()
        .success()
        .unwrap();
    let mut me = dc.bound(ALICE, "Summer#2026x").await;
    assert_ad(
        &me.modify(ALICE, change("Summer#2026x", "Autumn#2026x"))
            .await
            .unwrap(),
        19,
        "0000052D:",
    );
    dc.advance(Duration::days(1) + Duration::seconds(1));
    assert_eq!(
        me.modify(ALICE, change("Summer#2026x", "Autumn#2026x"))
            .await
            .unwrap()
            .rc,
        0
    );
}

#[tokio::test]
async fn resetting_your_own_password_needs_reset_password() {
    let dc = Dc::start().await;
    let mut me = dc.bound(ALICE, ALICE_PW).await;
    assert_ad(
        &me.modify(ALICE, reset("Summer#2026x")).await.unwrap(),
        50,
        "00002098:",
    );
}

#[tokio::test]
async fn pwd_last_set_takes_0_or_minus_1_only() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    assert_eq!(
        l.modify(ALICE, replace("pwdLastSet", "0"))
            .await
            .unwrap()
            .rc,
        0
    );
    assert_eq!(dc.int(ALICE, "pwdLastSet"), 0);
    assert_eq!(
        l.modify(ALICE, replace("pwdLastSet", "-1"))
            .await
            .unwrap()
            .rc,
        0
    );
    assert_eq!(dc.int(ALICE, "pwdLastSet"), to_filetime(dc.dir.now()));
    assert_ad(
        &l.modify(ALICE, replace("pwdLastSet", "12345"))
            .await
            .unwrap(),
        80,
        "00000057:",
    );
}

#[tokio::test]
async fn reset_right_alone_leaves_the_password_expired_unexpire_makes_it_current() {
    let dc = Dc::start().await;
    dc.dir
        .grant(HELPDESK, Right::ResetPassword, PROBE_OU)
        .unwrap();
    let mut hd = dc.bound(HELPDESK, HELPDESK_PW).await;
    assert_eq!(hd.modify(ALICE, reset("Summer#2026x")).await.unwrap().rc, 0);
    assert_eq!(
        dc.int(ALICE, "pwdLastSet"),
        0,
        "MS-SAMR 3.1.1.8.7: no Unexpire Password → 0"
    );
    assert_bind_data(&dc.try_bind(ALICE, "Summer#2026x").await, "773");
    // Writing pwdLastSet needs its own right.
    assert_ad(
        &hd.modify(ALICE, replace("pwdLastSet", "0")).await.unwrap(),
        50,
        "00002098:",
    );

    dc.dir
        .grant(HELPDESK, Right::UnexpirePassword, DOMAIN)
        .unwrap();
    assert_eq!(hd.modify(ALICE, reset("Autumn#2026x")).await.unwrap().rc, 0);
    assert_eq!(dc.int(ALICE, "pwdLastSet"), to_filetime(dc.dir.now()));
    assert_eq!(dc.try_bind(ALICE, "Autumn#2026x").await.rc, 0);
}

#[tokio::test]
async fn lockout_after_threshold_and_unlock_by_lockout_time_zero() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .modify(DOMAIN, replace("lockoutThreshold", "3"))
        .await
        .unwrap()
        .success()
        .unwrap();
    for _ in 0..3 {
        assert_bind_data(&dc.try_bind(ALICE, "Wrong#Pass2026").await, "52e");
    }
    assert_eq!(dc.int(ALICE, "badPwdCount"), 3);
    assert_eq!(dc.int(ALICE, "lockoutTime"), to_filetime(dc.dir.now()));
    assert_eq!(
        dc.int(ALICE, "userAccountControl"),
        512,
        "lockout is lockoutTime, not a UAC bit"
    );
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "775");
    assert_bind_data(&dc.try_bind(ALICE, "Wrong#Pass2026").await, "775");
    let (e, _) = search(
        &mut admin,
        ALICE,
        "(objectClass=*)",
        &["msDS-User-Account-Control-Computed"],
    )
    .await;
    assert_eq!(e[0].attrs["msDS-User-Account-Control-Computed"], vec!["16"]);

    admin
        .modify(ALICE, replace("lockoutTime", "0"))
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(dc.try_bind(ALICE, ALICE_PW).await.rc, 0);
    assert_eq!(dc.int(ALICE, "badPwdCount"), 0);
}

#[tokio::test]
async fn lockout_ends_when_lockout_duration_passes() {
    let dc = Dc::start().await;
    let mut admin = dc.admin().await;
    admin
        .modify(DOMAIN, replace("lockoutThreshold", "2"))
        .await
        .unwrap()
        .success()
        .unwrap();
    for _ in 0..2 {
        dc.try_bind(ALICE, "Wrong#Pass2026").await;
    }
    assert_bind_data(&dc.try_bind(ALICE, ALICE_PW).await, "775");
    dc.advance(Duration::minutes(31));
    assert_eq!(dc.try_bind(ALICE, ALICE_PW).await.rc, 0);
}

#[tokio::test]
async fn a_wrong_old_password_on_change_counts_as_a_bad_password() {
    let dc = Dc::start().await;
    let mut me = dc.bound(ALICE, ALICE_PW).await;
    me.modify(ALICE, change("Wrong#Pass2026", "Summer#2026x"))
        .await
        .unwrap();
    assert_eq!(dc.int(ALICE, "badPwdCount"), 1);
}
