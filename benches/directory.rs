//! Directory benchmark (not a test): prints ops/s for indexed search, modify and add over
//! real LDAP connections at 1 and 8 concurrent clients, against a directory holding
//! 100,000 users, and the memory those 100,000 entries take.
//!
//!   cargo bench --bench directory            (BENCH_USERS=N to change the size)

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

mod proc_status;

use proc_status::status_kib;

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
            let (conn, mut l) = LdapConnAsync::new(&url).await.expect("connect");
            ldap3::drive!(conn);
            l.simple_bind(ADMIN, ADMIN_PW)
                .await
                .expect("bind")
                .success()
                .expect("bind ok");
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

fn main() {
    let users: usize = std::env::var("BENCH_USERS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
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
    rt.block_on(async {
        let tls = TlsMaterial::generate(&["localhost".into()]).expect("cert");
        let running = Running::start(dir.clone(), "127.0.0.1:0".parse().ok(), None, tls)
            .await
            .expect("listen");
        let url = running.ldap_url().expect("ldap url");
        let per = 2000;
        for (name, op) in [
            ("indexed search", Op::Search),
            ("modify", Op::Modify),
            ("add", Op::Add),
        ] {
            for (round, clients) in [1usize, 8].into_iter().enumerate() {
                let per_client = if clients == 1 { per } else { per / 4 };
                let ops = run(&url, op, clients, per_client, users, round).await;
                println!("  {name:<15} {clients} connection(s): {ops:>8.0} ops/s");
            }
        }
        tokio::time::timeout(Duration::from_secs(10), running.shutdown())
            .await
            .ok();
    });
}
