//! The lab as its users drive it: started in process on free ports with a temporary state
//! folder, signed in to at its token endpoint, a password reset through Graph that binds on
//! its LDAP, faults switched on its control endpoint, a restart that keeps everything, and
//! (`kill_9_at_any_moment_…`) the `writeback-sim lab` binary killed again and again.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use writeback_sim::lab::{Lab, LabInfo, LabOptions};
use writeback_sim::scenario::runner;
use writeback_sim::world::World;

const PASSWORD_METHOD: &str = "28c10230-6103-485e-b985-444c60001490";
const ALICE_DN: &str = "CN=Alice Smith,OU=Staff,DC=gntech,DC=me";

/// A state folder of its own, removed afterwards.
pub(crate) struct Folder(PathBuf);

impl Folder {
    pub(crate) fn path(&self) -> &Path {
        &self.0
    }

    pub(crate) fn new(name: &str) -> Self {
        let p = std::env::temp_dir().join(format!("wbsim-lab-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&p);
        Self(p)
    }
}

impl Drop for Folder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn options(dir: &Path) -> LabOptions {
    LabOptions {
        state: dir.to_path_buf(),
        auto_ports: true,
        bind: [127, 0, 0, 1].into(),
        cycle_interval: Duration::from_secs(30 * 60),
        directory: None,
    }
}

/// A new lab from the default lab world.
pub(crate) async fn start(dir: &Path) -> Lab {
    Lab::start(options(dir), |template| async move {
        runner::open(Path::new("fixtures/lab.yaml"), Some(template))
            .await
            .map(|(_, world)| world)
            .map_err(|e| e.to_string())
    })
    .await
    .unwrap()
}

/// The lab saved in `dir`; it must not be built again.
async fn resume(dir: &Path) -> Result<Lab, String> {
    Lab::start(options(dir), |_| async {
        Err::<World, _>("a saved lab was built again instead of loaded".to_string())
    })
    .await
    .map_err(|e| e.to_string())
}

/// A client that trusts the lab's CA, as `REQUESTS_CA_BUNDLE` makes Python's do.
fn client(info: &LabInfo) -> reqwest::Client {
    let ca = std::fs::read_to_string(&info.ca_file).unwrap();
    writeback_sim::tls::http_client(Some(&ca)).unwrap()
}

/// The lab admin's Graph token by the resource-owner password grant (a public client).
async fn admin_token(info: &LabInfo) -> String {
    let r = client(info)
        .post(&info.token_url)
        .form(&[
            ("grant_type", "password"),
            ("client_id", info.public_client_id.as_str()),
            ("username", info.admin_upn.as_str()),
            ("password", info.admin_user_password.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let body: Value = r.json().await.unwrap();
    body["access_token"].as_str().unwrap().to_string()
}

/// Reset `upn`'s password through Graph's documented call and wait for the operation.
async fn reset_through_graph(info: &LabInfo, token: &str, upn: &str, password: &str) -> Value {
    let http = client(info);
    let user: Value = http
        .get(format!("{}/users/{upn}", info.graph_url))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = user["id"].as_str().unwrap();
    let r = http
        .post(format!(
            "{}/users/{id}/authentication/methods/{PASSWORD_METHOD}/resetPassword",
            info.graph_url
        ))
        .bearer_auth(token)
        .json(&json!({ "newPassword": password }))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202);
    let location = r.headers()["location"].to_str().unwrap().to_string();
    for _ in 0..500 {
        let op: Value = http
            .get(&location)
            .bearer_auth(token)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if op["status"] != "running" {
            return op;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("the reset operation never finished")
}

async fn bind(url: &str, dn: &str, password: &str) -> u32 {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(url).await.unwrap();
    ldap3::drive!(conn);
    let rc = ldap.simple_bind(dn, password).await.unwrap().rc;
    let _ = ldap.unbind().await;
    rc
}

async fn control(
    info: &LabInfo,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let mut req = client(info)
        .request(method, format!("{}{path}", info.control_url))
        .bearer_auth(&info.control_token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap();
    (r.status().as_u16(), r.json().await.unwrap_or_default())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_graph_reset_binds_on_ldap_and_everything_is_still_there_after_a_restart() {
    let folder = Folder::new("restart");
    let lab = start(&folder.0).await;
    let info = lab.info().clone();
    assert!(info.graph_url.starts_with("https://127.0.0.1:") && info.graph_url.ends_with("/v1.0"));
    assert!(info.ldaps_url.starts_with("ldaps://127.0.0.1:"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(folder.0.join("lab.json"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "lab.json holds secrets");
    }
    assert!(
        !lab.screen().contains(&info.client_secret),
        "no secret on the screen"
    );
    assert!(!lab.screen().contains(&info.admin_password));

    let token = admin_token(&info).await;
    let op = reset_through_graph(&info, &token, "alice@gntech.me", "Lab-Reset#2026").await;
    assert_eq!(op["status"], "succeeded", "{op}");
    assert_eq!(bind(&info.ldap_url, ALICE_DN, "Lab-Reset#2026").await, 0);
    let (code, status) = control(&info, reqwest::Method::GET, "/status", None).await;
    assert_eq!(code, 200);
    let runs_before = status["run_count"].as_u64().unwrap();
    assert!(
        status["runs"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["profile"] == "PasswordSet"
                && r["user"] == "alice@gntech.me"
                && r["status"] == "success"),
        "the run history shows the write: {status}"
    );
    lab.shutdown().await.unwrap();

    // Resumed: the reset still binds, and history and Graph's delta positions continue.
    let lab = resume(&folder.0).await.unwrap();
    let info = lab.info().clone();
    assert!(lab.screen().contains("resumed"));
    assert_eq!(bind(&info.ldap_url, ALICE_DN, "Lab-Reset#2026").await, 0);
    let (_, status) = control(&info, reqwest::Method::GET, "/status", None).await;
    assert!(
        status["run_count"].as_u64().unwrap() >= runs_before,
        "{status}"
    );
    let (_, sync) = control(
        &info,
        reqwest::Method::POST,
        "/sync",
        Some(json!({"kind": "delta"})),
    )
    .await;
    assert!(
        sync["import_failed"].is_null(),
        "the saved delta link is followed on the new port: {sync}"
    );
    let (_, status) = control(&info, reqwest::Method::GET, "/status", None).await;
    assert!(
        status["run_count"].as_u64().unwrap() > runs_before,
        "{status}"
    );
    // The old token is still good: the signing key was kept.
    let again = reset_through_graph(&info, &token, "bob@gntech.me", "Lab-Again#2026").await;
    assert_eq!(again["status"], "succeeded", "{again}");
    lab.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_control_endpoint_needs_its_token_and_switches_faults_while_the_lab_runs() {
    let folder = Folder::new("control");
    let lab = start(&folder.0).await;
    let info = lab.info().clone();
    let http = client(&info);
    let health = http
        .get(format!("{}/health", info.control_url))
        .send()
        .await
        .unwrap();
    assert_eq!(health.status(), 200, "health needs no token");
    let anonymous = http
        .get(format!("{}/status", info.control_url))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let wrong = http
        .post(format!("{}/faults", info.control_url))
        .bearer_auth("not-the-token")
        .json(&json!({"relay": {"down": true}}))
        .send()
        .await
        .unwrap();
    assert_eq!(wrong.status(), 401);

    let (code, faults) = control(
        &info,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"relay": {"down": true}})),
    )
    .await;
    assert_eq!(code, 200);
    assert_eq!(faults["relay"]["down"], true);
    let token = admin_token(&info).await;
    let op = reset_through_graph(&info, &token, "carol@gntech.me", "Lab-Down#2026").await;
    assert_eq!(op["status"], "failed", "{op}");
    assert!(
        op["statusDetail"].as_str().unwrap().contains("SSPR_0030"),
        "{op}"
    );
    let (_, status) = control(&info, reqwest::Method::GET, "/status", None).await;
    assert_eq!(status["faults"]["relay"]["down"], true);

    let (code, _) = control(&info, reqwest::Method::DELETE, "/faults", None).await;
    assert_eq!(code, 200);
    let op = reset_through_graph(&info, &token, "carol@gntech.me", "Lab-Up#2026").await;
    assert_eq!(op["status"], "succeeded", "{op}");

    // An AD admin takes the connector's Reset Password away, and gives it back.
    let right = |action: &str| json!({"action": action, "right": "reset_password", "on": "DC=gntech,DC=me"});
    let (code, done) = control(
        &info,
        reqwest::Method::POST,
        "/rights",
        Some(right("revoke")),
    )
    .await;
    assert_eq!((code, &done["changed"]), (200, &json!(true)), "{done}");
    assert!(
        done["to"].as_str().unwrap().starts_with("CN=MSOL_"),
        "{done}"
    );
    let op = reset_through_graph(&info, &token, "erin@gntech.me", "Lab-Denied#2026").await;
    assert!(
        op["statusDetail"].as_str().unwrap().contains("SSPR_0029"),
        "{op}"
    );
    let (code, _) = control(
        &info,
        reqwest::Method::POST,
        "/rights",
        Some(right("grant")),
    )
    .await;
    assert_eq!(code, 200);
    let op = reset_through_graph(&info, &token, "erin@gntech.me", "Lab-Granted#2026").await;
    assert_eq!(op["status"], "succeeded", "{op}");
    let (code, bad) = control(
        &info,
        reqwest::Method::POST,
        "/rights",
        Some(json!({"action": "grant", "right": "reset_passwords", "on": "DC=gntech,DC=me"})),
    )
    .await;
    assert_eq!(code, 400);
    assert!(
        bad["error"].as_str().unwrap().contains("known rights"),
        "{bad}"
    );

    let (code, bad) = control(
        &info,
        reqwest::Method::POST,
        "/faults",
        Some(json!({"relay": {"dwon": true}})),
    )
    .await;
    assert_eq!(code, 400);
    assert!(bad["error"].as_str().unwrap().contains("dwon"), "{bad}");
    let (code, bad) = control(
        &info,
        reqwest::Method::POST,
        "/sync",
        Some(json!({"kind": "full"})),
    )
    .await;
    assert_eq!(code, 400, "{bad}");
    lab.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_in_use_or_of_another_format_or_with_foreign_files_is_refused() {
    let folder = Folder::new("refuse");
    let lab = start(&folder.0).await;
    let e = resume(&folder.0).await.err().unwrap();
    assert!(e.contains("in use by a lab running as process"), "{e}");
    lab.shutdown().await.unwrap();

    let manifest = folder.0.join("state.json");
    let text = std::fs::read_to_string(&manifest).unwrap();
    let mut m: Value = serde_json::from_str(&text).unwrap();
    m["format"] = json!(99);
    std::fs::write(&manifest, m.to_string()).unwrap();
    let e = resume(&folder.0).await.err().unwrap();
    assert!(
        e.contains("state format 99") && e.contains("new --state folder"),
        "{e}"
    );

    let foreign = Folder::new("foreign");
    std::fs::create_dir_all(&foreign.0).unwrap();
    std::fs::write(foreign.0.join("thesis.docx"), b"mine").unwrap();
    let e = resume(&foreign.0).await.err().unwrap();
    assert!(e.contains("thesis.docx"), "{e}");
    assert!(
        foreign.0.join("thesis.docx").exists(),
        "nothing of the user's is touched"
    );
}

/// `writeback-sim lab` killed with SIGKILL at random moments — while it starts, while it
/// saves — many times (`WBSIM_KILL_LOOPS`, 6 by default; CI runs more): every start loads
/// what the last one left, and what was written more than a second before the kill is
/// there (an AD attribute written over LDAP, and the count of runs).
#[cfg(unix)]
#[test]
fn kill_9_at_any_moment_keeps_what_was_saved_and_always_loads() {
    use rand::{Rng, SeedableRng};
    let loops: usize = std::env::var("WBSIM_KILL_LOOPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let folder = Folder::new("kill9");
    let seed = std::env::var("WBSIM_KILL_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20261130u64);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let rt = tokio::runtime::Runtime::new().unwrap();
    // The last write a completed save covered before a kill (description, runs): the floor
    // every later start must reach.
    let mut floor: Vec<(u64, u64, u64)> = Vec::new();
    let mut counter = 0u64;
    for round in 0..loops {
        let mut child = spawn_lab(&folder.0);
        let early = round % 3 == 1;
        if early {
            // While it starts (a new folder's first start included).
            std::thread::sleep(Duration::from_millis(rng.gen_range(50..600)));
            kill(&mut child);
            continue;
        }
        let info = rt.block_on(wait_until_up(&folder.0, &mut child));
        if let Some((found, runs)) = check_floor(&rt, &info, &floor, round) {
            eprintln!("round {round}: loaded description {found}, {runs} runs");
        }
        let stop_at = Instant::now() + Duration::from_millis(rng.gen_range(300..2500));
        // (saves completed when acknowledged, description, runs)
        let mut written: Vec<(u64, u64, u64)> = Vec::new();
        let saves_at_kill = rt.block_on(async {
            while Instant::now() < stop_at {
                counter += 1;
                let (runs, saves) = write_and_count(&info, counter).await;
                written.push((saves, counter, runs));
                tokio::time::sleep(Duration::from_millis(rng.gen_range(20..150))).await;
            }
            let (_, status) = control(&info, reqwest::Method::GET, "/status", None).await;
            status["saves"].as_u64().unwrap()
        });
        kill(&mut child);
        // Promised: what was acknowledged before a save that started after it and completed
        // before the kill (the saver runs every second; how long that takes on a loaded
        // machine is not a promise a test can time).
        let covered: Vec<_> = written
            .iter()
            .filter(|(saves, _, _)| saves + 2 <= saves_at_kill)
            .copied()
            .collect();
        eprintln!(
            "round {round}: {} writes, {} covered by a save before the kill ({saves_at_kill} saves)",
            written.len(),
            covered.len()
        );
        if let Some(last) = covered.last().copied() {
            floor = vec![last];
        }
    }
    // A last start must load, and hold the floor.
    let mut child = spawn_lab(&folder.0);
    let info = rt.block_on(wait_until_up(&folder.0, &mut child));
    check_floor(&rt, &info, &floor, loops);
    kill(&mut child);
}

#[cfg(unix)]
fn spawn_lab(dir: &Path) -> std::process::Child {
    // The previous process's lab.json names its ports; a fresh start rewrites it.
    let _ = std::fs::remove_file(dir.join("lab.json"));
    std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args([
            "lab",
            "--ports",
            "auto",
            "--cycle-interval",
            "1s",
            "--state",
        ])
        .arg(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap()
}

#[cfg(unix)]
fn kill(child: &mut std::process::Child) {
    // Child::kill sends SIGKILL on unix.
    let _ = child.kill();
    let _ = child.wait();
}

/// Wait until the lab's control endpoint answers; fail with its stderr if it exits.
#[cfg(unix)]
async fn wait_until_up(dir: &Path, child: &mut std::process::Child) -> LabInfo {
    use std::io::Read;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            if let Some(mut e) = child.stderr.take() {
                let _ = e.read_to_string(&mut err);
            }
            panic!("the lab did not start after a kill ({status}): {err}");
        }
        if let Some(info) = read_info(dir) {
            if !info.control_url.is_empty() {
                let up = writeback_sim::tls::http_client(None)
                    .unwrap()
                    .get(format!("{}/health", info.control_url))
                    .send()
                    .await;
                if up.map(|r| r.status().is_success()).unwrap_or(false) {
                    return info;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "the lab did not answer within 60 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn read_info(dir: &Path) -> Option<LabInfo> {
    let text = std::fs::read_to_string(dir.join("lab.json")).ok()?;
    serde_json::from_str(&text).ok()
}

/// Write `n` into Alice's `description` over LDAP (as the AD admin) and read the number of
/// runs and of completed saves: acknowledged when this returns.
async fn write_and_count(info: &LabInfo, n: u64) -> (u64, u64) {
    let (conn, mut ldap) = ldap3::LdapConnAsync::new(&info.ldap_url).await.unwrap();
    ldap3::drive!(conn);
    ldap.simple_bind(&info.admin_dn, &info.admin_password)
        .await
        .unwrap()
        .success()
        .unwrap();
    let n_text = n.to_string();
    ldap.modify(
        ALICE_DN,
        vec![ldap3::Mod::Replace("description", [n_text.as_str()].into())],
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    let _ = ldap.unbind().await;
    let (_, status) = control(info, reqwest::Method::GET, "/status", None).await;
    (
        status["run_count"].as_u64().unwrap(),
        status["saves"].as_u64().unwrap(),
    )
}

/// What a start holds must reach the last floor: `(description, run count)`.
#[cfg(unix)]
fn check_floor(
    rt: &tokio::runtime::Runtime,
    info: &LabInfo,
    written: &[(u64, u64, u64)],
    round: usize,
) -> Option<(u64, u64)> {
    let &(_, n, runs) = written.last()?;
    rt.block_on(async {
        let (conn, mut ldap) = ldap3::LdapConnAsync::new(&info.ldap_url).await.unwrap();
        ldap3::drive!(conn);
        ldap.simple_bind(&info.admin_dn, &info.admin_password)
            .await
            .unwrap();
        let (entries, _) = ldap
            .search(
                ALICE_DN,
                ldap3::Scope::Base,
                "(objectClass=*)",
                vec!["description"],
            )
            .await
            .unwrap()
            .success()
            .unwrap();
        let e = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
        let found: u64 = e.attrs["description"][0].parse().unwrap();
        assert!(
            found >= n,
            "round {round}: description {found}, but {n} was saved before the kill"
        );
        let (_, status) = control(info, reqwest::Method::GET, "/status", None).await;
        let count = status["run_count"].as_u64().unwrap();
        assert!(
            count >= runs,
            "round {round}: {count} runs, but {runs} were saved before the kill"
        );
        Some((found, count))
    })
}

/// The binary as a person meets it: a warning when the lab is reachable from elsewhere, and
/// `--world` refused over a folder that already holds a lab.
#[cfg(unix)]
#[test]
fn the_cli_warns_off_loopback_and_will_not_start_a_world_over_a_lab() {
    use std::io::{BufRead, BufReader};
    let folder = Folder::new("cli");
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args(["lab", "--ports", "auto", "--bind", "0.0.0.0", "--state"])
        .arg(&folder.0)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut warning = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut warning)
        .unwrap();
    assert!(
        warning.starts_with("warning: the lab listens on 0.0.0.0"),
        "{warning}"
    );
    let mut screen = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut screen)
        .unwrap();
    assert!(
        screen.starts_with("writeback-sim lab for gntech.me"),
        "{screen}"
    );
    kill(&mut child);

    let refused = std::process::Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args([
            "lab",
            "--ports",
            "auto",
            "--world",
            "scenarios/password/access-denied.yaml",
            "--state",
        ])
        .arg(&folder.0)
        .output()
        .unwrap();
    assert_eq!(refused.status.code(), Some(2));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(
        err.contains("already holds a lab") && err.contains("--world"),
        "{err}"
    );
}
