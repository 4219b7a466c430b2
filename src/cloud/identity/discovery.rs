//! Discovery: the OpenID configuration a client reads its endpoints from, the JWKS that
//! publishes the signing key, and the home-realm discovery MSAL does before a password
//! grant (`Managed` for the tenant's domains).

use super::token::AadError;
use super::Identity;
use axum::extract::{Path, State};
use axum::Json;
use serde_json::{json, Value};

pub async fn openid_configuration(
    State(id): State<Identity>,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, AadError> {
    id.known_tenant(&tenant)?;
    let a = id.authority();
    Ok(Json(json!({
        "token_endpoint": format!("{a}/oauth2/v2.0/token"),
        "token_endpoint_auth_methods_supported": ["client_secret_post", "client_secret_basic"],
        "jwks_uri": format!("{a}/discovery/v2.0/keys"),
        "response_modes_supported": ["query", "fragment", "form_post"],
        "subject_types_supported": ["pairwise"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
        "scopes_supported": ["openid", "profile", "email", "offline_access"],
        "issuer": format!("{a}/v2.0"),
        "request_uri_parameter_supported": false,
        "authorization_endpoint": format!("{a}/oauth2/v2.0/authorize"),
        "device_authorization_endpoint": format!("{a}/oauth2/v2.0/devicecode"),
        "end_session_endpoint": format!("{a}/oauth2/v2.0/logout"),
        "claims_supported": ["sub", "iss", "aud", "exp", "iat", "nbf", "name", "oid", "preferred_username", "tid", "ver"],
        "tenant_region_scope": "EU",
        "cloud_instance_name": "microsoftonline.com",
        "msgraph_host": "graph.microsoft.com",
    })))
}

pub async fn keys(
    State(id): State<Identity>,
    Path(tenant): Path<String>,
) -> Result<Json<Value>, AadError> {
    id.known_tenant(&tenant)?;
    let k = &id.key;
    Ok(Json(json!({
        "keys": [{
            "kty": "RSA",
            "use": "sig",
            "alg": "RS256",
            "kid": k.kid,
            "x5t": k.kid,
            "n": k.n,
            "e": k.e,
            "issuer": format!("{}/v2.0", id.authority()),
        }]
    })))
}

pub async fn user_realm(State(id): State<Identity>, Path(user): Path<String>) -> Json<Value> {
    let domain = user.rsplit('@').next().unwrap_or_default().to_string();
    let ours = id.is_tenant(&domain);
    Json(json!({
        "ver": "1.0",
        "account_type": if ours { "Managed" } else { "Unknown" },
        "domain_name": domain,
        "cloud_instance_name": "microsoftonline.com",
        "cloud_audience_urn": "urn:federation:MicrosoftOnline",
    }))
}
