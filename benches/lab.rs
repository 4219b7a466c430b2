//! Lab benchmark (not a test): how long `writeback-sim lab` takes until every endpoint
//! answers — LDAP and LDAPS binds, the identity platform's token, Graph, the relay, the
//! control endpoint — for a new lab, the same lab resumed, and a lab whose state holds
//! 100,000 synced users (AD and tenant). Drives the release binary as a user does; prints
//! wall times, the state folder's size and the lab's peak memory (VmHWM).
//!
//!   cargo bench --bench lab            (BENCH_LAB_USERS=N to change the size;
//!                                       BENCH_LAB_KEEP=1 keeps the state folders)

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use writeback_sim::lab::{Lab, LabInfo, LabOptions};
use writeback_sim::scenario::runner;
use writeback_sim::world::UserSpec;

fn folder(name: &str) -> PathBuf {
    let p = std::env::temp_dir().join(format!("wbsim-bench-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&p);
    p
}

fn spawn(state: &Path) -> Child {
    let _ = std::fs::remove_file(state.join("lab.json"));
    Command::new(env!("CARGO_BIN_EXE_writeback-sim"))
        .args(["lab", "--ports", "auto", "--state"])
        .arg(state)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("writeback-sim lab")
}

mod proc_status;

use proc_status::status_kib;

fn size_mib(dir: &Path) -> f64 {
    let bytes: u64 = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(Result::ok)
                .filter_map(|e| e.metadata().ok())
                .map(|m| m.len())
                .sum()
        })
        .unwrap_or(0);
    bytes as f64 / (1024.0 * 1024.0)
}

/// Does every endpoint answer? Each check is what a client does first.
async fn all_answer(info: &LabInfo) -> bool {
    let Ok(ca) = std::fs::read_to_string(&info.ca_file) else {
        return false;
    };
    let Ok(http) = writeback_sim::tls::http_client(Some(&ca)) else {
        return false;
    };
    let control = http
        .get(format!("{}/health", info.control_url))
        .send()
        .await;
    if !control.is_ok_and(|r| r.status().is_success()) {
        return false;
    }
    let token = http
        .post(&info.token_url)
        .form(&[
            ("grant_type", "client_credentials"),
            ("client_id", info.client_id.as_str()),
            ("client_secret", info.client_secret.as_str()),
            ("scope", "https://graph.microsoft.com/.default"),
        ])
        .send()
        .await;
    let Ok(token) = token else { return false };
    let Ok(token) = token.json::<serde_json::Value>().await else {
        return false;
    };
    let Some(token) = token["access_token"].as_str() else {
        return false;
    };
    let users = http
        .get(format!("{}/users?$top=1", info.graph_url))
        .bearer_auth(token)
        .send()
        .await;
    if !users.is_ok_and(|r| r.status().is_success()) {
        return false;
    }
    // The relay answers a listener without a token with 401: it is up.
    let relay = http
        .get(format!(
            "{}/$hc/{}?sb-hc-action=listen",
            info.relay_url.replace("ws://", "http://"),
            info.relay_path
        ))
        .send()
        .await;
    if !relay.is_ok_and(|r| r.status().as_u16() == 401) {
        return false;
    }
    for url in [&info.ldap_url, &info.ldaps_url] {
        let settings = ldap3::LdapConnSettings::new().set_no_tls_verify(true);
        let Ok((conn, mut ldap)) = ldap3::LdapConnAsync::with_settings(settings, url).await else {
            return false;
        };
        ldap3::drive!(conn);
        let bound = ldap
            .simple_bind(&info.admin_dn, &info.admin_password)
            .await
            .map(|r| r.rc == 0)
            .unwrap_or(false);
        let _ = ldap.unbind().await;
        if !bound {
            return false;
        }
    }
    true
}

/// Start the binary on `state` and time it until every endpoint answers.
fn measure(rt: &tokio::runtime::Runtime, state: &Path, what: &str) {
    let started = Instant::now();
    let mut child = spawn(state);
    let answered = rt.block_on(async {
        loop {
            if let Ok(text) = std::fs::read_to_string(state.join("lab.json")) {
                if let Ok(info) = serde_json::from_str::<LabInfo>(&text) {
                    if !info.control_url.is_empty() && all_answer(&info).await {
                        return started.elapsed();
                    }
                }
            }
            if started.elapsed() > Duration::from_secs(600) {
                panic!("{what}: the lab did not answer within 10 minutes");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    });
    let peak = status_kib(Some(child.id()), "VmHWM:");
    // A clean stop (SIGTERM) saves; the next start resumes.
    let _ = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status();
    let stopping = Instant::now();
    let _ = child.wait();
    println!(
        "{what:<34} every endpoint answers after {:>7.0} ms; peak {:>5} MiB; clean stop {:>6.0} ms; state {:.1} MiB",
        answered.as_secs_f64() * 1000.0,
        peak / 1024,
        stopping.elapsed().as_secs_f64() * 1000.0,
        size_mib(state),
    );
}

fn users_ldif(n: usize) -> String {
    let mut s = String::with_capacity(n * 400);
    s.push_str("dn: OU=Bench,DC=gntech,DC=me\nobjectClass: top\nobjectClass: organizationalUnit\nou: Bench\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "dn: CN=Bench User {i:06},OU=Bench,DC=gntech,DC=me\nobjectClass: top\nobjectClass: person\nobjectClass: organizationalPerson\nobjectClass: user\ncn: Bench User {i:06}\nsn: User\ngivenName: Bench\ndisplayName: Bench User {i:06}\nsAMAccountName: bench{i:06}\nuserPrincipalName: bench{i:06}@gntech.me\nuserAccountControl: 512\nunicodePwd:: IgBJAG4AaQB0AGkAYQBsACMAUABhAHMAcwAyADAAMgA2ACIA\n\n"
        ));
    }
    s
}

fn main() {
    let n: usize = std::env::var("BENCH_LAB_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");

    let small = folder("small");
    measure(&rt, &small, "new lab (default world)");
    measure(&rt, &small, "resumed lab (default world)");

    // A state with n synced users, made through the library, saved by a clean shutdown.
    let big = folder("big");
    let made = Instant::now();
    rt.block_on(async {
        let opts = LabOptions {
            state: big.clone(),
            auto_ports: true,
            bind: [127, 0, 0, 1].into(),
            cycle_interval: Duration::from_secs(30 * 60),
            directory: None,
        };
        let lab = Lab::start(opts, move |template| async move {
            let (_, mut w) = runner::open(Path::new("fixtures/lab.yaml"), Some(template))
                .await
                .map_err(|e| e.to_string())?;
            w.import_ldif(&users_ldif(n), "bench.ldif")
                .await
                .map_err(|e| e.to_string())?;
            for i in 0..n {
                w.add_user(UserSpec {
                    upn: format!("bench{i:06}@gntech.me"),
                    synced_from: Some(format!("CN=Bench User {i:06},OU=Bench,DC=gntech,DC=me")),
                    ..UserSpec::default()
                })
                .await
                .map_err(|e| e.to_string())?;
            }
            Ok(w)
        })
        .await
        .expect("the big lab");
        lab.shutdown().await.expect("saved");
    });
    println!(
        "made a state with {n} synced users in {:.1} s ({:.1} MiB)",
        made.elapsed().as_secs_f64(),
        size_mib(&big)
    );
    measure(&rt, &big, &format!("resumed lab ({n} users)"));

    if std::env::var_os("BENCH_LAB_KEEP").is_some() {
        println!("kept: {} {}", small.display(), big.display());
    } else {
        let _ = std::fs::remove_dir_all(&small);
        let _ = std::fs::remove_dir_all(&big);
    }
}
