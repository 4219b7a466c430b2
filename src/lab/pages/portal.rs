//! The user's screens. The SSPR portal (`/portal`, aka.ms/sspr): "Get back into your
//! account" — a user ID, the portal's gates (SSPR_0009 … 0014 are answered here, before any
//! code is sent), "Why are you having trouble signing in?" when the tenant allows unlock
//! alone, a verification code (the lab shows it in the console instead of sending it), and
//! a new password twice; the answer is what the real service shows, with its SSPR code and
//! wording. My Account (`/myaccount`), signed in at the identity platform: change a known
//! password.

use super::session::{sign_in_first, Caller, Recovery, ResetFlow, CODE_ATTEMPTS, CODE_LIFETIME};
use super::{done, Answer, Pages};
use crate::world::{sspr_wording, AnswerOutcome, UserAnswer};
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::get;
use axum::{Extension, Form, Router};
use serde::Deserialize;
use serde_json::{json, Value};
use std::time::Instant;

pub(super) fn routes() -> Router<Pages> {
    Router::new()
        .route("/portal", get(start).post(user_id))
        .route("/portal/choose", get(choose_page).post(choose))
        .route("/portal/verify", get(verify_page).post(verify))
        .route(
            "/portal/new-password",
            get(new_password_page).post(new_password),
        )
        .route("/myaccount", get(my_account))
        .route("/myaccount/change-password", get(change_page).post(change))
}

/// What the page shows for an answer of the password service: the portal's explanation
/// for an SSPR code, its technical line, and the service's own words.
pub(super) fn outcome(answer: &UserAnswer) -> Value {
    let code = answer.sspr_code();
    let wording = code.and_then(sspr_wording);
    json!({
        "outcome": answer.outcome,
        "error": answer.error,
        "code": code,
        "explanation": wording.map(|w| w.0),
        "technical": match (code, wording) {
            (Some(c), Some(w)) => Some(format!("{c}: {}", w.1)),
            _ => None,
        },
        "detail": answer.detail,
    })
}

fn portal(step: &str, extra: Value) -> Answer {
    let mut data = json!({ "step": step });
    if let (Some(d), Value::Object(e)) = (data.as_object_mut(), extra) {
        d.extend(e);
    }
    Answer::page("portal.html", data)
}

async fn start(Extension(caller): Extension<Caller>, headers: HeaderMap) -> Response {
    portal("user-id", json!({})).render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
struct UserIdForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upn: String,
}

/// A user ID: the portal's gates, then the choice (when unlock alone is allowed) or a code.
async fn user_id(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<UserIdForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let upn = f.upn.trim().to_string();
    if upn.is_empty() {
        return portal(
            "user-id",
            json!({ "problem": "Enter your user ID (for example, alice@gntech.me)." }),
        )
        .status(StatusCode::BAD_REQUEST)
        .render(&caller, &headers);
    }
    let (checked, unlock_option) = {
        let w = p.world.lock().await;
        (w.sspr_check(&upn), w.tenant_settings().unlock_option)
    };
    if let Err(answer) = checked {
        p.sessions.set_reset(&caller, None);
        return portal("answer", json!({ "upn": upn, "answer": outcome(&answer) }))
            .status(StatusCode::FORBIDDEN)
            .render(&caller, &headers);
    }
    p.sessions.set_reset(
        &caller,
        Some(ResetFlow {
            upn,
            started: Instant::now(),
            recovery: (!unlock_option).then_some(Recovery::Reset),
            code: None,
            attempts: 0,
            verified: false,
        }),
    );
    if unlock_option {
        return done(
            &headers,
            "/portal/choose",
            json!({ "next": "/portal/choose" }),
        );
    }
    send_code(&p, &caller, &headers)
}

/// Send a code for the reset under way and ask for it.
fn send_code(p: &Pages, caller: &Caller, headers: &HeaderMap) -> Response {
    match p.sessions.send_code(caller, "SSPR verification") {
        Some(_) => done(
            headers,
            "/portal/verify",
            json!({ "next": "/portal/verify" }),
        ),
        None => expired(caller, headers),
    }
}

fn expired(caller: &Caller, headers: &HeaderMap) -> Response {
    portal(
        "user-id",
        json!({ "problem": "Your session has expired. Start again by entering your user ID." }),
    )
    .status(StatusCode::BAD_REQUEST)
    .render(caller, headers)
}

async fn choose_page(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    match p.sessions.reset(&caller) {
        Some(flow) => portal("choose", json!({ "upn": flow.upn })).render(&caller, &headers),
        None => expired(&caller, &headers),
    }
}

#[derive(Debug, Deserialize)]
struct ChooseForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    recovery: String,
}

async fn choose(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<ChooseForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let Some(mut flow) = p.sessions.reset(&caller) else {
        return expired(&caller, &headers);
    };
    flow.recovery = match f.recovery.as_str() {
        "reset" => Some(Recovery::Reset),
        "unlock" => Some(Recovery::Unlock),
        _ => return portal(
            "choose",
            json!({ "upn": flow.upn, "problem": "Choose why you are having trouble signing in." }),
        )
        .status(StatusCode::BAD_REQUEST)
        .render(&caller, &headers),
    };
    p.sessions.set_reset(&caller, Some(flow));
    send_code(&p, &caller, &headers)
}

async fn verify_page(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    match p.sessions.reset(&caller) {
        Some(flow) if flow.code.is_some() => {
            portal("verify", json!({ "upn": flow.upn })).render(&caller, &headers)
        }
        _ => expired(&caller, &headers),
    }
}

#[derive(Debug, Deserialize)]
struct CodeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
    /// "Resend the code" instead of entering one.
    #[serde(default)]
    resend: Option<String>,
}

async fn verify(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<CodeForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let Some(mut flow) = p.sessions.reset(&caller) else {
        return expired(&caller, &headers);
    };
    if f.resend.is_some() {
        return send_code(&p, &caller, &headers);
    }
    let Some((code, sent)) = flow.code.clone() else {
        return expired(&caller, &headers);
    };
    let again = |problem: &str| {
        portal("verify", json!({ "upn": flow.upn, "problem": problem }))
            .status(StatusCode::BAD_REQUEST)
            .render(&caller, &headers)
    };
    if sent.elapsed() >= CODE_LIFETIME {
        return again("This code has expired. Select \"Resend the code\" to get a new one.");
    }
    if f.code.trim() != code {
        flow.attempts += 1;
        if flow.attempts >= CODE_ATTEMPTS {
            p.sessions.set_reset(&caller, None);
            return portal(
                "user-id",
                json!({ "problem": "You entered a wrong code too many times. Start again." }),
            )
            .status(StatusCode::BAD_REQUEST)
            .render(&caller, &headers);
        }
        p.sessions.set_reset(&caller, Some(flow.clone()));
        return again("The code you entered doesn't match the code we sent. Try again.");
    }
    flow.verified = true;
    flow.code = None;
    let recovery = flow.recovery;
    let upn = flow.upn.clone();
    p.sessions.set_reset(&caller, Some(flow));
    if recovery == Some(Recovery::Unlock) {
        let answer = p.world.lock().await.sspr_unlock(&upn).await;
        p.sessions.set_reset(&caller, None);
        return answered(&caller, &headers, "unlock", &upn, &answer);
    }
    done(
        &headers,
        "/portal/new-password",
        json!({ "next": "/portal/new-password" }),
    )
}

/// The page after the service answered: done, or what went wrong in its words.
fn answered(
    caller: &Caller,
    headers: &HeaderMap,
    what: &str,
    upn: &str,
    answer: &UserAnswer,
) -> Response {
    portal(
        "answer",
        json!({ "upn": upn, "what": what, "answer": outcome(answer) }),
    )
    .status(status_of(answer))
    .render(caller, headers)
}

/// The HTTP status a page answers with for what the service said.
pub(super) fn status_of(answer: &UserAnswer) -> StatusCode {
    match answer.outcome {
        AnswerOutcome::Ok => StatusCode::OK,
        AnswerOutcome::Rejected => StatusCode::BAD_REQUEST,
        AnswerOutcome::Failed => StatusCode::BAD_GATEWAY,
    }
}

async fn new_password_page(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    match p.sessions.reset(&caller) {
        Some(flow) if flow.verified => {
            portal("new-password", json!({ "upn": flow.upn })).render(&caller, &headers)
        }
        _ => expired(&caller, &headers),
    }
}

#[derive(Debug, Deserialize)]
struct NewPasswordForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn new_password(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<NewPasswordForm>,
) -> Response {
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let Some(flow) = p.sessions.reset(&caller).filter(|f| f.verified) else {
        return expired(&caller, &headers);
    };
    if let Some(problem) = password_problem(&f.password, &f.confirm) {
        return portal(
            "new-password",
            json!({ "upn": flow.upn, "problem": problem }),
        )
        .status(StatusCode::BAD_REQUEST)
        .render(&caller, &headers);
    }
    let answer = p
        .world
        .lock()
        .await
        .sspr_reset(&flow.upn, &f.password)
        .await;
    if answer.outcome == AnswerOutcome::Rejected {
        // The policy said no: the person may choose another password.
        return portal(
            "new-password",
            json!({ "upn": flow.upn, "answer": outcome(&answer) }),
        )
        .status(StatusCode::BAD_REQUEST)
        .render(&caller, &headers);
    }
    p.sessions.set_reset(&caller, None);
    answered(&caller, &headers, "reset", &flow.upn, &answer)
}

/// What the page itself checks before sending (the service checks the rest).
fn password_problem(password: &str, confirm: &str) -> Option<&'static str> {
    if password.is_empty() {
        Some("Enter a new password.")
    } else if password != confirm {
        Some("The passwords don't match. Enter the same password in both boxes.")
    } else {
        None
    }
}

async fn my_account(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
) -> Response {
    let Some(upn) = caller.user().map(str::to_string) else {
        return sign_in_first(&headers, "/signin?next=/myaccount");
    };
    let user = p.world.lock().await.cloud_user(&upn).await;
    Answer::page(
        "myaccount.html",
        json!({ "view": "overview", "account": user }),
    )
    .render(&caller, &headers)
}

async fn change_page(Extension(caller): Extension<Caller>, headers: HeaderMap) -> Response {
    if caller.user().is_none() {
        return sign_in_first(&headers, "/signin?next=/myaccount/change-password");
    }
    Answer::page("myaccount.html", json!({ "view": "change" })).render(&caller, &headers)
}

#[derive(Debug, Deserialize)]
struct ChangeForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    current: String,
    #[serde(default)]
    password: String,
    #[serde(default)]
    confirm: String,
}

async fn change(
    State(p): State<Pages>,
    Extension(caller): Extension<Caller>,
    headers: HeaderMap,
    Form(f): Form<ChangeForm>,
) -> Response {
    let Some(upn) = caller.user().map(str::to_string) else {
        return sign_in_first(&headers, "/signin?next=/myaccount/change-password");
    };
    if let Some(r) = caller.csrf_refusal(&f.csrf, &headers) {
        return r;
    }
    let problem = if f.current.is_empty() {
        Some("Enter your current password.")
    } else {
        password_problem(&f.password, &f.confirm)
    };
    if let Some(problem) = problem {
        return Answer::page(
            "myaccount.html",
            json!({ "view": "change", "problem": problem }),
        )
        .status(StatusCode::BAD_REQUEST)
        .render(&caller, &headers);
    }
    let answer = p
        .world
        .lock()
        .await
        .change_password(&upn, &f.current, &f.password)
        .await;
    Answer::page(
        "myaccount.html",
        json!({ "view": "change", "answer": outcome(&answer) }),
    )
    .status(status_of(&answer))
    .render(&caller, &headers)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lab::pages::templates;

    /// What the password service answers when the relay's deadline passes.
    fn timeout() -> UserAnswer {
        UserAnswer {
            outcome: AnswerOutcome::Failed,
            error: Some(format!(
                "SSPR_0030: {}",
                crate::cloud::sspr::sspr_wording("SSPR_0030").unwrap().1
            )),
            detail: vec![
                "SSPR_0030".into(),
                "Writeback timeout".into(),
                "the on-premises service did not answer within 60 s (relay 504)".into(),
            ],
        }
    }

    #[test]
    fn a_timeout_shows_sspr_0030s_words_and_not_the_admins() {
        let shown = outcome(&timeout());
        assert_eq!(shown["code"], "SSPR_0030");
        assert!(shown["technical"]
            .as_str()
            .unwrap()
            .starts_with("SSPR_0030: We can't reset your password due to a poor connection"));
        let page = templates()
            .get_template("portal.html")
            .unwrap()
            .render(minijinja::context! {
                step => "answer",
                what => "reset",
                answer => minijinja::Value::from(minijinja::value::Serde(&shown)),
            })
            .unwrap();
        assert!(
            page.contains("We can't reset your password right now"),
            "{page}"
        );
        assert!(
            page.contains("because of connectivity issues to your organization"),
            "{page}"
        );
        assert!(
            !page.contains("Writeback timeout") && !page.contains(r#"id="error""#),
            "the admin's words stay in the admin's detail: {page}"
        );
    }

    #[test]
    fn an_answer_without_a_code_shows_the_services_words_alone() {
        let shown = outcome(&UserAnswer {
            outcome: AnswerOutcome::Rejected,
            error: Some("Password does not meet complexity requirements".into()),
            detail: vec!["event 33008 ADPasswordPolicyError".into()],
        });
        assert!(shown["code"].is_null() && shown["technical"].is_null());
        assert_eq!(
            shown["error"],
            "Password does not meet complexity requirements"
        );
    }

    #[test]
    fn the_page_checks_what_it_can_before_sending() {
        assert_eq!(password_problem("", ""), Some("Enter a new password."));
        assert!(password_problem("a", "b").unwrap().contains("don't match"));
        assert_eq!(password_problem("same", "same"), None);
    }
}
