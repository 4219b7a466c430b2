//! The token endpoint (`POST /{tenant}/oauth2/v2.0/token`): client credentials, the
//! resource-owner password grant and refresh tokens, each checked as the real endpoint
//! checks it, with the AADSTS error JSON it answers when something is wrong.

use super::{
    derived_id, Caller, Identity, Refresh, GRAPH_APP_ID, GRAPH_RESOURCE, TOKEN_LIFETIME_SECS,
};
use crate::cloud::tenant::{password_hash, AppRegistration, CloudUser};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Form, Json};
use base64::engine::general_purpose::{STANDARD as B64, URL_SAFE_NO_PAD as B64URL};
use base64::Engine as _;
use serde::Deserialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

fn now_text(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%SZ").to_string()
}

/// An AADSTS error answer.
#[derive(Debug)]
pub struct AadError {
    status: StatusCode,
    error: &'static str,
    code: u32,
    text: String,
    at: chrono::DateTime<chrono::Utc>,
}

impl AadError {
    pub(crate) fn new(
        status: StatusCode,
        error: &'static str,
        code: u32,
        text: impl Into<String>,
    ) -> Self {
        Self {
            status,
            error,
            code,
            text: text.into(),
            at: chrono::Utc::now(),
        }
    }
}

impl AadError {
    pub(crate) fn bad_request(error: &'static str, code: u32, text: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, error, code, text)
    }

    pub(crate) fn unknown_client(client_id: &str, tid: &str) -> Self {
        Self::bad_request("unauthorized_client", 700016, format!("Application with identifier '{client_id}' was not found in the directory '{tid}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant."))
    }

    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The OAuth error (`invalid_grant`, …).
    pub fn error(&self) -> &'static str {
        self.error
    }

    /// The AADSTS number.
    pub fn code(&self) -> u32 {
        self.code
    }

    /// `AADSTS{code}: {text}`.
    pub fn description(&self) -> String {
        format!("AADSTS{}: {}", self.code, self.text)
    }
}

impl IntoResponse for AadError {
    fn into_response(self) -> Response {
        let trace = uuid::Uuid::new_v4().to_string();
        let correlation = uuid::Uuid::new_v4().to_string();
        let when = now_text(self.at);
        let body = json!({
            "error": self.error,
            "error_description": format!(
                "AADSTS{}: {} Trace ID: {trace} Correlation ID: {correlation} Timestamp: {when}",
                self.code, self.text
            ),
            "error_codes": [self.code],
            "timestamp": when,
            "trace_id": trace,
            "correlation_id": correlation,
            "error_uri": format!("https://login.microsoftonline.com/error?code={}", self.code),
        });
        (self.status, Json(body)).into_response()
    }
}

/// The fields of a token request (`application/x-www-form-urlencoded`).
#[derive(Debug, Default, Deserialize)]
pub struct TokenForm {
    grant_type: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
    scope: Option<String>,
    username: Option<String>,
    password: Option<String>,
    refresh_token: Option<String>,
    client_info: Option<String>,
    code: Option<String>,
    redirect_uri: Option<String>,
    code_verifier: Option<String>,
}

/// The resource a `scope` asks for, and the delegated scopes it names.
pub(super) fn read_scope(scope: &str) -> (Option<String>, Vec<String>) {
    let mut resource = None;
    let mut scopes = Vec::new();
    for s in scope.split_whitespace() {
        match s.strip_suffix("/.default") {
            Some(r) => resource = Some(r.trim_end_matches('/').to_string()),
            None if matches!(s, "openid" | "profile" | "email" | "offline_access") => {}
            None => {
                let short = s
                    .strip_prefix(GRAPH_RESOURCE)
                    .map(|x| x.trim_start_matches('/'))
                    .unwrap_or(s);
                scopes.push(short.to_string());
            }
        }
    }
    (resource, scopes)
}

fn is_graph(resource: &str) -> bool {
    resource.eq_ignore_ascii_case(GRAPH_RESOURCE) || resource.eq_ignore_ascii_case(GRAPH_APP_ID)
}

fn client_info(user: &CloudUser, tid: &str) -> String {
    B64URL.encode(json!({ "uid": user.id, "utid": tid }).to_string())
}

/// The client id and secret from the form or an `Authorization: Basic` header.
fn client_credentials(form: &TokenForm, headers: &HeaderMap) -> (Option<String>, Option<String>) {
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| B64.decode(b.trim()).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| {
            s.split_once(':').map(|(i, p)| {
                let dec = |x: &str| {
                    percent_encoding::percent_decode_str(x)
                        .decode_utf8_lossy()
                        .to_string()
                };
                (dec(i), dec(p))
            })
        });
    match basic {
        Some((id, secret)) => (Some(id), Some(secret)),
        None => (form.client_id.clone(), form.client_secret.clone()),
    }
}

pub async fn token(
    State(id): State<Identity>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    Form(form): Form<TokenForm>,
) -> Result<Json<Value>, AadError> {
    id.known_tenant(&tenant)?;
    let bad = |code: u32, error: &'static str, text: String| {
        AadError::new(StatusCode::BAD_REQUEST, error, code, text)
    };
    let (client_id, secret) = client_credentials(&form, &headers);
    let Some(client_id) = client_id else {
        return Err(bad(
            900144,
            "invalid_request",
            "The request body must contain the following parameter: 'client_id'.".into(),
        ));
    };
    let tid = id.tenant.id();
    let Some(app) = id.tenant.app(&client_id) else {
        return Err(AadError::unknown_client(&client_id, &tid));
    };
    // A confidential client proves itself with its secret, whatever the grant.
    if let Some(hash) = &app.secret_hash {
        let given = secret.as_deref().unwrap_or_default();
        if given.is_empty() {
            return Err(AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."));
        }
        if password_hash(&app.client_id, given) != *hash {
            return Err(AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000215, format!("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{}'.", app.client_id)));
        }
    }
    let scope = form.scope.clone().unwrap_or_default();
    match form.grant_type.as_deref().unwrap_or_default() {
        "client_credentials" => client_credentials_grant(&id, &app, &scope),
        "password" => password_grant(&id, &app, &form, &scope).await,
        "refresh_token" => refresh_grant(&id, &app, &form),
        "authorization_code" => code_grant(&id, &app, &form),
        other => Err(bad(
            70003,
            "unsupported_grant_type",
            format!("The app requested an unsupported grant type '{other}'."),
        )),
    }
}

fn client_credentials_grant(
    id: &Identity,
    app: &AppRegistration,
    scope: &str,
) -> Result<Json<Value>, AadError> {
    if app.secret_hash.is_none() {
        return Err(AadError::new(StatusCode::UNAUTHORIZED, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'."));
    }
    match read_scope(scope) {
        (Some(r), extra) if is_graph(&r) && extra.is_empty() => {}
        (Some(r), _) if !is_graph(&r) => {
            return Err(AadError::new(StatusCode::BAD_REQUEST, "invalid_resource", 500011, format!("The resource principal named {r} was not found in the tenant named {}. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", id.tenant.id())));
        }
        _ => {
            return Err(AadError::new(StatusCode::BAD_REQUEST, "invalid_scope", 1002012, format!("The provided value for scope {scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")));
        }
    }
    let roles: Vec<&str> = app
        .application_permissions
        .iter()
        .map(String::as_str)
        .collect();
    let token = id.issue(&Caller::app(&app.client_id, &roles));
    Ok(Json(json!({
        "token_type": "Bearer",
        "expires_in": TOKEN_LIFETIME_SECS - 1,
        "ext_expires_in": TOKEN_LIFETIME_SECS - 1,
        "access_token": token,
    })))
}

/// The delegated scopes a user's token gets: what was asked for among what the app may
/// have, or everything it may have for `/.default`.
pub(super) fn granted(app: &AppRegistration, asked: &[String], default: bool) -> Vec<String> {
    if default || asked.is_empty() {
        return app.delegated_permissions.clone();
    }
    asked
        .iter()
        .filter(|s| {
            app.delegated_permissions
                .iter()
                .any(|p| p.eq_ignore_ascii_case(s))
        })
        .cloned()
        .collect()
}

async fn password_grant(
    id: &Identity,
    app: &AppRegistration,
    form: &TokenForm,
    scope: &str,
) -> Result<Json<Value>, AadError> {
    let upn = form.username.clone().unwrap_or_default();
    let password = form.password.clone().unwrap_or_default();
    let tid = id.tenant.id();
    let user = id.authenticate(&upn, &password).await?;
    let (resource, asked) = read_scope(scope);
    if resource.as_deref().is_some_and(|r| !is_graph(r)) {
        return Err(AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {} was not found in the tenant named {tid}.",
                resource.unwrap_or_default()
            ),
        ));
    }
    let scopes = granted(app, &asked, resource.is_some());
    Ok(Json(user_tokens(id, app, &user, scopes, form, scope, None)))
}

impl Identity {
    /// Check a user's password: pass-through to AD for a synced user, the tenant's hash
    /// for a cloud-only one.
    pub(super) async fn authenticate(
        &self,
        upn: &str,
        password: &str,
    ) -> Result<CloudUser, AadError> {
        let tid = self.tenant.id();
        let Some(user) = self.tenant.user(upn) else {
            return Err(AadError::bad_request("invalid_grant", 50034, format!("The user account {{EUII Hidden}} does not exist in the {tid} directory. To sign into this application, the account must be added to the directory.")));
        };
        let ok = match (&user.on_premises, &user.password_hash) {
            (Some(_), _) => match self.password_check() {
                Some(check) => check(user.user_principal_name.clone(), password.to_string()).await,
                None => false,
            },
            (None, Some(hash)) => password_hash(&user.id, password) == *hash,
            (None, None) => false,
        };
        if ok {
            Ok(user)
        } else {
            Err(AadError::bad_request(
                "invalid_grant",
                50126,
                "Error validating credentials due to invalid username or password.",
            ))
        }
    }
}

/// Redeem an authorization code from the sign-in page.
fn code_grant(
    id: &Identity,
    app: &AppRegistration,
    form: &TokenForm,
) -> Result<Json<Value>, AadError> {
    let r = redeem(
        id,
        app,
        form.code.as_deref(),
        form.redirect_uri.as_deref(),
        form.code_verifier.as_deref(),
    )?;
    let user = id.tenant.user(&r.upn).ok_or_else(|| {
        AadError::bad_request("invalid_grant", 50034, "The user account no longer exists.")
    })?;
    // The ID token carries the nonce the app sent to the sign-in page.
    Ok(Json(user_tokens(
        id,
        app,
        &user,
        r.scopes,
        form,
        &r.scope,
        r.nonce.as_deref(),
    )))
}

fn id_token(id: &Identity, app: &AppRegistration, user: &CloudUser, nonce: Option<&str>) -> String {
    let now = id.clock.now().timestamp();
    let mut claims: BTreeMap<&str, Value> = BTreeMap::from([
        ("aud", json!(app.client_id)),
        ("iss", json!(format!("{}/v2.0", id.authority()))),
        ("iat", json!(now)),
        ("nbf", json!(now)),
        ("exp", json!(now + TOKEN_LIFETIME_SECS)),
        ("name", json!(user.display_name)),
        ("oid", json!(user.id)),
        ("preferred_username", json!(user.user_principal_name)),
        ("sub", json!(derived_id("sub", &user.user_principal_name))),
        ("tid", json!(id.tenant.id())),
        ("ver", json!("2.0")),
    ]);
    if let Some(n) = nonce {
        claims.insert("nonce", json!(n));
    }
    id.sign(&claims)
}

fn user_tokens(
    id: &Identity,
    app: &AppRegistration,
    user: &CloudUser,
    scopes: Vec<String>,
    form: &TokenForm,
    scope: &str,
    nonce: Option<&str>,
) -> Value {
    let tid = id.tenant.id();
    let access = id.issue(&Caller::User {
        upn: user.user_principal_name.clone(),
        scopes: scopes.clone(),
        roles: user.roles.clone(),
    });
    let refresh = format!("0.{}", uuid::Uuid::new_v4().simple());
    id.refresh.lock().unwrap_or_else(|e| e.into_inner()).insert(
        refresh.clone(),
        Refresh {
            client_id: app.client_id.clone(),
            upn: user.user_principal_name.clone(),
            scopes: scopes.clone(),
        },
    );
    let mut body = json!({
        "token_type": "Bearer",
        "scope": scopes.iter().map(|s| format!("{GRAPH_RESOURCE}/{s}")).collect::<Vec<_>>().join(" "),
        "expires_in": TOKEN_LIFETIME_SECS - 1,
        "ext_expires_in": TOKEN_LIFETIME_SECS - 1,
        "access_token": access,
        "refresh_token": refresh,
    });
    if scope.split_whitespace().any(|s| s == "openid") || form.client_info.is_some() {
        body["id_token"] = json!(id_token(id, app, user, nonce));
    }
    if form.client_info.as_deref() == Some("1") {
        body["client_info"] = json!(client_info(user, &tid));
    }
    body
}

fn refresh_grant(
    id: &Identity,
    app: &AppRegistration,
    form: &TokenForm,
) -> Result<Json<Value>, AadError> {
    let token = form.refresh_token.clone().unwrap_or_default();
    let grant = id
        .refresh
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .get(&token)
        .cloned();
    let invalid = || {
        AadError::new(
            StatusCode::BAD_REQUEST,
            "invalid_grant",
            9002313,
            "Invalid request. Request is malformed or invalid.",
        )
    };
    let grant = grant
        .filter(|g| g.client_id.eq_ignore_ascii_case(&app.client_id))
        .ok_or_else(invalid)?;
    let user = id.tenant.user(&grant.upn).ok_or_else(invalid)?;
    Ok(Json(user_tokens(
        id,
        app,
        &user,
        grant.scopes,
        form,
        form.scope.as_deref().unwrap_or_default(),
        None,
    )))
}

/// How long a code may wait to be redeemed (the service's ten minutes).
pub(super) const CODE_LIFETIME: chrono::Duration = chrono::Duration::minutes(10);

/// A code waiting to be redeemed.
#[derive(Debug, Clone)]
pub(super) struct AuthCode {
    pub(super) client_id: String,
    pub(super) redirect_uri: String,
    pub(super) upn: String,
    pub(super) scopes: Vec<String>,
    /// The `scope` asked for (`openid` in it brings an ID token).
    pub(super) scope: String,
    /// `(method, challenge)` when the client used PKCE.
    pub(super) challenge: Option<(String, String)>,
    pub(super) nonce: Option<String>,
    pub(super) expires: chrono::DateTime<chrono::Utc>,
    pub(super) redeemed: bool,
}

/// What a redeemed code grants: the user, the scopes, the nonce for the ID token.
pub(super) struct Redeemed {
    pub upn: String,
    pub scopes: Vec<String>,
    pub scope: String,
    pub nonce: Option<String>,
}

/// Redeem `code` for `app` at the token endpoint (once, within ten minutes, from the
/// redirect URI it was issued to, with the PKCE verifier when a challenge was sent).
fn redeem(
    id: &Identity,
    app: &AppRegistration,
    code: Option<&str>,
    redirect_uri: Option<&str>,
    verifier: Option<&str>,
) -> Result<Redeemed, AadError> {
    let grant = |code: u32, text: String| AadError::bad_request("invalid_grant", code, text);
    let Some(code) = code.filter(|c| !c.is_empty()) else {
        return Err(AadError::bad_request(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'code'.",
        ));
    };
    let mut codes = id.codes.lock().unwrap_or_else(|e| e.into_inner());
    let now = id.clock.now();
    codes.retain(|_, c| c.expires + CODE_LIFETIME > now);
    let Some(c) = codes.get_mut(code) else {
        return Err(grant(
            9002313,
            "Invalid request. Request is malformed or invalid.".into(),
        ));
    };
    if c.redeemed {
        return Err(grant(54005, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.".into()));
    }
    if c.expires <= now {
        return Err(grant(70008, "The provided authorization code or refresh token has expired due to inactivity. Send a new interactive authorization request for this user and resource.".into()));
    }
    if !c.client_id.eq_ignore_ascii_case(&app.client_id) {
        return Err(grant(
            70000,
            "The provided value for the 'code' parameter is not valid. The code was issued to another client.".into(),
        ));
    }
    let given = redirect_uri.unwrap_or_default();
    if given != c.redirect_uri {
        return Err(grant(500112, format!("The reply address '{given}' does not match the reply address '{}' provided when requesting Authorization code.", c.redirect_uri)));
    }
    if let Some((method, challenge)) = &c.challenge {
        let verifier = verifier.unwrap_or_default();
        let computed = if method == "S256" {
            B64URL.encode(Sha256::digest(verifier.as_bytes()))
        } else {
            verifier.to_string()
        };
        if verifier.is_empty() || computed != *challenge {
            return Err(grant(
                501481,
                "The Code_Verifier does not match the code_challenge supplied in the authorization request.".into(),
            ));
        }
    }
    c.redeemed = true;
    Ok(Redeemed {
        upn: c.upn.clone(),
        scopes: c.scopes.clone(),
        scope: c.scope.clone(),
        nonce: c.nonce.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scopes_name_the_resource_and_the_delegated_permissions() {
        assert_eq!(
            read_scope("https://graph.microsoft.com/.default"),
            (Some(GRAPH_RESOURCE.to_string()), vec![])
        );
        assert_eq!(
            read_scope("openid profile https://graph.microsoft.com/User.Read offline_access"),
            (None, vec!["User.Read".to_string()])
        );
    }
}
