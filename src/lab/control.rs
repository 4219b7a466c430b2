//! The lab's control endpoint (HTTP on the lab's address, bearer `control_token`): switch
//! faults on and off while the lab runs, start a cycle now, read the status. `GET /health`
//! needs no token. `writeback-sim lab ctl` is its client.
//!
//! - `GET /status`: features, the next cycle, the faults on, how many runs there were, the
//!   last runs and events, and how many saves the lab has completed;
//! - `POST /faults`: turn faults on (a JSON body like a scenario's `fault:`, durations in
//!   milliseconds); `DELETE /faults`: lift them all;
//! - `POST /sync` `{"kind": "delta" | "initial"}`: a sync cycle now, and what it did;
//! - `POST /rights` `{"action": "grant" | "deny" | "revoke", "right": "reset_password", "on": DN,
//!   "to": DN}`: what an AD admin does with Delegate Control or dsacls (`to` defaults to
//!   the AD DS connector account).

use crate::world::{CycleKind, CycleSummary, Event, Faults, Right, RunRecord, World};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

#[derive(Clone)]
struct Control {
    world: Arc<Mutex<World>>,
    token: String,
    /// How many times the saver has written what changed (the `saves` of /status).
    saves: Arc<std::sync::atomic::AtomicU64>,
}

/// A faults request: what to turn on (absent: leave as it is).
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultsRequest {
    #[serde(default)]
    pub relay: RelayFaultsRequest,
    #[serde(default)]
    pub ldap: LdapFaultsRequest,
    #[serde(default)]
    pub graph: GraphFaultsRequest,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelayFaultsRequest {
    pub latency_ms: Option<u64>,
    pub down: Option<bool>,
    /// Close every listener's control channel now (the engine reconnects).
    #[serde(default)]
    pub drop_listener: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LdapFaultsRequest {
    pub latency_ms: Option<u64>,
    pub down: Option<bool>,
    /// Reset every open LDAP connection now.
    #[serde(default)]
    pub reset_connections: bool,
}

#[derive(Debug, Default, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GraphFaultsRequest {
    /// Throttle this many of the next requests (429).
    pub throttle: Option<u32>,
    pub retry_after_ms: Option<u64>,
    /// Answer every request with this status (503).
    pub status: Option<u16>,
    pub latency_ms: Option<u64>,
    pub empty_pages: Option<bool>,
}

#[derive(Debug, Deserialize)]
struct SyncRequest {
    kind: String,
}

/// A grant or revocation of an AD right.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RightsRequest {
    /// `grant` or `revoke`.
    pub action: String,
    /// `reset_password`, `change_password`, `write_pwd_last_set`, … (as in scenarios).
    pub right: String,
    /// The object or subtree (a DN).
    pub on: String,
    /// The account (a DN); the AD DS connector account when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub to: Option<String>,
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(json!({ "error": message.into() }))).into_response()
}

/// Every operation but `/health` needs the bearer `control_token`.
async fn authorise(State(c): State<Control>, request: Request, next: Next) -> Response {
    let given = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .unwrap_or_default();
    if !given.is_empty() && given == c.token {
        next.run(request).await
    } else {
        error(
            StatusCode::UNAUTHORIZED,
            "a bearer control_token (lab.json) is needed",
        )
    }
}

/// Serve the control endpoint on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    world: Arc<Mutex<World>>,
    token: String,
    saves: Arc<std::sync::atomic::AtomicU64>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let control = Control {
        world,
        token,
        saves,
    };
    let app = Router::new()
        .route("/status", get(status))
        .route("/faults", post(set_faults).delete(clear_faults))
        .route("/sync", post(sync))
        .route("/rights", post(rights))
        .route_layer(middleware::from_fn_with_state(control.clone(), authorise))
        .route("/health", get(|| async { Json(json!({ "status": "ok" })) }))
        .fallback(|| async { error(StatusCode::NOT_FOUND, "no such control operation") })
        .with_state(control);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

pub(crate) fn faults_json(f: &Faults) -> Value {
    let ms = |d: Option<Duration>| d.map(|d| d.as_millis() as u64);
    json!({
        "relay": { "latency_ms": ms(f.relay.latency), "down": f.relay.down },
        "ldap": { "latency_ms": ms(f.ldap.latency), "down": f.ldap.down },
        "graph": {
            "throttle": f.graph.throttle,
            "retry_after_ms": f.graph.retry_after.as_millis() as u64,
            "status": f.graph.status,
            "latency_ms": ms(f.graph.latency),
            "empty_pages": f.graph.empty_pages,
        },
    })
}

/// A run of the history as the Operations tab shows it.
pub(crate) fn run_json(r: &RunRecord) -> Value {
    json!({
        "profile": r.profile.to_string(),
        "connector": r.connector,
        "status": r.status.to_string(),
        "start": r.start,
        "end": r.end,
        "user": r.user,
        "dn": r.dn,
        "adds": r.adds,
        "updates": r.updates,
        "deletes": r.deletes,
        "export_errors": r.export_errors.iter().map(|e| json!({"type": e.kind.to_string(), "dn": e.dn, "detail": e.detail})).collect::<Vec<_>>(),
        "skipped": r.skipped.iter().map(|x| json!({"object": x.object, "reason": x.reason})).collect::<Vec<_>>(),
        "error": r.error,
    })
}

/// An event of the Application log.
pub(crate) fn event_json(e: &Event) -> Value {
    json!({
        "id": e.id,
        "time": e.time,
        "level": e.level.to_string(),
        "source": e.source.to_string(),
        "message": e.message,
    })
}

/// What a sync cycle did.
pub(crate) fn cycle_json(s: &CycleSummary) -> Value {
    json!({
        "imported": { "adds": s.imported.0, "updates": s.imported.1, "deletes": s.imported.2 },
        "exported": { "adds": s.exported.0, "updates": s.exported.1, "deletes": s.exported.2 },
        "export_errors": s.export_errors,
        "import_failed": s.import_failed,
        "skipped": s.skipped.iter().map(|x| json!({"object": x.object, "reason": x.reason})).collect::<Vec<_>>(),
        "renamed": s.renamed.iter().map(|(old, new)| json!({"old": old, "new": new})).collect::<Vec<_>>(),
        "updated": s.updated.iter().map(|(dn, attrs)| json!({"dn": dn, "attributes": attrs})).collect::<Vec<_>>(),
    })
}

/// `delta` or `initial`.
pub(crate) fn cycle_kind(kind: &str) -> Result<CycleKind, String> {
    match kind {
        "delta" => Ok(CycleKind::Delta),
        "initial" => Ok(CycleKind::Initial),
        other => Err(format!("kind `{other}`: use delta or initial")),
    }
}

/// Turn on what `req` names (a latency of 0 turns it off) and act on the one-off faults;
/// returns the faults now in force.
pub(crate) fn apply_faults(w: &World, req: &FaultsRequest) -> Faults {
    let ms = Duration::from_millis;
    let mut f = w.faults();
    if let Some(l) = req.relay.latency_ms {
        f.relay.latency = (l > 0).then(|| ms(l));
    }
    if let Some(d) = req.relay.down {
        f.relay.down = d;
    }
    if let Some(l) = req.ldap.latency_ms {
        f.ldap.latency = (l > 0).then(|| ms(l));
    }
    if let Some(d) = req.ldap.down {
        f.ldap.down = d;
    }
    let g = &req.graph;
    if let Some(t) = g.throttle {
        f.graph.throttle = t;
    }
    if let Some(r) = g.retry_after_ms {
        f.graph.retry_after = ms(r);
    }
    if let Some(s) = g.status {
        f.graph.status = (s != 0).then_some(s);
    }
    if let Some(l) = g.latency_ms {
        f.graph.latency = (l > 0).then(|| ms(l));
    }
    if let Some(e) = g.empty_pages {
        f.graph.empty_pages = e;
    }
    w.set_faults(f.clone());
    if req.relay.drop_listener {
        w.drop_relay_listeners();
    }
    if req.ldap.reset_connections {
        w.reset_ldap_connections();
    }
    f
}

async fn status(State(c): State<Control>) -> Response {
    let w = c.world.lock().await;
    let features: serde_json::Map<String, Value> = w
        .features()
        .rows()
        .into_iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    let all_runs = w.runs();
    let runs: Vec<Value> = all_runs.iter().rev().take(10).map(run_json).collect();
    let events: Vec<Value> = w
        .events_since(crate::world::HistoryMark::default())
        .iter()
        .rev()
        .take(10)
        .map(event_json)
        .collect();
    Json(json!({
        "now": w.now(),
        "features": features,
        "next_cycle": w.next_cycle(),
        "faults": faults_json(&w.faults()),
        "run_count": all_runs.len(),
        // Completed saves: whatever was acknowledged before a save that started later is
        // on disk and survives a kill -9.
        "saves": c.saves.load(std::sync::atomic::Ordering::SeqCst),
        "runs": runs,
        "events": events,
    }))
    .into_response()
}

async fn set_faults(
    State(c): State<Control>,
    body: Result<Json<FaultsRequest>, JsonRejection>,
) -> Response {
    let Json(req) = match body {
        Ok(b) => b,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let w = c.world.lock().await;
    let f = apply_faults(&w, &req);
    Json(faults_json(&f)).into_response()
}

async fn clear_faults(State(c): State<Control>) -> Response {
    let w = c.world.lock().await;
    w.set_faults(Faults::default());
    Json(faults_json(&Faults::default())).into_response()
}

async fn sync(
    State(c): State<Control>,
    body: Result<Json<SyncRequest>, JsonRejection>,
) -> Response {
    let kind = match body.as_ref().map(|Json(b)| cycle_kind(&b.kind)) {
        Ok(Ok(k)) => k,
        Ok(Err(e)) => return error(StatusCode::BAD_REQUEST, e),
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let w = c.world.lock().await;
    match w.sync(kind).await {
        Ok(s) => Json(cycle_json(&s)).into_response(),
        Err(e) => error(StatusCode::CONFLICT, e.to_string()),
    }
}

async fn rights(
    State(c): State<Control>,
    body: Result<Json<RightsRequest>, JsonRejection>,
) -> Response {
    let req = match body {
        Ok(Json(r)) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, e.body_text()),
    };
    let right: Right = match req.right.parse() {
        Ok(r) => r,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("{e}")),
    };
    let w = c.world.lock().await;
    let to = req.to.clone().unwrap_or_else(|| w.connector_dn());
    let done = match req.action.as_str() {
        "grant" => w.grant(right, &req.on, Some(&to)).await.map(|()| true),
        "deny" => w.deny(right, &req.on, Some(&to)).await.map(|()| true),
        "revoke" => w.revoke(right, &req.on, Some(&to)).await,
        other => {
            return error(
                StatusCode::BAD_REQUEST,
                format!("action `{other}`: use grant, deny or revoke"),
            )
        }
    };
    match done {
        Ok(changed) => Json(json!({
            "action": req.action,
            "right": right.to_string(),
            "on": req.on,
            "to": to,
            "changed": changed,
        }))
        .into_response(),
        Err(e) => error(StatusCode::CONFLICT, e.to_string()),
    }
}
