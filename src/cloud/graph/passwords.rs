//! The password endpoints: `POST /v1.0/users/{id}/authentication/methods/{id}/resetPassword`
//! (an admin's reset: 202 + Location of a long-running operation that `GET` reports as
//! running / succeeded / failed) and `POST /v1.0/me/changePassword` (204 or the reason),
//! both through the tenant's password services, the relay and the engine.

use super::{not_found, Caller, Graph, GraphError, Need, PASSWORD_METHOD_ID};
use crate::cloud::sspr::{AnswerOutcome, UserAnswer};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};
use std::sync::atomic::Ordering;

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResetBody {
    new_password: Option<String>,
}

pub async fn reset_password(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path((id, method)): Path<(String, String)>,
    body: Result<Json<ResetBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    let admin = match g.authorize(&headers, Need::ResetPassword)? {
        Caller::User { upn, .. } => upn,
        Caller::App { .. } => String::new(),
    };
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

pub async fn operation(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path((_, op)): Path<(String, String)>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ResetPassword)?;
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
pub struct ChangeBody {
    current_password: String,
    new_password: String,
}

pub async fn change_password(
    State(g): State<Graph>,
    headers: HeaderMap,
    body: Result<Json<ChangeBody>, JsonRejection>,
) -> Result<Response, GraphError> {
    let upn = match g.authorize(&headers, Need::ChangeOwnPassword)? {
        Caller::User { upn, .. } => upn,
        Caller::App { .. } => {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                "/me request is only valid with delegated authentication flow.",
            ))
        }
    };
    let Json(body) = body?;
    if g.tenant().user(&upn).is_none() {
        return Err(not_found(&upn));
    }
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
        // What stopped it is said by its SSPR code: the on-premises service unreachable or
        // late is the service being unavailable; a gate or the on-premises configuration
        // refuses the caller. Never a 500: nothing went wrong in Graph itself.
        AnswerOutcome::Failed => Err(match a.sspr_code() {
            Some("SSPR_0030") => GraphError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "serviceNotAvailable",
                describe(&a),
            ),
            _ => GraphError::new(StatusCode::FORBIDDEN, "accessDenied", describe(&a)),
        }),
    }
}
