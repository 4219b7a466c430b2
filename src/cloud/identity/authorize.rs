//! The authorization endpoint (`/{tenant}/oauth2/v2.0/authorize`): the sign-in page of the
//! authorization-code flow, with PKCE, as a browser — or a script acting as one — meets
//! it. `GET` shows the page; `POST` checks the credentials (pass-through to AD for synced
//! users, as the password grant does) and sends the browser back to the app's redirect URI
//! with a one-time code (`response_mode` query, fragment or form_post), which the token
//! endpoint redeems.
//!
//! Mistakes in the client or its redirect URI are shown on the page, as the service shows
//! them (AADSTS700016, 50011); mistakes after that go back to the app as `error=`.

use super::token::{AadError, AuthCode, CODE_LIFETIME};
use super::{Identity, GRAPH_RESOURCE};
use crate::cloud::tenant::AppRegistration;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::Form;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use std::sync::OnceLock;

/// The query (GET) or the form's hidden fields (POST) of an authorization request.
#[derive(Debug, Default, Clone, Deserialize, Serialize)]
pub struct AuthorizeRequest {
    #[serde(skip_serializing_if = "Option::is_none")]
    client_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    redirect_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scope: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_mode: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_challenge: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    code_challenge_method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    nonce: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    login_hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    prompt: Option<String>,
}

/// The sign-in form: the request again (hidden fields) and what the person typed.
#[derive(Debug, Deserialize)]
pub struct SignInForm {
    #[serde(flatten)]
    request: AuthorizeRequest,
    #[serde(default)]
    username: String,
    #[serde(default)]
    password: String,
}

fn pages() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        let templates = [
            (
                "sign-in.html",
                include_str!("../../../templates/identity/sign-in.html"),
            ),
            (
                "error.html",
                include_str!("../../../templates/identity/error.html"),
            ),
            (
                "form-post.html",
                include_str!("../../../templates/identity/form-post.html"),
            ),
        ];
        for (name, source) in templates {
            // The templates are part of the binary and parse; a broken one shows as a
            // render error on its page.
            let _ = env.add_template(name, source);
        }
        env
    })
}

fn render(name: &str, context: minijinja::Value) -> String {
    pages()
        .get_template(name)
        .and_then(|t| t.render(context))
        .unwrap_or_else(|e| format!("the page {name} could not be shown: {e}"))
}

fn error_page(e: AadError) -> Response {
    let body = render(
        "error.html",
        minijinja::context! { message => e.description() },
    );
    (e.status(), Html(body)).into_response()
}

/// Does `given` match a redirect URI registered for `app`? Loopback URIs (`http://localhost`,
/// `http://127.0.0.1`) match on any port, as the service allows for them.
fn registered(app: &AppRegistration, given: &str) -> bool {
    let Ok(given_url) = reqwest::Url::parse(given) else {
        return false;
    };
    app.redirect_uris.iter().any(|r| {
        if r == given {
            return true;
        }
        let Ok(r) = reqwest::Url::parse(r) else {
            return false;
        };
        let loopback = matches!(r.host_str(), Some("localhost" | "127.0.0.1"));
        loopback
            && r.scheme() == "http"
            && given_url.scheme() == "http"
            && r.host_str() == given_url.host_str()
            && r.path().trim_end_matches('/') == given_url.path().trim_end_matches('/')
    })
}

/// The client and redirect URI, checked; an error here is shown on the page.
fn client_of(
    id: &Identity,
    tenant: &str,
    req: &AuthorizeRequest,
) -> Result<(AppRegistration, String), AadError> {
    id.known_tenant(tenant)?;
    let client_id = req.client_id.clone().unwrap_or_default();
    if client_id.is_empty() {
        return Err(AadError::bad_request(
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        ));
    }
    let app = id
        .tenant
        .app(&client_id)
        .ok_or_else(|| AadError::unknown_client(&client_id, &id.tenant.id()))?;
    let redirect = req.redirect_uri.clone().unwrap_or_default();
    if !registered(&app, &redirect) {
        return Err(AadError::bad_request("invalid_request", 50011, format!("The redirect URI '{redirect}' specified in the request does not match the redirect URIs configured for the application '{client_id}'. Make sure the redirect URI sent in the request matches one added to your application in the Azure portal.")));
    }
    Ok((app, redirect))
}

/// Send the browser back to the app with `fields` as the request's `response_mode` says.
fn back_to_app(req: &AuthorizeRequest, redirect: &str, fields: Vec<(String, String)>) -> Response {
    let mut fields = fields;
    if let Some(state) = &req.state {
        fields.push(("state".into(), state.clone()));
    }
    match req.response_mode.as_deref() {
        Some("form_post") => Html(render(
            "form-post.html",
            minijinja::context! { action => redirect, fields => fields },
        ))
        .into_response(),
        mode => {
            let encoded = serde_urlencoded::to_string(&fields).unwrap_or_default();
            let sep = if mode == Some("fragment") {
                "#"
            } else if redirect.contains('?') {
                "&"
            } else {
                "?"
            };
            (
                StatusCode::FOUND,
                [(header::LOCATION, format!("{redirect}{sep}{encoded}"))],
            )
                .into_response()
        }
    }
}

fn app_error(req: &AuthorizeRequest, redirect: &str, e: &AadError) -> Response {
    back_to_app(
        req,
        redirect,
        vec![
            ("error".into(), e.error().into()),
            ("error_description".into(), e.description()),
        ],
    )
}

/// What the request asks for that is wrong after the client is known (sent back to it).
fn request_problem(req: &AuthorizeRequest) -> Option<AadError> {
    let response_type = req.response_type.as_deref().unwrap_or_default();
    if response_type != "code" {
        return Some(AadError::bad_request(
            "unsupported_response_type",
            70005,
            format!(
                "response_type '{response_type}' is not enabled for the application. Use 'code'."
            ),
        ));
    }
    match (
        req.code_challenge.as_deref(),
        req.code_challenge_method.as_deref(),
    ) {
        (None, Some(_)) => Some(AadError::bad_request(
            "invalid_request",
            501491,
            "Invalid size of Code_Challenge parameter.",
        )),
        (Some(_), Some(m)) if m != "S256" && m != "plain" => Some(AadError::bad_request(
            "invalid_request",
            501481,
            format!("The code_challenge_method '{m}' is not supported: use S256 or plain."),
        )),
        _ => None,
    }
}

fn sign_in_page(
    id: &Identity,
    tenant: &str,
    app: &AppRegistration,
    req: &AuthorizeRequest,
    username: &str,
    error: Option<&str>,
) -> Response {
    let hidden: Vec<(String, String)> = serde_urlencoded::to_string(req)
        .ok()
        .and_then(|s| serde_urlencoded::from_str(&s).ok())
        .unwrap_or_default();
    let page = render(
        "sign-in.html",
        minijinja::context! {
            tenant_domain => id.tenant.settings().domain,
            app_name => app.display_name.clone(),
            action => format!("{}/{tenant}/oauth2/v2.0/authorize", id.base()),
            hidden => hidden,
            username => username,
            error => error,
        },
    );
    // The service answers a wrong password with the page again, and 200.
    Html(page).into_response()
}

/// `GET /{tenant}/oauth2/v2.0/authorize`: the sign-in page.
pub async fn page(
    State(id): State<Identity>,
    Path(tenant): Path<String>,
    Query(req): Query<AuthorizeRequest>,
) -> Response {
    let (app, redirect) = match client_of(&id, &tenant, &req) {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    if let Some(e) = request_problem(&req) {
        return app_error(&req, &redirect, &e);
    }
    let hint = req.login_hint.clone().unwrap_or_default();
    sign_in_page(&id, &tenant, &app, &req, &hint, None)
}

/// `POST /{tenant}/oauth2/v2.0/authorize`: the credentials typed on the page.
pub async fn sign_in(
    State(id): State<Identity>,
    Path(tenant): Path<String>,
    Form(form): Form<SignInForm>,
) -> Response {
    let req = form.request;
    let (app, redirect) = match client_of(&id, &tenant, &req) {
        Ok(x) => x,
        Err(e) => return error_page(e),
    };
    if let Some(e) = request_problem(&req) {
        return app_error(&req, &redirect, &e);
    }
    let user = match id.authenticate(&form.username, &form.password).await {
        Ok(u) => u,
        Err(e) => {
            let text = match e.code() {
                50034 => "This username may be incorrect. Make sure you typed it correctly. Otherwise, contact your admin.".to_string(),
                50126 => "Your account or password is incorrect. If you don't remember your password, reset it now.".to_string(),
                _ => e.description(),
            };
            return sign_in_page(&id, &tenant, &app, &req, &form.username, Some(&text));
        }
    };
    let (resource, asked) = super::token::read_scope(req.scope.as_deref().unwrap_or_default());
    if resource
        .as_deref()
        .is_some_and(|r| !r.eq_ignore_ascii_case(GRAPH_RESOURCE))
    {
        let e = AadError::bad_request(
            "invalid_resource",
            500011,
            format!(
                "The resource principal named {} was not found in the tenant named {}.",
                resource.unwrap_or_default(),
                id.tenant.id()
            ),
        );
        return app_error(&req, &redirect, &e);
    }
    let scopes = super::token::granted(&app, &asked, resource.is_some());
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    let code = format!("1.{}", B64URL.encode(bytes));
    let challenge = req.code_challenge.clone().map(|c| {
        (
            req.code_challenge_method
                .clone()
                .unwrap_or_else(|| "plain".into()),
            c,
        )
    });
    id.codes.lock().unwrap_or_else(|e| e.into_inner()).insert(
        code.clone(),
        AuthCode {
            client_id: app.client_id.clone(),
            redirect_uri: redirect.clone(),
            upn: user.user_principal_name.clone(),
            scopes,
            scope: req.scope.clone().unwrap_or_default(),
            challenge,
            nonce: req.nonce.clone(),
            expires: id.clock.now() + CODE_LIFETIME,
            redeemed: false,
        },
    );
    back_to_app(
        &req,
        &redirect,
        vec![
            ("code".into(), code),
            (
                "session_state".into(),
                super::derived_id("session", &user.id),
            ),
        ],
    )
}
