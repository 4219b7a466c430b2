//! Device writeback through a whole world: Graph delta → connector space → AD, with the
//! container missing, throttling, and a restart in between.

use std::time::Duration;
use writeback_sim::world::{
    Choices, CycleKind, DeviceChoice, DeviceClass, DeviceSpec, DeviceUpdate, Faults, GraphFaults,
    License, TenantSettings, World, WorldError, WorldOptions,
};

const CONTAINER: &str = "CN=RegisteredDevices,DC=gntech,DC=me";

pub async fn world(license: License) -> World {
    let mut w = World::start(WorldOptions {
        seed: 3,
        tenant: TenantSettings {
            license,
            ..TenantSettings::default()
        },
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    w.begin();
    w.start_engine().await;
    w
}

/// The wizard's device options page.
pub async fn configure(
    w: &mut World,
    forest: Option<&str>,
    class: DeviceClass,
    prepare: bool,
) -> Result<Vec<String>, WorldError> {
    w.configure(Choices {
        device_writeback: Some(Some(DeviceChoice {
            forest: forest.map(str::to_string),
            container: None,
            class,
            prepare,
        })),
        ..Choices::default()
    })
    .await
}

fn name(i: usize) -> String {
    format!("LAPTOP-{i:03}")
}

/// Register device `i`; returns its deviceId.
fn register(w: &mut World, i: usize) -> String {
    w.register_device(DeviceSpec {
        name: name(i),
        ..DeviceSpec::default()
    })
    .unwrap()
}

/// A world with device writeback set up by option A and devices 0..n registered.
async fn with_devices(n: usize) -> World {
    let mut w = world(License::P1).await;
    configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    for i in 0..n {
        register(&mut w, i);
    }
    w
}

fn dn(i: usize) -> String {
    format!("CN={},{CONTAINER}", name(i))
}

async fn one(w: &World, dn: &str, attr: &str) -> Option<String> {
    w.ad_entry(dn).await?.readable(attr).into_iter().next()
}

fn export(w: &World) -> writeback_sim::world::RunRecord {
    w.runs()
        .into_iter()
        .rev()
        .find(|r| r.profile == writeback_sim::world::Profile::Export)
        .unwrap()
}

#[tokio::test]
async fn devices_flow_to_ad_and_follow_changes() {
    let mut w = world(License::P1).await;
    configure(&mut w, Some("gntech.me"), DeviceClass::Computer, true)
        .await
        .unwrap();
    let ids: Vec<String> = (0..5).map(|i| register(&mut w, i)).collect();
    let s = w.sync(CycleKind::Initial).await.unwrap();
    assert_eq!(
        (s.imported, s.exported, s.export_errors),
        ((5, 0, 0), (5, 0, 0), 0)
    );
    let e = w.ad_entry(&dn(2)).await.unwrap();
    assert!(e.readable("objectClass").contains(&"computer".to_string()));
    let thumbprint = ids[2].replace('-', "").to_ascii_uppercase();
    assert_eq!(
        one(&w, &dn(2), "altSecurityIdentities").await,
        Some(format!("X509:<SHA1-TP-PUBKEY>{thumbprint}"))
    );
    assert_eq!(
        one(&w, &dn(2), "userAccountControl").await.as_deref(),
        Some("4096")
    );

    // Disable → update; delete → delete; rename → modify-DN; an unchanged delta → nothing.
    w.update_device(DeviceUpdate {
        name: name(1),
        enabled: Some(false),
        ..DeviceUpdate::default()
    })
    .unwrap();
    w.delete_device(&name(3)).unwrap();
    w.update_device(DeviceUpdate {
        name: name(4),
        display_name: Some("LAPTOP-444".into()),
        ..DeviceUpdate::default()
    })
    .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.imported, s.exported), ((0, 2, 1), (0, 2, 1)));
    assert_eq!(
        one(&w, &dn(1), "userAccountControl").await.as_deref(),
        Some("4098")
    );
    assert!(w.ad_entry(&dn(3)).await.is_none());
    assert!(w
        .ad_entry(&format!("CN=LAPTOP-444,{CONTAINER}"))
        .await
        .is_some());
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.imported, s.exported), ((0, 0, 0), (0, 0, 0)));

    // The connector space survives a restart: the next delta adds nothing twice.
    w.restart_engine().await;
    register(&mut w, 7);
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.imported, s.exported), ((1, 0, 0), (1, 0, 0)));
    let export = export(&w);
    assert_eq!(
        (export.adds, export.connector.as_deref()),
        (Some(1), Some("gntech.me"))
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_missing_container_is_an_export_error_until_it_exists() {
    use writeback_sim::world::{ExportErrorKind, Status};
    let mut w = world(License::P1).await;
    configure(&mut w, None, DeviceClass::Computer, false)
        .await
        .unwrap();
    register(&mut w, 1);
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.export_errors, 1);
    let export = export(&w);
    assert_eq!(export.status, Status::CompletedExportErrors);
    assert_eq!(
        export.export_errors[0].kind,
        ExportErrorKind::NoWritebackContainer
    );
    assert_eq!(export.export_errors[0].dn, dn(1));

    // The wizard runs again with option A: it creates the container and grants the
    // rights; the next cycle writes the device.
    configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.exported, s.export_errors), ((1, 0, 0), 0));
    assert!(w.ad_entry(&dn(1)).await.is_some());
    w.shutdown().await;
}

#[tokio::test]
async fn throttling_is_waited_out_and_nothing_is_lost() {
    let mut w = world(License::P1).await;
    configure(&mut w, None, DeviceClass::MsDsDevice, true)
        .await
        .unwrap();
    let ids: Vec<String> = (0..3).map(|i| register(&mut w, i)).collect();
    w.set_faults(Faults {
        graph: GraphFaults {
            throttle: 3,
            retry_after: Duration::from_secs(10),
            ..GraphFaults::default()
        },
        ..Faults::default()
    });
    let before = w.now();
    let s = w.sync(CycleKind::Initial).await.unwrap();
    assert_eq!((s.imported, s.exported), ((3, 0, 0), (3, 0, 0)));
    assert_eq!(
        w.now() - before,
        chrono::Duration::seconds(30),
        "three Retry-After waits of 10 s"
    );
    let dn1 = format!("CN={},{CONTAINER}", ids[1]);
    let e = w.ad_entry(&dn1).await.unwrap();
    assert!(e
        .readable("objectClass")
        .contains(&"msDS-Device".to_string()));
    let anchor = one(&w, &dn1, "msDS-CloudAnchor").await.unwrap();
    assert!(
        anchor.starts_with("Device_") && !anchor.contains(&ids[1]),
        "the anchor is the objectId, not the deviceId: {anchor}"
    );
    assert_eq!(
        one(&w, &dn1, "msDS-IsEnabled").await.as_deref(),
        Some("TRUE")
    );

    // Graph down for the whole cycle: the import stops, nothing is exported, and the next
    // cycle picks everything up.
    register(&mut w, 9);
    w.set_faults(Faults {
        graph: GraphFaults {
            status: Some(503),
            retry_after: Duration::from_secs(1),
            ..GraphFaults::default()
        },
        ..Faults::default()
    });
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert!(s.import_failed.is_some());
    w.set_faults(Faults::default());
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.imported, s.exported), ((1, 0, 0), (1, 0, 0)));
    w.shutdown().await;
}

#[tokio::test]
async fn the_wizard_refuses_without_premium_and_for_another_forest() {
    let mut w = world(License::None).await;
    let e = configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("P1 or P2"), "{e}");
    assert!(
        w.ad_entry(CONTAINER).await.is_none(),
        "a refused configuration changes nothing"
    );
    w.change_tenant(writeback_sim::world::TenantChange {
        license: Some(License::P2),
        ..Default::default()
    })
    .await
    .unwrap();
    let e = configure(&mut w, Some("contoso.com"), DeviceClass::Computer, true)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("single forest"), "{e}");
    assert!(w.ad_entry(CONTAINER).await.is_none());
    assert!(
        configure(&mut w, Some("gntech.me"), DeviceClass::Computer, true)
            .await
            .is_ok()
    );
    assert!(w.ad_entry(CONTAINER).await.is_some());
    w.shutdown().await;
}

#[tokio::test]
async fn a_round_that_fails_midway_resumes_after_the_last_applied_page() {
    let w = with_devices(250).await;
    // The first page (100 devices) is served, then Graph is down for the rest of the cycle.
    w.set_faults(Faults {
        graph: GraphFaults {
            status: Some(503),
            retry_after: Duration::from_secs(1),
            after: 1,
            ..GraphFaults::default()
        },
        ..Faults::default()
    });
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert!(s.import_failed.is_some());
    assert_eq!(s.imported, (100, 0, 0), "the applied page is kept");
    assert_eq!(
        s.exported,
        (0, 0, 0),
        "nothing is exported after a failed import"
    );
    w.set_faults(Faults::default());
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(
        s.imported,
        (150, 0, 0),
        "resumed from the next page, nothing imported twice"
    );
    assert_eq!(s.exported, (250, 0, 0));
    assert_eq!(
        w.ad_count(CONTAINER, "(objectClass=computer)").await,
        Ok(250)
    );
    w.shutdown().await;
}

#[tokio::test]
async fn an_export_adds_devices_in_object_id_order_and_a_collision_fails_only_its_own() {
    use writeback_sim::world::{ExportErrorKind, NewEntry};
    // 150 devices, one of them colliding with an object already in the container.
    let w = with_devices(150).await;
    w.ad_add(NewEntry {
        dn: dn(70),
        attrs: vec![
            ("objectClass".into(), vec!["computer".into()]),
            ("sAMAccountName".into(), vec!["TAKEN$".into()]),
        ],
        password: None,
    })
    .await
    .unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.exported, s.export_errors), ((149, 0, 0), 1));
    let export = export(&w);
    assert_eq!(export.export_errors.len(), 1);
    assert_eq!(export.export_errors[0].kind, ExportErrorKind::CdError);
    assert_eq!(export.export_errors[0].dn, dn(70));
    assert!(
        export.export_errors[0].detail.starts_with("LDAP 68"),
        "{}",
        export.export_errors[0].detail
    );
    // The export takes devices in objectId order: the DC created them in that order.
    let mut order: Vec<usize> = (0..150).filter(|i| *i != 70).collect();
    order.sort_by_key(|i| w.device_object_id(&name(*i)).unwrap());
    let mut last = 0;
    for i in order {
        let usn: u64 = one(&w, &dn(i), "uSNCreated")
            .await
            .unwrap()
            .parse()
            .unwrap();
        assert!(usn > last, "device {i} was created out of order");
        last = usn;
    }
    // The colliding device is written once the name is free.
    w.ad_delete(&dn(70)).await.unwrap();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!((s.exported, s.export_errors), ((1, 0, 0), 0));
    w.shutdown().await;
}

#[tokio::test]
async fn with_a_slow_dc_each_add_is_an_exchange_of_its_own() {
    use writeback_sim::world::LdapFaults;
    let mut w = with_devices(20).await;
    w.set_faults(Faults {
        ldap: LdapFaults {
            latency: Some(Duration::from_secs(1)),
            ..LdapFaults::default()
        },
        ..Faults::default()
    });
    let before = w.now();
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (20, 0, 0));
    // The export's session (handshake, bind, the container's check) and twenty adds, a
    // second each: adds sent ahead would share their seconds.
    let took = (w.now() - before).num_seconds();
    assert!(took >= 20 + 3, "the export took {took} s of business time");
    w.set_faults(Faults::default());
    for i in 20..40 {
        register(&mut w, i);
    }
    let s = w.sync(CycleKind::Delta).await.unwrap();
    assert_eq!(s.exported, (20, 0, 0));
    w.shutdown().await;
}
