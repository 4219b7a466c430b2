//! Microsoft Graph v1.0, the slice password writeback and its admins touch, on axum:
//! `GET /v1.0/users` (`$top`, `$select`, `@odata.nextLink` paging), `GET /v1.0/users/{id |
//! userPrincipalName}`, `GET /v1.0/subscribedSkus`, `POST /v1.0/users/{id}/authentication/
//! methods/{id}/resetPassword` (202 + Location of a long-running operation that `GET`
//! reports as running / succeeded / failed), `POST /v1.0/me/changePassword` (204 or an
//! error), and devices: `GET /v1.0/devices`, `/devices/{id}`, `/devices/{id}/registeredOwners`
//! and `/devices/delta` (nextLink / deltaLink, `$deltatoken=latest`, `@removed`, expired
//! tokens), and `/directory/onPremisesSynchronization` (the features Entra Connect
//! onboards). Faults make it answer 429 + Retry-After, 503, slowly, or with empty pages.
//! Bearer tokens the tenant issued (401 / 403 otherwise); every error, unknown
//! routes and unreadable JSON included, is an OData error body
//! `{"error":{"code","message","innerError":{"request-id","date"}}}`.

mod devices;
mod groups;
mod sync_settings;

pub use devices::device_json;
pub use groups::group_json;

use super::sspr::{AnswerOutcome, PasswordService, UserAnswer};
use super::tenant::{CloudUser, License, Tenant};
use crate::clock::Clock;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// Who a bearer token stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// A Global / Authentication Administrator (delegated).
    Admin(String),
    /// A signed-in user, by UPN.
    User(String),
}

/// The state behind the routes.
#[derive(Clone)]
pub struct Graph {
    tenant: Tenant,
    passwords: PasswordService,
    clock: Arc<dyn Clock>,
    /// The `https://graph.microsoft.com`-like base put in links (`http://127.0.0.1:PORT`).
    base_url: Arc<Mutex<String>>,
    tokens: Arc<Mutex<HashMap<String, Caller>>>,
    operations: Arc<Mutex<HashMap<String, Value>>>,
    next_id: Arc<AtomicU64>,
    faults: Arc<Mutex<GraphFaults>>,
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
    pub fn new(tenant: Tenant, passwords: PasswordService, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenant,
            passwords,
            clock,
            base_url: Arc::new(Mutex::new("https://graph.microsoft.com".into())),
            tokens: Arc::default(),
            operations: Arc::default(),
            next_id: Arc::new(AtomicU64::new(1)),
            faults: Arc::default(),
        }
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

    /// Issue a bearer token for `caller` (the fake's stand-in for the identity platform).
    pub fn issue_token(&self, caller: Caller) -> String {
        let n = self.next_id.fetch_add(1, Ordering::SeqCst);
        let token = format!("fake-graph-token-{n:06}-{}", uuid::Uuid::new_v4().simple());
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(token.clone(), caller);
        token
    }

    fn caller(&self, headers: &HeaderMap) -> Result<Caller, GraphError> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let token = value
            .strip_prefix("Bearer ")
            .map(str::trim)
            .unwrap_or_default();
        if token.is_empty() {
            return Err(GraphError::new(
                StatusCode::UNAUTHORIZED,
                "InvalidAuthenticationToken",
                "Access token is empty.",
            ));
        }
        self.tokens
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(token)
            .cloned()
            .ok_or_else(|| {
                GraphError::new(
                    StatusCode::UNAUTHORIZED,
                    "InvalidAuthenticationToken",
                    "Access token validation failure. Invalid audience.",
                )
            })
    }

    fn admin(&self, headers: &HeaderMap) -> Result<String, GraphError> {
        match self.caller(headers)? {
            Caller::Admin(upn) => Ok(upn),
            Caller::User(_) => Err(denied()),
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route("/v1.0/users", get(list_users))
            .route("/v1.0/users/{id}", get(get_user))
            .route("/v1.0/subscribedSkus", get(subscribed_skus))
            .route(
                "/v1.0/users/{id}/authentication/methods/{method}/resetPassword",
                post(reset_password),
            )
            .route(
                "/v1.0/users/{id}/authentication/operations/{op}",
                get(get_operation),
            )
            .route("/v1.0/me/changePassword", post(change_password))
            .route("/v1.0/groups", get(groups::list::<false>))
            .route("/v1.0/groups/delta", get(groups::delta::<false>))
            .route("/beta/groups/delta", get(groups::delta::<true>))
            .route("/v1.0/groups/{id}", get(groups::one::<false>))
            .route("/v1.0/groups/{id}/members", get(groups::members))
            .route("/beta/groups", get(groups::list::<true>))
            .route(
                "/beta/groups/{id}",
                get(groups::one::<true>).patch(groups::patch_beta),
            )
            .route("/v1.0/devices", get(devices::list))
            .route("/v1.0/devices/delta", get(devices::delta))
            .route("/v1.0/devices/{id}", get(devices::one))
            .route("/v1.0/devices/{id}/registeredOwners", get(devices::owners))
            .route(
                "/v1.0/directory/onPremisesSynchronization",
                get(sync_settings::list),
            )
            .route(
                "/v1.0/directory/onPremisesSynchronization/{id}",
                get(sync_settings::one).patch(sync_settings::patch),
            )
            .fallback(unknown_route)
            .layer(axum::middleware::from_fn_with_state(
                self.clone(),
                faults_layer,
            ))
            .with_state(self)
    }
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

fn denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn user_json(u: &CloudUser) -> Map<String, Value> {
    let onprem = u.on_premises.as_ref();
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("userPrincipalName".into(), json!(u.user_principal_name));
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("accountEnabled".into(), json!(true));
    m.insert(
        "onPremisesSyncEnabled".into(),
        if onprem.is_some() {
            json!(true)
        } else {
            Value::Null
        },
    );
    m.insert(
        "onPremisesImmutableId".into(),
        json!(onprem.map(|o| o.immutable_id.clone())),
    );
    m.insert(
        "onPremisesDistinguishedName".into(),
        json!(onprem.map(|o| o.distinguished_name.clone())),
    );
    m
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

#[derive(Debug, Deserialize)]
struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

async fn list_users(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, GraphError> {
    g.caller(&headers)?;
    let top = match &q.top {
        None => DEFAULT_PAGE,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return Err(GraphError::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", format!("Invalid page size specified: '{t}'. Must be between 1 and {MAX_PAGE} inclusive."))),
        },
    };
    let skip = skip_of(q.skiptoken.as_deref())?;
    let users = g.tenant.users();
    let page: Vec<Value> = users
        .iter()
        .skip(skip)
        .take(top)
        .map(|u| Value::Object(select(user_json(u), q.select.as_deref())))
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", g.base()),
        "value": page,
    });
    if skip + top < users.len() {
        let mut link = format!(
            "{}/v1.0/users?$top={top}&$skiptoken={}",
            g.base(),
            skip + top
        );
        if let Some(s) = &q.select {
            link.push_str(&format!("&$select={s}"));
        }
        body["@odata.nextLink"] = json!(link);
    }
    Ok(Json(body))
}

async fn get_user(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, GraphError> {
    g.caller(&headers)?;
    let u = g.tenant.user(&id).ok_or_else(|| not_found(&id))?;
    let mut m = select(user_json(&u), q.select.as_deref());
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#users/$entity", g.base())),
    );
    Ok(Json(Value::Object(m)))
}

fn not_found(id: &str) -> GraphError {
    GraphError::new(StatusCode::NOT_FOUND, "Request_ResourceNotFound", format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."))
}

async fn subscribed_skus(
    State(g): State<Graph>,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    g.caller(&headers)?;
    let users = g.tenant.users().len();
    let sku = |part: &str, id: &str| {
        json!({
            "capabilityStatus": "Enabled",
            "consumedUnits": users,
            "id": format!("{}_{id}", "00000000-0000-0000-0000-000000000000"),
            "prepaidUnits": { "enabled": 25, "suspended": 0, "warning": 0 },
            "skuId": id,
            "skuPartNumber": part,
            "appliesTo": "User",
            "servicePlans": [],
        })
    };
    let value = match g.tenant.settings().license {
        License::None => vec![],
        License::P1 => vec![sku("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4")],
        License::P2 => vec![sku(
            "AAD_PREMIUM_P2",
            "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        )],
    };
    Ok(Json(
        json!({ "@odata.context": format!("{}/v1.0/$metadata#subscribedSkus", g.base()), "value": value }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ResetBody {
    new_password: Option<String>,
}

async fn reset_password(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path((id, method)): Path<(String, String)>,
    body: Result<Json<ResetBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    let admin = g.admin(&headers)?;
    let Json(body) = body?;
    let user = g.tenant.user(&id).ok_or_else(|| not_found(&id))?;
    if method != PASSWORD_METHOD_ID {
        return Err(not_found(&method));
    }
    if user.user_principal_name.eq_ignore_ascii_case(&admin) {
        return Err(GraphError::new(
            StatusCode::FORBIDDEN,
            "accessDenied",
            "An administrator cannot reset their own password with this API.",
        ));
    }
    let Some(new_password) = body.new_password else {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            "newPassword is required for users whose password is managed on-premises.",
        ));
    };
    let op_id = format!(
        "{:08x}-0000-4000-8000-{:012x}",
        g.next_id.fetch_add(1, Ordering::SeqCst),
        0
    );
    let location = format!(
        "{}/v1.0/users/{}/authentication/operations/{op_id}",
        g.base(),
        user.id
    );
    let now = g.clock.now().to_rfc3339();
    g.operations.lock().unwrap_or_else(|e| e.into_inner()).insert(
        op_id.clone(),
        json!({ "id": op_id, "createdDateTime": now, "lastActionDateTime": now, "resourceLocation": location, "status": "running", "statusDetail": null }),
    );
    let g2 = g.clone();
    let upn = user.user_principal_name.clone();
    tokio::spawn(async move {
        let answer = g2.passwords.admin_reset(&upn, &new_password, false).await;
        let (status, detail) = match answer.outcome {
            AnswerOutcome::Ok => ("succeeded", Value::Null),
            _ => ("failed", json!(describe(&answer))),
        };
        if let Some(op) = g2
            .operations
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get_mut(&op_id)
        {
            op["status"] = json!(status);
            op["statusDetail"] = detail;
            op["lastActionDateTime"] = json!(g2.clock.now().to_rfc3339());
        }
    });
    Ok((
        StatusCode::ACCEPTED,
        [(header::LOCATION, location)],
        Json(json!({})),
    )
        .into_response())
}

fn describe(a: &UserAnswer) -> String {
    let mut parts: Vec<String> = a.error.iter().cloned().collect();
    parts.extend(a.detail.iter().cloned());
    parts.join("; ")
}

async fn get_operation(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path((_, op)): Path<(String, String)>,
) -> Result<Json<Value>, GraphError> {
    g.admin(&headers)?;
    let found = g
        .operations
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&op)
        .cloned();
    found.map(Json).ok_or_else(|| not_found(&op))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ChangeBody {
    current_password: String,
    new_password: String,
}

async fn change_password(
    State(g): State<Graph>,
    headers: HeaderMap,
    body: Result<Json<ChangeBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    let upn = match g.caller(&headers)? {
        Caller::User(u) | Caller::Admin(u) => u,
    };
    let Json(body) = body?;
    let a = g
        .passwords
        .change(&upn, &body.current_password, &body.new_password)
        .await;
    match a.outcome {
        AnswerOutcome::Ok => Ok(StatusCode::NO_CONTENT.into_response()),
        AnswerOutcome::Rejected => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "invalidRequest",
            describe(&a),
        )),
        AnswerOutcome::Failed => Err(GraphError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            describe(&a),
        )),
    }
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
