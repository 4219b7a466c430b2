//! Device writeback through a whole world: Graph delta → connector space → AD, with the
//! container missing, throttling, and a restart in between.

use std::time::Duration;
use writeback_sim::cloud::graph::GraphFaults;
use writeback_sim::cloud::tenant::{AlternativeSecurityId, CloudDevice, License, TenantSettings};
use writeback_sim::directory::DirectoryConfig;
use writeback_sim::engine::devices::DeviceClass;
use writeback_sim::engine::CycleKind;
use writeback_sim::world::{World, WorldOptions};

const CONTAINER: &str = "CN=RegisteredDevices,DC=gntech,DC=me";

async fn world(license: License) -> World {
    let mut w = World::start(WorldOptions {
        seed: 3,
        directory: DirectoryConfig::default(),
        tenant: TenantSettings {
            license,
            ..TenantSettings::default()
        },
        password_writeback: true,
    })
    .await
    .unwrap();
    w.begin();
    w.start_engine().await;
    w
}

fn device(i: usize) -> CloudDevice {
    // "X509:<SHA1-TP-PUBKEY>abc" in UTF-16LE, base64: the shape Graph's keys have.
    let key = "X509:<SHA1-TP-PUBKEY>abc"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect::<Vec<u8>>();
    CloudDevice {
        id: format!("10000000-0000-4000-8000-{i:012}"),
        device_id: format!("20000000-0000-4000-8000-{i:012}"),
        display_name: format!("LAPTOP-{i:03}"),
        operating_system: "Windows".into(),
        operating_system_version: "10.0.22631".into(),
        trust_type: "ServerAd".into(),
        account_enabled: true,
        alternative_security_ids: vec![AlternativeSecurityId {
            kind: 2,
            key: base64::Engine::encode(&base64::engine::general_purpose::STANDARD, key),
        }],
        registered_owners: vec![],
        is_compliant: true,
        is_managed: true,
        physical_ids: vec![],
        registration_date_time: chrono::DateTime::UNIX_EPOCH,
    }
}

fn dn(i: usize) -> String {
    format!("CN=LAPTOP-{i:03},{CONTAINER}")
}

#[tokio::test]
async fn devices_flow_to_ad_and_follow_changes() {
    let mut w = world(License::P1).await;
    w.configure_device_writeback(Some("gntech.me"), None, DeviceClass::Computer, true)
        .await
        .unwrap();
    for i in 0..5 {
        w.tenant.put_device(device(i));
    }
    let s = w.engine().unwrap().sync(CycleKind::Initial).await;
    assert_eq!(
        (s.imported, s.exported, s.export_errors),
        ((5, 0, 0), (5, 0, 0), 0)
    );
    let e = w.directory.entry(&dn(2)).unwrap();
    assert!(e.is("computer"));
    assert_eq!(
        e.str("altSecurityIdentities"),
        Some("X509:<SHA1-TP-PUBKEY>abc")
    );
    assert_eq!(e.int("userAccountControl"), Some(4096));

    // Disable → update; delete → delete; rename → modify-DN; an unchanged delta → nothing.
    w.tenant
        .update_device("LAPTOP-001", |d| d.account_enabled = false);
    w.tenant.delete_device("LAPTOP-003");
    w.tenant
        .update_device("LAPTOP-004", |d| d.display_name = "LAPTOP-444".into());
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.imported, s.exported), ((0, 2, 1), (0, 2, 1)));
    assert_eq!(
        w.directory.entry(&dn(1)).unwrap().int("userAccountControl"),
        Some(4098)
    );
    assert!(w.directory.entry(&dn(3)).is_none());
    assert!(w
        .directory
        .entry(&format!("CN=LAPTOP-444,{CONTAINER}"))
        .is_some());
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.imported, s.exported), ((0, 0, 0), (0, 0, 0)));

    // The connector space survives a restart: the next delta adds nothing twice.
    w.start_engine().await;
    w.tenant.put_device(device(7));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.imported, s.exported), ((1, 0, 0), (1, 0, 0)));
    let runs = w.history.runs();
    let export = runs.iter().rev().find(|r| r.profile == "Export").unwrap();
    assert_eq!(
        (export.adds, export.connector.as_deref()),
        (Some(1), Some("gntech.me"))
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_missing_container_is_an_export_error_until_it_exists() {
    let mut w = world(License::P1).await;
    w.configure_device_writeback(None, None, DeviceClass::Computer, false)
        .await
        .unwrap();
    w.tenant.put_device(device(1));
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(s.export_errors, 1);
    let runs = w.history.runs();
    let export = runs.iter().rev().find(|r| r.profile == "Export").unwrap();
    assert_eq!(export.status, "completed-export-errors");
    assert_eq!(export.export_errors[0].kind, "no-writeback-container");
    assert_eq!(export.export_errors[0].dn, dn(1));

    // The admin creates it (option B) and grants the rights; the next cycle writes the device.
    w.configure_device_writeback(None, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.exported, s.export_errors), ((1, 0, 0), 0));
    assert!(w.directory.entry(&dn(1)).is_some());
    w.shutdown().await;
}

#[tokio::test]
async fn throttling_is_waited_out_and_nothing_is_lost() {
    let mut w = world(License::P1).await;
    w.configure_device_writeback(None, None, DeviceClass::MsDsDevice, true)
        .await
        .unwrap();
    for i in 0..3 {
        w.tenant.put_device(device(i));
    }
    w.graph.set_faults(GraphFaults {
        throttle: 3,
        retry_after: Duration::from_secs(10),
        ..GraphFaults::default()
    });
    let before = w.clock.now_utc();
    let s = w.engine().unwrap().sync(CycleKind::Initial).await;
    assert_eq!((s.imported, s.exported), ((3, 0, 0), (3, 0, 0)));
    assert_eq!(
        w.clock.now_utc() - before,
        chrono::Duration::seconds(30),
        "three Retry-After waits of 10 s"
    );
    let e = w
        .directory
        .entry(&format!(
            "CN=20000000-0000-4000-8000-000000000001,{CONTAINER}"
        ))
        .unwrap();
    assert!(e.is("msDS-Device"));
    assert_eq!(
        e.str("msDS-CloudAnchor"),
        Some("Device_10000000-0000-4000-8000-000000000001")
    );
    assert_eq!(e.str("msDS-IsEnabled"), Some("TRUE"));

    // Graph down for the whole cycle: the import stops, nothing is exported, and the next
    // cycle picks everything up.
    w.tenant.put_device(device(9));
    w.graph.set_faults(GraphFaults {
        status: Some(503),
        retry_after: Duration::from_secs(1),
        ..GraphFaults::default()
    });
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert!(s.import_failed.is_some());
    w.graph.set_faults(GraphFaults::default());
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!((s.imported, s.exported), ((1, 0, 0), (1, 0, 0)));
    w.shutdown().await;
}

#[tokio::test]
async fn the_wizard_refuses_without_premium_and_for_another_forest() {
    let mut w = world(License::None).await;
    let e = w
        .configure_device_writeback(None, None, DeviceClass::Computer, true)
        .await
        .unwrap_err();
    assert!(e.contains("P1 or P2"), "{e}");
    w.tenant.update(|s| s.license = License::P2);
    let e = w
        .configure_device_writeback(Some("contoso.com"), None, DeviceClass::Computer, true)
        .await
        .unwrap_err();
    assert!(e.contains("single forest"), "{e}");
    assert!(w
        .configure_device_writeback(Some("gntech.me"), None, DeviceClass::Computer, true)
        .await
        .is_ok());
    w.shutdown().await;
}

#[tokio::test]
async fn a_round_that_fails_midway_resumes_after_the_last_applied_page() {
    let mut w = world(License::P1).await;
    w.configure_device_writeback(None, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    for i in 0..250 {
        w.tenant.put_device(device(i));
    }
    // The first page (100 devices) is served, then Graph is down for the rest of the cycle.
    w.graph.set_faults(GraphFaults {
        status: Some(503),
        retry_after: Duration::from_secs(1),
        after: 1,
        ..GraphFaults::default()
    });
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert!(s.import_failed.is_some());
    assert_eq!(s.imported, (100, 0, 0), "the applied page is kept");
    assert_eq!(w.connector_space.len(), 100);
    assert!(
        w.connector_space.delta_link().is_none(),
        "the round did not finish: no deltaLink is kept"
    );
    w.graph.set_faults(GraphFaults::default());
    let s = w.engine().unwrap().sync(CycleKind::Delta).await;
    assert_eq!(
        s.imported,
        (150, 0, 0),
        "resumed from the next page, nothing imported twice"
    );
    assert_eq!(s.exported, (250, 0, 0));
    let found = {
        let st = w.directory.read();
        st.select(
            &writeback_sim::directory::Principal::System,
            CONTAINER,
            &ldap3_proto::proto::LdapSearchScope::OneLevel,
            &ldap3_proto::parse_ldap_filter_str("(objectClass=computer)").unwrap(),
            w.clock.now_utc(),
        )
        .unwrap()
    };
    assert_eq!(found.ids.len(), 250);
    w.shutdown().await;
}
