//! The Graph fake (and the password reset service's onboarding beside it): any method,
//! path, query string and body, sent with an administrator's token, through the whole
//! router. Every answer must be a status with a body — never a panic or a hang.
#![no_main]

use axum::body::Body;
use axum::http::Request;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;
use writeback_sim::clock::ManualClock;
use writeback_sim::cloud::graph::{Caller, Graph};
use writeback_sim::cloud::sspr::RelaySender;
use writeback_sim::cloud::tenant::{CloudUser, TenantSettings};
use writeback_sim::cloud::{PasswordService, Tenant};

const METHODS: [&str; 5] = ["GET", "POST", "PATCH", "PUT", "DELETE"];

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    })
}

/// A tenant with two users, its Graph, and an administrator's token.
fn graph() -> (Graph, String) {
    let tenant = Tenant::new(TenantSettings::default());
    for i in 0..2 {
        tenant.add_user(CloudUser {
            id: format!("00000000-0000-4000-8000-{i:012}"),
            user_principal_name: format!("user{i}@gntech.me"),
            display_name: format!("User {i}"),
            sspr_registered: true,
            ..CloudUser::default()
        });
    }
    let clock = Arc::new(ManualClock::scenario_start());
    let relay = RelaySender {
        // Nothing listens there: a reset that gets this far fails fast.
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

fuzz_target!(|data: &[u8]| {
    // First byte: the method; then the path and query up to a newline; the rest: the body.
    let Some((&m, rest)) = data.split_first() else {
        return;
    };
    let split = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
    let Ok(target) = std::str::from_utf8(&rest[..split]) else {
        return;
    };
    let body = rest.get(split + 1..).unwrap_or_default().to_vec();
    let target = if target.starts_with('/') {
        target.to_string()
    } else {
        format!("/{target}")
    };
    let Ok(req) = Request::builder()
        .method(METHODS[usize::from(m) % METHODS.len()])
        .uri(target)
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {}", graph_token()))
        .body(Body::from(body))
    else {
        return;
    };
    let router = GRAPH.with(|g| g.0.clone().router());
    runtime().block_on(async move {
        let response = router.oneshot(req).await.expect("infallible");
        assert!(
            response.status().as_u16() != 500,
            "a 500 from the Graph fake"
        );
        let _ = axum::body::to_bytes(response.into_body(), 1 << 20).await;
    });
});

thread_local! {
    static GRAPH: (Graph, String) = graph();
}

fn graph_token() -> String {
    GRAPH.with(|g| g.1.clone())
}
