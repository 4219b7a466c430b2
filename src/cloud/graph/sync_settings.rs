//! `onPremisesDirectorySynchronization` (v1.0): `GET /directory/onPremisesSynchronization`
//! (a list of one: the tenant's), `GET …/{id}` and `PATCH …/{id}` with `features`, the flags
//! Entra Connect sets when its wizard enables or disables a writeback feature
//! (`passwordWritebackEnabled` is what the password services check). Administrators only.
//! Left out: `configuration` beyond the sync interval, and the features writeback does
//! not touch (they read false and cannot be set).
//!
//! Beside Graph, on the same endpoint: the password reset service's onboarding of the
//! agent's public key ([`ONBOARDING`]; the real agent onboards with
//! `*.passwordreset.microsoftonline.com`, an undocumented protocol — GAP), which the
//! password services seal every request for.

use super::{not_found, Graph, GraphError, Need};
use crate::cloud::tenant::SyncFeatures;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::{json, Map, Value};

/// Where a feature's flag lives in [`SyncFeatures`].
type Field = fn(&mut SyncFeatures) -> &mut bool;

/// The writable features by their Graph names.
const FEATURES: [(&str, Field); 5] = [
    ("passwordWritebackEnabled", |f| &mut f.password_writeback),
    ("deviceWritebackEnabled", |f| &mut f.device_writeback),
    ("groupWriteBackEnabled", |f| &mut f.group_writeback),
    ("unifiedGroupWritebackEnabled", |f| {
        &mut f.unified_group_writeback
    }),
    ("userForcePasswordChangeOnLogonEnabled", |f| {
        &mut f.user_force_password_change_on_logon
    }),
];

fn object(g: &Graph) -> Value {
    let mut current = g.tenant().sync_features();
    let mut features = Map::new();
    for (name, field) in FEATURES {
        features.insert(name.into(), json!(*field(&mut current)));
    }
    json!({
        "id": g.tenant().id(),
        "configuration": { "synchronizationInterval": "PT30M" },
        "features": features,
    })
}

pub async fn list(State(g): State<Graph>, headers: HeaderMap) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadSyncSettings)?;
    Ok(Json(json!({
        "@odata.context": format!("{}/v1.0/$metadata#directory/onPremisesSynchronization", g.base()),
        "value": [object(&g)],
    })))
}

pub async fn one(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadSyncSettings)?;
    if !id.eq_ignore_ascii_case(&g.tenant().id()) {
        return Err(not_found(&id));
    }
    Ok(Json(object(&g)))
}

pub async fn patch(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteSyncSettings)?;
    let Json(body) = body?;
    if !id.eq_ignore_ascii_case(&g.tenant().id()) {
        return Err(not_found(&id));
    }
    let bad = |m: String| GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", m);
    let mut changes = Vec::new();
    if let Some(features) = body.get("features") {
        let Some(features) = features.as_object() else {
            return Err(bad("features must be an object".into()));
        };
        for (name, value) in features {
            let Some((_, field)) = FEATURES.iter().find(|(n, _)| n == name) else {
                return Err(bad(format!(
                    "Invalid property '{name}' on onPremisesDirectorySynchronizationFeature."
                )));
            };
            let Some(on) = value.as_bool() else {
                return Err(bad(format!("{name} must be true or false")));
            };
            changes.push((*field, on));
        }
    }
    g.tenant().set_sync_features(|f| {
        for (field, on) in changes {
            *field(f) = on;
        }
    });
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub use crate::writeback_protocol::ONBOARDING;

/// The onboarded agent key: its id and public key (404 when none is onboarded).
pub async fn agent_key(
    State(g): State<Graph>,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadSyncSettings)?;
    let key = g.tenant().writeback_key().ok_or_else(|| {
        GraphError::new(
            StatusCode::NOT_FOUND,
            "Request_ResourceNotFound",
            "no agent key is onboarded: password writeback is not enabled",
        )
    })?;
    Ok(Json(json!({
        "keyId": crate::writeback_protocol::SealingKey::id_of(&key),
        "publicKey": key,
    })))
}

pub async fn onboard_key(
    State(g): State<Graph>,
    headers: HeaderMap,
    body: Result<Json<Value>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteSyncSettings)?;
    let Json(body) = body?;
    let bad = |m: String| GraphError::new(StatusCode::BAD_REQUEST, "Request_BadRequest", m);
    let Some(key) = body.get("publicKey").and_then(Value::as_str) else {
        return Err(bad(
            "publicKey (base64 SPKI DER of the agent's RSA key) is required".into(),
        ));
    };
    // Only a key the password services can seal for is taken.
    crate::writeback_protocol::SealingKey::check(key).map_err(|e| bad(e.to_string()))?;
    g.tenant().set_writeback_key(Some(key.to_string()));
    Ok(StatusCode::NO_CONTENT.into_response())
}

pub async fn offboard_key(
    State(g): State<Graph>,
    headers: HeaderMap,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteSyncSettings)?;
    g.tenant().set_writeback_key(None);
    Ok(StatusCode::NO_CONTENT.into_response())
}
