//! Group writeback v1 through a whole world: Microsoft 365 groups from Graph (beta
//! delta, with writebackConfiguration) into the OU, members mapped to synced users.

use crate::support::cloud_group;
use writeback_sim::cloud::tenant::{License, TenantSettings};
use writeback_sim::directory::DirectoryConfig;
use writeback_sim::engine::groups::V1Naming;
use writeback_sim::engine::CycleKind;
use writeback_sim::world::{World, WorldOptions};

const OU: &str = "OU=M365 Groups,DC=gntech,DC=me";

async fn world(license: License, exchange_hybrid: bool) -> World {
    let mut w = World::start(WorldOptions {
        seed: 5,
        directory: DirectoryConfig::default(),
        tenant: TenantSettings {
            license,
            exchange_hybrid,
            group_writeback_default: true,
            ..TenantSettings::default()
        },
        password_writeback: true,
    })
    .await
    .unwrap();
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/gntech.me.ldif"
    ))
    .unwrap();
    w.directory.import_ldif(&text, "gntech.me.ldif").unwrap();
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
        w.add_user(upn, dn, true, vec![]).unwrap();
    }
    w.begin();
    w.start_engine().await;
    w
}

fn user_id(w: &World, upn: &str) -> String {
    w.tenant.user(upn).unwrap().id
}

fn values(w: &World, dn: &str, attr: &str) -> Vec<String> {
    let e = w
        .directory
        .entry(dn)
        .unwrap_or_else(|| panic!("{dn} in AD"));
    let mut v: Vec<String> = e.strs(attr).map(str::to_string).collect();
    v.sort();
    v
}

#[tokio::test]
async fn microsoft_365_groups_are_written_with_synced_members_only() {
    let mut w = world(License::P1, true).await;
    w.configure_group_writeback_v1(None, V1Naming::ObjectId)
        .await
        .unwrap();
    let members = vec![
        user_id(&w, "alice@gntech.me"),
        user_id(&w, "bob@gntech.me"),
        user_id(&w, "guest@gntech.me"),
    ];
    w.tenant
        .put_group(cloud_group(1, "Marketing", true, members));
    w.tenant.put_group(cloud_group(2, "Finance", false, vec![]));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.exported, s.export_errors), ((1, 0, 0), 0), "{s:?}");
    let dn = format!("CN=Group_30000000-0000-4000-8000-000000000001,{OU}");
    assert_eq!(values(&w, &dn, "groupType"), vec!["8"]);
    assert_eq!(values(&w, &dn, "mail"), vec!["marketing@gntech.me"]);
    assert_eq!(
        values(&w, &dn, "member"),
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
    assert_eq!(w.features()["UnifiedGroupWriteback"], "Enabled");

    // Membership and type change; then the group is turned off (it stays) and deleted.
    let carol = user_id(&w, "carol@gntech.me");
    let alice = user_id(&w, "alice@gntech.me");
    w.tenant.update_group("Marketing", |g| {
        g.members.retain(|m| *m != alice);
        g.members.push(carol);
        g.writeback.on_premises_group_type = Some("universalMailEnabledSecurityGroup".into());
    });
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 1, 0), "{s:?}");
    assert_eq!(values(&w, &dn, "groupType"), vec!["-2147483640"]);
    assert_eq!(
        values(&w, &dn, "member"),
        vec![
            "CN=Bob Jones,OU=Staff,DC=gntech,DC=me",
            "CN=Carol White,OU=Staff,DC=gntech,DC=me"
        ]
    );
    w.tenant
        .update_group("Marketing", |g| g.writeback.is_enabled = Some(false));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 0, 0));
    assert!(w.directory.entry(&dn).is_some(), "kept until a hard delete");
    assert!(s.skipped.iter().any(|x| x.reason.contains("stays in AD")));
    w.tenant.delete_group("Marketing");
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 0, 1), "{s:?}");
    assert!(w.directory.entry(&dn).is_none());
}

#[tokio::test]
async fn display_name_naming_renames_with_the_cloud_group() {
    let mut w = world(License::P2, true).await;
    w.configure_group_writeback_v1(Some("OU=Groups,DC=gntech,DC=me"), V1Naming::DisplayName)
        .await
        .unwrap();
    w.tenant
        .put_group(cloud_group(0xe9305786a271, "Administrators", true, vec![]));
    w.engine().unwrap().sync(CycleKind::Delta).await;
    assert!(w
        .directory
        .entry("CN=Administrators_e9305786a271,OU=Groups,DC=gntech,DC=me")
        .is_some());
    w.tenant
        .update_group("Administrators", |g| g.display_name = "Admins".into());
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 1, 0), "{s:?}");
    assert!(w
        .directory
        .entry("CN=Admins_e9305786a271,OU=Groups,DC=gntech,DC=me")
        .is_some());

    // Turning group writeback off deletes what it wrote on the next cycle.
    w.disable_group_writeback_v1().await;
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 0, 1), "{s:?}");
    assert!(w
        .directory
        .entry("CN=Admins_e9305786a271,OU=Groups,DC=gntech,DC=me")
        .is_none());
    assert_eq!(w.features()["UnifiedGroupWriteback"], "Disabled");
}

#[tokio::test]
async fn without_exchange_hybrid_or_a_licence_nothing_is_written() {
    let mut w = world(License::P1, false).await;
    let detail = w
        .configure_group_writeback_v1(None, V1Naming::ObjectId)
        .await
        .unwrap();
    assert!(detail.iter().any(|d| d.contains("Exchange hybrid")));
    w.tenant
        .put_group(cloud_group(1, "Marketing", true, vec![]));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.exported, (0, 0, 0));
    assert_eq!(s.skipped.len(), 1);
    assert!(s.skipped[0]
        .reason
        .starts_with("Exchange hybrid is not configured"));

    let mut w = world(License::None, true).await;
    let err = w
        .configure_group_writeback_v1(None, V1Naming::ObjectId)
        .await
        .unwrap_err();
    assert!(err.contains("needs Microsoft Entra ID P1 or P2"), "{err}");
}

/// Cloud Sync matches by anchor: a group already in AD with
/// `msDS-ExternalDirectoryObjectId = Group_<objectId>` is taken over and updated where it
/// is (renamed by the cn rule), not created a second time; a group out of scope is listed
/// with the reason.
#[tokio::test]
async fn cloud_sync_matches_an_existing_group_by_its_anchor() {
    use writeback_sim::directory::add::AddRequest;
    use writeback_sim::directory::{OpContext, Principal};
    use writeback_sim::engine::groups::CloudSyncScope;
    let mut w = world(License::P1, false).await;
    let finance = cloud_group(7, "Finance", false, vec![user_id(&w, "alice@gntech.me")]);
    w.configure_cloud_sync(
        Some("OU=Cloud Groups,DC=gntech,DC=me"),
        Some(CloudSyncScope::Groups(vec!["Finance".into()])),
    )
    .await
    .unwrap();
    let legacy = "CN=Finance (old),OU=Cloud Groups,DC=gntech,DC=me";
    let text = |s: &str| vec![s.as_bytes().to_vec()];
    w.directory
        .write()
        .add(
            &Principal::System,
            &OpContext {
                tls: true,
                ..OpContext::default()
            },
            w.clock.now_utc(),
            AddRequest {
                dn: legacy.into(),
                attrs: vec![
                    ("objectClass".into(), text("group")),
                    (
                        "msDS-ExternalDirectoryObjectId".into(),
                        text(&format!("Group_{}", finance.id)),
                    ),
                ],
            },
        )
        .unwrap();
    w.tenant.put_group(finance);
    w.tenant.put_group(cloud_group(8, "HR", false, vec![]));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.exported, s.export_errors), ((0, 1, 0), 0), "{s:?}");
    let dn = "CN=Finance_000000000007,OU=Cloud Groups,DC=gntech,DC=me";
    assert!(w.directory.entry(legacy).is_none(), "renamed by the rule");
    assert_eq!(values(&w, dn, "groupType"), vec!["-2147483640"]);
    assert_eq!(
        values(&w, dn, "member"),
        vec!["CN=Alice Smith,OU=Staff,DC=gntech,DC=me"]
    );
    assert!(s
        .skipped
        .iter()
        .any(|x| x.object == "HR" && x.reason.contains("not among the groups selected")));
}
