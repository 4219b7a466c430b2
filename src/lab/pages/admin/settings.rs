//! What a Global Administrator changes in the admin center: the Password reset blade
//! (Properties, On-premises integration), the tenant's licence, the group settings' "Write
//! back Microsoft 365 groups to on-premises" and a group's own writeback.

use super::{admin, page, refused, SETTINGS_ROLE};
use crate::lab::pages::session::Caller;
use crate::lab::pages::{done, Answer, Pages};
use crate::world::{GroupUpdate, License, SsprChange, SsprEnabled, TenantChange};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::{Extension, Form};
use serde::Deserialize;
use serde_json::json;

#[derive(Debug, Deserialize)]
pub(super) struct SwitchForm {
    #[serde(default)]
    csrf: String,
    /// `yes` or `no`.
    #[serde(default)]
    value: String,
}

impl SwitchForm {
    fn yes(&self) -> Option<bool> {
        match self.value.as_str() {
            "yes" => Some(true),
            "no" => Some(false),
            _ => None,
        }
    }
}

fn bad_value(caller: &Caller, headers: &HeaderMap, back: &str) -> Response {
    Answer::message(
        StatusCode::BAD_REQUEST,
        "Not saved",
        "Choose Yes or No.",
        back,
    )
    .render(caller, headers)
}

/// "Write back Microsoft 365 groups to on-premises" (Group settings).
pub(super) async fn group_settings(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<SwitchForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let mut w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/groups").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !a.has(&[SETTINGS_ROLE]) {
        return refused(&caller, &headers, "change group settings", SETTINGS_ROLE);
    }
    let Some(yes) = f.yes() else {
        return bad_value(&caller, &headers, "/admin/groups");
    };
    let changed = w.change_tenant_settings(TenantChange {
        group_writeback_default: Some(yes),
        ..TenantChange::default()
    });
    done(&headers, "/admin/groups", json!({ "changed": changed }))
}

/// A group's writeback setting (`writebackConfiguration.isEnabled`).
pub(super) async fn group_writeback(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Form(f): Form<SwitchForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/groups").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !a.has(&[SETTINGS_ROLE]) {
        return refused(
            &caller,
            &headers,
            "change a group's writeback",
            SETTINGS_ROLE,
        );
    }
    let Some(yes) = f.yes() else {
        return bad_value(&caller, &headers, "/admin/groups");
    };
    match w.update_group(GroupUpdate {
        name: id,
        writeback: Some(yes),
        ..GroupUpdate::default()
    }) {
        Ok(changed) => done(&headers, "/admin/groups", json!({ "changed": changed })),
        Err(e) => Answer::message(
            StatusCode::CONFLICT,
            "Not saved",
            &e.to_string(),
            "/admin/groups",
        )
        .render(&caller, &headers),
    }
}

fn sspr_json(s: &crate::world::TenantSettings) -> serde_json::Value {
    json!({
        "enabled": s.sspr_enabled,
        "selected_group": s.sspr_selected_group,
        "writeback": s.sspr_writeback,
        "unlock_option": s.unlock_option,
    })
}

pub(super) async fn password_reset(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/password-reset").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    let s = w.tenant_settings();
    let features = w.features();
    page(
        "password-reset",
        &a,
        json!({
            "sspr": sspr_json(&s),
            // What the on-premises side says (On-premises integration shows the service's
            // state from Entra Connect).
            "connect_password_writeback": features.password_writeback,
        }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
pub(super) struct PasswordResetForm {
    #[serde(default)]
    csrf: String,
    /// `none`, `selected` or `all`.
    #[serde(default)]
    enabled: String,
    #[serde(default)]
    selected_group: String,
    /// `yes` or `no`.
    #[serde(default)]
    writeback: String,
    #[serde(default)]
    unlock_option: String,
}

pub(super) async fn save_password_reset(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<PasswordResetForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let mut w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/password-reset").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !a.has(&[SETTINGS_ROLE]) {
        return refused(
            &caller,
            &headers,
            "change the password reset policy",
            SETTINGS_ROLE,
        );
    }
    let enabled = match f.enabled.as_str() {
        "none" => SsprEnabled::None,
        "selected" => SsprEnabled::Selected,
        "all" => SsprEnabled::All,
        _ => {
            return Answer::message(
                StatusCode::BAD_REQUEST,
                "Not saved",
                "Self service password reset enabled: choose None, Selected or All.",
                "/admin/password-reset",
            )
            .render(&caller, &headers)
        }
    };
    let group = f.selected_group.trim().to_string();
    if enabled == SsprEnabled::Selected && group.is_empty() {
        return Answer::message(
            StatusCode::BAD_REQUEST,
            "Not saved",
            "With Selected, name the group whose members may reset their password.",
            "/admin/password-reset",
        )
        .render(&caller, &headers);
    }
    let current = w.tenant_settings();
    let yes = |v: &str, default: bool| match v {
        "yes" => true,
        "no" => false,
        _ => default,
    };
    let changed = w.change_tenant_settings(TenantChange {
        sspr: Some(SsprChange {
            enabled,
            writeback: yes(&f.writeback, current.sspr_writeback),
            selected_group: (enabled == SsprEnabled::Selected).then_some(group),
            unlock_option: yes(&f.unlock_option, current.unlock_option),
        }),
        ..TenantChange::default()
    });
    done(
        &headers,
        "/admin/password-reset",
        json!({ "changed": changed, "sspr": sspr_json(&w.tenant_settings()) }),
    )
}

pub(super) async fn licenses(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/licenses").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    page(
        "licenses",
        &a,
        json!({ "license": w.tenant_settings().license }),
    )
    .render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
pub(super) struct LicenseForm {
    #[serde(default)]
    csrf: String,
    /// `None`, `P1` or `P2`.
    #[serde(default)]
    license: String,
}

pub(super) async fn save_license(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<LicenseForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let mut w = p.world.lock().await;
    let a = match admin(&w, &caller, &headers, "/admin/licenses").await {
        Ok(a) => a,
        Err(r) => return *r,
    };
    if !a.has(&[SETTINGS_ROLE]) {
        return refused(&caller, &headers, "change licences", SETTINGS_ROLE);
    }
    let license = match f.license.as_str() {
        "None" | "none" => License::None,
        "P1" | "p1" => License::P1,
        "P2" | "p2" => License::P2,
        other => {
            return Answer::message(
                StatusCode::BAD_REQUEST,
                "Not saved",
                &format!("Licence `{other}`: choose None, P1 or P2."),
                "/admin/licenses",
            )
            .render(&caller, &headers)
        }
    };
    let changed = w.change_tenant_settings(TenantChange {
        license: Some(license),
        ..TenantChange::default()
    });
    done(
        &headers,
        "/admin/licenses",
        json!({ "changed": changed, "license": license }),
    )
}
