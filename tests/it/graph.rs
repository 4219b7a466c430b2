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
use writeback_sim::cloud::tenant::{CloudUser, TenantSettings};
use writeback_sim::cloud::{PasswordService, Tenant};
use writeback_sim::world::{UserSpec, World, WorldOptions};

fn settings() -> TenantSettings {
    TenantSettings::default()
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
            ..CloudUser::default()
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
    let identity = writeback_sim::cloud::identity::Identity::new(
        tenant.clone(),
        writeback_sim::cloud::identity::SigningKey::fixture(),
        clock.clone(),
    );
    let graph = Graph::new(tenant, passwords, identity, clock);
    let token = graph.issue_token(Caller::admin("admin@gntech.me"));
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
    let user_token = g.issue_token(Caller::user("user0@gntech.me"));
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
async fn what_the_framework_refuses_is_an_odata_error_too() {
    // Found by hand after schemathesis: a method a route does not take, a query string
    // naming a parameter twice, a path that is not UTF-8 — each was plain text or empty.
    let (g, token) = offline_graph(1);
    for (method, uri, status) in [
        ("DELETE", "/v1.0/users", StatusCode::METHOD_NOT_ALLOWED),
        ("GET", "/v1.0/users?$top=1&$top=2", StatusCode::BAD_REQUEST),
        ("GET", "/v1.0/users/%FF%FE", StatusCode::BAD_REQUEST),
        ("PUT", "/v1.0/devices/delta", StatusCode::METHOD_NOT_ALLOWED),
    ] {
        let (s, body) = call(&g, method, uri, Some(&token), "").await;
        assert_eq!(s, status, "{method} {uri}");
        let message = body["error"]["message"].as_str().unwrap_or_default();
        assert!(
            body["error"]["code"].is_string() && !message.is_empty(),
            "{method} {uri}: {body}"
        );
    }
    let (_, body) = call(&g, "DELETE", "/v1.0/users", Some(&token), "").await;
    assert_eq!(
        body["error"]["message"],
        "Specified HTTP method is not allowed for the request uri."
    );
    let (_, body) = call(&g, "GET", "/v1.0/users?$top=1&$top=2", Some(&token), "").await;
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("duplicate field `$top`")),
        "{body}"
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
        tenant: settings(),
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
    w.add_user(UserSpec {
        upn: "alice@gntech.me".into(),
        synced_from: Some("CN=Alice Smith,OU=Staff,DC=gntech,DC=me".into()),
        sspr_registered: true,
        groups: vec![],
        ..UserSpec::default()
    })
    .await
    .unwrap();
    w.begin();
    w.start_engine().await;
    w.configure(writeback_sim::world::Choices {
        password_writeback: Some(true),
        ..Default::default()
    })
    .await
    .unwrap();
    w
}

#[tokio::test]
async fn reset_password_is_a_long_running_operation_written_back_to_ad() {
    let w = world().await;
    let token = w.graph_token(Caller::admin("admin@gntech.me"));
    let http = writeback_sim::tls::http_client(None).unwrap();
    let url = format!(
        "{}/v1.0/users/alice@gntech.me/authentication/methods/{PASSWORD_METHOD_ID}/resetPassword",
        w.endpoints().graph
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
        w.ad_entry("CN=Alice Smith,OU=Staff,DC=gntech,DC=me")
            .await
            .unwrap()
            .readable("pwdLastSet"),
        vec!["0".to_string()]
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
    let token = w.graph_token(Caller::user("alice@gntech.me"));
    let http = writeback_sim::tls::http_client(None).unwrap();
    let url = format!("{}/v1.0/me/changePassword", w.endpoints().graph);
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

/// Follow nextLinks to the end of a round; (items, pages, deltaLink).
async fn round(g: &Graph, token: &str, first: &str) -> (Vec<serde_json::Value>, usize, String) {
    let mut items = Vec::new();
    let mut pages = 0;
    let mut uri = first.to_string();
    loop {
        let (s, body) = call(g, "GET", &uri, Some(token), "").await;
        assert_eq!(s, StatusCode::OK, "{body}");
        pages += 1;
        items.extend(body["value"].as_array().unwrap().iter().cloned());
        if let Some(next) = body["@odata.nextLink"].as_str() {
            uri = path_of(next, first);
        } else {
            let delta = body["@odata.deltaLink"]
                .as_str()
                .expect("a round ends with a deltaLink");
            return (items, pages, path_of(delta, first));
        }
    }
}

/// The path of a link Graph handed out, checked to stay on the version `first` asked for.
fn path_of(link: &str, first: &str) -> String {
    let path = link
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|i| rest[i..].to_string()))
        .unwrap_or_else(|| panic!("{link} is not an absolute URL"));
    let version = first.split('/').nth(1).unwrap();
    assert!(
        path.starts_with(&format!("/{version}/")),
        "{link} leaves /{version}"
    );
    path
}

mod devices {
    use super::*;
    use writeback_sim::cloud::graph::GraphFaults;
    use writeback_sim::cloud::tenant::{AlternativeSecurityId, CloudDevice};

    fn device(i: usize) -> CloudDevice {
        CloudDevice {
            id: format!("10000000-0000-4000-8000-{i:012}"),
            device_id: format!("20000000-0000-4000-8000-{i:012}"),
            display_name: format!("LAPTOP-{i:03}"),
            operating_system: "Windows".into(),
            operating_system_version: "10.0.22631.4317".into(),
            trust_type: "ServerAd".into(),
            account_enabled: true,
            alternative_security_ids: vec![AlternativeSecurityId {
                kind: 2,
                key: "WAA1ADAAOQA6ADwAUwBIAEEAMQAtAFQAUAAtAFAAVQBCAEsARQBZAD4A".into(),
            }],
            registered_owners: vec!["00000000-0000-4000-8000-000000000000".into()],
            is_compliant: true,
            is_managed: true,
            physical_ids: vec![],
            registration_date_time: chrono::DateTime::UNIX_EPOCH,
        }
    }

    #[tokio::test]
    async fn delta_pages_then_returns_only_changes_with_removed_entries() {
        let (g, token) = offline_graph(1);
        let t = g.tenant();
        for i in 0..250 {
            t.put_device(device(i));
        }
        let (items, pages, delta) = round(&g, &token, "/v1.0/devices/delta").await;
        assert_eq!((items.len(), pages), (250, 3));
        assert_eq!(items[0]["alternativeSecurityIds"][0]["type"], 2);
        let alt = items[0]["alternativeSecurityIds"][0].as_object().unwrap();
        assert!(alt.contains_key("identityProvider") && alt["identityProvider"].is_null());

        // Nothing changed: an empty round that still ends with a deltaLink.
        let (items, _, delta) = round(&g, &token, &delta).await;
        assert!(items.is_empty());

        t.update_device("LAPTOP-007", |d| d.account_enabled = false);
        t.delete_device("LAPTOP-008");
        t.put_device(device(900));
        let (items, _, _) = round(&g, &token, &delta).await;
        assert_eq!(items.len(), 3);
        assert_eq!(items[0]["accountEnabled"], false);
        assert_eq!(items[1]["@removed"]["reason"], "deleted");
        assert_eq!(items[1]["id"], device(8).id);
        assert_eq!(items[2]["displayName"], "LAPTOP-900");
    }

    #[tokio::test]
    async fn latest_token_starts_from_now_and_old_or_bad_tokens_are_refused() {
        let (g, token) = offline_graph(1);
        let t = g.tenant();
        t.put_device(device(1));
        let (s, body) = call(
            &g,
            "GET",
            "/v1.0/devices/delta?$deltatoken=latest",
            Some(&token),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK);
        assert!(body["value"].as_array().unwrap().is_empty());
        let delta = body["@odata.deltaLink"]
            .as_str()
            .unwrap()
            .split_once("/v1.0")
            .map(|(_, p)| format!("/v1.0{p}"))
            .unwrap();
        t.put_device(device(2));
        let (items, _, _) = round(&g, &token, &delta).await;
        assert_eq!(items.len(), 1);

        let (s, body) = call(
            &g,
            "GET",
            "/v1.0/devices/delta?$deltatoken=garbage",
            Some(&token),
            "",
        )
        .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("syncStateNotFound"))
        );
        g.clock().elapse(Duration::from_secs(8 * 24 * 3600)).await;
        let (s, body) = call(&g, "GET", &delta, Some(&token), "").await;
        assert_eq!(
            s,
            StatusCode::UNAUTHORIZED,
            "the hour-long token lapsed: {body}"
        );
        let token = g.issue_token(Caller::admin("admin@gntech.me"));
        let (s, body) = call(&g, "GET", &delta, Some(&token), "").await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::GONE, Some("resyncRequired"))
        );
    }

    #[tokio::test]
    async fn faults_throttle_fail_and_pad_pages() {
        let (g, token) = offline_graph(1);
        g.tenant().put_device(device(1));
        g.set_faults(GraphFaults {
            throttle: 2,
            retry_after: Duration::from_secs(10),
            ..GraphFaults::default()
        });
        for _ in 0..2 {
            let resp = g
                .clone()
                .router()
                .oneshot(
                    Request::get("/v1.0/devices")
                        .header("Authorization", format!("Bearer {token}"))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await
                .unwrap();
            assert_eq!(resp.status(), StatusCode::TOO_MANY_REQUESTS);
            assert_eq!(resp.headers()["retry-after"], "10");
        }
        assert_eq!(
            call(&g, "GET", "/v1.0/devices", Some(&token), "").await.0,
            StatusCode::OK
        );
        g.set_faults(GraphFaults {
            status: Some(503),
            retry_after: Duration::from_secs(5),
            ..GraphFaults::default()
        });
        let (s, body) = call(&g, "GET", "/v1.0/devices/delta", Some(&token), "").await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::SERVICE_UNAVAILABLE, Some("serviceNotAvailable"))
        );
        g.set_faults(GraphFaults {
            empty_pages: true,
            ..GraphFaults::default()
        });
        let (_, first) = call(&g, "GET", "/v1.0/devices/delta", Some(&token), "").await;
        assert!(first["value"].as_array().unwrap().is_empty());
        assert!(
            first["@odata.nextLink"].is_string(),
            "an empty page still carries a nextLink"
        );
        let (items, pages, _) = round(&g, &token, "/v1.0/devices/delta").await;
        assert_eq!((items.len(), pages), (1, 2));
    }

    #[tokio::test]
    async fn devices_list_get_owners_and_select() {
        let (g, token) = offline_graph(1);
        g.tenant().put_device(device(3));
        let id = device(3).id;
        let (_, body) = call(
            &g,
            "GET",
            &format!("/v1.0/devices/{id}?$select=displayName,trustType"),
            Some(&token),
            "",
        )
        .await;
        let keys: Vec<&String> = body
            .as_object()
            .unwrap()
            .keys()
            .filter(|k| !k.starts_with('@'))
            .collect();
        assert_eq!(keys, vec!["displayName", "id", "trustType"]);
        let (_, body) = call(
            &g,
            "GET",
            &format!("/v1.0/devices/{id}/registeredOwners"),
            Some(&token),
            "",
        )
        .await;
        assert_eq!(body["value"][0]["userPrincipalName"], "user0@gntech.me");
        let (s, _) = call(&g, "GET", "/v1.0/devices/nope", Some(&token), "").await;
        assert_eq!(s, StatusCode::NOT_FOUND);
    }
}

mod groups {
    use super::*;
    use writeback_sim::cloud::tenant::CloudGroup;

    fn group(i: usize, unified: bool, members: &[usize]) -> CloudGroup {
        let members = members
            .iter()
            .map(|m| format!("00000000-0000-4000-8000-{m:012}"))
            .collect();
        crate::support::cloud_group(i, &format!("Group {i}"), unified, members)
    }

    #[tokio::test]
    async fn list_filters_unified_groups_and_beta_shows_writeback_configuration() {
        let (g, token) = offline_graph(3);
        let t = g.tenant();
        for i in 0..5 {
            t.put_group(group(i, i % 2 == 0, &[0]));
        }
        let (s, body) = call(
            &g,
            "GET",
            "/v1.0/groups?$top=2&$filter=groupTypes/any(c:c%20eq%20'Unified')",
            Some(&token),
            "",
        )
        .await;
        assert_eq!(s, StatusCode::OK, "{body}");
        let names: Vec<&str> = body["value"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x["displayName"].as_str().unwrap())
            .collect();
        assert_eq!(names, vec!["Group 0", "Group 2"]);
        assert!(body["value"][0].get("writebackConfiguration").is_none());
        let next = body["@odata.nextLink"].as_str().unwrap();
        let next = next
            .split_once("/v1.0")
            .map(|(_, p)| format!("/v1.0{p}"))
            .unwrap();
        let (_, body) = call(&g, "GET", &next, Some(&token), "").await;
        assert_eq!(body["value"][0]["displayName"], "Group 4");
        assert!(body.get("@odata.nextLink").is_none());

        let (s, body) = call(
            &g,
            "GET",
            "/v1.0/groups?$filter=displayName%20eq%20'x'",
            Some(&token),
            "",
        )
        .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("Request_UnsupportedQuery"))
        );

        let id1 = group(1, false, &[]).id;
        let (_, body) = call(&g, "GET", &format!("/beta/groups/{id1}"), Some(&token), "").await;
        assert_eq!(body["writebackConfiguration"]["isEnabled"], false);
        assert_eq!(
            body["writebackConfiguration"]["onPremisesGroupType"],
            "universalSecurityGroup"
        );
        // The tenant's default for new Microsoft 365 groups is off here ...
        let id0 = group(0, true, &[]).id;
        let (_, body) = call(&g, "GET", &format!("/beta/groups/{id0}"), Some(&token), "").await;
        assert_eq!(body["writebackConfiguration"]["isEnabled"], false);
        // ... and new groups created after it is turned on are written back.
        t.update(|s| s.group_writeback_default = true);
        t.put_group(group(6, true, &[]));
        t.put_group(group(0, true, &[]));
        let id6 = group(6, true, &[]).id;
        let (_, body) = call(&g, "GET", &format!("/beta/groups/{id6}"), Some(&token), "").await;
        assert_eq!(body["writebackConfiguration"]["isEnabled"], true);
        assert_eq!(
            body["writebackConfiguration"]["onPremisesGroupType"],
            "universalDistributionGroup"
        );
        assert!(
            !t.group(&id0).unwrap().writeback_enabled(),
            "an existing group keeps its setting"
        );
    }

    #[tokio::test]
    async fn beta_patch_sets_writeback_and_rejects_unknown_types() {
        let (g, token) = offline_graph(1);
        let t = g.tenant();
        t.put_group(group(1, false, &[]));
        let id = group(1, false, &[]).id;
        let (s, _) = call(
            &g,
            "PATCH",
            &format!("/beta/groups/{id}"),
            Some(&token),
            r#"{"writebackConfiguration":{"isEnabled":true,"onPremisesGroupType":"universalMailEnabledSecurityGroup"}}"#,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let after = t.group(&id).unwrap();
        assert!(after.writeback_enabled());
        assert_eq!(
            after.on_premises_group_type(),
            "universalMailEnabledSecurityGroup"
        );
        let (s, body) = call(
            &g,
            "PATCH",
            &format!("/beta/groups/{id}"),
            Some(&token),
            r#"{"writebackConfiguration":{"onPremisesGroupType":"globalGroup"}}"#,
        )
        .await;
        assert_eq!(
            (s, body["error"]["code"].as_str()),
            (StatusCode::BAD_REQUEST, Some("Request_BadRequest"))
        );
        assert!(body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("globalGroup"));
        let (s, _) = call(
            &g,
            "PATCH",
            "/beta/groups/30000000-0000-4000-8000-999999999999",
            Some(&token),
            r#"{"writebackConfiguration":{"isEnabled":true}}"#,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND);
        // Graph takes the id, not the display name.
        let name = t.group(&id).unwrap().display_name;
        let (s, body) = call(
            &g,
            "PATCH",
            &format!("/beta/groups/{}", name.replace(' ', "%20")),
            Some(&token),
            r#"{"writebackConfiguration":{"isEnabled":false}}"#,
        )
        .await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{body}");
        assert!(t.group(&id).unwrap().writeback_enabled());
    }

    /// The engine reads groups from /beta/groups/delta: its links stay on beta and every
    /// item, in the first round and after, carries writebackConfiguration.
    #[tokio::test]
    async fn beta_delta_links_stay_on_beta_and_carry_writeback() {
        let (g, token) = offline_graph(2);
        let t = g.tenant();
        t.put_group(group(1, true, &[0]));
        t.put_group(group(2, true, &[1]));
        let (items, _, delta) = round(&g, &token, "/beta/groups/delta?$top=1").await;
        assert_eq!(items.len(), 2);
        assert!(items
            .iter()
            .all(|i| i["writebackConfiguration"].is_object()));
        let id = group(2, true, &[]).id;
        let (s, _) = call(
            &g,
            "PATCH",
            &format!("/beta/groups/{id}"),
            Some(&token),
            r#"{"writebackConfiguration":{"isEnabled":true}}"#,
        )
        .await;
        assert_eq!(s, StatusCode::NO_CONTENT);
        let (items, _, _) = round(&g, &token, &delta).await;
        assert_eq!(items.len(), 1, "{items:?}");
        assert_eq!(items[0]["id"], id.as_str());
        assert_eq!(items[0]["writebackConfiguration"]["isEnabled"], true);
    }

    #[tokio::test]
    async fn delta_carries_members_then_only_membership_changes() {
        let (g, token) = offline_graph(4);
        let t = g.tenant();
        t.put_group(group(1, true, &[0, 1]));
        t.put_group(group(2, false, &[2]));
        let (items, _, delta) = round(&g, &token, "/v1.0/groups/delta").await;
        assert_eq!(items.len(), 2);
        assert_eq!(items[0]["members@delta"].as_array().unwrap().len(), 2);

        let id1 = group(1, true, &[]).id;
        t.update_group(&id1, |x| {
            x.members.retain(|m| !m.ends_with("000000000000"));
            x.members
                .push("00000000-0000-4000-8000-000000000003".into());
        });
        t.delete_group(&group(2, false, &[]).id);
        let (items, _, _) = round(&g, &token, &delta).await;
        assert_eq!(items.len(), 2, "{items:?}");
        let members = items[0]["members@delta"].as_array().unwrap();
        assert_eq!(members.len(), 2, "{members:?}");
        let by_id = |id: &str| {
            members
                .iter()
                .find(|m| m["id"] == id)
                .unwrap_or_else(|| panic!("{id} in {members:?}"))
        };
        assert_eq!(
            by_id("00000000-0000-4000-8000-000000000000")["@removed"]["reason"],
            "deleted"
        );
        assert!(by_id("00000000-0000-4000-8000-000000000003")
            .get("@removed")
            .is_none());
        assert_eq!(items[1]["@removed"]["reason"], "deleted");
    }
}

/// `POST /me/changePassword` never answers 500 (a fuzz target found it did): a caller the
/// tenant does not know is 404; a synced user whose password cannot be written back is
/// refused with the reason (403 when writeback is not enabled), and 503 when the
/// on-premises service cannot be reached.
#[tokio::test]
async fn change_password_failures_are_documented_statuses_not_500() {
    let (g, admin) = offline_graph(1);
    let body = r#"{"currentPassword": "a", "newPassword": "b"}"#;
    let (s, reply) = call(&g, "POST", "/v1.0/me/changePassword", Some(&admin), body).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{reply}");
    assert_eq!(reply["error"]["code"], "Request_ResourceNotFound");

    g.tenant().add_user(CloudUser {
        id: "00000000-0000-4000-8000-0000000000aa".into(),
        user_principal_name: "synced@gntech.me".into(),
        display_name: "Synced".into(),
        on_premises: Some(writeback_sim::cloud::tenant::OnPremises {
            immutable_id: "AAAAAAAAAAAAAAAAAAAAAA==".into(),
            distinguished_name: "CN=Synced,DC=gntech,DC=me".into(),
        }),
        sspr_registered: true,
        ..CloudUser::default()
    });
    let user = g.issue_token(Caller::user("synced@gntech.me"));
    let (s, reply) = call(&g, "POST", "/v1.0/me/changePassword", Some(&user), body).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "{reply}");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SSPR_0010"),
        "{reply}"
    );

    // Writeback onboarded with an agent key, but the relay (port 9) cannot be reached.
    g.tenant()
        .set_sync_features(|f| f.password_writeback = true);
    g.tenant().set_writeback_key(Some(
        writeback_sim::writeback_protocol::AgentKey::fixture(0).public_key(),
    ));
    let (s, reply) = call(&g, "POST", "/v1.0/me/changePassword", Some(&user), body).await;
    assert_eq!(s, StatusCode::SERVICE_UNAVAILABLE, "{reply}");
    assert_eq!(reply["error"]["code"], "serviceNotAvailable");
}

/// The routes `Graph::router` serves, as written in its source: the description must name
/// each one.
fn served_paths() -> std::collections::BTreeSet<String> {
    let source = include_str!("../../src/cloud/graph.rs");
    let router = source
        .split("pub fn router(self)")
        .nth(1)
        .expect("Graph::router");
    router
        .split(".route(")
        .skip(1)
        .map(|r| {
            let first = r.trim_start();
            match first.strip_prefix('"') {
                Some(rest) => rest.split('"').next().unwrap_or_default().to_string(),
                None if first.starts_with("sync_settings::ONBOARDING") => {
                    writeback_sim::writeback_protocol::ONBOARDING.to_string()
                }
                None => panic!("a route this test cannot read: {first:.60}"),
            }
        })
        .collect()
}

#[tokio::test]
async fn the_openapi_description_is_what_the_router_serves() {
    // docs/graph-openapi.yaml is what schemathesis tests in CI: a route it leaves out is
    // never tested, a method it names that is not served fails there late.
    let text = include_str!("../../docs/graph-openapi.yaml");
    let spec: serde_json::Value = serde_saphyr::from_str(text).expect("the description parses");
    let paths = spec["paths"].as_object().expect("paths");
    let described: std::collections::BTreeSet<String> = paths.keys().cloned().collect();
    assert_eq!(described, served_paths(), "described vs served routes");
    let (g, token) = offline_graph(1);
    for (path, ops) in paths {
        let uri = path
            .replace("{id}", "x")
            .replace("{method}", "m")
            .replace("{op}", "o");
        for method in ["get", "post", "patch", "put", "delete"] {
            let (s, body) = call(&g, &method.to_uppercase(), &uri, Some(&token), "{}").await;
            if ops.get(method).is_some() {
                assert_ne!(
                    s,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is described, not served"
                );
                let documented = ops[method]["responses"]
                    .as_object()
                    .is_some_and(|r| r.contains_key(s.as_str()));
                assert!(
                    documented,
                    "{method} {path}: {s} is not among its responses: {body}"
                );
            } else {
                assert_eq!(
                    s,
                    StatusCode::METHOD_NOT_ALLOWED,
                    "{method} {path} is served, not described"
                );
            }
        }
    }
}
