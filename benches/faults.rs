//! The fault matrix (not a test; prints counts): password writebacks through the whole
//! path while a seeded random fault is in force for each one — the relay's listeners
//! dropped, the sync service restarted, the DC's connections reset, a DC slower than the
//! relay's 60-second deadline or just slow, the relay down, Graph throttling (429) or
//! unavailable (503) with Retry-After — and, every 25 resets, a device registered or
//! renamed in the cloud and a delta sync cycle run under the same fault. On a virtual
//! clock: the same seed gives the same counts.
//!
//!   cargo bench --bench faults      (FAULT_RESETS=N, default 10,000; FAULT_SEED=S)
//!
//! What must hold, checked after every request against AD itself: each request ends with
//! exactly one answer to the user; a password the user was told was set is in AD
//! ("lost" = 0); none is applied twice (one PasswordSet run per request at most); every
//! change in AD has its run record ("unrecorded" = 0); and once the faults are lifted,
//! one more cycle leaves every cloud device in AD as the cloud has it (the delta position
//! never skipped a change: "devices behind" = 0). "Applied late" counts the hazard the
//! article's "Writeback timeout" row is about: AD changed although the user was told it
//! failed.

mod common;
#[path = "common/process.rs"]
mod process;

use common::{accounts_world, dn, upn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};
use writeback_sim::world::{
    AnswerOutcome, Choices, CycleKind, DeviceChoice, DeviceClass, DeviceSpec, DeviceUpdate, Faults,
    GraphFaults, LdapFaults, Profile, RelayFaults, Status, World, WorldOptions,
};

const ACCOUNTS: usize = 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Fault {
    None,
    ListenersDropped,
    EngineRestarted,
    LdapReset,
    DcPastDeadline,
    DcSlow,
    RelayDown,
    GraphThrottled,
    GraphUnavailable,
}

/// A fault for the next request: none most of the time.
fn pick(rng: &mut StdRng) -> Fault {
    match rng.gen_range(0..100) {
        0..=49 => Fault::None,
        50..=56 => Fault::ListenersDropped,
        57..=60 => Fault::EngineRestarted,
        61..=68 => Fault::LdapReset,
        69..=74 => Fault::DcPastDeadline,
        75..=82 => Fault::DcSlow,
        83..=88 => Fault::RelayDown,
        89..=94 => Fault::GraphThrottled,
        _ => Fault::GraphUnavailable,
    }
}

async fn apply(w: &mut World, f: Fault) {
    let mut faults = Faults::default();
    match f {
        Fault::None => {}
        Fault::ListenersDropped => w.drop_relay_listeners(),
        Fault::EngineRestarted => w.restart_engine().await,
        Fault::LdapReset => w.reset_ldap_connections(),
        Fault::DcPastDeadline => {
            faults.ldap = LdapFaults {
                latency: Some(Duration::from_secs(40)),
                ..LdapFaults::default()
            }
        }
        Fault::DcSlow => {
            faults.ldap = LdapFaults {
                latency: Some(Duration::from_secs(2)),
                ..LdapFaults::default()
            }
        }
        Fault::RelayDown => {
            faults.relay = RelayFaults {
                down: true,
                ..RelayFaults::default()
            }
        }
        Fault::GraphThrottled => {
            faults.graph = GraphFaults {
                throttle: 2,
                retry_after: Duration::from_secs(5),
                ..GraphFaults::default()
            }
        }
        Fault::GraphUnavailable => {
            faults.graph = GraphFaults {
                status: Some(503),
                retry_after: Duration::from_secs(5),
                ..GraphFaults::default()
            }
        }
    }
    w.set_faults(faults);
}

#[derive(Debug, Default)]
struct Counts {
    sent: u64,
    ok: u64,
    rejected: u64,
    failed: u64,
    timed_out: u64,
    unanswered: u64,
    applied: u64,
    applied_late: u64,
    lost: u64,
    applied_twice: u64,
    unrecorded: u64,
    cycles: u64,
    cycle_failures: u64,
}

fn main() {
    let n: u64 = std::env::var("FAULT_RESETS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let seed: u64 = std::env::var("FAULT_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    process::on_worker(async move {
        let mut w = accounts_world(
            ACCOUNTS,
            WorldOptions {
                seed,
                ..WorldOptions::default()
            },
        )
        .await;
        let domain = w.domain_dn();
        w.configure(Choices {
            device_writeback: Some(Some(DeviceChoice {
                forest: None,
                container: None,
                class: DeviceClass::MsDsDevice,
                prepare: true,
            })),
            ..Choices::default()
        })
        .await
        .expect("device writeback");
        let mut rng = StdRng::seed_from_u64(seed);
        let mut c = Counts::default();
        let mut by_fault: BTreeMap<Fault, u64> = BTreeMap::new();
        let mut devices = 0usize;
        let started = Instant::now();
        for i in 0..n {
            let fault = pick(&mut rng);
            *by_fault.entry(fault).or_default() += 1;
            apply(&mut w, fault).await;
            let who = rng.gen_range(0..ACCOUNTS);
            let password = format!("Fault#{i}x{who}");
            let mark = w.history_mark();
            c.sent += 1;
            let answer =
                tokio::time::timeout(Duration::from_secs(120), w.sspr_reset(&upn(who), &password))
                    .await;
            // Is it AD's password now? (Every password is new: a bind with it says.)
            let changed = w.sign_in(&dn(&domain, who), &password).await.is_ok();
            let sets = w
                .runs_since(mark)
                .into_iter()
                .filter(|r| {
                    matches!(r.profile, Profile::PasswordSet) && r.status == Status::Success
                })
                .count();
            match &answer {
                Err(_) => c.unanswered += 1,
                Ok(a) => match a.outcome {
                    AnswerOutcome::Ok => c.ok += 1,
                    AnswerOutcome::Rejected => c.rejected += 1,
                    AnswerOutcome::Failed if a.detail.iter().any(|d| d == "Writeback timeout") => {
                        c.timed_out += 1
                    }
                    AnswerOutcome::Failed => c.failed += 1,
                },
            }
            let told_ok = matches!(&answer, Ok(a) if a.outcome == AnswerOutcome::Ok);
            match (told_ok, changed) {
                (true, true) => c.applied += 1,
                (false, true) => c.applied_late += 1,
                (true, false) => c.lost += 1,
                (false, false) => {}
            }
            if sets > 1 {
                c.applied_twice += 1;
            }
            if changed && sets == 0 {
                c.unrecorded += 1;
            }
            if i % 25 == 24 {
                // The cloud changes a device, and a cycle runs under the same fault.
                if devices < 40 && rng.gen_bool(0.5) {
                    let owner = upn(rng.gen_range(0..ACCOUNTS));
                    w.register_device(DeviceSpec {
                        name: format!("DEV-{devices:03}"),
                        owner: Some(owner),
                        ..DeviceSpec::default()
                    })
                    .expect("register");
                    devices += 1;
                } else if devices > 0 {
                    let d = rng.gen_range(0..devices);
                    let _ = w.update_device(DeviceUpdate {
                        name: format!("DEV-{d:03}"),
                        display_name: Some(format!("DEV-{d:03}")),
                        enabled: Some(rng.gen_bool(0.8)),
                        ..DeviceUpdate::default()
                    });
                }
                c.cycles += 1;
                match w.sync(CycleKind::Delta).await {
                    Ok(s) if s.import_failed.is_none() && s.export_errors == 0 => {}
                    _ => c.cycle_failures += 1,
                }
            }
            w.set_faults(Faults::default());
        }
        // The faults lifted: one more cycle brings AD level with the cloud.
        w.set_faults(Faults::default());
        w.sync(CycleKind::Delta).await.expect("final cycle");
        let in_ad = w
            .ad_count(
                &format!("CN=RegisteredDevices,{domain}"),
                "(objectClass=msDS-Device)",
            )
            .await
            .unwrap_or(0);
        let behind = devices.saturating_sub(in_ad);
        let wall = started.elapsed();
        println!("fault matrix, seed {seed}: {n} SSPR resets and {} delta cycles under seeded faults ({:.1} s)", c.cycles, wall.as_secs_f64());
        println!("faults: {by_fault:?}");
        println!("| sent | ok | rejected | failed | timed out | unanswered | applied | applied late | lost | applied twice | unrecorded | cycles failed | devices behind |");
        println!("|---|---|---|---|---|---|---|---|---|---|---|---|---|");
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            c.sent,
            c.ok,
            c.rejected,
            c.failed,
            c.timed_out,
            c.unanswered,
            c.applied,
            c.applied_late,
            c.lost,
            c.applied_twice,
            c.unrecorded,
            c.cycle_failures,
            behind
        );
        w.shutdown().await;
        let broken = c.unanswered + c.lost + c.applied_twice + c.unrecorded + behind as u64;
        if broken > 0 {
            eprintln!(
                "the fault matrix found {broken} request(s) or change(s) that broke a guarantee"
            );
            std::process::exit(1);
        }
    });
}
