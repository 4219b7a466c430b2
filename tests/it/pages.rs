//! The lab's web pages as a person and a script meet them, over HTTPS with the lab's CA and
//! a cookie, redirects followed by hand: the SSPR portal (a reset with the code the console
//! shows, the gates' SSPR codes, a reset AD refuses, a relay that is down), My Account and
//! the admin center signed in at the identity platform, the sync console signed in with an
//! AD administrator, its fault switches, and every page's JSON twin. (The same journeys in a
//! real browser: tests/interop/pages.mjs.)

use super::lab::{start, Folder};
use reqwest::StatusCode;
use serde_json::Value;
use writeback_sim::lab::{Lab, LabInfo};
use writeback_sim::world::Right;

const ALICE_DN: &str = "CN=Alice Smith,OU=Staff,DC=gntech,DC=me";

/// A browser: one cookie, no automatic redirects, the lab's CA.
struct Browser {
    http: reqwest::Client,
    base: String,
    cookie: Option<String>,
}

/// A page as the browser got it.
struct Got {
    status: StatusCode,
    location: Option<String>,
    body: String,
}

impl Got {
    /// The value of the hidden form field `name`.
    fn field(&self, name: &str) -> String {
        let marker = format!("name=\"{name}\" value=\"");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no field {name} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('"').unwrap() + start;
        html_unescape(&self.body[start..end])
    }

    /// The text of the element whose id is `id`.
    fn field_text(&self, id: &str) -> String {
        let marker = format!("id=\"{id}\">");
        let start = self
            .body
            .find(&marker)
            .unwrap_or_else(|| panic!("no #{id} in {}", self.body))
            + marker.len();
        let end = self.body[start..].find('<').unwrap() + start;
        html_unescape(&self.body[start..end])
    }
}

fn html_unescape(s: &str) -> String {
    s.replace("&amp;", "&")
        .replace("&#x2f;", "/")
        .replace("&#x27;", "'")
        .replace("&quot;", "\"")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
}

impl Browser {
    fn new(info: &LabInfo) -> Self {
        let ca = std::fs::read_to_string(&info.ca_file).unwrap();
        let http = writeback_sim::tls::http_client_builder(Some(&ca))
            .unwrap()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap();
        Self {
            http,
            base: info.portal_url.trim_end_matches("/portal").to_string(),
            cookie: None,
        }
    }

    fn url(&self, path: &str) -> String {
        if path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        }
    }

    async fn send(&mut self, r: reqwest::RequestBuilder) -> Got {
        let r = match &self.cookie {
            // The pages' cookie only (the identity platform sets none).
            Some(c) => r.header("cookie", c),
            None => r,
        };
        let resp = r.send().await.unwrap();
        if let Some(c) = resp.headers().get("set-cookie") {
            let c = c.to_str().unwrap();
            assert!(c.contains("HttpOnly") && c.contains("Secure"), "{c}");
            self.cookie = Some(c.split(';').next().unwrap().to_string());
        }
        Got {
            status: resp.status(),
            location: resp
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string()),
            body: resp.text().await.unwrap(),
        }
    }

    async fn get(&mut self, path: &str) -> Got {
        let r = self.http.get(self.url(path));
        self.send(r).await
    }

    async fn post(&mut self, path: &str, form: &[(&str, &str)]) -> Got {
        let r = self.http.post(self.url(path)).form(form);
        self.send(r).await
    }

    /// POST a form of the page at `page` (its CSRF token included), then follow redirects.
    async fn submit(&mut self, page: &str, action: &str, form: &[(&str, &str)]) -> Got {
        let csrf = self.get(page).await.field("csrf");
        let mut fields = vec![("csrf", csrf.as_str())];
        fields.extend_from_slice(form);
        let got = self.post(action, &fields).await;
        self.follow(got).await
    }

    async fn follow(&mut self, mut got: Got) -> Got {
        for _ in 0..10 {
            match got.location.clone() {
                Some(to) if got.status.is_redirection() => got = self.get(&to).await,
                _ => break,
            }
        }
        got
    }

    /// Sign in at the identity platform (the lab's sign-in page) and come back.
    async fn sign_in(&mut self, next: &str, upn: &str, password: &str) -> Got {
        let to_authorize = self.get(&format!("/signin?next={next}")).await;
        let authorize = to_authorize
            .location
            .expect("a redirect to the sign-in page");
        assert!(authorize.contains("/oauth2/v2.0/authorize?"), "{authorize}");
        assert!(
            authorize.contains("code_challenge_method=S256"),
            "{authorize}"
        );
        let page = self.http.get(&authorize).send().await.unwrap();
        let page = page.text().await.unwrap();
        // The sign-in page's own form: its hidden fields, then what the person types.
        let action_at = page.find("action=\"").unwrap() + 8;
        let action =
            html_unescape(&page[action_at..action_at + page[action_at..].find('"').unwrap()]);
        let mut form: Vec<(String, String)> = Vec::new();
        for part in page.split("<input type=\"hidden\" name=\"").skip(1) {
            let name = &part[..part.find('"').unwrap()];
            let v_at = part.find("value=\"").unwrap() + 7;
            let value = html_unescape(&part[v_at..v_at + part[v_at..].find('"').unwrap()]);
            form.push((name.to_string(), value));
        }
        form.push(("username".into(), upn.into()));
        form.push(("password".into(), password.into()));
        let authority = authorize.split("/oauth2/").next().unwrap();
        let host = &authority[..authority[8..].find('/').unwrap() + 8];
        let action = if action.starts_with('/') {
            format!("{host}{action}")
        } else {
            action
        };
        let back = self.http.post(&action).form(&form).send().await.unwrap();
        let callback = back
            .headers()
            .get("location")
            .unwrap_or_else(|| panic!("no redirect back: {}", back.status()))
            .to_str()
            .unwrap()
            .to_string();
        assert!(callback.starts_with(&self.base), "{callback}");
        let got = self.get(&callback).await;
        self.follow(got).await
    }
}

/// A script with the lab's control token, reading a page's JSON twin (GET) or sending one
/// of its forms (no CSRF token needed).
async fn as_script(lab: &Lab, path: &str, form: Option<&[(&str, &str)]>) -> Value {
    let info = lab.info();
    let b = Browser::new(info);
    let r = match form {
        Some(f) => b.http.post(b.url(path)).form(f),
        None => b.http.get(b.url(path)),
    };
    let r = r
        .bearer_auth(&info.control_token)
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK, "{path}");
    r.json().await.unwrap()
}

async fn script(lab: &Lab, path: &str) -> Value {
    as_script(lab, path, None).await
}

async fn admin_form(lab: &Lab, path: &str, form: &[(&str, &str)]) -> Value {
    as_script(lab, path, Some(form)).await
}

/// The newest code the console shows for `upn`.
async fn code_for(lab: &Lab, upn: &str) -> String {
    let codes = script(lab, "/console/codes").await;
    codes["codes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["to"] == upn)
        .map(|c| c["code"].as_str().unwrap().to_string())
        .unwrap_or_else(|| panic!("no code for {upn}: {codes}"))
}

/// Through the portal up to the new-password step.
async fn verified(lab: &Lab, b: &mut Browser, upn: &str) {
    let got = b.submit("/portal", "/portal", &[("upn", upn)]).await;
    assert!(
        got.body.contains("Enter your verification code"),
        "{}",
        got.body
    );
    let code = code_for(lab, upn).await;
    let got = b
        .submit("/portal/verify", "/portal/verify", &[("code", &code)])
        .await;
    assert!(got.body.contains("Enter new password"), "{}", got.body);
}

async fn ldaps_bind(lab: &Lab, who: &str, password: &str) -> u32 {
    lab.world()
        .lock()
        .await
        .sign_in(who, password)
        .await
        .map_or(49, |()| 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_user_resets_in_the_portal_and_the_console_shows_the_run_and_event_31002() {
    let folder = Folder::new("pages-reset");
    let lab = start(folder.path()).await;
    let mut b = Browser::new(lab.info());

    // A wrong code is refused, a mismatch is caught before anything is sent.
    let got = b
        .submit("/portal", "/portal", &[("upn", "alice@gntech.me")])
        .await;
    assert_eq!(got.status, StatusCode::OK);
    let wrong = b
        .submit("/portal/verify", "/portal/verify", &[("code", "000000x")])
        .await;
    assert_eq!(wrong.status, StatusCode::BAD_REQUEST);
    assert!(
        wrong.body.contains("doesn&#x27;t match the code we sent"),
        "{}",
        wrong.body
    );
    let code = code_for(&lab, "alice@gntech.me").await;
    b.submit("/portal/verify", "/portal/verify", &[("code", &code)])
        .await;
    let mismatch = b
        .submit(
            "/portal/new-password",
            "/portal/new-password",
            &[("password", "Fresh!Pass123"), ("confirm", "Fresh!Pass124")],
        )
        .await;
    assert!(
        mismatch.body.contains("The passwords don&#x27;t match"),
        "{}",
        mismatch.body
    );
    assert_eq!(
        ldaps_bind(&lab, "alice@gntech.me", "Fresh!Pass123").await,
        49
    );

    let done = b
        .submit(
            "/portal/new-password",
            "/portal/new-password",
            &[("password", "Fresh!Pass123"), ("confirm", "Fresh!Pass123")],
        )
        .await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert!(
        done.body.contains("Your password has been reset"),
        "{}",
        done.body
    );
    assert_eq!(
        ldaps_bind(&lab, "alice@gntech.me", "Fresh!Pass123").await,
        0
    );

    // The console: a PasswordSet run for alice and event 31002; the session is used up.
    let runs = script(&lab, "/console").await;
    let run = &runs["runs"][0];
    assert_eq!(run["profile"], "PasswordSet");
    assert_eq!(run["status"], "success");
    assert_eq!(run["dn"], ALICE_DN);
    let events = script(&lab, "/console/events?id=31002").await;
    assert!(events["events"][0]["message"]
        .as_str()
        .unwrap()
        .contains("PasswordResetSuccess"));
    let again = b.get("/portal/new-password").await;
    assert!(
        again.body.contains("Your session has expired"),
        "{}",
        again.body
    );
    lab.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_portal_shows_the_services_codes_and_words() {
    let folder = Folder::new("pages-codes");
    let lab = start(folder.path()).await;
    let mut b = Browser::new(lab.info());

    // Access denied: the connector account lost Reset Password on the user.
    let world = lab.world();
    let connector = world.lock().await.connector_dn();
    {
        let w = world.lock().await;
        let domain = w.domain_dn();
        w.revoke(Right::ResetPassword, &domain, Some(&connector))
            .await
            .unwrap();
    }
    verified(&lab, &mut b, "bob@gntech.me").await;
    let denied = b
        .submit(
            "/portal/new-password",
            "/portal/new-password",
            &[("password", "Fresh!Pass123"), ("confirm", "Fresh!Pass123")],
        )
        .await;
    assert_eq!(denied.status, StatusCode::BAD_GATEWAY);
    assert!(denied.body.contains("SSPR_0029: We are unable to reset your password due to an error in your on-premises configuration"), "{}", denied.body);
    assert!(
        !denied.body.contains("Access denied"),
        "the admin's words are not the user's: {}",
        denied.body
    );
    let events = script(&lab, "/console/events?id=33004").await;
    let message = events["events"][0]["message"].as_str().unwrap().to_string();
    assert!(message.starts_with("ADPermissionsError"), "{message}");
    assert!(
        message.contains("DistinguishedName: CN=Bob Jones,OU=Staff,DC=gntech,DC=me"),
        "{message}"
    );
    {
        let w = world.lock().await;
        let domain = w.domain_dn();
        w.grant(Right::ResetPassword, &domain, Some(&connector))
            .await
            .unwrap();
    }

    // The policy refuses a short password: the page stays, with the service's words.
    verified(&lab, &mut b, "carol@gntech.me").await;
    let weak = b
        .submit(
            "/portal/new-password",
            "/portal/new-password",
            &[("password", "abc"), ("confirm", "abc")],
        )
        .await;
    assert_eq!(weak.status, StatusCode::BAD_REQUEST);
    assert!(
        weak.body
            .contains("Password does not meet complexity requirements"),
        "{}",
        weak.body
    );
    assert!(
        weak.body.contains("Enter new password"),
        "the form stays: {}",
        weak.body
    );

    // The relay is down, switched in the console's faults page: SSPR_0030.
    let mut admin = Browser::new(lab.info());
    let info = lab.info().clone();
    let signed = admin
        .submit(
            "/console/signin",
            "/console/signin",
            &[
                ("username", &info.admin_dn),
                ("password", &info.admin_password),
                ("next", "/console/faults"),
            ],
        )
        .await;
    assert!(signed.body.contains("<h1>Faults</h1>"), "{}", signed.body);
    let on = admin
        .submit("/console/faults", "/console/faults", &[("relay_down", "1")])
        .await;
    assert!(on.body.contains("relay down"), "{}", on.body);
    assert!(lab.world().lock().await.faults().relay.down);
    verified(&lab, &mut b, "david@gntech.me").await;
    let down = b
        .submit(
            "/portal/new-password",
            "/portal/new-password",
            &[("password", "Fresh!Pass123"), ("confirm", "Fresh!Pass123")],
        )
        .await;
    assert!(
        down.body
            .contains("SSPR_0030: We can&#x27;t reset your password due to a poor connection"),
        "{}",
        down.body
    );
    let off = admin
        .submit("/console/faults", "/console/faults/clear", &[])
        .await;
    assert!(off.body.contains("No fault is on."), "{}", off.body);

    // The admin center allows unlock alone: the portal asks why, and unlocks.
    let saved = admin_form(
        &lab,
        "/admin/password-reset",
        &[
            ("enabled", "all"),
            ("writeback", "yes"),
            ("unlock_option", "yes"),
        ],
    )
    .await;
    assert_eq!(saved["sspr"]["unlock_option"], true, "{saved}");
    let choose = b
        .submit("/portal", "/portal", &[("upn", "frank@gntech.me")])
        .await;
    assert!(
        choose
            .body
            .contains("I know my password, but still can't sign in"),
        "{}",
        choose.body
    );
    let verify = b
        .submit(
            "/portal/choose",
            "/portal/choose",
            &[("recovery", "unlock")],
        )
        .await;
    assert!(
        verify.body.contains("Enter your verification code"),
        "{}",
        verify.body
    );
    let code = code_for(&lab, "frank@gntech.me").await;
    let unlocked = b
        .submit("/portal/verify", "/portal/verify", &[("code", &code)])
        .await;
    assert!(
        unlocked.body.contains("Your account has been unlocked"),
        "{}",
        unlocked.body
    );
    let runs = script(&lab, "/console").await;
    assert_eq!(runs["runs"][0]["profile"], "AccountUnlock");

    // The admin center turns SSPR off: the first step answers SSPR_0009, no code is sent.
    admin_form(&lab, "/admin/password-reset", &[("enabled", "none")]).await;
    let sent = script(&lab, "/console/codes").await["codes"]
        .as_array()
        .unwrap()
        .len();
    let off = b
        .submit("/portal", "/portal", &[("upn", "erin@gntech.me")])
        .await;
    assert_eq!(off.status, StatusCode::FORBIDDEN);
    assert!(
        off.body
            .contains("SSPR_0009: We&#x27;ve detected that password reset has not been enabled"),
        "{}",
        off.body
    );
    assert_eq!(
        script(&lab, "/console/codes").await["codes"]
            .as_array()
            .unwrap()
            .len(),
        sent
    );
    lab.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admins_sign_in_at_the_identity_platform_and_the_console_wants_a_domain_admin() {
    let folder = Folder::new("pages-admin");
    let lab = start(folder.path()).await;
    let info = lab.info().clone();

    // A user signs in to My Account and changes her password (a PasswordChange run).
    let mut alice = Browser::new(&info);
    let account = alice
        .sign_in("/myaccount", "alice@gntech.me", "Initial#Pass2026")
        .await;
    assert!(account.body.contains("alice@gntech.me"), "{}", account.body);
    let changed = alice
        .submit(
            "/myaccount/change-password",
            "/myaccount/change-password",
            &[
                ("current", "Initial#Pass2026"),
                ("password", "Chang3d!Pass"),
                ("confirm", "Chang3d!Pass"),
            ],
        )
        .await;
    // The one-day minimum age of the lab's policy may refuse a change right after a
    // reset; alice's password is a month old.
    assert!(
        changed.body.contains("Your password was changed"),
        "{}",
        changed.body
    );
    assert_eq!(ldaps_bind(&lab, "alice@gntech.me", "Chang3d!Pass").await, 0);
    // She is no admin.
    let refused = alice.get("/admin").await;
    assert_eq!(refused.status, StatusCode::FORBIDDEN);

    // The lab's admin resets bob with "must change at next sign-in".
    let mut admin = Browser::new(&info);
    let overview = admin
        .sign_in("/admin", &info.admin_upn, &info.admin_user_password)
        .await;
    assert!(
        overview.body.contains("<h1>Overview</h1>"),
        "{}",
        overview.body
    );
    let users = admin.get("/admin/users?search=bob").await;
    assert!(users.body.contains("bob@gntech.me") && !users.body.contains("alice@gntech.me"));
    let reset = admin
        .submit(
            "/admin/users/bob@gntech.me",
            "/admin/users/bob@gntech.me/reset-password",
            &[("password", ""), ("force_change", "1")],
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
    let temporary = reset.field_text("temporary-password");
    assert_eq!(
        ldaps_bind(&lab, "bob@gntech.me", &temporary).await,
        49,
        "must change first"
    );
    let bob = script(&lab, "/admin/users/bob@gntech.me").await;
    assert_eq!(bob["user"]["ad"]["must_change_password"], true);
    let runs = script(&lab, "/console").await;
    assert_eq!(runs["runs"][0]["profile"], "PasswordSet");

    // The console: a wrong password, then a user who is no admin, then the Administrator.
    let mut console = Browser::new(&info);
    let first = console.get("/console").await;
    assert_eq!(
        first.location.as_deref(),
        Some("/console/signin?next=/console")
    );
    let wrong = console
        .submit(
            "/console/signin",
            "/console/signin",
            &[("username", &info.admin_dn), ("password", "nope")],
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong
        .body
        .contains("The user name or password is incorrect"));
    let not_admin = console
        .submit(
            "/console/signin",
            "/console/signin",
            &[
                ("username", "alice@gntech.me"),
                ("password", "Chang3d!Pass"),
            ],
        )
        .await;
    assert!(
        not_admin
            .body
            .contains("is not an administrator of this server"),
        "{}",
        not_admin.body
    );
    let ok = console
        .submit(
            "/console/signin",
            "/console/signin",
            &[
                ("username", &info.admin_dn),
                ("password", &info.admin_password),
            ],
        )
        .await;
    assert!(
        ok.body.contains("Synchronization Service Manager"),
        "{}",
        ok.body
    );
    assert!(ok.body.contains("PasswordChange"), "{}", ok.body);

    // A form without the session's token is refused.
    let forged = console
        .post("/console/faults", &[("relay_down", "1")])
        .await;
    assert_eq!(forged.status, StatusCode::FORBIDDEN);
    assert!(!lab.world().lock().await.faults().relay.down);
    lab.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_page_answers_as_json_and_a_device_shows_in_the_next_export() {
    let folder = Folder::new("pages-json");
    let lab = start(folder.path()).await;
    let info = lab.info().clone();
    // No token, no cookie: JSON clients are told to sign in.
    let b = Browser::new(&info);
    let r = b
        .http
        .get(b.url("/console"))
        .header("accept", "application/json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);

    let features = script(&lab, "/console/features").await;
    assert_eq!(features["features"][0]["name"], "PasswordWriteback");
    assert_eq!(features["features"][0]["value"], "Enabled");
    let settings = script(&lab, "/admin/password-reset").await;
    assert_eq!(settings["sspr"]["writeback"], true);
    let licenses = script(&lab, "/admin/licenses").await;
    assert_eq!(licenses["license"], "P1");
    let scheduler = script(&lab, "/console/scheduler").await;
    assert!(scheduler["next_cycle"].is_string(), "{scheduler}");

    // A device registers, a delta cycle runs from the scheduler page: the export adds it,
    // and the connector space shows it joined with nothing pending.
    lab.world()
        .lock()
        .await
        .register_device(writeback_sim::world::DeviceSpec {
            name: "LAB-PC-7".into(),
            owner: Some("alice@gntech.me".into()),
            ..Default::default()
        })
        .unwrap();
    let pending = script(&lab, "/console/connectors?search=LAB-PC-7").await;
    assert_eq!(
        pending["objects"].as_array().unwrap().len(),
        0,
        "not imported yet: {pending}"
    );
    let mut console = Browser::new(&info);
    console
        .submit(
            "/console/signin",
            "/console/signin",
            &[
                ("username", &info.admin_dn),
                ("password", &info.admin_password),
            ],
        )
        .await;
    let ran = console
        .submit(
            "/console/scheduler",
            "/console/scheduler/run",
            &[("kind", "delta")],
        )
        .await;
    assert!(ran.body.contains("Export"), "{}", ran.body);
    let runs = script(&lab, "/console").await;
    let export = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "Export" && r["adds"].as_u64().unwrap_or(0) > 0)
        .unwrap_or_else(|| panic!("no export with adds: {runs}"))
        .clone();
    assert_eq!(export["status"], "success");
    let cs = script(&lab, "/console/connectors?search=LAB-PC-7").await;
    let row = &cs["objects"][0];
    assert_eq!(row["kind"], "device");
    assert!(row["dn"].as_str().unwrap().starts_with("CN="), "{cs}");
    assert!(row["pending_export"].is_null(), "{cs}");
    let devices = script(&lab, "/admin/devices?search=LAB-PC-7").await;
    assert_eq!(devices["devices"][0]["owners"][0], "alice@gntech.me");
    assert_eq!(devices["devices"][0]["written_back_as"], row["dn"]);

    // Renamed in the cloud while the DC is unreachable: the cycle imports the change, the
    // export fails, and the connector space shows the pending update and what it changes.
    lab.world()
        .lock()
        .await
        .update_device(writeback_sim::world::DeviceUpdate {
            name: "LAB-PC-7".into(),
            display_name: Some("LAB-PC-8".into()),
            ..Default::default()
        })
        .unwrap();
    console
        .submit("/console/faults", "/console/faults", &[("ldap_down", "1")])
        .await;
    console
        .submit(
            "/console/scheduler",
            "/console/scheduler/run",
            &[("kind", "delta")],
        )
        .await;
    let cs = script(&lab, "/console/connectors?search=LAB-PC").await;
    let row = &cs["objects"][0];
    assert_eq!(row["display_name"], "LAB-PC-8", "{cs}");
    assert_eq!(row["pending_export"], "update", "{cs}");
    assert!(
        row["changes"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c == "display_name"),
        "{cs}"
    );
    let page = console.get("/console/connectors?search=LAB-PC").await;
    assert!(page.body.contains("update: display_name"), "{}", page.body);
    let runs = script(&lab, "/console").await;
    let failed = runs["runs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["profile"] == "Export")
        .unwrap()
        .clone();
    assert_ne!(failed["status"], "success", "{failed}");
    lab.shutdown().await.unwrap();
}
