//! Group writeback v1 through a whole world: Microsoft 365 groups from Graph (beta
//! delta, with writebackConfiguration) into the OU, members mapped to synced users; and
//! Cloud Sync taking over a group by its anchor.

use writeback_sim::world::{
    Choices, CloudSyncChoice, CloudSyncScope, CycleKind, GroupChoice, GroupKind, GroupSpec,
    GroupUpdate, License, NewEntry, Profile, TenantSettings, UserSpec, V1Naming, World, WorldError,
    WorldOptions,
};

const OU: &str = "OU=M365 Groups,DC=gntech,DC=me";

async fn world(license: License, exchange_hybrid: bool) -> World {
    let mut w = World::start(WorldOptions {
        seed: 5,
        tenant: TenantSettings {
            license,
            group_writeback_default: true,
            ..TenantSettings::default()
        },
        exchange_hybrid,
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/gntech.me.ldif"
    ))
    .unwrap();
    w.import_ldif(&text, "gntech.me.ldif").await.unwrap();
    for (upn, dn) in [
        (
            "alice@gntech.me",
            Some("CN=Alice Smith,OU=Staff,DC=gntech,DC=me"),
        ),
        (
            "bob@gntech.me",
            Some("CN=Bob Jones,OU=Staff,DC=gntech,DC=me"),
        ),
        (
            "carol@gntech.me",
            Some("CN=Carol White,OU=Staff,DC=gntech,DC=me"),
        ),
        ("guest@gntech.me", None),
    ] {
        w.add_user(UserSpec {
            upn: upn.into(),
            synced_from: dn.map(str::to_string),
            sspr_registered: true,
            groups: vec![],
            ..UserSpec::default()
        })
        .await
        .unwrap();
    }
    w.begin();
    w.start_engine().await;
    w
}

async fn group_writeback(
    w: &mut World,
    ou: Option<&str>,
    naming: V1Naming,
) -> Result<Vec<String>, WorldError> {
    w.configure(Choices {
        group_writeback_v1: Some(Some(GroupChoice {
            ou: ou.map(str::to_string),
            naming,
        })),
        ..Choices::default()
    })
    .await
}

fn group(w: &mut World, name: &str, kind: GroupKind, members: &[&str]) -> String {
    w.create_group(GroupSpec {
        name: name.into(),
        kind,
        members: members.iter().map(|m| m.to_string()).collect(),
        ..GroupSpec::default()
    })
    .unwrap()
}

async fn values(w: &World, dn: &str, attr: &str) -> Vec<String> {
    let e = w.ad_entry(dn).await.unwrap_or_else(|| panic!("{dn} in AD"));
    let mut v = e.readable(attr);
    v.sort();
    v
}

fn feature(w: &World, name: &str) -> String {
    w.features()
        .rows()
        .into_iter()
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
        .unwrap()
}

#[tokio::test]
async fn microsoft_365_groups_are_written_with_synced_members_only() {
    let mut w = world(License::P1, true).await;
    group_writeback(&mut w, None, V1Naming::ObjectId)
        .await
        .unwrap();
    let marketing = group(
        &mut w,
        "Marketing",
        GroupKind::M365,
        &["alice@gntech.me", "bob@gntech.me", "guest@gntech.me"],
    );
    group(&mut w, "Finance", GroupKind::Security, &[]);
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.exported, s.export_errors), ((1, 0, 0), 0), "{s:?}");
    let dn = format!("CN=Group_{marketing},{OU}");
    assert_eq!(values(&w, &dn, "groupType").await, vec!["8"]);
    assert_eq!(values(&w, &dn, "mail").await, vec!["marketing@gntech.me"]);
    assert_eq!(
        values(&w, &dn, "member").await,
        vec![
            "CN=Alice Smith,OU=Staff,DC=gntech,DC=me",
            "CN=Bob Jones,OU=Staff,DC=gntech,DC=me"
        ]
    );
    let reasons: Vec<(&str, &str)> = s
        .skipped
        .iter()
        .map(|x| (x.object.as_str(), x.reason.as_str()))
        .collect();
    assert!(
        reasons
            .iter()
            .any(|(o, r)| *o == "Finance" && r.contains("not a Microsoft 365 group")),
        "{reasons:?}"
    );
    assert!(
        reasons
            .iter()
            .any(|(o, r)| *o == "Marketing" && r.starts_with("1 cloud-only member")),
        "{reasons:?}"
    );
    assert_eq!(feature(&w, "UnifiedGroupWriteback"), "Enabled");

    // Membership and type change; then the group is turned off (it stays) and deleted.
    w.update_group(GroupUpdate {
        name: "Marketing".into(),
        add_members: vec!["carol@gntech.me".into()],
        remove_members: vec!["alice@gntech.me".into()],
        on_prem_group_type: Some("universalMailEnabledSecurityGroup".into()),
        ..GroupUpdate::default()
    })
    .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 1, 0), "{s:?}");
    assert_eq!(values(&w, &dn, "groupType").await, vec!["-2147483640"]);
    assert_eq!(
        values(&w, &dn, "member").await,
        vec![
            "CN=Bob Jones,OU=Staff,DC=gntech,DC=me",
            "CN=Carol White,OU=Staff,DC=gntech,DC=me"
        ]
    );
    w.update_group(GroupUpdate {
        name: "Marketing".into(),
        writeback: Some(false),
        ..GroupUpdate::default()
    })
    .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 0, 0));
    assert!(w.ad_entry(&dn).await.is_some(), "kept until a hard delete");
    assert!(s.skipped.iter().any(|x| x.reason.contains("stays in AD")));
    w.delete_group("Marketing").unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 0, 1), "{s:?}");
    assert!(w.ad_entry(&dn).await.is_none());
    w.shutdown().await;
}

#[tokio::test]
async fn display_name_naming_renames_with_the_cloud_group() {
    let mut w = world(License::P2, true).await;
    group_writeback(
        &mut w,
        Some("OU=Groups,DC=gntech,DC=me"),
        V1Naming::DisplayName,
    )
    .await
    .unwrap();
    let id = group(&mut w, "Administrators", GroupKind::M365, &[]);
    let tail = &id[id.len() - 12..];
    w.sync(CycleKind::Delta).await.unwrap();
    let named = |n: &str| format!("CN={n}_{tail},OU=Groups,DC=gntech,DC=me");
    assert!(w.ad_entry(&named("Administrators")).await.is_some());
    w.update_group(GroupUpdate {
        name: "Administrators".into(),
        display_name: Some("Admins".into()),
        ..GroupUpdate::default()
    })
    .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 1, 0), "{s:?}");
    assert!(w.ad_entry(&named("Admins")).await.is_some());

    // Turning group writeback off deletes what it wrote on the next cycle.
    let detail = w
        .configure(Choices {
            group_writeback_v1: Some(None),
            ..Choices::default()
        })
        .await
        .unwrap();
    assert_eq!(detail, vec!["group writeback v1 disabled"]);
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 0, 1), "{s:?}");
    assert!(w.ad_entry(&named("Admins")).await.is_none());
    assert_eq!(feature(&w, "UnifiedGroupWriteback"), "Disabled");
    w.shutdown().await;
}

#[tokio::test]
async fn without_exchange_hybrid_or_a_licence_nothing_is_written() {
    let mut w = world(License::P1, false).await;
    let detail = group_writeback(&mut w, None, V1Naming::ObjectId)
        .await
        .unwrap();
    assert!(detail.iter().any(|d| d.contains("Exchange hybrid")));
    group(&mut w, "Marketing", GroupKind::M365, &[]);
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 0, 0));
    assert_eq!(s.skipped.len(), 1);
    assert!(s.skipped[0]
        .reason
        .starts_with("Exchange hybrid is not configured"));
    w.shutdown().await;

    let mut w = world(License::None, true).await;
    let err = group_writeback(&mut w, None, V1Naming::ObjectId)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("needs Microsoft Entra ID P1 or P2"), "{err}");
    assert!(
        w.ad_entry(OU).await.is_none(),
        "the refused wizard created nothing"
    );
    w.shutdown().await;
}

/// Cloud Sync matches by anchor: a group already in AD with
/// `msDS-ExternalDirectoryObjectId = Group_<objectId>` is taken over and updated where it
/// is (renamed by the cn rule), not created a second time; a group out of scope is listed
/// with the reason. Cloud Sync is a service of its own: Entra Connect's cycle leaves the
/// group alone, Cloud Sync's job runs every 2 minutes of the world's clock, and what it
/// did is in its provisioning logs, not in Entra Connect's run history.
#[tokio::test]
async fn cloud_sync_matches_an_existing_group_by_its_anchor() {
    let mut w = world(License::P1, false).await;
    w.configure(Choices {
        cloud_sync: Some(Some(CloudSyncChoice {
            ou: Some("OU=Cloud Groups,DC=gntech,DC=me".into()),
            scope: Some(CloudSyncScope::Groups(vec!["Finance".into()])),
        })),
        ..Choices::default()
    })
    .await
    .unwrap();
    let finance = group(&mut w, "Finance", GroupKind::Security, &["alice@gntech.me"]);
    group(&mut w, "HR", GroupKind::Security, &[]);
    let legacy = "CN=Finance (old),OU=Cloud Groups,DC=gntech,DC=me";
    w.ad_add(NewEntry {
        dn: legacy.into(),
        attrs: vec![
            ("objectClass".into(), vec!["group".into()]),
            (
                "msDS-ExternalDirectoryObjectId".into(),
                vec![format!("Group_{finance}")],
            ),
        ],
        password: None,
    })
    .await
    .unwrap();
    let runs = w.history_mark();
    // Entra Connect's cycle does not provision security groups.
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (0, 0, 0), "{s:?}");
    assert!(w.ad_entry(legacy).await.is_some());
    // Cloud Sync's job: not yet after one minute, after two.
    let a = w.advance(std::time::Duration::from_secs(60)).await.unwrap();
    assert!(a.cloud_sync.is_none(), "{a:?}");
    let a = w.advance(std::time::Duration::from_secs(60)).await.unwrap();
    let logs = a.cloud_sync.expect("Cloud Sync's job ran at 2 minutes");
    let dn = format!(
        "CN=Finance_{},OU=Cloud Groups,DC=gntech,DC=me",
        &finance[finance.len() - 12..]
    );
    assert!(w.ad_entry(legacy).await.is_none(), "renamed by the rule");
    assert_eq!(values(&w, &dn, "groupType").await, vec!["-2147483640"]);
    assert_eq!(
        values(&w, &dn, "member").await,
        vec!["CN=Alice Smith,OU=Staff,DC=gntech,DC=me"]
    );
    // Cloud Sync says what it did and why, in its own provisioning logs.
    assert!(
        logs.iter().any(|x| x.object == "Finance"
            && x.action == "Update"
            && x.status == "Success"
            && x.detail == format!("{dn} (was {legacy})")),
        "{logs:?}"
    );
    assert!(logs.iter().any(|x| x.object == "HR"
        && x.status == "Skipped"
        && x.detail.contains("not among the groups selected")));
    assert_eq!(w.provisioning_logs_since(runs), logs);
    // Entra Connect's run history holds only its own cycle: it exported nothing.
    let history = w.runs_since(runs);
    assert!(
        history.iter().all(|r| r.profile != Profile::Export),
        "{history:?}"
    );
    // The groups Entra Connect leaves to Cloud Sync are not pending on its every cycle.
    let mark = w.history_mark();
    w.sync(CycleKind::Delta).await.unwrap();
    let sync = w
        .runs_since(mark)
        .into_iter()
        .find(|r| r.profile == Profile::DeltaSynchronization)
        .unwrap();
    assert_eq!((sync.adds, sync.updates), (Some(0), Some(0)), "{sync:?}");
    // The next run is two minutes later; saving the configuration runs it at once.
    let a = w.advance(std::time::Duration::from_secs(60)).await.unwrap();
    assert!(a.cloud_sync.is_none(), "{a:?}");
    assert!(w.cloud_sync().await.unwrap().is_empty(), "nothing changed");
    w.shutdown().await;
}
