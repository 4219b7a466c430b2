//! The engine's password operations against the embedded AD over LDAPS, and its relay
//! listener's reconnect — the production code, with nothing of the fakes inside it.

use crate::support::*;
use base64::Engine as _;
use std::sync::Arc;
use std::time::Duration;
use writeback_sim::clock::ManualClock;
use writeback_sim::engine::{password, EngineConfig, History};
use writeback_sim::writeback_protocol::{Operation, Outcome, PasswordRequest};

fn config(dc: &Dc) -> EngineConfig {
    EngineConfig {
        relay_url: "ws://127.0.0.1:9".into(),
        relay_namespace: "ns".into(),
        relay_path: "passwordwriteback".into(),
        relay_key_name: "k".into(),
        relay_key: "k".into(),
        relay_token_lifetime: Duration::from_secs(3600),
        ad_url: dc.ldaps_url(),
        ad_starttls: false,
        ad_tls_no_verify: true,
        ad_ca: None,
        connector_dn: dc.dir.connector_dn().unwrap(),
        connector_password: dc.dir.connector_password().unwrap(),
        password_writeback: true,
        exchange_hybrid: false,
        reconnect_backoff: (Duration::from_millis(5), Duration::from_millis(50)),
        graph_url: None,
        graph_auth: None,
        tls_ca: None,
        tenant_name: "gntech.onmicrosoft.com".into(),
        device_writeback: None,
        group_writeback_v1: None,
        cloud_sync: None,
        sync_interval: Duration::from_secs(1800),
        writeback_key: None,
        fixture_keys: true,
    }
}

fn request(dc: &Dc, dn: &str, op: Operation, new: &str, current: Option<&str>) -> PasswordRequest {
    let anchor = dc
        .dir
        .entry(dn)
        .map(|e| base64::engine::general_purpose::STANDARD.encode(e.guid().unwrap()))
        .unwrap_or_else(|| "AAAAAAAAAAAAAAAAAAAAAA==".into());
    PasswordRequest {
        operation: op,
        tracking_id: "t-1".into(),
        cloud_anchor: "User_x".into(),
        source_anchor: anchor,
        user_principal_name: "alice.p@gntech.me".into(),
        new_password: new.into(),
        current_password: current.map(str::to_string),
        force_change_at_next_logon: false,
        unlock: true,
    }
}

async fn handle(
    cfg: &EngineConfig,
    req: PasswordRequest,
) -> writeback_sim::writeback_protocol::PasswordResponse {
    let clock = ManualClock::scenario_start();
    password::handle(cfg, &clock, &History::default(), req).await
}

#[tokio::test]
async fn each_ad_answer_becomes_its_event() {
    let dc = Dc::start().await;
    let cfg = config(&dc);
    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::SelfServiceReset,
            "Summer#2026x",
            None,
        ),
    )
    .await;
    assert_eq!((r.outcome, r.event_id), (Outcome::Success, 31002));
    assert_eq!(dc.try_bind(ALICE, "Summer#2026x").await.rc, 0);

    let r = handle(
        &cfg,
        request(&dc, ALICE, Operation::SelfServiceReset, "short", None),
    )
    .await;
    assert_eq!(
        (r.outcome, r.event_id, r.ldap_code),
        (Outcome::PolicyViolation, 33008, Some(19))
    );
    assert!(r.ad_message.unwrap().starts_with("0000052D"));
    // History is enforced on a reset: the engine sends the policy-hints control.
    let r = handle(
        &cfg,
        request(&dc, ALICE, Operation::AdminReset, "Summer#2026x", None),
    )
    .await;
    assert_eq!(r.event_id, 33008);

    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::Change,
            "Autumn#2026x",
            Some("Wrong#1"),
        ),
    )
    .await;
    assert_eq!((r.outcome, r.event_id), (Outcome::IncorrectPassword, 33007));

    let r = handle(
        &cfg,
        request(
            &dc,
            "CN=Nobody,OU=Probe,DC=gntech,DC=me",
            Operation::SelfServiceReset,
            "Summer#2026x",
            None,
        ),
    )
    .await;
    assert_eq!((r.outcome, r.event_id), (Outcome::UserNotFound, 33002));

    let connector = dc.dir.connector_dn().unwrap();
    dc.dir
        .revoke(
            &connector,
            writeback_sim::directory::access::Right::ResetPassword,
            DOMAIN,
        )
        .unwrap();
    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::SelfServiceReset,
            "Winter#2026x",
            None,
        ),
    )
    .await;
    assert_eq!(
        (r.outcome, r.event_id, r.ldap_code),
        (Outcome::AccessDenied, 33004, Some(50))
    );

    let mut admin = dc.admin().await;
    admin
        .modify(ALICE, replace("userAccountControl", "514"))
        .await
        .unwrap()
        .success()
        .unwrap();
    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::SelfServiceReset,
            "Winter#2026x",
            None,
        ),
    )
    .await;
    assert_eq!((r.outcome, r.event_id), (Outcome::AccountDisabled, 33005));
}

#[tokio::test]
async fn unreachable_ad_and_a_wrong_connector_password_are_reported() {
    let dc = Dc::start().await;
    let mut cfg = config(&dc);
    cfg.connector_password = "wrong".into();
    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::SelfServiceReset,
            "Summer#2026x",
            None,
        ),
    )
    .await;
    assert_eq!(
        (r.outcome, r.event_id, r.ldap_code),
        (Outcome::Error, 33009, Some(49))
    );
    cfg.ad_url = "ldaps://127.0.0.1:9".into();
    let r = handle(
        &cfg,
        request(
            &dc,
            ALICE,
            Operation::SelfServiceReset,
            "Summer#2026x",
            None,
        ),
    )
    .await;
    assert_eq!(
        (r.outcome, r.event_id, r.ldap_code),
        (Outcome::Error, 33001, None)
    );
}

#[tokio::test]
async fn force_change_sets_pwd_last_set_to_zero_unless_the_password_never_expires() {
    let dc = Dc::start().await;
    let cfg = config(&dc);
    let mut req = request(&dc, ALICE, Operation::AdminReset, "Summer#2026x", None);
    req.force_change_at_next_logon = true;
    assert_eq!(handle(&cfg, req.clone()).await.outcome, Outcome::Success);
    assert_eq!(dc.int(ALICE, "pwdLastSet"), 0);
    let mut admin = dc.admin().await;
    admin
        .modify(ALICE, replace("userAccountControl", "66048"))
        .await
        .unwrap()
        .success()
        .unwrap();
    req.new_password = "Autumn#2026x".into();
    assert_eq!(handle(&cfg, req).await.outcome, Outcome::Success);
    assert_ne!(dc.int(ALICE, "pwdLastSet"), 0, "DONT_EXPIRE_PASSWORD wins");
}

/// A relay on 127.0.0.1:0 with one policy (`listen` / `key`, `rights`), and an engine
/// configuration that listens on it.
async fn relay_for(
    dc: &Dc,
    clock: Arc<dyn writeback_sim::clock::Clock>,
    rights: writeback_sim::relay::Rights,
) -> (
    writeback_sim::relay::Relay,
    EngineConfig,
    tokio_util::sync::CancellationToken,
) {
    use writeback_sim::relay::{server, Relay, RelayConfig, SasPolicy};
    let relay = Relay::new(
        RelayConfig {
            namespace: "ns.servicebus.windows.net".into(),
            paths: vec!["passwordwriteback".into()],
            policies: vec![SasPolicy {
                name: "listen".into(),
                key: "key".into(),
                rights,
            }],
            response_deadline: Duration::from_secs(60),
        },
        clock,
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = tokio_util::sync::CancellationToken::new();
    tokio::spawn(server::serve(relay.clone(), listener, stop.clone()));
    let mut cfg = config(dc);
    cfg.relay_url = format!("ws://{addr}");
    cfg.relay_namespace = "ns.servicebus.windows.net".into();
    cfg.relay_key_name = "listen".into();
    cfg.relay_key = "key".into();
    (relay, cfg, stop)
}

#[tokio::test]
async fn the_listener_reconnects_after_the_relay_drops_it() {
    let dc = Dc::start().await;
    let clock = Arc::new(ManualClock::scenario_start());
    let (relay, cfg, stop) =
        relay_for(&dc, clock.clone(), writeback_sim::relay::Rights::Listen).await;
    let engine = writeback_sim::engine::Engine::start(cfg, clock, Default::default());
    assert!(engine.wait_connected(Duration::from_secs(5)).await);
    relay.drop_listeners();
    tokio::time::sleep(Duration::from_millis(20)).await;
    assert!(
        engine.wait_connected(Duration::from_secs(5)).await,
        "reconnected"
    );
    assert!(
        relay
            .wait_listener("passwordwriteback", Duration::from_secs(5))
            .await
    );
    assert_eq!(relay.listener_count("passwordwriteback"), 1);
    // Paths are case-insensitive, as the service's are.
    assert_eq!(relay.listener_count("PasswordWriteback"), 1);
    engine.stop().await;
    stop.cancel();
}

/// On the system clock the scheduler renews the listener's token before it lapses: with
/// tokens that last 2 s the relay still holds a valid one, and answers through it, after
/// several lifetimes. Cycles run on their own meanwhile.
#[tokio::test]
async fn on_the_real_clock_the_token_is_renewed_before_it_expires() {
    use writeback_sim::clock::SystemClock;
    use writeback_sim::relay::HttpRequest;
    let dc = Dc::start().await;
    let clock = Arc::new(SystemClock);
    let (relay, mut cfg, stop) =
        relay_for(&dc, clock.clone(), writeback_sim::relay::Rights::Manage).await;
    cfg.relay_token_lifetime = Duration::from_secs(2);
    cfg.sync_interval = Duration::from_millis(200);
    let engine = writeback_sim::engine::Engine::start(cfg, clock, Default::default());
    assert!(engine.wait_connected(Duration::from_secs(5)).await);
    tokio::time::sleep(Duration::from_millis(5500)).await;
    let now = chrono::Utc::now();
    let expiries = relay.listener_expiries("passwordwriteback");
    assert_eq!(expiries.len(), 1, "still the one listener");
    assert!(expiries[0] > now, "renewed: {} > {now}", expiries[0]);
    let answer = relay
        .send(
            "passwordwriteback",
            HttpRequest {
                method: "POST".into(),
                target: "/".into(),
                ..HttpRequest::default()
            },
        )
        .await
        .expect("the listener is still there");
    assert_eq!(
        answer.status, 400,
        "the engine answered (not a password request)"
    );
    assert!(
        engine.scheduler().cycles >= 5,
        "about one cycle every 200 ms: {}",
        engine.scheduler().cycles
    );
    engine.stop().await;
    stop.cancel();
}

/// Cloud Sync's job runs once per interval whatever it meets: configured on an engine
/// with no Graph endpoint, it logs why it cannot read the groups and waits for its next
/// run — the scheduler does not run it again and again.
#[tokio::test]
async fn cloud_sync_without_graph_runs_once_per_interval() {
    let dc = Dc::start().await;
    let mut cfg = config(&dc);
    cfg.cloud_sync = Some(writeback_sim::engine::config::CloudSync {
        ou: "OU=Cloud Groups,DC=gntech,DC=me".into(),
        scope: Some(writeback_sim::engine::config::CloudSyncScope::AllSecurityGroups),
    });
    let clock = ManualClock::scenario_start();
    let engine =
        writeback_sim::engine::Engine::start(cfg, Arc::new(clock.clone()), Default::default());
    clock.advance(chrono::Duration::minutes(3));
    engine.settled(clock.now_utc()).await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = engine.scheduler();
    assert_eq!(status.cloud_sync_runs, 1, "{status:?}");
    let logs = status.last_cloud_sync.unwrap_or_default();
    assert!(
        logs.iter()
            .any(|l| l.status == "Failure" && l.detail.contains("no Microsoft Graph endpoint")),
        "{logs:?}"
    );
}
