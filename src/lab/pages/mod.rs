//! The lab's web pages, over HTTPS with the lab's CA: the screens people meet writeback
//! through.
//!
//! - [`portal`]: the user's — the SSPR portal (reset a forgotten password, unlock) and My
//!   Account (change a known password), signed in through the lab's identity platform.
//! - [`admin`]: the Entra admin center — users with their sync state, an admin's reset,
//!   SSPR and writeback settings, licences, devices, groups.
//! - [`console`]: the Entra Connect server — Operations, Connectors, the company features,
//!   the PasswordResetService events, the scheduler, the faults and the verification codes
//!   the lab shows instead of sending them; it updates while one looks (server-sent events).
//!
//! This file: the server, sessions (a cookie; forms carry the session's CSRF token),
//! signing in at the identity platform (authorization code with PKCE, redeemed at the token
//! endpoint), and answering as HTML or — for `Accept: application/json` — as the same data
//! in JSON. Scripts may use the lab's control token as a bearer instead of signing in.
//!
//! Pages are server-rendered from templates (minijinja) with plain forms; the one script is
//! the live update of the console, and every page works without it.

mod admin;
mod console;
mod portal;
mod session;

use super::LabError;
use crate::world::World;
use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::middleware;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Extension, Form, Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};
pub use session::SentCode;
use session::{Caller, Sessions};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// Where the pages sign people in, and what they need to run.
#[derive(Clone)]
pub struct PagesConfig {
    /// `https://HOST:PORT` of the pages, as browsers reach them.
    pub base_url: String,
    /// The identity platform's authority (`https://HOST:PORT/{tenant}`).
    pub authority: String,
    pub token_url: String,
    /// The pages' app registration (a public client; its redirect URI is
    /// `{base_url}/signin/callback`).
    pub client_id: String,
    /// The lab's CA, to reach the token endpoint.
    pub ca_pem: String,
    /// A bearer that stands for the lab's operator (`control_token`).
    pub control_token: String,
    pub cycle_interval: Duration,
}

/// The pages' state, shared by every request.
#[derive(Clone)]
pub(crate) struct Pages {
    world: Arc<Mutex<World>>,
    cfg: Arc<PagesConfig>,
    sessions: Sessions,
    http: reqwest::Client,
    /// The lab stops: long answers (the console's event stream) end.
    stop: CancellationToken,
}

/// Serve the pages on `listener` (TLS from `tls`) until `stop`.
pub async fn serve(
    listener: tokio::net::TcpListener,
    tls: crate::tls::TlsMaterial,
    world: Arc<Mutex<World>>,
    cfg: PagesConfig,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let http = crate::tls::http_client(Some(&cfg.ca_pem))
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let pages = Pages {
        world,
        cfg: Arc::new(cfg),
        sessions: Sessions::default(),
        http,
        stop: stop.clone(),
    };
    let router = router(pages.clone());
    crate::https::serve(listener, router, tls, Some(Duration::from_secs(10)), stop).await
}

/// Every page of the lab.
pub(crate) fn router(pages: Pages) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/static/style.css", get(stylesheet))
        .route("/static/live.js", get(live_script))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .route("/signin", get(sign_in))
        .route("/signin/callback", get(signed_in))
        .route("/signout", post(sign_out))
        .merge(portal::routes())
        .merge(admin::routes())
        .merge(console::routes())
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(
            pages.clone(),
            session::attach,
        ))
        .with_state(pages)
}

// ---- answering: HTML from a template, or the same data as JSON -------------------------

pub(crate) fn templates() -> &'static minijinja::Environment<'static> {
    static ENV: OnceLock<minijinja::Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = minijinja::Environment::new();
        let templates = [
            (
                "layout.html",
                include_str!("../../../templates/lab/layout.html"),
            ),
            (
                "index.html",
                include_str!("../../../templates/lab/index.html"),
            ),
            (
                "macros.html",
                include_str!("../../../templates/lab/macros.html"),
            ),
            (
                "message.html",
                include_str!("../../../templates/lab/message.html"),
            ),
            (
                "portal.html",
                include_str!("../../../templates/lab/portal.html"),
            ),
            (
                "myaccount.html",
                include_str!("../../../templates/lab/myaccount.html"),
            ),
            (
                "admin.html",
                include_str!("../../../templates/lab/admin.html"),
            ),
            (
                "console.html",
                include_str!("../../../templates/lab/console.html"),
            ),
            (
                "console-signin.html",
                include_str!("../../../templates/lab/console-signin.html"),
            ),
        ];
        env.add_filter("when", when);
        for (name, source) in templates {
            // Part of the binary, and a test renders each; a broken one shows as a render
            // error on its page.
            let _ = env.add_template(name, source);
        }
        env
    })
}

/// A time as the Windows tools show it, in UTC to the second (`2026-12-01 09:00:00`); the
/// JSON twins keep the full RFC 3339 value.
fn when(v: String) -> String {
    chrono::DateTime::parse_from_rfc3339(&v)
        .map(|t| t.format("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or(v)
}

/// Does the client ask for JSON rather than a page?
fn wants_json(headers: &HeaderMap) -> bool {
    let accept = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    accept.contains("application/json") && !accept.contains("text/html")
}

/// What every page is answered with: the data, and how it is shown.
pub(crate) struct Answer {
    status: StatusCode,
    template: &'static str,
    data: Value,
}

impl Answer {
    pub(crate) fn page(template: &'static str, data: Value) -> Self {
        Self {
            status: StatusCode::OK,
            template,
            data,
        }
    }

    pub(crate) fn status(mut self, status: StatusCode) -> Self {
        self.status = status;
        self
    }

    /// A message page: a title, what happened, and where to go on.
    pub(crate) fn message(status: StatusCode, title: &str, text: &str, back: &str) -> Self {
        Self {
            status,
            template: "message.html",
            data: json!({ "title": title, "text": text, "back": back }),
        }
    }

    /// As HTML (with the caller's session for the layout) or JSON.
    pub(crate) fn render(self, caller: &Caller, headers: &HeaderMap) -> Response {
        if wants_json(headers) {
            return (self.status, Json(self.data)).into_response();
        }
        let context = minijinja::context! {
            csrf => caller.csrf(),
            signed_in_user => caller.user(),
            console_user => caller.console_user(),
            ..minijinja::Value::from(minijinja::value::Serde(&self.data))
        };
        let body = templates()
            .get_template(self.template)
            .and_then(|t| t.render(context))
            .unwrap_or_else(|e| format!("the page {} could not be shown: {e}", self.template));
        (self.status, Html(body)).into_response()
    }
}

async fn not_found(Extension(caller): Extension<Caller>, headers: HeaderMap) -> Response {
    Answer::message(
        StatusCode::NOT_FOUND,
        "Page not found",
        "There is no such page in the lab.",
        "/",
    )
    .render(&caller, &headers)
}

async fn index(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let domain = p.world.lock().await.domain();
    let base = &p.cfg.base_url;
    Answer::page(
        "index.html",
        json!({
            "domain": domain,
            "portal_url": format!("{base}/portal"),
            "myaccount_url": format!("{base}/myaccount"),
            "admin_url": format!("{base}/admin"),
            "console_url": format!("{base}/console"),
        }),
    )
    .render(&caller, &headers)
}

async fn stylesheet() -> Response {
    (
        [(header::CONTENT_TYPE, "text/css; charset=utf-8")],
        include_str!("../../../templates/lab/style.css"),
    )
        .into_response()
}

async fn live_script() -> Response {
    (
        [(header::CONTENT_TYPE, "text/javascript; charset=utf-8")],
        include_str!("../../../templates/lab/live.js"),
    )
        .into_response()
}

// ---- signing in at the identity platform -------------------------------------------------

#[derive(Debug, Deserialize)]
struct SignInQuery {
    #[serde(default)]
    next: Option<String>,
}

/// Only paths of our own are followed after signing in.
fn local_path(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") => n.to_string(),
        _ => "/myaccount".to_string(),
    }
}

/// Send the browser to the identity platform's sign-in page (authorization code, PKCE).
async fn sign_in(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    Query(q): Query<SignInQuery>,
) -> Response {
    let next = local_path(q.next.as_deref());
    let (state, challenge) = p.sessions.begin_sign_in(&caller, next);
    let query = serde_urlencoded::to_string([
        ("client_id", p.cfg.client_id.as_str()),
        ("response_type", "code"),
        (
            "redirect_uri",
            &format!("{}/signin/callback", p.cfg.base_url),
        ),
        ("response_mode", "query"),
        ("scope", "openid profile User.Read"),
        ("state", &state),
        ("code_challenge", &challenge),
        ("code_challenge_method", "S256"),
        ("prompt", "login"),
    ])
    .unwrap_or_default();
    Redirect::to(&format!(
        "{}/oauth2/v2.0/authorize?{query}",
        p.cfg.authority
    ))
    .into_response()
}

#[derive(Debug, Deserialize)]
struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Tokens {
    id_token: Option<String>,
}

#[derive(Debug, Deserialize)]
struct IdClaims {
    preferred_username: String,
}

/// The identity platform sends the browser back with a code: redeem it at the token
/// endpoint and read who signed in from the ID token (received straight from the token
/// endpoint over TLS, so its signature need not be checked — OpenID Connect Core 3.1.3.7).
async fn signed_in(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Query(cb): Query<Callback>,
) -> Response {
    let failed = |text: String| {
        Answer::message(StatusCode::BAD_REQUEST, "Sign-in failed", &text, "/")
            .render(&caller, &headers)
    };
    if let Some(e) = cb.error {
        return failed(format!("{e}: {}", cb.error_description.unwrap_or_default()));
    }
    let (Some(code), Some(state)) = (cb.code, cb.state) else {
        return failed("the identity platform sent no code".into());
    };
    let Some(pending) = p.sessions.take_sign_in(&caller, &state) else {
        return failed(
            "this sign-in was not started here, or it was used already; start again".into(),
        );
    };
    let redirect_uri = format!("{}/signin/callback", p.cfg.base_url);
    let answer = p
        .http
        .post(&p.cfg.token_url)
        .form(&[
            ("grant_type", "authorization_code"),
            ("client_id", p.cfg.client_id.as_str()),
            ("code", code.as_str()),
            ("redirect_uri", redirect_uri.as_str()),
            ("code_verifier", pending.verifier.as_str()),
            ("scope", "openid profile User.Read"),
        ])
        .send()
        .await;
    let tokens = match answer {
        Ok(r) if r.status().is_success() => r.json::<Tokens>().await.ok(),
        Ok(r) => {
            let text = r.text().await.unwrap_or_default();
            return failed(format!("the token endpoint refused the code: {text}"));
        }
        Err(e) => return failed(format!("the token endpoint could not be reached: {e}")),
    };
    let Some(upn) = tokens
        .and_then(|t| t.id_token)
        .and_then(|t| read_claims(&t))
        .map(|c| c.preferred_username)
    else {
        return failed("the token endpoint gave no ID token".into());
    };
    p.sessions.signed_in(&caller, upn);
    Redirect::to(&pending.next).into_response()
}

fn read_claims(jwt: &str) -> Option<IdClaims> {
    use base64::Engine as _;
    let payload = jwt.split('.').nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(payload.trim_end_matches('='))
        .ok()?;
    serde_json::from_slice(&bytes).ok()
}

#[derive(Debug, Deserialize)]
struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

async fn sign_out(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    p.sessions.sign_out(&caller);
    Redirect::to("/").into_response()
}

/// `Location` for a POST that succeeded (post/redirect/get), or the data for a script.
pub(crate) fn done(headers: &HeaderMap, to: &str, data: Value) -> Response {
    if wants_json(headers) {
        return Json(data).into_response();
    }
    Redirect::to(to).into_response()
}

/// Start the pages' listener: bind, issue a certificate, and serve in a task.
pub(crate) async fn start(
    addr: std::net::SocketAddr,
    ca: &crate::world::CertificateAuthority,
    domain_host: String,
) -> Result<(tokio::net::TcpListener, crate::tls::TlsMaterial, String), LabError> {
    let listen_error = |source| LabError::Listen { addr, source };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(listen_error)?;
    let local = listener.local_addr().map_err(listen_error)?;
    let names = crate::net::certificate_names(domain_host, addr.ip());
    let tls = ca
        .issue(&names)
        .map_err(|e| LabError::Keys(e.to_string()))?;
    let base = format!("https://{}", crate::net::reachable(local));
    Ok((listener, tls, base))
}

/// The pages' app: a public client whose id follows from the lab's own app, so that it
/// stays the same across restarts without another secret in the state folder.
pub(crate) fn client_id(lab_client_id: &str) -> String {
    use sha2::Digest as _;
    let digest = sha2::Sha256::digest(format!("pages:{lab_client_id}").as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&digest[..16]);
    uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Register the pages' app with its redirect URI (the pages' address may change with
/// `--ports auto`, so it is registered at every start).
pub(crate) fn register_app(w: &mut World, client_id: &str, base_url: &str) {
    w.register_app(crate::world::AppRegistration {
        client_id: client_id.to_string(),
        display_name: "writeback-sim lab pages (My Account, admin center)".into(),
        secret_hash: None,
        application_permissions: vec![],
        delegated_permissions: vec!["User.Read".into()],
        redirect_uris: vec![format!("{base_url}/signin/callback")],
    });
}
