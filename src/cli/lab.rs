//! `writeback-sim lab` (start or resume a lab) and `writeback-sim lab ctl` (its control
//! endpoint, for people): the lab itself is the library's `lab`; a new one is built from a
//! scenario's `world:` — the one `--world` names, or the default lab world.

use super::Outcome;
use anyhow::Context;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use writeback_sim::lab::{Lab, LabOptions};
use writeback_sim::scenario::{model, runner};
use writeback_sim::world::{World, WorldOptions};

/// The default lab world and the forest it imports (written into a new state folder).
const DEFAULT_WORLD: &str = include_str!("../../fixtures/lab.yaml");
const DEFAULT_LDIF: &str = include_str!("../../fixtures/gntech.me.ldif");

#[derive(Debug, clap::Args)]
pub struct LabArgs {
    /// The state folder (created when missing; a lab resumes from it).
    #[arg(long, default_value = "writeback-lab", global = true)]
    pub state: PathBuf,
    /// Start a new lab from this scenario file's `world:` (its symptom in place), instead
    /// of the default lab world.
    #[arg(long, value_name = "FILE.yaml")]
    pub world: Option<PathBuf>,
    /// `fixed` (LDAP 10389, LDAPS 10636, Graph and sign-in 10443, relay 10080, control
    /// 10090) or `auto` (free ports; lab.json says which).
    #[arg(long, default_value = "fixed", value_parser = ["fixed", "auto"])]
    pub ports: String,
    /// The address every listener binds. Anything but loopback exposes the lab.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: IpAddr,
    /// How often the engine runs a delta cycle (30m as Entra Connect; 90s, 5m, …).
    #[arg(long, default_value = "30m", value_parser = duration)]
    pub cycle_interval: std::time::Duration,
    #[command(flatten)]
    pub directory: super::ExternalDirectoryArgs,
    #[command(subcommand)]
    pub ctl: Option<LabCommand>,
}

fn duration(s: &str) -> Result<std::time::Duration, String> {
    model::Duration::parse(s)
        .map(|d| d.0)
        .filter(|d| !d.is_zero())
        .ok_or_else(|| format!("`{s}` is not a duration: write 250ms, 90s, 30m, 2h or 1d"))
}

#[derive(Debug, clap::Subcommand)]
pub enum LabCommand {
    /// Talk to a running lab (its control endpoint; lab.json has where and the token).
    #[command(subcommand)]
    Ctl(Ctl),
}

#[derive(Debug, clap::Subcommand)]
pub enum Ctl {
    /// Features, the next cycle, the faults on, the last runs and events.
    Status,
    /// Turn faults on (lift them with `clear`).
    Fault(FaultArgs),
    /// Lift every fault.
    Clear,
    /// Run a sync cycle now: delta or initial.
    Sync {
        #[arg(value_parser = ["delta", "initial"])]
        kind: String,
    },
    /// Grant an AD right (as Delegate Control or dsacls would), to the AD DS connector
    /// account unless --to names another.
    Grant(RightArgs),
    /// Take an AD right away again.
    Revoke(RightArgs),
}

#[derive(Debug, clap::Args)]
pub struct RightArgs {
    /// reset_password, change_password, unexpire_password, write_pwd_last_set,
    /// write_lockout_time, full_control, create_/write_/delete_ + user, computer, group,
    /// device, container, ou.
    pub right: String,
    /// The object or subtree, e.g. "OU=Staff,DC=gntech,DC=me".
    #[arg(long)]
    pub on: String,
    /// The account (a DN); default: the AD DS connector account.
    #[arg(long)]
    pub to: Option<String>,
}

#[derive(Debug, Default, clap::Args)]
pub struct FaultArgs {
    /// The relay refuses listeners and senders (503): SSPR_0030.
    #[arg(long)]
    pub relay_down: bool,
    /// Every relayed request takes this long (60s or more: the writeback timeout).
    #[arg(long, value_parser = duration)]
    pub relay_latency: Option<std::time::Duration>,
    /// Close the engine's control channel now (it reconnects).
    #[arg(long)]
    pub relay_drop_listener: bool,
    /// The DC is unreachable.
    #[arg(long)]
    pub ldap_down: bool,
    /// Every LDAP request takes this long.
    #[arg(long, value_parser = duration)]
    pub ldap_latency: Option<std::time::Duration>,
    /// Reset every open LDAP connection now.
    #[arg(long)]
    pub ldap_reset: bool,
    /// Throttle this many of the next Graph requests (429).
    #[arg(long, value_name = "N")]
    pub graph_throttle: Option<u32>,
    /// The Retry-After of throttled or unavailable answers.
    #[arg(long, value_parser = duration)]
    pub graph_retry_after: Option<std::time::Duration>,
    /// Graph answers every request with this status (e.g. 503).
    #[arg(long, value_name = "STATUS")]
    pub graph_status: Option<u16>,
    /// Every Graph request takes this long.
    #[arg(long, value_parser = duration)]
    pub graph_latency: Option<std::time::Duration>,
    /// Pad every delta page with an empty one first.
    #[arg(long)]
    pub graph_empty_pages: bool,
}

pub async fn lab(args: LabArgs) -> anyhow::Result<Outcome> {
    if let Some(LabCommand::Ctl(c)) = args.ctl {
        return ctl(&args.state, c).await;
    }
    if args.world.is_some() && args.state.join("state.json").exists() {
        eprintln!(
            "writeback-sim: {} already holds a lab; --world starts a new one: point --state at a new folder, or leave --world out to resume it",
            args.state.display()
        );
        return Ok(Outcome::Invalid);
    }
    if !args.bind.is_loopback() {
        eprintln!(
            "warning: the lab listens on {} — anyone who can reach it can sign in with the lab's credentials",
            args.bind
        );
    }
    let directory = args.directory.clone().target()?;
    let dc_url = directory.as_ref().map(|t| t.url.clone());
    if let Some(t) = &directory {
        println!(
            "the lab's directory is the DC at {} (as {}): the world is provisioned there and removed again when the lab stops",
            t.url, t.admin_dn
        );
    }
    let opts = LabOptions {
        state: args.state.clone(),
        auto_ports: args.ports == "auto",
        bind: args.bind,
        cycle_interval: args.cycle_interval,
        directory,
    };
    let world_file = args.world.clone();
    let state = args.state.clone();
    let lab = Lab::start(opts, move |template| new_world(template, world_file, state)).await?;
    println!("{}", lab.screen());
    super::wait_for_stop().await;
    lab.shutdown().await?;
    match dc_url {
        Some(url) => println!("lab stopped; the DC at {url} is as it was found"),
        None => println!("lab stopped; its state is in {}", args.state.display()),
    }
    Ok(Outcome::Ok)
}

/// A new lab's world: the scenario's `world:` on the lab's listeners, CA and clock, set up
/// as a scenario is (directory, users, the wizard, the initial cycle).
async fn new_world(
    template: WorldOptions,
    file: Option<PathBuf>,
    state: PathBuf,
) -> Result<World, String> {
    let file = match file {
        Some(f) => f,
        None => {
            let f = state.join("world.yaml");
            std::fs::write(&f, DEFAULT_WORLD).map_err(|e| format!("{}: {e}", f.display()))?;
            let l = state.join("gntech.me.ldif");
            std::fs::write(&l, DEFAULT_LDIF).map_err(|e| format!("{}: {e}", l.display()))?;
            f
        }
    };
    runner::open(&file, Some(template))
        .await
        .map(|(_, world)| world)
        .map_err(|e| e.to_string())
}

/// What `lab ctl` needs from lab.json.
#[derive(serde::Deserialize)]
struct Control {
    control_url: String,
    control_token: String,
}

async fn ctl(state: &Path, c: Ctl) -> anyhow::Result<Outcome> {
    let file = state.join("lab.json");
    let text = std::fs::read_to_string(&file).with_context(|| {
        format!(
            "reading {} (is a lab running with --state {}?)",
            file.display(),
            state.display()
        )
    })?;
    let control: Control =
        serde_json::from_str(&text).with_context(|| format!("reading {}", file.display()))?;
    let http = writeback_sim::tls::http_client(None)?;
    let url = |p: &str| format!("{}{p}", control.control_url);
    let req = match &c {
        Ctl::Status => http.get(url("/status")),
        Ctl::Clear => http.delete(url("/faults")),
        Ctl::Sync { kind } => http
            .post(url("/sync"))
            .json(&serde_json::json!({ "kind": kind })),
        Ctl::Fault(f) => http.post(url("/faults")).json(&fault_body(f)),
        Ctl::Grant(r) | Ctl::Revoke(r) => http.post(url("/rights")).json(&serde_json::json!({
            "action": if matches!(c, Ctl::Grant(_)) { "grant" } else { "revoke" },
            "right": r.right,
            "on": r.on,
            "to": r.to,
        })),
    };
    let resp = req
        .bearer_auth(&control.control_token)
        .send()
        .await
        .with_context(|| format!("the lab's control endpoint {}", control.control_url))?;
    let status = resp.status();
    let body: serde_json::Value = resp.json().await.unwrap_or_default();
    if !status.is_success() {
        eprintln!(
            "writeback-sim: the lab answered {status}: {}",
            body["error"].as_str().unwrap_or_default()
        );
        return Ok(Outcome::Failed);
    }
    match c {
        Ctl::Status => print!("{}", show_status(&body)),
        _ => println!("{}", serde_json::to_string_pretty(&body)?),
    }
    Ok(Outcome::Ok)
}

fn fault_body(f: &FaultArgs) -> serde_json::Value {
    let ms = |d: Option<std::time::Duration>| d.map(|d| d.as_millis() as u64);
    let on = |b: bool| b.then_some(true);
    serde_json::json!({
        "relay": {
            "down": on(f.relay_down),
            "latency_ms": ms(f.relay_latency),
            "drop_listener": f.relay_drop_listener,
        },
        "ldap": {
            "down": on(f.ldap_down),
            "latency_ms": ms(f.ldap_latency),
            "reset_connections": f.ldap_reset,
        },
        "graph": {
            "throttle": f.graph_throttle,
            "retry_after_ms": ms(f.graph_retry_after),
            "status": f.graph_status,
            "latency_ms": ms(f.graph_latency),
            "empty_pages": on(f.graph_empty_pages),
        },
    })
}

/// The status as a person reads it.
fn show_status(s: &serde_json::Value) -> String {
    let mut out = String::new();
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Null => "-".into(),
        v => v.to_string(),
    };
    out.push_str(&format!(
        "now {}; next delta cycle {}\n",
        text(&s["now"]),
        text(&s["next_cycle"])
    ));
    out.push_str("features (Get-ADSyncAADCompanyFeature):\n");
    if let Some(f) = s["features"].as_object() {
        for (k, v) in f {
            out.push_str(&format!("  {k:<28} {}\n", text(v)));
        }
    }
    out.push_str(&format!("faults: {}\n", s["faults"]));
    out.push_str("last runs (newest first):\n");
    for r in s["runs"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {} {:<22} {:<24} adds {} updates {} deletes {}{}\n",
            text(&r["start"]),
            text(&r["profile"]),
            text(&r["status"]),
            text(&r["adds"]),
            text(&r["updates"]),
            text(&r["deletes"]),
            r["error"]
                .as_str()
                .map(|e| format!(" — {e}"))
                .unwrap_or_default(),
        ));
    }
    out.push_str("last events (newest first):\n");
    for e in s["events"].as_array().into_iter().flatten() {
        out.push_str(&format!(
            "  {} {} {} {}\n",
            text(&e["time"]),
            text(&e["id"]),
            text(&e["level"]),
            text(&e["message"])
        ));
    }
    out
}
