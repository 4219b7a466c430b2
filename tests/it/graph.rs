//! The fake tenant's Graph API: in process with `oneshot`, and over a socket against a
//! whole world (resetPassword through the relay to the engine and AD).

use axum::body::Body;
use axum::http::{Request, StatusCode};
use std::sync::Arc;
use std::time::Duration;
use tower::ServiceExt;
use writeback_sim::clock::ManualClock;
use writeback_sim::cloud::graph::{Caller, Graph, PASSWORD_METHOD_ID};
use writeback_sim::cloud::sspr::RelaySender;
use writeback_sim::cloud::tenant::{CloudUser, License, SsprEnabled, TenantSettings};
use writeback_sim::cloud::{PasswordService, Tenant};
use writeback_sim::directory::DirectoryConfig;
use writeback_sim::world::{World, WorldOptions};

fn settings() -> TenantSettings {
    TenantSettings {
        domain: "gntech.me".into(),
        license: License::P1,
        exchange_hybrid: false,
        sspr_enabled: SsprEnabled::All,
        sspr_writeback: true,
        sspr_selected_group: None,
        unlock_option: false,
        group_writeback_default: false,
        writeback_onboarded: true,
    }
}

fn offline_graph(users: usize) -> (Graph, String) {
    let tenant = Tenant::new(settings());
    for i in 0..users {
        tenant.add_user(CloudUser {
            id: format!("00000000-0000-4000-8000-{i:012}"),
            user_principal_name: format!("user{i}@gntech.me"),
            display_name: format!("User {i}"),
            on_premises: None,
            sspr_registered: true,
            groups: vec![],
        });
    }
    let clock = Arc::new(ManualClock::scenario_start());
    let relay = RelaySender {
        base_url: "http://127.0.0.1:9".into(),
        namespace: "ns".into(),
        path: "p".into(),
        key_name: "k".into(),
        key: "k".into(),
    };
    let passwords = PasswordService::new(tenant.clone(), relay, clock.clone());
    let graph = Graph::new(tenant, passwords, clock);
    let token = graph.issue_token(Caller::Admin("admin@gntech.me".into()));
    (graph, token)
}

async fn call(
    graph: &Graph,
    method: &str,
    uri: &str,
    token: Option<&str>,
    body: &str,
) -> (StatusCode, serde_json::Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("Content-Type", "application/json");
    if let Some(t) = token {
        req = req.header("Authorization", format!("Bearer {t}"));
    }
    let resp = graph
        .clone()
        .router()
        .oneshot(req.body(Body::from(body.to_string())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (
        status,
        serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null),
    )
}

#[tokio::test]
async fn bearer_tokens_are_required_and_errors_are_odata() {
    let (g, token) = offline_graph(1);
    let (s, body) = call(&g, "GET", "/v1.0/users", None, "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"]["code"], "InvalidAuthenticationToken");
    assert!(body["error"]["innerError"].is_object());
    let (s, _) = call(&g, "GET", "/v1.0/users", Some("not-a-token"), "").await;
    assert_eq!(s, StatusCode::UNAUTHORIZED);
    let user_token = g.issue_token(Caller::User("user0@gntech.me".into()));
    let (s, body) = call(
        &g,
        "POST",
        &format!(
            "/v1.0/users/user0@gntech.me/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword"
        ),
        Some(&user_token),
        "{}",
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::FORBIDDEN, Some("Authorization_RequestDenied"))
    );
    let (s, body) = call(&g, "GET", "/v1.0/nothingHere", Some(&token), "").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadRequest"))
    );
    let (s, body) = call(
        &g,
        "POST",
        "/v1.0/me/changePassword",
        Some(&user_token),
        "{not json",
    )
    .await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::BAD_REQUEST, Some("BadRequest"))
    );
    let (s, body) = call(&g, "GET", "/v1.0/users/nobody@gntech.me", Some(&token), "").await;
    assert_eq!(
        (s, body["error"]["code"].as_str()),
        (StatusCode::NOT_FOUND, Some("Request_ResourceNotFound"))
    );
}

#[tokio::test]
async fn users_page_with_next_links_and_select() {
    let (g, token) = offline_graph(250);
    let (s, body) = call(&g, "GET", "/v1.0/users", Some(&token), "").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(
        body["value"].as_array().unwrap().len(),
        100,
        "default page 100"
    );
    let mut next = body["@odata.nextLink"].as_str().unwrap().to_string();
    let mut seen = 100;
    while !next.is_empty() {
        let path = next
            .split_once("/v1.0")
            .map(|(_, p)| format!("/v1.0{p}"))
            .unwrap();
        let (_, body) = call(&g, "GET", &path, Some(&token), "").await;
        seen += body["value"].as_array().unwrap().len();
        next = body["@odata.nextLink"]
            .as_str()
            .unwrap_or_default()
            .to_string();
    }
    assert_eq!(seen, 250);
    let (_, body) = call(
        &g,
        "GET",
        "/v1.0/users?$top=2&$select=userPrincipalName",
        Some(&token),
        "",
    )
    .await;
    let first = body["value"][0].as_object().unwrap();
    assert_eq!(
        first.keys().collect::<Vec<_>>(),
        vec!["id", "userPrincipalName"]
    );
    let (s, _) = call(&g, "GET", "/v1.0/users?$top=1000", Some(&token), "").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (_, body) = call(&g, "GET", "/v1.0/users/user7@gntech.me", Some(&token), "").await;
    assert_eq!(body["displayName"], "User 7");
    assert!(
        body["onPremisesSyncEnabled"].is_null(),
        "cloud-only: never synced"
    );
}

#[tokio::test]
async fn subscribed_skus_follow_the_licence() {
    let (g, token) = offline_graph(3);
    let (_, body) = call(&g, "GET", "/v1.0/subscribedSkus", Some(&token), "").await;
    assert_eq!(body["value"][0]["skuPartNumber"], "AAD_PREMIUM");
    assert_eq!(body["value"][0]["consumedUnits"], 3);
}

async fn world() -> World {
    let mut w = World::start(WorldOptions {
        seed: 1,
        directory: DirectoryConfig::default(),
        tenant: settings(),
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
    w.add_user(
        "alice@gntech.me",
        Some("CN=Alice Smith,OU=Staff,DC=gntech,DC=me"),
        true,
        vec![],
    )
    .unwrap();
    w.begin();
    w.start_engine().await;
    w
}

#[tokio::test]
async fn reset_password_is_a_long_running_operation_written_back_to_ad() {
    let w = world().await;
    let token = w.graph.issue_token(Caller::Admin("admin@gntech.me".into()));
    let http = reqwest::Client::new();
    let url = format!(
        "{}/v1.0/users/alice@gntech.me/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword",
        w.graph_url
    );
    let resp = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"newPassword": "Summer#2026x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 202);
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    assert!(location.contains("/authentication/operations/"));
    let mut status = String::new();
    for _ in 0..500 {
        let op: serde_json::Value = http
            .get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        status = op["status"].as_str().unwrap().to_string();
        if status != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(status, "succeeded");
    assert_ne!(
        w.directory
            .entry("CN=Alice Smith,OU=Staff,DC=gntech,DC=me")
            .unwrap()
            .int("pwdLastSet"),
        Some(0)
    );

    // A policy violation makes the operation fail, with AD's verdict in statusDetail.
    let resp = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"newPassword": "short"}))
        .send()
        .await
        .unwrap();
    let location = resp.headers()["location"].to_str().unwrap().to_string();
    let mut op = serde_json::Value::Null;
    for _ in 0..500 {
        op = http
            .get(&location)
            .bearer_auth(&token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if op["status"] != "running" {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(op["status"], "failed");
    assert!(op["statusDetail"]
        .as_str()
        .unwrap()
        .contains("Password does not meet complexity requirements"));
    w.shutdown().await;
}

#[tokio::test]
async fn me_change_password_answers_204_or_the_reason() {
    let w = world().await;
    let token = w.graph.issue_token(Caller::User("alice@gntech.me".into()));
    let http = reqwest::Client::new();
    let url = format!("{}/v1.0/me/changePassword", w.graph_url);
    let bad = http
        .post(&url)
        .bearer_auth(&token)
        .json(&serde_json::json!({"currentPassword": "Wrong#1", "newPassword": "Autumn#2026x"}))
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), 400);
    let body: serde_json::Value = bad.json().await.unwrap();
    assert!(
        body["error"]["message"].as_str().unwrap().contains("33007"),
        "{body}"
    );
    let ok = http.post(&url).bearer_auth(&token).json(&serde_json::json!({"currentPassword": "Initial#Pass2026", "newPassword": "Autumn#2026x"})).send().await.unwrap();
    assert_eq!(ok.status(), 204);
    w.shutdown().await;
}
