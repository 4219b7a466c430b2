//! Sessions of the pages: a random id in an HttpOnly cookie, a CSRF token for the forms,
//! who is signed in (a cloud user, or an account on the Entra Connect server), a sign-in
//! under way (state and PKCE verifier), an SSPR reset under way (the user, the code sent,
//! whether it was entered) — and the verification codes the lab "sent", which the console
//! shows. Sessions end after a time without use; there is a cap on how many are kept.

use super::Pages;
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use rand::{Rng, RngCore};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const COOKIE: &str = "wbsim_lab";
/// A session unused this long is forgotten.
const IDLE: Duration = Duration::from_secs(8 * 3600);
/// The SSPR session lifetime (passwords-faq.yml: 15 minutes).
pub(crate) const SSPR_SESSION: Duration = Duration::from_secs(15 * 60);
/// A verification code is valid this long (passwords-faq.yml: OTPs are valid 5 minutes).
pub(crate) const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);
/// Wrong codes before the reset must start again.
pub(crate) const CODE_ATTEMPTS: u32 = 3;
const MAX_SESSIONS: usize = 10_000;
const OUTBOX: usize = 50;

fn random(bytes: usize) -> String {
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    B64URL.encode(b)
}

/// What the portal is doing for someone who cannot sign in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Recovery {
    /// "I forgot my password".
    Reset,
    /// "I know my password, but still can't sign in".
    Unlock,
}

/// An SSPR reset under way.
#[derive(Debug, Clone)]
pub(crate) struct ResetFlow {
    pub upn: String,
    pub started: Instant,
    pub recovery: Option<Recovery>,
    pub code: Option<(String, Instant)>,
    pub attempts: u32,
    pub verified: bool,
}

/// A sign-in at the identity platform under way.
#[derive(Debug, Clone)]
pub(crate) struct PendingSignIn {
    pub state: String,
    pub verifier: String,
    pub next: String,
}

#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    used: Instant,
    /// A cloud user signed in at the identity platform (My Account, the admin center).
    user: Option<String>,
    /// An account signed in to the Entra Connect server (the console).
    console_user: Option<String>,
    sign_in: Option<PendingSignIn>,
    reset: Option<ResetFlow>,
}

/// A verification code the lab sent (shown in the console instead).
#[derive(Debug, Clone, Serialize)]
pub struct SentCode {
    pub time: chrono::DateTime<chrono::Utc>,
    pub to: String,
    pub code: String,
    pub purpose: String,
    pub expires: chrono::DateTime<chrono::Utc>,
}

#[derive(Default)]
struct Store {
    sessions: HashMap<String, Session>,
    outbox: Vec<SentCode>,
    /// Moves with every code sent (the console's live view watches it).
    sent: u64,
}

/// Every session of the pages.
#[derive(Clone, Default)]
pub(crate) struct Sessions {
    store: Arc<Mutex<Store>>,
}

/// Who is asking, as one request sees it.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    id: String,
    csrf: String,
    user: Option<String>,
    console_user: Option<String>,
    /// The lab's control token was given as a bearer: a script of the lab's operator.
    script: bool,
}

impl Caller {
    pub(crate) fn csrf(&self) -> &str {
        &self.csrf
    }

    pub(crate) fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    pub(crate) fn console_user(&self) -> Option<&str> {
        self.console_user.as_deref()
    }

    pub(crate) fn is_script(&self) -> bool {
        self.script
    }

    /// A form's CSRF token must be the session's (scripts with the bearer need none).
    /// `None` when it is; otherwise the page that refuses the form.
    pub(crate) fn csrf_refusal(&self, given: &str, headers: &HeaderMap) -> Option<Response> {
        if self.script || (!given.is_empty() && given == self.csrf) {
            return None;
        }
        Some(super::Answer::message(
            StatusCode::FORBIDDEN,
            "This form has expired",
            "The form was not sent from this session (or the session ended). Open the page again and send it from there.",
            "/",
        )
        .render(self, headers))
    }
}

impl Sessions {
    fn lock(&self) -> std::sync::MutexGuard<'_, Store> {
        self.store.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The session of `id`, or a new one (the id to set in the cookie is returned then).
    fn caller(&self, id: Option<&str>, script: bool) -> (Caller, bool) {
        let mut st = self.lock();
        let now = Instant::now();
        if let Some(s) = id.and_then(|id| st.sessions.get_mut(id)) {
            if now.duration_since(s.used) < IDLE {
                s.used = now;
                let caller = Caller {
                    id: id.unwrap_or_default().to_string(),
                    csrf: s.csrf.clone(),
                    user: s.user.clone(),
                    console_user: s.console_user.clone(),
                    script,
                };
                return (caller, false);
            }
        }
        if st.sessions.len() >= MAX_SESSIONS {
            st.sessions.retain(|_, s| now.duration_since(s.used) < IDLE);
            if st.sessions.len() >= MAX_SESSIONS {
                // The least recently used goes.
                if let Some(oldest) = st
                    .sessions
                    .iter()
                    .min_by_key(|(_, s)| s.used)
                    .map(|(k, _)| k.clone())
                {
                    st.sessions.remove(&oldest);
                }
            }
        }
        let id = random(24);
        let session = Session {
            csrf: random(18),
            used: now,
            user: None,
            console_user: None,
            sign_in: None,
            reset: None,
        };
        let caller = Caller {
            id: id.clone(),
            csrf: session.csrf.clone(),
            user: None,
            console_user: None,
            script,
        };
        st.sessions.insert(id, session);
        (caller, true)
    }

    fn with<T>(&self, caller: &Caller, f: impl FnOnce(&mut Session) -> T) -> Option<T> {
        self.lock().sessions.get_mut(&caller.id).map(f)
    }

    /// A new sign-in: the state to send and the PKCE challenge of a new verifier.
    pub(crate) fn begin_sign_in(&self, caller: &Caller, next: String) -> (String, String) {
        let state = random(18);
        let verifier = random(32);
        let challenge = B64URL.encode(Sha256::digest(verifier.as_bytes()));
        self.with(caller, |s| {
            s.sign_in = Some(PendingSignIn {
                state: state.clone(),
                verifier,
                next,
            })
        });
        (state, challenge)
    }

    /// The sign-in `state` names, once.
    pub(crate) fn take_sign_in(&self, caller: &Caller, state: &str) -> Option<PendingSignIn> {
        self.with(caller, |s| s.sign_in.take_if(|p| p.state == state))
            .flatten()
    }

    /// A cloud user signed in; a new CSRF token goes with the new privilege.
    pub(crate) fn signed_in(&self, caller: &Caller, upn: String) {
        self.with(caller, |s| {
            s.user = Some(upn);
            s.csrf = random(18);
        });
    }

    pub(crate) fn console_signed_in(&self, caller: &Caller, account: String) {
        self.with(caller, |s| {
            s.console_user = Some(account);
            s.csrf = random(18);
        });
    }

    pub(crate) fn sign_out(&self, caller: &Caller) {
        self.with(caller, |s| {
            s.user = None;
            s.console_user = None;
            s.reset = None;
        });
    }

    /// The reset under way, unless the SSPR session has ended.
    pub(crate) fn reset(&self, caller: &Caller) -> Option<ResetFlow> {
        self.with(caller, |s| {
            s.reset.take_if(|r| r.started.elapsed() >= SSPR_SESSION);
            s.reset.clone()
        })
        .flatten()
    }

    pub(crate) fn set_reset(&self, caller: &Caller, flow: Option<ResetFlow>) {
        self.with(caller, |s| s.reset = flow);
    }

    /// Send a new verification code for the reset under way: kept in the session, and in the
    /// outbox the console shows.
    pub(crate) fn send_code(&self, caller: &Caller, purpose: &str) -> Option<SentCode> {
        let code = format!("{:06}", rand::thread_rng().gen_range(0..1_000_000u32));
        let now = chrono::Utc::now();
        let mut st = self.lock();
        let flow = st.sessions.get_mut(&caller.id)?.reset.as_mut()?;
        flow.code = Some((code.clone(), Instant::now()));
        flow.attempts = 0;
        let sent = SentCode {
            time: now,
            to: flow.upn.clone(),
            code,
            purpose: purpose.to_string(),
            expires: now + chrono::Duration::seconds(CODE_LIFETIME.as_secs() as i64),
        };
        st.outbox.push(sent.clone());
        let over = st.outbox.len().saturating_sub(OUTBOX);
        st.outbox.drain(..over);
        st.sent += 1;
        Some(sent)
    }

    /// The codes sent so far, the newest first.
    pub(crate) fn outbox(&self) -> Vec<SentCode> {
        self.lock().outbox.iter().rev().cloned().collect()
    }

    /// How many codes were sent so far (for the console's live view).
    pub(crate) fn sent(&self) -> u64 {
        self.lock().sent
    }
}

fn cookie_id(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_string())
}

/// Give every request its [`Caller`], starting a session (and setting its cookie) when
/// there is none.
pub(crate) async fn attach(State(p): State<Pages>, mut request: Request, next: Next) -> Response {
    let headers = request.headers();
    let script = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .is_some_and(|t| !t.is_empty() && t == p.cfg.control_token);
    let (caller, new) = p.sessions.caller(cookie_id(headers).as_deref(), script);
    let id = caller.id.clone();
    request.extensions_mut().insert(caller);
    let mut response = next.run(request).await;
    if new {
        let cookie = format!("{COOKIE}={id}; Path=/; HttpOnly; Secure; SameSite=Lax");
        if let Ok(v) = HeaderValue::from_str(&cookie) {
            response.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// Refuse with 401: sign in first (HTML: to the sign-in page).
pub(crate) fn sign_in_first(headers: &HeaderMap, to: &str) -> Response {
    if super::wants_json(headers) {
        return (
            StatusCode::UNAUTHORIZED,
            axum::Json(serde_json::json!({
                "error": "sign in first, or send the lab's control_token as a bearer"
            })),
        )
            .into_response();
    }
    axum::response::Redirect::to(to).into_response()
}
