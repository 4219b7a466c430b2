//! Directory benchmark (not a test): prints ops/s for indexed search, modify and add over
//! real LDAP connections at 1 and 8 concurrent clients, against a directory holding
//! 100,000 users, and the memory those 100,000 entries take; then paged searches over all
//! of them, and what 500 connections holding 10 paged searches each cost the DC.
//!
//!   cargo bench --bench directory            (BENCH_USERS=N to change the size;
//!                                             BENCH_LOAD_ONLY=1 stops after the load)
//!   benches/slapd.sh                         (the same client against OpenLDAP's slapd
//!                                             holding the same users)

#[path = "common/process.rs"]
mod process;
use ldap3::controls::{ControlType, PagedResults, RawControl};
use ldap3::{LdapConnAsync, Mod, Scope};
use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};
use writeback_sim::clock::SystemClock;
use writeback_sim::directory::add::AddRequest;
use writeback_sim::directory::server::Running;
use writeback_sim::directory::{Directory, DirectoryConfig, OpContext, Principal};
use writeback_sim::tls::TlsMaterial;

const ADMIN: &str = "CN=Administrator,CN=Users,DC=gntech,DC=me";
const ADMIN_PW: &str = "Adm1n!Pass2026";
const BENCH_OU: &str = "OU=Bench,DC=gntech,DC=me";

mod proc_status;

use proc_status::status_kib;

#[inline(never)]
fn populate(dir: &Directory, n: usize) {
    let now = dir.now();
    let ctx = OpContext::default();
    let mut st = dir.write();
    st.add(
        &Principal::System,
        &ctx,
        now,
        AddRequest {
            dn: "OU=Bench,DC=gntech,DC=me".into(),
            attrs: vec![("objectClass".into(), vec![b"organizationalUnit".to_vec()])],
        },
    )
    .expect("bench OU");
    for i in 0..n {
        let name = format!("user{i:06}");
        let attrs = vec![
            ("objectClass".to_string(), vec![b"user".to_vec()]),
            (
                "sAMAccountName".to_string(),
                vec![name.clone().into_bytes()],
            ),
            (
                "userPrincipalName".to_string(),
                vec![format!("{name}@gntech.me").into_bytes()],
            ),
            (
                "displayName".to_string(),
                vec![format!("User {i}").into_bytes()],
            ),
            ("userAccountControl".to_string(), vec![b"512".to_vec()]),
        ];
        st.add(
            &Principal::System,
            &ctx,
            now,
            AddRequest {
                dn: format!("CN={name},OU=Bench,DC=gntech,DC=me"),
                attrs,
            },
        )
        .expect("bench user");
    }
}

/// A connection bound as the administrator.
async fn connect(url: &str) -> ldap3::Ldap {
    let (conn, mut l) = LdapConnAsync::new(url).await.expect("connect");
    ldap3::drive!(conn);
    l.simple_bind(ADMIN, ADMIN_PW)
        .await
        .expect("bind")
        .success()
        .expect("bind ok");
    l
}

#[derive(Clone, Copy)]
enum Op {
    Search,
    Modify,
    Add,
}

async fn run(
    url: &str,
    op: Op,
    clients: usize,
    per_client: usize,
    users: usize,
    round: usize,
) -> f64 {
    let mut handles = Vec::new();
    let start = Instant::now();
    for c in 0..clients {
        let url = url.to_string();
        handles.push(tokio::spawn(async move {
            let mut l = connect(&url).await;
            for i in 0..per_client {
                let k = (c * per_client + i) * 7919 % users;
                match op {
                    Op::Search => {
                        let (e, _) = l
                            .search(
                                "DC=gntech,DC=me",
                                Scope::Subtree,
                                &format!("(sAMAccountName=user{k:06})"),
                                vec!["cn", "objectGUID"],
                            )
                            .await
                            .expect("search")
                            .success()
                            .expect("search ok");
                        assert_eq!(e.len(), 1);
                    }
                    Op::Modify => {
                        let m = vec![Mod::Replace(
                            b"description".to_vec(),
                            HashSet::from([format!("r{round} i{i}").into_bytes()]),
                        )];
                        l.modify(&format!("CN=user{k:06},OU=Bench,DC=gntech,DC=me"), m)
                            .await
                            .expect("modify")
                            .success()
                            .expect("modify ok");
                    }
                    Op::Add => {
                        let name = format!("new{round}-{c}-{i}");
                        let a = vec![
                            (
                                b"objectClass".to_vec(),
                                HashSet::from([b"computer".to_vec()]),
                            ),
                            (
                                b"sAMAccountName".to_vec(),
                                HashSet::from([format!("{name}$").into_bytes()]),
                            ),
                        ];
                        l.add(&format!("CN={name},OU=Bench,DC=gntech,DC=me"), a)
                            .await
                            .expect("add")
                            .success()
                            .expect("add ok");
                    }
                }
            }
        }));
    }
    for h in handles {
        h.await.expect("client task");
    }
    (clients * per_client) as f64 / start.elapsed().as_secs_f64()
}

/// One page of a subtree search under OU=Bench; its entries and next cookie.
async fn page(
    l: &mut ldap3::Ldap,
    size: i32,
    cookie: Vec<u8>,
    sorted: bool,
) -> Result<(usize, Vec<u8>), String> {
    let mut controls = vec![PagedResults { size, cookie }.into()];
    if sorted {
        // Server-side sort on cn: SEQUENCE { SEQUENCE { "cn" } }.
        let val = vec![0x30, 0x06, 0x30, 0x04, 0x04, 0x02, b'c', b'n'];
        controls.push(RawControl {
            ctype: "1.2.840.113556.1.4.473".into(),
            crit: true,
            val: Some(val),
        });
    }
    let (entries, res) = l
        .with_controls(controls)
        .search(BENCH_OU, Scope::Subtree, "(objectClass=user)", vec!["cn"])
        .await
        .map_err(|e| e.to_string())?
        .success()
        .map_err(|e| e.to_string())?;
    let cookie = (res.ctrls.iter())
        .find(|c| matches!(c.0, Some(ControlType::PagedResults)))
        .map(|c| c.1.parse::<PagedResults>().cookie)
        .unwrap_or_default();
    Ok((entries.len(), cookie))
}

/// Paged searches as AD bounds them: one over every user, 1,000 a page (unsorted, then
/// sorted by cn), and 500 connections each holding 10 open — what the DC keeps for them
/// stays within MaxResultSetSize.
async fn paged(url: &str, dir: &Directory, users: usize) {
    let mut l = connect(url).await;
    for sorted in [false, true] {
        let t = Instant::now();
        let (mut n, mut pages, mut cookie) = (0, 0, Vec::new());
        loop {
            match page(&mut l, 1000, cookie, sorted).await {
                Ok((got, next)) => {
                    n += got;
                    pages += 1;
                    if next.is_empty() {
                        break;
                    }
                    cookie = next;
                }
                Err(e) => {
                    println!("  paged search failed after {n} entries: {e}");
                    break;
                }
            }
        }
        let how = if sorted { "sorted by cn" } else { "unsorted" };
        println!(
            "  paged search over {users} users ({how}): {n} entries in {pages} pages, {:.2} s",
            t.elapsed().as_secs_f64()
        );
    }
    let before = status_kib(None, "VmRSS:");
    let mut held = Vec::new();
    for _ in 0..500 {
        let mut l = connect(url).await;
        for _ in 0..10 {
            if let Err(e) = page(&mut l, 1, Vec::new(), false).await {
                println!("  a paged search to hold failed: {e}");
            }
        }
        held.push(l);
    }
    let sets = dir.result_sets();
    println!(
        "  500 connections x 10 open paged searches: {} kept in {} bytes (MaxResultSetSize {}); memory {:+.1} MiB",
        sets.len(),
        sets.bytes(),
        writeback_sim::directory::result_sets::MAX_RESULT_SET_SIZE,
        (status_kib(None, "VmRSS:") as f64 - before as f64) / 1024.0
    );
    for mut l in held {
        let _ = l.unbind().await;
    }
}

/// Bind and find one user: what "serving" means for the figure after the load.
async fn first_answer(url: &str) {
    let mut l = connect(url).await;
    let (e, _) = l
        .search(
            "DC=gntech,DC=me",
            Scope::Subtree,
            "(sAMAccountName=user000000)",
            vec!["cn"],
        )
        .await
        .expect("search")
        .success()
        .expect("search ok");
    assert_eq!(e.len(), 1, "user000000 is found");
    let _ = l.unbind().await;
}

/// The search, modify and add rounds, as `main` runs them against our directory.
async fn rounds(url: &str, users: usize) {
    let per = 2000;
    for (name, op) in [
        ("indexed search", Op::Search),
        ("modify", Op::Modify),
        ("add", Op::Add),
    ] {
        for (round, clients) in [1usize, 8].into_iter().enumerate() {
            let per_client = if clients == 1 { per } else { per / 4 };
            let ops = run(url, op, clients, per_client, users, round).await;
            println!("  {name:<15} {clients} connection(s): {ops:>8.0} ops/s");
        }
    }
}

fn main() {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    if let Ok(url) = std::env::var("BENCH_LDAP_URL") {
        // Another server (benches/slapd.sh loads OpenLDAP's with the same users): the same
        // client and rounds, nothing of ours in between.
        println!("directory benchmark against {url}: {users} users in OU=Bench");
        process::on_worker(async move { rounds(&url, users).await });
        return;
    }
    let begun = Instant::now();
    let config = DirectoryConfig::default();
    let dir = Directory::new(config, Arc::new(SystemClock)).expect("provision");
    let before = status_kib(None, "VmRSS:");
    let t = Instant::now();
    populate(&dir, users);
    let load = t.elapsed();
    let after = status_kib(None, "VmRSS:");
    println!(
        "directory benchmark: {users} users in OU=Bench ({} entries in all)",
        dir.len()
    );
    println!(
        "  load (in-process adds): {:.2} s, {:.0} adds/s",
        load.as_secs_f64(),
        users as f64 / load.as_secs_f64().max(1e-9)
    );
    println!(
        "  memory: {:.1} MiB for {users} entries = {:.1} MiB per 100k entries",
        (after.saturating_sub(before)) as f64 / 1024.0,
        (after.saturating_sub(before)) as f64 / 1024.0 * 100_000.0 / users as f64
    );
    if std::env::var_os("BENCH_LOAD_ONLY").is_some() {
        return;
    }
    process::on_worker(async move {
        let t = Instant::now();
        let tls = TlsMaterial::generate(&["localhost".into()]).expect("cert");
        let keys = t.elapsed();
        let running = Running::start(dir.clone(), "127.0.0.1:0".parse().ok(), None, tls)
            .await
            .expect("listen");
        let url = running.ldap_url().expect("ldap url");
        first_answer(&url).await;
        println!(
            "  first answer over LDAP: {:.2} s after the directory was created \
             (provisioning, the load, the listeners; not the {:.2} s the certificate took)",
            (begun.elapsed() - keys).as_secs_f64(),
            keys.as_secs_f64()
        );
        rounds(&url, users).await;
        paged(&url, &dir, users).await;
        tokio::time::timeout(Duration::from_secs(10), running.shutdown())
            .await
            .ok();
    });
}
