//! The World API as a driver uses it: the engine's own scheduler on a virtual and on the
//! real clock, the wizard's work seen through LDAP and Graph by clients that are not ours
//! (the `ldap3` crate, reqwest), and password writeback onboarded with the tenant.

use crate::devices::{configure, world};
use std::time::Duration;
use writeback_sim::nt_security::{ace_flags, guid_bytes, guids, mask, SecurityDescriptor};
use writeback_sim::world::{
    Caller, Choices, ClockKind, CycleKind, DeviceClass, DeviceSpec, Faults, LdapFaults, License,
    Profile, TenantChange, UserSpec, World, WorldOptions,
};

const CONTAINER: &str = "CN=RegisteredDevices,DC=gntech,DC=me";
const ALICE: &str = "CN=Alice Smith,OU=Staff,DC=gntech,DC=me";

fn ldif() -> String {
    std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/fixtures/gntech.me.ldif"
    ))
    .unwrap()
}

fn alice() -> UserSpec {
    UserSpec {
        upn: "alice@gntech.me".into(),
        synced_from: Some(ALICE.into()),
        sspr_registered: true,
        groups: vec![],
        ..UserSpec::default()
    }
}

fn password_writeback(on: bool) -> Choices {
    Choices {
        password_writeback: Some(on),
        ..Choices::default()
    }
}

#[tokio::test]
async fn on_a_virtual_clock_the_scheduler_runs_a_delta_cycle_when_one_falls_due() {
    let mut w = world(License::P1).await;
    configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    w.sync(CycleKind::Initial).await.unwrap();
    w.register_device(DeviceSpec {
        name: "LAPTOP-01".into(),
        ..DeviceSpec::default()
    })
    .unwrap();
    let a = w.advance(Duration::from_secs(20 * 60)).await.unwrap();
    assert_eq!(
        a.cycle, None,
        "not due yet: the initial cycle was 20 minutes ago"
    );
    assert!(w
        .ad_entry(&format!("CN=LAPTOP-01,{CONTAINER}"))
        .await
        .is_none());
    let a = w.advance(Duration::from_secs(10 * 60)).await.unwrap();
    let cycle = a.cycle.expect("due 30 minutes after the last cycle");
    assert_eq!(cycle.exported, (1, 0, 0));
    assert!(w
        .ad_entry(&format!("CN=LAPTOP-01,{CONTAINER}"))
        .await
        .is_some());
    let last = w.runs().last().cloned().unwrap();
    assert_eq!(last.profile, Profile::Export);
    assert_eq!(
        last.start, a.now,
        "the cycle ran at the time the clock moved to"
    );
    // Many intervals skipped: one cycle, as ADSync's scheduler does after a pause.
    let before = w.runs().len();
    let a = w.advance(Duration::from_secs(5 * 3600)).await.unwrap();
    assert!(a.cycle.is_some());
    assert_eq!(
        w.runs()[before..]
            .iter()
            .filter(|r| r.profile.is_import())
            .count(),
        1
    );
    w.shutdown().await;
}

/// A world on the virtual clock with Alice synced and password writeback on.
async fn password_world() -> World {
    let mut w = World::start(WorldOptions::default()).await.unwrap();
    w.import_ldif(&ldif(), "gntech.me.ldif").await.unwrap();
    w.add_user(alice()).await.unwrap();
    w.begin();
    w.start_engine().await;
    w.configure(password_writeback(true)).await.unwrap();
    w
}

#[tokio::test]
async fn on_a_virtual_clock_the_relay_token_is_renewed_across_a_long_advance() {
    let mut w = password_world().await;
    // The listener's token lasts an hour; two days pass.
    w.advance(Duration::from_secs(2 * 86400)).await.unwrap();
    let a = w.sspr_reset("alice@gntech.me", "Summer#2026x").await;
    assert_eq!(a.error, None, "{a:?}");
    w.shutdown().await;
}

#[tokio::test]
async fn on_the_real_clock_nobody_has_to_start_a_cycle() {
    let mut w = World::start(WorldOptions {
        clock: ClockKind::System,
        sync_interval: Duration::from_millis(300),
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    w.start_engine().await;
    configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    w.register_device(DeviceSpec {
        name: "LAPTOP-RT".into(),
        ..DeviceSpec::default()
    })
    .unwrap();
    let dn = format!("CN=LAPTOP-RT,{CONTAINER}");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while w.ad_entry(&dn).await.is_none() && tokio::time::Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        w.ad_entry(&dn).await.is_some(),
        "a scheduled cycle wrote the device"
    );
    assert!(
        w.advance(Duration::from_secs(1)).await.is_err(),
        "the system clock cannot be moved"
    );
    w.shutdown().await;
}

/// The wizard's option A as a DC admin would check it: the container's descriptor, read
/// with an LDAP client, grants the connector create / delete of computers and write on
/// them; running the wizard again adds nothing twice and leaves the container untouched.
#[tokio::test]
async fn option_a_writes_the_connectors_aces_into_the_containers_descriptor() {
    let mut w = world(License::P1).await;
    configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    let connector = w.connector_dn();
    let settings = ldap3::LdapConnSettings::new().set_no_tls_verify(true);
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, &w.endpoints().ldaps)
        .await
        .unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(
        "CN=Administrator,CN=Users,DC=gntech,DC=me",
        "Adm1n!Pass2026",
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let read = |attr: &'static str, dn: String| {
        let mut ldap = ldap.clone();
        async move {
            let (entries, _) = ldap
                .search(&dn, ldap3::Scope::Base, "(objectClass=*)", vec![attr])
                .await
                .unwrap()
                .success()
                .unwrap();
            let e = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
            e.bin_attrs[attr][0].clone()
        }
    };
    let sid = read("objectSid", connector.clone()).await;
    let aces = |sd: Vec<u8>| {
        SecurityDescriptor::decode(&sd)
            .unwrap()
            .dacl
            .unwrap()
            .aces
            .into_iter()
            .filter(|a| a.sid == sid)
            .collect::<Vec<_>>()
    };
    let mine = aces(read("nTSecurityDescriptor", CONTAINER.into()).await);
    let computer = guid_bytes(guids::CLASS_COMPUTER);
    let has = |bits: u32, object: Option<[u8; 16]>, inherited: Option<[u8; 16]>| {
        mine.iter().any(|a| {
            a.is_allow()
                && a.mask & bits == bits
                && a.object_type == object
                && a.inherited_object_type == inherited
                && a.flags & ace_flags::CONTAINER_INHERIT != 0
        })
    };
    assert!(has(mask::CREATE_CHILD, computer, None), "{mine:?}");
    assert!(has(mask::DELETE_CHILD, computer, None), "{mine:?}");
    assert!(has(mask::WRITE_PROP, None, computer), "{mine:?}");

    let usn = w.ad_entry(CONTAINER).await.unwrap().usn();
    let detail = configure(&mut w, None, DeviceClass::Computer, true)
        .await
        .unwrap();
    assert!(
        detail
            .iter()
            .any(|d| d.starts_with("granted the connector")),
        "{detail:?}"
    );
    assert_eq!(
        aces(read("nTSecurityDescriptor", CONTAINER.into()).await).len(),
        mine.len(),
        "no ACE added twice"
    );
    assert_eq!(
        w.ad_entry(CONTAINER).await.unwrap().usn(),
        usn,
        "nothing was missing, so nothing was written"
    );
    w.shutdown().await;
}

async fn onboarded(w: &World) -> bool {
    let token = w.graph_token(Caller::admin("admin@gntech.me"));
    let body: serde_json::Value = writeback_sim::tls::http_client(None)
        .unwrap()
        .get(format!(
            "{}/v1.0/directory/onPremisesSynchronization",
            w.endpoints().graph
        ))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    body["value"][0]["features"]["passwordWritebackEnabled"]
        .as_bool()
        .unwrap()
}

fn password_feature(w: &World) -> String {
    w.features()
        .rows()
        .into_iter()
        .find(|(k, _)| *k == "PasswordWriteback")
        .map(|(_, v)| v)
        .unwrap()
}

/// Password writeback is licensed like every writeback feature, and the tenant learns it
/// from the engine over Graph: SSPR_0010 follows what the wizard actually did.
#[tokio::test]
async fn password_writeback_is_onboarded_over_graph_and_only_with_a_licence() {
    let mut w = World::start(WorldOptions {
        tenant: writeback_sim::world::TenantSettings {
            license: License::None,
            ..Default::default()
        },
        ..WorldOptions::default()
    })
    .await
    .unwrap();
    w.import_ldif(&ldif(), "gntech.me.ldif").await.unwrap();
    w.add_user(alice()).await.unwrap();
    w.begin();
    w.start_engine().await;
    let e = w.configure(password_writeback(true)).await.unwrap_err();
    assert!(
        e.to_string()
            .starts_with("password writeback needs Microsoft Entra ID P1 or P2"),
        "{e}"
    );
    assert_eq!(password_feature(&w), "Disabled");
    assert!(!onboarded(&w).await);

    w.change_tenant(TenantChange {
        license: Some(License::P1),
        ..TenantChange::default()
    })
    .await
    .unwrap();
    let a = w.sspr_reset("alice@gntech.me", "Summer#2026x").await;
    assert!(
        a.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("SSPR_0010"),
        "{a:?}"
    );
    let mark = w.history_mark();
    w.configure(password_writeback(true)).await.unwrap();
    assert!(onboarded(&w).await);
    assert_eq!(password_feature(&w), "Enabled");
    let ids: Vec<u32> = w.events_since(mark).iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![31004, 31005]);
    let a = w.sspr_reset("alice@gntech.me", "Summer#2026x").await;
    assert_eq!(a.error, None, "{a:?}");

    let mark = w.history_mark();
    w.configure(password_writeback(false)).await.unwrap();
    assert!(!onboarded(&w).await);
    let ids: Vec<u32> = w.events_since(mark).iter().map(|e| e.id).collect();
    assert_eq!(ids, vec![31012, 31013]);
    let a = w.sspr_reset("alice@gntech.me", "Autumn#2026x").await;
    assert!(
        a.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("SSPR_0010"),
        "{a:?}"
    );
    w.shutdown().await;
}

/// The agent's key for sealed password requests: onboarded when writeback is enabled,
/// offboarded when it is disabled, a new one on every enable; a request sealed for a key
/// the agent does not hold is refused with 32004 DecryptionError and the user is told
/// SSPR_0029, nothing changes in AD.
#[tokio::test]
async fn the_writeback_key_rolls_on_every_enable_and_a_stale_key_is_refused() {
    let mut w = World::start(WorldOptions::default()).await.unwrap();
    w.import_ldif(&ldif(), "gntech.me.ldif").await.unwrap();
    w.add_user(alice()).await.unwrap();
    w.begin();
    w.start_engine().await;
    let http = writeback_sim::tls::http_client(None).unwrap();
    let url = format!(
        "{}{}",
        w.endpoints().graph,
        writeback_sim::writeback_protocol::ONBOARDING
    );
    let token = w.graph_token(Caller::admin("admin@gntech.me"));
    let key_id = || async {
        let r = http.get(&url).bearer_auth(&token).send().await.unwrap();
        match r.status().as_u16() {
            404 => None,
            _ => r.json::<serde_json::Value>().await.unwrap()["keyId"]
                .as_str()
                .map(str::to_string),
        }
    };
    w.configure(password_writeback(true)).await.unwrap();
    let first = key_id().await.expect("a key is onboarded");
    assert_eq!(
        w.sspr_reset("alice@gntech.me", "Summer#2026x").await.error,
        None
    );
    w.configure(password_writeback(false)).await.unwrap();
    assert_eq!(key_id().await, None, "offboarded");
    w.configure(password_writeback(true)).await.unwrap();
    let second = key_id().await.expect("a key is onboarded");
    assert_ne!(first, second, "a new key on every enable");
    // Sealed for the new key: the reset goes through (a day on: the minimum age).
    w.advance(Duration::from_secs(2 * 86_400)).await.unwrap();
    assert_eq!(
        w.sspr_reset("alice@gntech.me", "Autumn#2026x").await.error,
        None
    );

    // The tenant holds a key the agent does not (the old one onboarded again).
    let other = writeback_sim::writeback_protocol::AgentKey::fixture(0);
    let stale = if other.id() == second {
        writeback_sim::writeback_protocol::AgentKey::fixture(1)
    } else {
        other
    };
    let r = http
        .put(&url)
        .bearer_auth(w.graph_token(Caller::admin("admin@gntech.me")))
        .json(&serde_json::json!({ "publicKey": stale.public_key() }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 204);
    w.advance(Duration::from_secs(2 * 86_400)).await.unwrap();
    let mark = w.history_mark();
    let a = w.sspr_reset("alice@gntech.me", "Winter#2026x").await;
    assert!(
        a.error
            .as_deref()
            .unwrap_or_default()
            .starts_with("SSPR_0029"),
        "{a:?}"
    );
    let events = w.events_since(mark);
    assert!(
        events
            .iter()
            .any(|e| e.id == 32004 && e.message.starts_with("DecryptionError")),
        "{events:?}"
    );
    // AD kept the password of the last reset that went through.
    w.sign_in("alice@gntech.me", "Autumn#2026x").await.unwrap();
    assert!(w.sign_in("alice@gntech.me", "Winter#2026x").await.is_err());
    w.shutdown().await;
}

/// The LDAP faults are the network's between the engine and the DC (the fault proxy), the
/// same on the embedded AD as in front of a real one: the engine cannot reach a DC that is
/// down while a workstation's sign-in still can; latency is business time per exchange.
#[tokio::test]
async fn ldap_faults_sit_between_the_engine_and_the_embedded_ad() {
    let w = password_world().await;

    w.set_faults(Faults {
        ldap: LdapFaults {
            down: true,
            latency: None,
        },
        ..Faults::default()
    });
    assert!(w.faults().ldap.down, "the switch reads back");
    let mark = w.history_mark();
    let a = w.sspr_reset("alice@gntech.me", "Summer#2026x").await;
    assert!(a.error.is_some(), "{a:?}");
    let ids: Vec<u32> = w.events_since(mark).iter().map(|e| e.id).collect();
    assert!(ids.contains(&33001), "{ids:?}");
    assert_eq!(
        w.sign_in("alice@gntech.me", "Initial#Pass2026").await,
        Ok(()),
        "the DC itself is up"
    );

    w.set_faults(Faults {
        ldap: LdapFaults {
            down: false,
            latency: Some(Duration::from_secs(2)),
        },
        ..Faults::default()
    });
    w.reset_ldap_connections();
    let before = w.now();
    let a = w.sspr_reset("alice@gntech.me", "Summer#2026x").await;
    assert_eq!(a.error, None, "{a:?}");
    let took = (w.now() - before).num_seconds();
    assert!(
        took >= 8 && took % 2 == 0,
        "the handshake, bind, search and modify each wait 2 s: {took} s"
    );
    w.shutdown().await;
}
