//! The identity platform as clients meet it over HTTP: the token endpoint's grants and its
//! AADSTS answers, the sign-in page of the authorization-code flow with PKCE, and the
//! delegated-only Graph operations a signed-in admin can do (register a device) — on the
//! default lab world, with an app and a public client registered as an admin would.

use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use std::path::Path;
use writeback_sim::scenario::runner;
use writeback_sim::world::{secret_hash, AppRegistration, UserSpec, World};

const APP: &str = "11111111-2222-3333-4444-555555555555";
const APP_SECRET: &str = "app-secret-value";
const PUBLIC: &str = "66666666-7777-8888-9999-000000000000";
const ADMIN: &str = "helpdesk@gntech.me";
const ADMIN_PW: &str = "Cloud#Admin2026";
const GRAPH_DEFAULT: &str = "https://graph.microsoft.com/.default";
const REDIRECT: &str = "http://localhost:8400/";

async fn world() -> World {
    let (_, mut w) = runner::open(Path::new("fixtures/lab.yaml"), None)
        .await
        .unwrap();
    let delegated = vec![
        "UserAuthenticationMethod.ReadWrite.All".to_string(),
        "Directory.AccessAsUser.All".to_string(),
    ];
    w.register_app(AppRegistration {
        client_id: APP.into(),
        display_name: "Helpdesk tool".into(),
        secret_hash: Some(secret_hash(APP, APP_SECRET)),
        application_permissions: vec![
            "User.ReadWrite.All".into(),
            "UserAuthenticationMethod.ReadWrite.All".into(),
        ],
        delegated_permissions: delegated.clone(),
        redirect_uris: vec!["http://localhost".into()],
    });
    w.register_app(AppRegistration {
        client_id: PUBLIC.into(),
        display_name: "Helpdesk desktop".into(),
        secret_hash: None,
        application_permissions: vec![],
        delegated_permissions: delegated,
        redirect_uris: vec!["http://localhost".into()],
    });
    w.add_user(UserSpec {
        upn: ADMIN.into(),
        roles: vec!["Global Administrator".into()],
        password: Some(ADMIN_PW.into()),
        ..UserSpec::default()
    })
    .await
    .unwrap();
    w
}

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

async fn token(w: &World, form: &[(&str, &str)]) -> (u16, Value) {
    let r = http()
        .post(&w.endpoints().token_url)
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

/// The AADSTS number an error answer carries, checked to be the real endpoint's shape.
fn aadsts(body: &Value) -> u64 {
    let code = body["error_codes"][0].as_u64().unwrap();
    let description = body["error_description"].as_str().unwrap();
    assert!(
        description.starts_with(&format!("AADSTS{code}: ")),
        "{body}"
    );
    assert!(description.contains("Trace ID: ") && body["correlation_id"].is_string());
    code
}

#[tokio::test]
async fn client_credentials_and_every_way_to_get_them_wrong() {
    let w = world().await;
    let creds = |id: &'static str, secret: &'static str, scope: &'static str| {
        vec![
            ("grant_type", "client_credentials"),
            ("client_id", id),
            ("client_secret", secret),
            ("scope", scope),
        ]
    };
    let (status, body) = token(&w, &creds(APP, APP_SECRET, GRAPH_DEFAULT)).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["token_type"], "Bearer");
    let app_token = body["access_token"].as_str().unwrap().to_string();

    let (status, body) = token(&w, &creds(APP, "wrong", GRAPH_DEFAULT)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (401, Some("invalid_client"))
    );
    assert_eq!(aadsts(&body), 7000215);
    let (status, body) = token(&w, &creds("not-registered", APP_SECRET, GRAPH_DEFAULT)).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("unauthorized_client"))
    );
    assert_eq!(aadsts(&body), 700016);
    let (status, body) = token(&w, &creds(APP, APP_SECRET, "User.Read")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_scope"))
    );
    assert_eq!(aadsts(&body), 1002012);
    let wrong_tenant = w
        .endpoints()
        .token_url
        .replace(&w.endpoints().tenant_id, "contoso.com");
    let r = http()
        .post(wrong_tenant)
        .form(&creds(APP, APP_SECRET, GRAPH_DEFAULT))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(aadsts(&r.json().await.unwrap()), 90002);

    // Graph takes the app's token, and refuses it for resetPassword (delegated only).
    let graph = &w.endpoints().graph;
    let users = http()
        .get(format!("{graph}/v1.0/users"))
        .bearer_auth(&app_token)
        .send()
        .await
        .unwrap();
    assert_eq!(users.status(), 200);
    let alice = w.user_id("alice@gntech.me").unwrap();
    let reset = http()
        .post(format!("{graph}/v1.0/users/{alice}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"))
        .bearer_auth(&app_token)
        .json(&serde_json::json!({"newPassword": "App#Only2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 403);
    w.shutdown().await;
}

#[tokio::test]
async fn the_password_grant_checks_synced_users_against_ad_and_cloud_users_in_the_cloud() {
    let w = world().await;
    let ropc = |user: &'static str, pw: &'static str| {
        vec![
            ("grant_type", "password"),
            ("client_id", PUBLIC),
            ("username", user),
            ("password", pw),
            ("scope", GRAPH_DEFAULT),
        ]
    };
    let (status, body) = token(&w, &ropc("alice@gntech.me", "Initial#Pass2026")).await;
    assert_eq!(status, 200, "pass-through to AD: {body}");
    assert!(body["refresh_token"].is_string());
    let (status, body) = token(&w, &ropc("alice@gntech.me", "wrong")).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (400, Some("invalid_grant"))
    );
    assert_eq!(aadsts(&body), 50126);
    let (status, body) = token(&w, &ropc(ADMIN, ADMIN_PW)).await;
    assert_eq!(status, 200, "a cloud-only user: {body}");
    let (status, body) = token(&w, &ropc("nobody@gntech.me", "x")).await;
    assert_eq!(status, 400);
    assert_eq!(aadsts(&body), 50034);
    w.shutdown().await;
}

/// The sign-in page's form fields, as a browser would post them back.
fn form_fields(page: &str) -> Vec<(String, String)> {
    let mut fields = Vec::new();
    for input in page.split("<input").skip(1) {
        let attr = |name: &str| {
            input
                .split(&format!("{name}=\""))
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .map(|v| {
                    v.replace("&amp;", "&")
                        .replace("&#x2f;", "/")
                        .replace("&#x3d;", "=")
                })
        };
        if let (Some(name), Some("hidden")) = (attr("name"), attr("type").as_deref()) {
            fields.push((name, attr("value").unwrap_or_default()));
        }
    }
    fields
}

async fn sign_in(w: &World, query: &[(&str, &str)], user: &str, pw: &str) -> reqwest::Response {
    let authorize = w.endpoints().token_url.replace("/token", "/authorize");
    let url = reqwest::Url::parse_with_params(&authorize, query).unwrap();
    let page = http().get(url).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(
        html.contains(r#"<label for="password">Password</label>"#),
        "{html}"
    );
    let mut fields = form_fields(&html);
    fields.push(("username".into(), user.into()));
    fields.push(("password".into(), pw.into()));
    http().post(&authorize).form(&fields).send().await.unwrap()
}

#[tokio::test]
async fn the_authorization_code_flow_with_pkce_signs_a_user_in_once() {
    let w = world().await;
    let verifier = "a-long-random-verifier-of-at-least-43-characters-0123456789";
    let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
    let query = [
        ("client_id", PUBLIC),
        ("response_type", "code"),
        ("redirect_uri", REDIRECT),
        (
            "scope",
            "https://graph.microsoft.com/.default openid offline_access",
        ),
        ("state", "xyz"),
        ("nonce", "n-0S6"),
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];
    let wrong = sign_in(&w, &query, ADMIN, "not-it").await;
    assert_eq!(wrong.status(), 200);
    assert!(wrong
        .text()
        .await
        .unwrap()
        .contains("Your account or password is incorrect."));

    let ok = sign_in(&w, &query, ADMIN, ADMIN_PW).await;
    assert_eq!(ok.status(), 302);
    let location = reqwest::Url::parse(ok.headers()["location"].to_str().unwrap()).unwrap();
    assert_eq!(location.as_str().split('?').next(), Some(REDIRECT));
    let got: std::collections::HashMap<_, _> = location.query_pairs().into_owned().collect();
    assert_eq!(got["state"], "xyz");
    let code = got["code"].clone();

    let redeem = |verifier: &'static str| {
        vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("client_id".into(), PUBLIC.into()),
            ("code".into(), code.clone()),
            ("redirect_uri".into(), REDIRECT.into()),
            ("code_verifier".into(), verifier.into()),
        ]
    };
    let r = http()
        .post(&w.endpoints().token_url)
        .form(&redeem(
            "not-the-verifier-not-the-verifier-not-the-verifier",
        ))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(aadsts(&r.json().await.unwrap()), 501481);
    let r = http()
        .post(&w.endpoints().token_url)
        .form(&redeem(verifier))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    let id_token = body["id_token"].as_str().unwrap();
    let claims: Value =
        serde_json::from_slice(&B64URL.decode(id_token.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    assert_eq!(claims["nonce"], "n-0S6");
    assert_eq!(claims["preferred_username"], ADMIN);

    // The user's token does what the admin may: reset another user's password.
    let graph = &w.endpoints().graph;
    let alice = w.user_id("alice@gntech.me").unwrap();
    let reset = http()
        .post(format!("{graph}/v1.0/users/{alice}/authentication/methods/28c10230-6103-485e-b985-444c60001490/resetPassword"))
        .bearer_auth(body["access_token"].as_str().unwrap())
        .json(&serde_json::json!({"newPassword": "Code#Flow2026"}))
        .send()
        .await
        .unwrap();
    assert_eq!(reset.status(), 202);

    // A code is good once.
    let again = http()
        .post(&w.endpoints().token_url)
        .form(&redeem(verifier))
        .send()
        .await
        .unwrap();
    assert_eq!(again.status(), 400);
    assert_eq!(aadsts(&again.json().await.unwrap()), 54005);
    w.shutdown().await;
}

#[tokio::test]
async fn the_sign_in_page_refuses_unknown_clients_and_redirect_uris_on_the_page() {
    let w = world().await;
    let authorize = w.endpoints().token_url.replace("/token", "/authorize");
    let page = |client: &'static str, redirect: &'static str, response_type: &'static str| {
        let authorize = authorize.clone();
        async move {
            let url = reqwest::Url::parse_with_params(
                &authorize,
                [
                    ("client_id", client),
                    ("redirect_uri", redirect),
                    ("response_type", response_type),
                    ("scope", GRAPH_DEFAULT),
                    ("state", "s1"),
                ],
            )
            .unwrap();
            http().get(url).send().await.unwrap()
        }
    };
    let r = page("not-registered", REDIRECT, "code").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("AADSTS700016"));
    let r = page(PUBLIC, "https://evil.example/callback", "code").await;
    assert_eq!(r.status(), 400);
    let text = r.text().await.unwrap();
    assert!(
        text.contains("AADSTS50011") && text.contains("evil.example"),
        "{text}"
    );
    // Once the client and its redirect URI are known, errors go back to the app.
    let r = page(PUBLIC, REDIRECT, "token").await;
    assert_eq!(r.status(), 302);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(REDIRECT)
            && location.contains("error=unsupported_response_type")
            && location.contains("state=s1"),
        "{location}"
    );
    w.shutdown().await;
}

#[tokio::test]
async fn a_device_an_admin_registers_through_graph_is_written_back_at_the_next_cycle() {
    let w = world().await;
    let (_, body) = token(
        &w,
        &[
            ("grant_type", "password"),
            ("client_id", PUBLIC),
            ("username", ADMIN),
            ("password", ADMIN_PW),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    let admin = body["access_token"].as_str().unwrap().to_string();
    let (_, body) = token(
        &w,
        &[
            ("grant_type", "client_credentials"),
            ("client_id", APP),
            ("client_secret", APP_SECRET),
            ("scope", GRAPH_DEFAULT),
        ],
    )
    .await;
    let app = body["access_token"].as_str().unwrap().to_string();
    let devices = format!("{}/v1.0/devices", w.endpoints().graph);
    let device = serde_json::json!({
        "accountEnabled": true,
        "alternativeSecurityIds": [{"type": 2, "key": "WAA1ADAAOQA6ADwAUwBIAEEAMQAtAFQAUAAtAFAAVQBCAEsARQBZAD4AQQBCAEMARAA="}],
        "deviceId": "4c299165-6e8f-4b45-a5ba-c5d250a707ff",
        "displayName": "ALICE-LAPTOP",
        "operatingSystem": "Windows",
        "operatingSystemVersion": "10.0.22631.4317",
    });
    let post = |token: String, body: Value| {
        let devices = devices.clone();
        async move {
            let r = http()
                .post(devices)
                .bearer_auth(token)
                .json(&body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (status, body) = post(app, device.clone()).await;
    assert_eq!(status, 403, "app-only is not supported: {body}");
    let mut nameless = device.clone();
    nameless.as_object_mut().unwrap().remove("displayName");
    let (status, body) = post(admin.clone(), nameless).await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("'displayName'"));
    let (status, created) = post(admin.clone(), device.clone()).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["trustType"], "Workplace");
    let (status, _) = post(admin.clone(), device).await;
    assert_eq!(status, 400, "the deviceId is taken");

    let alice = w.user_id("alice@gntech.me").unwrap();
    let owner = http()
        .post(format!("{devices}/{}/registeredOwners/$ref", created["id"].as_str().unwrap()))
        .bearer_auth(&admin)
        .json(&serde_json::json!({"@odata.id": format!("https://graph.microsoft.com/v1.0/directoryObjects/{alice}")}))
        .send()
        .await
        .unwrap();
    assert_eq!(owner.status(), 204);

    let cycle = w
        .sync(writeback_sim::world::CycleKind::Delta)
        .await
        .unwrap();
    assert_eq!(cycle.exported.0, 1, "{cycle:?}");
    let written = w
        .ad_entry("CN=ALICE-LAPTOP,CN=RegisteredDevices,DC=gntech,DC=me")
        .await
        .expect("the device is in AD");
    assert_eq!(
        written.readable("managedBy"),
        vec!["CN=Alice Smith,OU=Staff,DC=gntech,DC=me".to_string()]
    );
    w.shutdown().await;
}
