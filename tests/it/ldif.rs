//! LDIF import and export, and the fixture forest.

use crate::support::*;

#[tokio::test]
async fn the_fixture_forest_imports_and_its_users_bind() {
    let dc = Dc::start().await;
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/gntech.me.ldif"
    ))
    .unwrap();
    dc.dir
        .import_ldif(&text, "fixtures/gntech.me.ldif")
        .unwrap();
    let mut l = dc.admin().await;
    let (users, _) = search(
        &mut l,
        DOMAIN,
        "(&(objectCategory=person)(objectClass=user)(userPrincipalName=*))",
        &["cn"],
    )
    .await;
    assert!(users.len() >= 20, "{} users", users.len());
    let (groups, _) = search(
        &mut l,
        DOMAIN,
        "(&(objectClass=group)(member=*))",
        &["member"],
    )
    .await;
    assert!(groups.len() >= 3);
    assert_eq!(
        dc.try_bind("alice@gntech.me", "Initial#Pass2026").await.rc,
        0
    );
}

#[tokio::test]
async fn export_then_import_into_a_fresh_forest_keeps_guids_and_members() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    l.add(
        "CN=Sales,OU=Probe,DC=gntech,DC=me",
        attrs(&[("objectClass", &["group"]), ("member", &[ALICE])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let ldif = dc.dir.export_ldif(Some(PROBE_OU)).unwrap();
    assert!(!ldif.contains("memberOf"), "back-links are not exported");

    let fresh = Dc::start_with(Default::default()).await;
    // The fresh forest already has OU=Probe from the fixture: drop it first.
    let mut fl = fresh.admin().await;
    let tree = ldap3::controls::RawControl {
        ctype: "1.2.840.113556.1.4.805".into(),
        crit: true,
        val: None,
    };
    fl.with_controls(vec![tree])
        .delete(PROBE_OU)
        .await
        .unwrap()
        .success()
        .unwrap();
    fresh.dir.import_ldif(&ldif, "export.ldif").unwrap();
    assert_eq!(
        fresh.dir.entry(ALICE).unwrap().guid(),
        dc.dir.entry(ALICE).unwrap().guid()
    );
    let (e, _) = search(&mut fl, ALICE, "(objectClass=*)", &["memberOf"]).await;
    assert_eq!(
        e[0].attrs["memberOf"],
        vec!["CN=Sales,OU=Probe,DC=gntech,DC=me"]
    );
}

#[tokio::test]
async fn a_rejected_record_names_its_line_and_ads_answer() {
    let dc = Dc::start().await;
    let err = dc
        .dir
        .import_ldif(
            "dn: CN=X,OU=Nope,DC=gntech,DC=me\nobjectClass: user\n",
            "bad.ldif",
        )
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("bad.ldif:1: CN=X,OU=Nope,DC=gntech,DC=me: LDAP 32 0000208D"),
        "{err}"
    );
}

#[tokio::test]
async fn the_same_seed_gives_the_same_forest_byte_for_byte() {
    use writeback_sim::directory::DirectoryConfig;
    let export = |seed| async move {
        let dc = Dc::start_with(DirectoryConfig {
            seed,
            ..Default::default()
        })
        .await;
        dc.dir.export_ldif(None).unwrap()
    };
    let a = export(7).await;
    assert_eq!(a, export(7).await);
    assert_ne!(a, export(8).await, "GUIDs and SIDs follow the seed");
}
