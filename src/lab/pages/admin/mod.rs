//! The Entra admin center (`/admin`), signed in at the identity platform as a user with an
//! admin role: users with their sync state and their AD account, an admin's password reset
//! ("Require this user to change their password when they first sign in"), the Password
//! reset blade (Properties, On-premises integration), licences, devices, and groups with
//! their writeback setting ("Write back Microsoft 365 groups to on-premises").
//!
//! This file: who may enter, the lists, a user and the reset. [`settings`]: what a Global
//! Administrator changes (the Password reset blade, licences, group writeback).

mod settings;

use super::portal::{outcome, status_of};
use super::session::{sign_in_first, Caller};
use super::{Answer, Pages};
use crate::world::{Query, World};
use axum::extract::{Path, Query as UrlQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::json;

/// Roles that may reset another user's password in the admin center.
const RESET_ROLES: &[&str] = &[
    "Global Administrator",
    "Privileged Authentication Administrator",
    "Authentication Administrator",
    "Helpdesk Administrator",
    "Password Administrator",
    "User Administrator",
];
/// Roles that may read the admin center (besides those).
const READ_ROLES: &[&str] = &["Hybrid Identity Administrator", "Global Reader"];
/// Changing tenant settings, licences and groups takes a Global Administrator here.
const SETTINGS_ROLE: &str = "Global Administrator";
const PAGE: usize = 50;

pub(super) fn routes() -> Router<Pages> {
    Router::new()
        .route("/admin", get(overview))
        .route("/admin/users", get(users))
        .route("/admin/users/{upn}", get(user))
        .route("/admin/users/{upn}/reset-password", post(reset_password))
        .route("/admin/devices", get(devices))
        .route("/admin/groups", get(groups))
        .route("/admin/groups/settings", post(settings::group_settings))
        .route(
            "/admin/groups/{id}/writeback",
            post(settings::group_writeback),
        )
        .route(
            "/admin/password-reset",
            get(settings::password_reset).post(settings::save_password_reset),
        )
        .route(
            "/admin/licenses",
            get(settings::licenses).post(settings::save_license),
        )
}

/// Who may do what, once signed in.
struct Admin {
    upn: String,
    roles: Vec<String>,
    script: bool,
}

impl Admin {
    fn has(&self, roles: &[&str]) -> bool {
        self.script || self.roles.iter().any(|r| roles.contains(&r.as_str()))
    }
}

/// The signed-in admin, or the answer for someone who is not one.
async fn admin(
    w: &World,
    caller: &Caller,
    headers: &HeaderMap,
    here: &str,
) -> Result<Admin, Box<Response>> {
    if caller.is_script() {
        return Ok(Admin {
            upn: "control token".into(),
            roles: vec![],
            script: true,
        });
    }
    let Some(upn) = caller.user() else {
        return Err(Box::new(sign_in_first(
            headers,
            &format!("/signin?next={here}"),
        )));
    };
    let roles = w.cloud_user(upn).await.map(|u| u.roles).unwrap_or_default();
    let a = Admin {
        upn: upn.to_string(),
        roles,
        script: false,
    };
    if !a.has(RESET_ROLES) && !a.has(READ_ROLES) {
        return Err(Box::new(Answer::message(
            StatusCode::FORBIDDEN,
            "You don't have access",
            &format!("{upn} has no administrator role in this tenant. Sign in with an admin account (lab.json names one: admin_upn)."),
            "/",
        )
        .render(caller, headers)));
    }
    Ok(a)
}

fn refused(caller: &Caller, headers: &HeaderMap, what: &str, roles: &str) -> Response {
    Answer::message(
        StatusCode::FORBIDDEN,
        "Insufficient privileges",
        &format!("You need the {roles} role to {what}."),
        "/admin",
    )
    .render(caller, headers)
}

fn page(view: &str, a: &Admin, mut data: serde_json::Value) -> Answer {
    if let Some(d) = data.as_object_mut() {
        d.insert("view".into(), json!(view));
        d.insert("admin".into(), json!({ "upn": a.upn, "roles": a.roles }));
    }
    Answer::page("admin.html", data)
}

async fn overview(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let s = w.tenant_settings();
    let all = Query::default();
    page(
        "overview",
        &a,
        json!({
            "tenant": { "domain": s.domain, "id": w.endpoints().tenant_id, "license": s.license },
            "counts": {
                "users": w.cloud_users(&Query { limit: 1, ..all.clone() }).await.total,
                "devices": w.cloud_devices(&Query { limit: 1, ..all.clone() }).total,
                "groups": w.cloud_groups(&Query { limit: 1, ..all }).total,
            },
            "sync_features": w.features().rows().into_iter().map(|(k, v)| json!({"name": k, "value": v})).collect::<Vec<_>>(),
        }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    #[serde(default)]
    search: String,
    #[serde(default)]
    offset: usize,
}

impl ListQuery {
    fn query(&self) -> Query {
        Query {
            search: self.search.clone(),
            offset: self.offset,
            limit: PAGE,
        }
    }
}

/// Where the previous and next pages of a list start.
fn paging(total: usize, offset: usize) -> serde_json::Value {
    json!({
        "total": total,
        "offset": offset,
        "previous": (offset > 0).then(|| offset.saturating_sub(PAGE)),
        "next": (offset + PAGE < total).then_some(offset + PAGE),
    })
}

async fn users(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    UrlQuery(q): UrlQuery<ListQuery>,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/users").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let list = w.cloud_users(&q.query()).await;
    page(
        "users",
        &a,
        json!({ "search": q.search, "paging": paging(list.total, list.offset), "users": list.rows }),
    )
    .render(&caller, &headers)
}

async fn user(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(upn): Path<String>,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/users").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    match w.cloud_user(&upn).await {
        Some(u) => page("user", &a, json!({ "user": u })).render(&caller, &headers),
        None => Answer::message(
            StatusCode::NOT_FOUND,
            "User not found",
            &format!("There is no user {upn} in this tenant."),
            "/admin/users",
        )
        .render(&caller, &headers),
    }
}

#[derive(Debug, Deserialize)]
struct ResetForm {
    #[serde(default)]
    csrf: String,
    /// Empty: the admin center makes a temporary password up.
    #[serde(default)]
    password: String,
    /// "Require this user to change their password when they first sign in".
    #[serde(default)]
    force_change: Option<String>,
}

async fn reset_password(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(upn): Path<String>,
    Form(f): Form<ResetForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/users").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !a.has(RESET_ROLES) {
        return refused(
            &caller,
            &headers,
            "reset passwords",
            "Helpdesk Administrator (or a higher)",
        );
    }
    let Some(user) = w.cloud_user(&upn).await else {
        return Answer::message(
            StatusCode::NOT_FOUND,
            "User not found",
            &format!("There is no user {upn} in this tenant."),
            "/admin/users",
        )
        .render(&caller, &headers);
    };
    let generated = f.password.is_empty();
    let password = if generated {
        crate::lab::password()
    } else {
        f.password.clone()
    };
    let force = f.force_change.is_some();
    let answer = w.admin_reset(&upn, &password, force).await;
    let user = w.cloud_user(&upn).await.unwrap_or(user);
    let ok = answer.outcome == crate::world::AnswerOutcome::Ok;
    page(
        "user",
        &a,
        json!({
            "user": user,
            "reset": {
                "answer": outcome(&answer),
                "force_change": force,
                // Shown once, as the admin center does, and only when it made one up.
                "temporary_password": (ok && generated).then_some(password),
            },
        }),
    )
    .status(status_of(&answer))
    .render(&caller, &headers)
}

async fn devices(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    UrlQuery(q): UrlQuery<ListQuery>,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/devices").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let list = w.cloud_devices(&q.query());
    page(
        "devices",
        &a,
        json!({ "search": q.search, "paging": paging(list.total, list.offset), "devices": list.rows }),
    )
    .render(&caller, &headers)
}

async fn groups(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    UrlQuery(q): UrlQuery<ListQuery>,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/groups").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let list = w.cloud_groups(&q.query());
    page(
        "groups",
        &a,
        json!({
            "search": q.search,
            "paging": paging(list.total, list.offset),
            "groups": list.rows,
            "group_writeback_default": w.tenant_settings().group_writeback_default,
        }),
    )
    .render(&caller, &headers)
}
