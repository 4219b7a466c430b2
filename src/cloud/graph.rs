//! Microsoft Graph v1.0 (and the beta bits writeback needs), the slice writeback and its
//! admins touch, on axum. This file: the state, bearer tokens the tenant issued (401 / 403
//! otherwise), the fault switches (429 + Retry-After, 503, latency, empty pages), and the
//! OData error body every error has — unknown routes and unreadable JSON included
//! (`{"error":{"code","message","innerError":{"date"}}}`). The routes, a file per resource:
//!
//! - `users`: `/users`, `/users/{id | userPrincipalName}`, `/subscribedSkus`;
//! - `passwords`: `resetPassword` (a long-running operation) and `/me/changePassword`;
//! - `devices`: `/devices`, `/devices/{id}`, `registeredOwners`, `/devices/delta`;
//! - `device_registration`: `POST /devices` and `registeredOwners/$ref`;
//! - `groups`: `/groups`, `/groups/{id}`, `members`, `/groups/delta`, and under `/beta`
//!   `writebackConfiguration` (readable and PATCHable);
//! - `sync_settings`: `/directory/onPremisesSynchronization`, the features Entra Connect
//!   onboards.

mod device_registration;
mod devices;
mod groups;
mod passwords;
mod permissions;
mod sync_settings;
mod users;

pub use super::identity::Caller;
pub use devices::device_json;
pub use groups::group_json;
pub use permissions::Need;

use super::identity::Identity;
use super::sspr::PasswordService;
use super::tenant::Tenant;
use crate::clock::Clock;
use axum::extract::rejection::JsonRejection;
use axum::extract::State;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::AtomicU64;
use std::sync::{Arc, Mutex};

/// The state behind the routes: one allocation, so that a request's handler takes it for
/// a reference count (axum clones the state for every request).
#[derive(Clone)]
pub struct Graph(Arc<Services>);

/// What [`Graph`] holds.
pub struct Services {
    tenant: Tenant,
    passwords: PasswordService,
    clock: Arc<dyn Clock>,
    /// The `https://graph.microsoft.com`-like base put in links (`http://127.0.0.1:PORT`).
    base_url: Mutex<String>,
    /// Issues and checks the bearer tokens.
    identity: Identity,
    operations: Mutex<HashMap<String, Value>>,
    next_id: AtomicU64,
    faults: Mutex<GraphFaults>,
}

/// Fault switches for scenarios.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GraphFaults {
    /// This many of the next requests are throttled (429 + Retry-After).
    pub throttle: u32,
    /// The Retry-After of a throttled or unavailable answer.
    pub retry_after: std::time::Duration,
    /// Every request answers this status (503: serviceNotAvailable).
    pub status: Option<u16>,
    /// Every request costs this much business time.
    pub latency: Option<std::time::Duration>,
    /// Every delta page with data is preceded by an empty page that carries a nextLink.
    pub empty_pages: bool,
    /// This many requests are answered normally before `status` / `throttle` apply (a
    /// failure in the middle of a round).
    pub after: u32,
}

impl std::ops::Deref for Graph {
    type Target = Services;
    fn deref(&self) -> &Services {
        &self.0
    }
}

impl std::fmt::Debug for Graph {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Graph(..)")
    }
}

/// An OData error answer.
#[derive(Debug)]
pub struct GraphError {
    status: StatusCode,
    code: &'static str,
    message: String,
    /// Seconds, for 429 and 503.
    retry_after: Option<u64>,
}

impl GraphError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }
}

impl IntoResponse for GraphError {
    fn into_response(self) -> Response {
        let body = json!({
            "error": {
                "code": self.code,
                "message": self.message,
                "innerError": { "date": chrono::Utc::now().format("%Y-%m-%dT%H:%M:%S").to_string() }
            }
        });
        let mut resp = (self.status, Json(body)).into_response();
        if let Some(secs) = self.retry_after {
            if let Ok(v) = axum::http::HeaderValue::try_from(secs.to_string()) {
                resp.headers_mut().insert(header::RETRY_AFTER, v);
            }
        }
        resp
    }
}

impl From<JsonRejection> for GraphError {
    fn from(r: JsonRejection) -> Self {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Unable to read JSON request payload: {}", r.body_text()),
        )
    }
}

/// The default and the largest page of `GET /users` (user-list.md).
const DEFAULT_PAGE: usize = 100;
const MAX_PAGE: usize = 999;
/// The password authentication method's well-known id.
pub const PASSWORD_METHOD_ID: &str = "28c10230-6103-485e-b985-444c60001490";

impl Graph {
    /// Graph for `tenant`, trusting the tokens `identity` issues.
    pub fn new(
        tenant: Tenant,
        passwords: PasswordService,
        identity: Identity,
        clock: Arc<dyn Clock>,
    ) -> Self {
        Self(Arc::new(Services {
            tenant,
            passwords,
            clock,
            base_url: Mutex::new("https://graph.microsoft.com".into()),
            identity,
            operations: Mutex::default(),
            next_id: AtomicU64::new(1),
            faults: Mutex::default(),
        }))
    }

    /// The tenant this API serves.
    pub fn tenant(&self) -> &Tenant {
        &self.tenant
    }

    /// The business clock (delta tokens age on it).
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.clock
    }

    pub fn set_faults(&self, f: GraphFaults) {
        *self.faults.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    pub fn faults(&self) -> GraphFaults {
        self.faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Apply the fault switches to one request: latency, then 503, then throttling.
    async fn gate(&self) -> Result<(), GraphError> {
        let f = self.faults();
        if let Some(l) = f.latency {
            self.clock.elapse(l).await;
        }
        {
            let mut guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
            if guard.after > 0 {
                guard.after -= 1;
                return Ok(());
            }
        }
        if let Some(status) = f.status {
            let code = StatusCode::from_u16(status).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            let mut e = GraphError::new(
                code,
                "serviceNotAvailable",
                "The service is temporarily unavailable. Retry after the delay in Retry-After.",
            );
            e.retry_after = Some(f.retry_after.as_secs().max(1));
            return Err(e);
        }
        let mut guard = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        if guard.throttle > 0 {
            guard.throttle -= 1;
            let mut e = GraphError::new(StatusCode::TOO_MANY_REQUESTS, "activityLimitReached", "The request has been throttled (throttledRequest). Retry after the delay in Retry-After.");
            e.retry_after = Some(guard.retry_after.as_secs().max(1));
            return Err(e);
        }
        Ok(())
    }

    /// Where the API is served, for nextLink and Location.
    pub fn set_base_url(&self, url: &str) {
        *self.base_url.lock().unwrap_or_else(|e| e.into_inner()) =
            url.trim_end_matches('/').to_string();
    }

    fn base(&self) -> String {
        self.base_url
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// A bearer token for `caller` from the tenant's identity platform.
    pub fn issue_token(&self, caller: Caller) -> String {
        self.identity.issue(&caller)
    }

    /// The caller a request's bearer token stands for, if it meets `need`.
    fn authorize(&self, headers: &HeaderMap, need: Need) -> Result<Caller, GraphError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = value
            .strip_prefix("Bearer ")
            .or_else(|| value.strip_prefix("bearer "))
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(GraphError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        }
        let caller = self.identity.verify(token).map_err(|why| {
            GraphError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                why.to_string(),
            )
        })?;
        permissions::check(caller, need)
    }

    pub fn router(self) -> Router {
        // The same routes for every world: built once (worlds start in milliseconds).
        static ROUTES: std::sync::OnceLock<Router<Graph>> = std::sync::OnceLock::new();
        let routes = ROUTES.get_or_init(|| {
            Router::new()
                .route("/v1.0/users", get(users::list))
                .route("/v1.0/users/{id}", get(users::one))
                .route("/v1.0/subscribedSkus", get(users::subscribed_skus))
                .route(
                    "/v1.0/users/{id}/authentication/methods/{method}/resetPassword",
                    post(passwords::reset_password),
                )
                .route(
                    "/v1.0/users/{id}/authentication/operations/{op}",
                    get(passwords::operation),
                )
                .route("/v1.0/me/changePassword", post(passwords::change_password))
                .route(
                    "/v1.0/groups",
                    get(groups::list::<false>).post(groups::create),
                )
                // `delta()` is the OData function call the SDKs write; Graph takes both.
                .route("/v1.0/groups/delta", get(groups::delta::<false>))
                .route("/v1.0/groups/delta()", get(groups::delta::<false>))
                .route("/beta/groups/delta", get(groups::delta::<true>))
                .route("/beta/groups/delta()", get(groups::delta::<true>))
                .route("/v1.0/groups/{id}", get(groups::one::<false>))
                .route("/v1.0/groups/{id}/members", get(groups::members))
                .route("/beta/groups", get(groups::list::<true>))
                .route(
                    "/beta/groups/{id}",
                    get(groups::one::<true>).patch(groups::patch_beta),
                )
                .route(
                    "/v1.0/devices",
                    get(devices::list).post(device_registration::create),
                )
                .route("/v1.0/devices/delta", get(devices::delta))
                .route("/v1.0/devices/delta()", get(devices::delta))
                .route("/v1.0/devices/{id}", get(devices::one))
                .route("/v1.0/devices/{id}/registeredOwners", get(devices::owners))
                .route(
                    "/v1.0/devices/{id}/registeredOwners/$ref",
                    post(device_registration::add_owner),
                )
                .route(
                    "/v1.0/directory/onPremisesSynchronization",
                    get(sync_settings::list),
                )
                .route(
                    "/v1.0/directory/onPremisesSynchronization/{id}",
                    get(sync_settings::one).patch(sync_settings::patch),
                )
                .route(
                    sync_settings::ONBOARDING,
                    get(sync_settings::agent_key)
                        .put(sync_settings::onboard_key)
                        .delete(sync_settings::offboard_key),
                )
                .fallback(unknown_route)
        });
        routes
            .clone()
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                faults_layer,
            ))
            .layer(axum::middleware::map_response(odata_errors))
            .with_state(self)
    }
}

/// What the framework answers by itself — a method a route does not take (405), a query
/// string or path it cannot read (400) — as Graph answers it: an OData error body. Answers
/// the handlers made are JSON already and pass as they are.
async fn odata_errors(resp: Response) -> Response {
    let status = resp.status();
    let json = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"));
    if status.is_success() || status.is_redirection() || json {
        return resp;
    }
    let (parts, body) = resp.into_parts();
    let text = axum::body::to_bytes(body, 4096).await.unwrap_or_default();
    let (code, message) = if status == StatusCode::METHOD_NOT_ALLOWED {
        (
            "Request_BadRequest",
            "Specified HTTP method is not allowed for the request uri.".to_string(),
        )
    } else {
        let text = String::from_utf8_lossy(&text).trim().to_string();
        let message = if text.is_empty() {
            status.canonical_reason().unwrap_or("Error").to_string()
        } else {
            text
        };
        ("BadRequest", message)
    };
    let mut odata = GraphError::new(status, code, message).into_response();
    if let Some(allow) = parts.headers.get(header::ALLOW) {
        odata.headers_mut().insert(header::ALLOW, allow.clone());
    }
    odata
}

async fn faults_layer(
    State(g): State<Graph>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    match g.gate().await {
        Ok(()) => next.run(req).await,
        Err(e) => e.into_response(),
    }
}

/// The offset a list's `$skiptoken` stands for.
fn skip_of(token: Option<&str>) -> Result<usize, GraphError> {
    match token {
        None => Ok(0),
        Some(t) => t.parse::<usize>().map_err(|_| {
            GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                "Invalid $skiptoken.",
            )
        }),
    }
}

fn select(m: Map<String, Value>, select: Option<&str>) -> Map<String, Value> {
    match select {
        None => m,
        Some(s) => {
            let wanted: Vec<&str> = s.split(',').map(str::trim).collect();
            m.into_iter()
                .filter(|(k, _)| k == "id" || wanted.iter().any(|w| w.eq_ignore_ascii_case(k)))
                .collect()
        }
    }
}

fn not_found(id: &str) -> GraphError {
    GraphError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."))
}

async fn unknown_route(uri: axum::http::Uri) -> GraphError {
    let segment = uri
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "BadRequest",
        format!("Resource not found for the segment '{segment}'."),
    )
}
