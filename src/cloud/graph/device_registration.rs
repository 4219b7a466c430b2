//! Registering a device through Graph (`POST /v1.0/devices`, device-post-devices.md) and
//! giving it a registered owner (`POST /v1.0/devices/{id}/registeredOwners/$ref`). Creating
//! is delegated only, by a Global, Intune or Windows 365 Administrator; the body names the
//! device (`deviceId`, `displayName`, `operatingSystem`, `operatingSystemVersion`,
//! `accountEnabled`) and its key (`alternativeSecurityIds`), as a joining device would.

use super::devices::device_json;
use super::{not_found, Graph, GraphError, Need};
use crate::cloud::tenant::{AlternativeSecurityId, CloudDevice};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewDevice {
    account_enabled: Option<bool>,
    #[serde(default)]
    alternative_security_ids: Vec<NewSecurityId>,
    device_id: Option<String>,
    display_name: Option<String>,
    operating_system: Option<String>,
    operating_system_version: Option<String>,
    /// `Workplace` (registered, the default here), `AzureAd` (joined) or `ServerAd`.
    trust_type: Option<String>,
}

#[derive(Debug, Deserialize)]
pub struct NewSecurityId {
    #[serde(rename = "type")]
    kind: i32,
    key: String,
}

fn invalid(property: &str) -> GraphError {
    GraphError::new(
        StatusCode::BAD_REQUEST,
        "Request_BadRequest",
        format!("Invalid value specified for property '{property}' of resource 'Device'."),
    )
}

fn text(value: Option<String>, property: &str) -> Result<String, GraphError> {
    value
        .filter(|v| !v.trim().is_empty())
        .ok_or_else(|| invalid(property))
}

/// `POST /v1.0/devices`: 201 and the device.
pub async fn create(
    State(g): State<Graph>,
    headers: HeaderMap,
    body: Result<Json<NewDevice>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::RegisterDevice)?;
    let Json(body) = body?;
    let device_id = text(body.device_id, "deviceId")?;
    if uuid::Uuid::parse_str(&device_id).is_err() {
        return Err(invalid("deviceId"));
    }
    let display_name = text(body.display_name, "displayName")?;
    let operating_system = text(body.operating_system, "operatingSystem")?;
    let operating_system_version = text(body.operating_system_version, "operatingSystemVersion")?;
    let account_enabled = body
        .account_enabled
        .ok_or_else(|| invalid("accountEnabled"))?;
    if body.alternative_security_ids.is_empty()
        || body
            .alternative_security_ids
            .iter()
            .any(|a| B64.decode(&a.key).is_err())
    {
        return Err(invalid("alternativeSecurityIds"));
    }
    let trust_type = body.trust_type.unwrap_or_else(|| "Workplace".into());
    if !["Workplace", "AzureAd", "ServerAd"].contains(&trust_type.as_str()) {
        return Err(invalid("trustType"));
    }
    if g.tenant.device(&device_id).is_some() {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Another object with the same value for property deviceId already exists.",
        ));
    }
    let device = CloudDevice {
        id: uuid::Uuid::new_v4().hyphenated().to_string(),
        device_id,
        display_name,
        operating_system,
        operating_system_version,
        trust_type,
        account_enabled,
        alternative_security_ids: body
            .alternative_security_ids
            .into_iter()
            .map(|a| AlternativeSecurityId {
                kind: a.kind,
                key: a.key,
            })
            .collect(),
        registered_owners: vec![],
        is_compliant: false,
        is_managed: false,
        physical_ids: vec![],
        registration_date_time: g.clock.now(),
    };
    g.tenant.put_device(device.clone());
    let mut m = device_json(&device);
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#devices/$entity", g.base())),
    );
    Ok((StatusCode::CREATED, Json(Value::Object(m))).into_response())
}

#[derive(Debug, Deserialize)]
pub struct Reference {
    #[serde(rename = "@odata.id")]
    odata_id: String,
}

/// `POST /v1.0/devices/{id}/registeredOwners/$ref` with
/// `{"@odata.id": "https://graph.microsoft.com/v1.0/directoryObjects/{user id}"}`: 204.
pub async fn add_owner(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<Reference>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteDevices)?;
    let Json(reference) = body?;
    let device = g.tenant.device_by_id(&id).ok_or_else(|| not_found(&id))?;
    let user_id = reference
        .odata_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_string();
    let user = g.tenant.user(&user_id).ok_or_else(|| not_found(&user_id))?;
    if device.registered_owners.contains(&user.id) {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "One or more added object references already exist for the following modified properties: 'registeredOwners'.",
        ));
    }
    g.tenant
        .update_device(&device.id, |d| d.registered_owners.push(user.id.clone()));
    Ok(StatusCode::NO_CONTENT.into_response())
}
