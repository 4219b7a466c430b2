//! The Entra Connect server (`/console`), for an account of the domain's administrators
//! (signed in with its AD password, checked by a bind to the DC): the Synchronization
//! Service Manager's Operations (run history with counts and export errors) and Connectors
//! (search the connector space, see the pending export), `Get-ADSyncAADCompanyFeature`, the
//! Application log's PasswordResetService events, the scheduler (next cycle, run now), the
//! faults in force with their switches, and the verification codes the portal "sent".
//! `/console/stream` sends an event whenever any of it changes; the pages follow it.

use super::session::{sign_in_first, Caller};
use super::{done, Answer, Pages};
use crate::lab::control::{
    apply_faults, cycle_json, cycle_kind, event_json, faults_json, run_json, FaultsRequest,
    GraphFaultsRequest, LdapFaultsRequest, RelayFaultsRequest,
};
use crate::world::{Faults, World};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::convert::Infallible;
use std::time::Duration;

/// The groups whose members administer the sync server (besides the domain's Administrator).
const ADMIN_GROUPS: &[&str] = &["Domain Admins", "Enterprise Admins", "Administrators"];
/// How often the live view looks for changes.
const WATCH_EVERY: Duration = Duration::from_millis(500);
const RUNS_SHOWN: usize = 200;
const EVENTS_SHOWN: usize = 200;

pub(super) fn routes() -> Router<Pages> {
    Router::new()
        .route("/console", get(operations))
        .route("/console/signin", get(sign_in_page).post(sign_in))
        .route("/console/connectors", get(connectors))
        .route("/console/features", get(features))
        .route("/console/events", get(events))
        .route("/console/scheduler", get(scheduler))
        .route("/console/scheduler/run", post(run_now))
        .route("/console/faults", get(faults).post(set_faults))
        .route("/console/faults/clear", post(clear_faults))
        .route("/console/codes", get(codes))
        .route("/console/stream", get(stream))
}

/// `None` for an admin of the server (or a script with the token); otherwise where to sign in.
fn not_signed_in(caller: &Caller, headers: &HeaderMap, here: &str) -> Option<Response> {
    if caller.is_script() || caller.console_user().is_some() {
        return None;
    }
    Some(sign_in_first(
        headers,
        &format!("/console/signin?next={here}"),
    ))
}

fn tab(name: &str, mut data: Value) -> Answer {
    if let Some(d) = data.as_object_mut() {
        d.insert("tab".into(), json!(name));
    }
    Answer::page("console.html", data)
}

#[derive(Debug, Default, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
}

async fn sign_in_page(
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<SignInQuery>,
) -> Response {
    Answer::page(
        "console-signin.html",
        json!({ "next": super::local_path(q.next.as_deref().or(Some("/console"))) }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
struct SignInForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    next: Option<String>,
}

/// Is `account` (a DN, UPN or `DOMAIN\sam`) the domain's Administrator or in one of the
/// administrators' groups?
async fn administers(w: &World, account: &str) -> bool {
    let domain = w.domain_dn();
    let entry = if account.contains('=') {
        w.ad_entry(account).await
    } else {
        let filter = match account.split_once('\\') {
            Some((_, sam)) => format!("(sAMAccountName={})", escape(sam)),
            None => format!("(userPrincipalName={})", escape(account)),
        };
        w.ad_search(&domain, &filter, 1)
            .await
            .ok()
            .and_then(|mut v| v.pop())
    };
    let Some(entry) = entry else { return false };
    if crate::world::ad::same_dn(&entry.dn(), &w.admin_dn()) {
        return true;
    }
    entry.readable("memberOf").iter().any(|g| {
        ADMIN_GROUPS.iter().any(|name| {
            g.to_ascii_lowercase()
                .starts_with(&format!("cn={},", name.to_ascii_lowercase()))
        })
    })
}

/// RFC 4515 escaping of a filter value.
fn escape(v: &str) -> String {
    v.chars()
        .map(|c| match c {
            '*' | '(' | ')' | '\\' | '\0' => format!("\\{:02x}", c as u32),
            c => c.to_string(),
        })
        .collect()
}

async fn sign_in(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<SignInForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let next = super::local_path(f.next.as_deref().or(Some("/console")));
    let again = |problem: String| {
        Answer::page(
            "console-signin.html",
            json!({ "next": next, "username": f.username, "problem": problem }),
        )
        .status(StatusCode::UNAUTHORIZED)
        .render(&caller, &headers)
    };
    let user = f.username.trim();
    if user.is_empty() || f.password.is_empty() {
        return again("Enter a user name and a password.".into());
    }
    let w = p.world.lock().await;
    if let Err(e) = w.sign_in(user, &f.password).await {
        return again(format!("The user name or password is incorrect ({e})."));
    }
    if !administers(&w, user).await {
        return again(format!(
            "{user} is not an administrator of this server (members of {} may sign in).",
            ADMIN_GROUPS.join(", ")
        ));
    }
    p.sessions.console_signed_in(&caller, user.to_string());
    done(&headers, &next, json!({ "signed_in": user }))
}

#[derive(Debug, Default, Deserialize)]
struct OperationsQuery {
    /// A row to show in full (its number in the list).
    #[serde(default)]
    run: Option<usize>,
}

async fn operations(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<OperationsQuery>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console") {
        return r;
    }
    let w = p.world.lock().await;
    let runs = w.runs();
    let total = runs.len();
    // Newest first, numbered as the history counts them (1 is the first run).
    let rows: Vec<Value> = runs
        .iter()
        .enumerate()
        .rev()
        .take(RUNS_SHOWN)
        .map(|(i, r)| {
            let mut v = run_json(r);
            v["number"] = json!(i + 1);
            v
        })
        .collect();
    let selected = q
        .run
        .and_then(|n| n.checked_sub(1))
        .and_then(|i| runs.get(i))
        .map(|r| {
            let mut v = run_json(r);
            v["number"] = json!(q.run);
            v
        });
    tab(
        "operations",
        json!({ "total": total, "runs": rows, "selected": selected }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Default, Deserialize)]
struct SearchQuery {
    #[serde(default)]
    search: String,
}

async fn connectors(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<SearchQuery>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/connectors") {
        return r;
    }
    let w = p.world.lock().await;
    let mut connectors: Vec<String> = w.runs().into_iter().filter_map(|r| r.connector).collect();
    connectors.sort();
    connectors.dedup();
    let rows = w.connector_space(&q.search);
    let pending = rows.iter().filter(|r| r.pending_export.is_some()).count();
    tab(
        "connectors",
        json!({
            "connectors": connectors,
            "search": q.search,
            "objects": rows,
            "pending": pending,
        }),
    )
    .render(&caller, &headers)
}

async fn features(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/features") {
        return r;
    }
    let w = p.world.lock().await;
    let rows: Vec<Value> = w
        .features()
        .rows()
        .into_iter()
        .map(|(name, value)| json!({ "name": name, "value": value }))
        .collect();
    tab("features", json!({ "features": rows })).render(&caller, &headers)
}

#[derive(Debug, Default, Deserialize)]
struct EventsQuery {
    /// `PasswordResetService` (the default), `Directory Synchronization` or `all`.
    #[serde(default)]
    source: Option<String>,
    #[serde(default)]
    id: Option<u32>,
}

async fn events(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(q): Query<EventsQuery>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/events") {
        return r;
    }
    let source = q
        .source
        .clone()
        .unwrap_or_else(|| "PasswordResetService".into());
    let w = p.world.lock().await;
    let rows: Vec<Value> = w
        .events_since(crate::world::HistoryMark::default())
        .iter()
        .rev()
        .filter(|e| source == "all" || e.source.to_string() == source)
        .filter(|e| q.id.is_none_or(|id| e.id == id))
        .take(EVENTS_SHOWN)
        .map(event_json)
        .collect();
    tab(
        "events",
        json!({ "source": source, "id": q.id, "events": rows }),
    )
    .render(&caller, &headers)
}

async fn scheduler(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/scheduler") {
        return r;
    }
    let w = p.world.lock().await;
    tab(
        "scheduler",
        json!({
            "now": w.now(),
            "next_cycle": w.next_cycle(),
            "interval": crate::lab::humantime(p.cfg.cycle_interval),
            "last": w.runs().iter().rev().find(|r| r.connector.is_some()).map(run_json),
        }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
struct RunForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    kind: String,
}

/// `Start-ADSyncSyncCycle -PolicyType Delta | Initial`.
async fn run_now(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<RunForm>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/scheduler") {
        return r;
    }
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let kind = match cycle_kind(&f.kind) {
        Ok(k) => k,
        Err(e) => {
            return Answer::message(
                StatusCode::BAD_REQUEST,
                "Not started",
                &e,
                "/console/scheduler",
            )
            .render(&caller, &headers)
        }
    };
    let result = p.world.lock().await.sync(kind).await;
    match result {
        Ok(s) => done(&headers, "/console", cycle_json(&s)),
        Err(e) => Answer::message(
            StatusCode::CONFLICT,
            "Not started",
            &e.to_string(),
            "/console/scheduler",
        )
        .render(&caller, &headers),
    }
}

fn faults_page(f: &Faults) -> Value {
    json!({ "faults": faults_json(f), "on": faults_on(f) })
}

/// The faults in force, in words.
fn faults_on(f: &Faults) -> Vec<String> {
    let mut on = Vec::new();
    if f.relay.down {
        on.push("relay down (Service Bus unreachable)".to_string());
    }
    if let Some(l) = f.relay.latency {
        on.push(format!("relay latency {} ms", l.as_millis()));
    }
    if f.ldap.down {
        on.push("domain controller unreachable".to_string());
    }
    if let Some(l) = f.ldap.latency {
        on.push(format!("LDAP latency {} ms", l.as_millis()));
    }
    if let Some(s) = f.graph.status {
        on.push(format!("Microsoft Graph answers {s}"));
    }
    if f.graph.throttle > 0 {
        on.push(format!(
            "Microsoft Graph throttles the next {} requests",
            f.graph.throttle
        ));
    }
    if let Some(l) = f.graph.latency {
        on.push(format!("Microsoft Graph latency {} ms", l.as_millis()));
    }
    if f.graph.empty_pages {
        on.push("Microsoft Graph sends empty delta pages".to_string());
    }
    on
}

async fn faults(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/faults") {
        return r;
    }
    let f = p.world.lock().await.faults();
    tab("faults", faults_page(&f)).render(&caller, &headers)
}

/// The switches of the faults page: a checkbox is absent when off.
#[derive(Debug, Deserialize)]
struct FaultsForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    relay_down: Option<String>,
    #[serde(default)]
    relay_latency_ms: Option<String>,
    #[serde(default)]
    ldap_down: Option<String>,
    #[serde(default)]
    ldap_latency_ms: Option<String>,
    #[serde(default)]
    graph_unavailable: Option<String>,
    #[serde(default)]
    graph_throttle: Option<String>,
    #[serde(default)]
    graph_latency_ms: Option<String>,
}

/// A number field: empty is 0.
fn number<T: std::str::FromStr + Default>(name: &str, v: &Option<String>) -> Result<T, String> {
    match v.as_deref().map(str::trim) {
        None | Some("") => Ok(T::default()),
        Some(t) => t
            .parse()
            .map_err(|_| format!("{name}: `{t}` is not a whole number")),
    }
}

impl FaultsForm {
    fn request(&self) -> Result<FaultsRequest, String> {
        Ok(FaultsRequest {
            relay: RelayFaultsRequest {
                latency_ms: Some(number("relay latency", &self.relay_latency_ms)?),
                down: Some(self.relay_down.is_some()),
                drop_listener: false,
            },
            ldap: LdapFaultsRequest {
                latency_ms: Some(number("LDAP latency", &self.ldap_latency_ms)?),
                down: Some(self.ldap_down.is_some()),
                reset_connections: false,
            },
            graph: GraphFaultsRequest {
                throttle: Some(number("Graph throttling", &self.graph_throttle)?),
                retry_after_ms: None,
                status: Some(if self.graph_unavailable.is_some() {
                    503
                } else {
                    0
                }),
                latency_ms: Some(number("Graph latency", &self.graph_latency_ms)?),
                empty_pages: None,
            },
        })
    }
}

async fn set_faults(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(form): Form<FaultsForm>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/faults") {
        return r;
    }
    if let Some(r) = caller.csrf_refusal(&form.csrf, &headers) {
        return r;
    }
    let req = match form.request() {
        Ok(r) => r,
        Err(e) => {
            return Answer::message(
                StatusCode::BAD_REQUEST,
                "Not changed",
                &e,
                "/console/faults",
            )
            .render(&caller, &headers)
        }
    };
    let f = apply_faults(&*p.world.lock().await, &req);
    done(&headers, "/console/faults", faults_page(&f))
}

#[derive(Debug, Deserialize)]
struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

async fn clear_faults(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(form): Form<CsrfOnly>,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/faults") {
        return r;
    }
    if let Some(r) = caller.csrf_refusal(&form.csrf, &headers) {
        return r;
    }
    p.world.lock().await.set_faults(Faults::default());
    done(&headers, "/console/faults", faults_page(&Faults::default()))
}

async fn codes(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console/codes") {
        return r;
    }
    tab("codes", json!({ "codes": p.sessions.outbox() })).render(&caller, &headers)
}

/// What the console shows, in one number that moves with any change of it.
async fn fingerprint(p: &Pages) -> String {
    let w = p.world.lock().await;
    let g = w.generations();
    format!(
        "{:?}-{}-{}-{}-{:?}-{}",
        w.history_mark(),
        g.engine,
        g.tenant,
        faults_json(&w.faults()),
        w.next_cycle(),
        p.sessions.sent()
    )
}

/// Server-sent events: `change` whenever what the console shows changed.
async fn stream(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    if let Some(r) = not_signed_in(&caller, &headers, "/console") {
        return r;
    }
    // Ends when the lab stops, so that shutdown need not wait for the browser.
    let events = futures::stream::unfold(
        (p, String::new(), 0u64),
        |(p, mut last, mut n)| async move {
            loop {
                let now = tokio::select! {
                    _ = p.stop.cancelled() => return None,
                    now = fingerprint(&p) => now,
                };
                let changed = now != last;
                last = now;
                // At most one event per look, however fast things change.
                tokio::select! {
                    _ = p.stop.cancelled() => return None,
                    _ = tokio::time::sleep(WATCH_EVERY) => {}
                }
                if changed {
                    n += 1;
                    let event = SseEvent::default().event("change").data(n.to_string());
                    return Some((Ok::<_, Infallible>(event), (p, last, n)));
                }
            }
        },
    );
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}
