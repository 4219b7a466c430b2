//! Run one scenario file: parse it, build its world, set up the directory and the tenant,
//! start the engine, run each step, check every `expect`, and report.

use super::model::{self, Action, AttrValue, ExpectedOutcome, Scenario, Step};
use super::report::{show_entry, show_value, AdEntry, Report, StepReport};
use crate::cloud::tenant::{License, SsprEnabled, TenantSettings};
use crate::cloud::{StepOutcome, UserAnswer};
use crate::directory::add::AddRequest;
use crate::directory::modify::{Change, ModOp, ModifyRequest};
use crate::directory::password_policy::encode_unicode_pwd;
use crate::directory::store::Entry;
use crate::directory::{DirectoryConfig, OpContext, Principal};
use crate::relay::RelayFaults;
use crate::world::{World, WorldError, WorldOptions};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum ScenarioError {
    #[error("{file}: {source}")]
    Read {
        file: String,
        source: std::io::Error,
    },
    #[error("{file}:{line}:{column}: {message}")]
    Parse {
        file: String,
        line: u64,
        column: u64,
        message: String,
    },
    #[error("{file}: {message}")]
    Setup { file: String, message: String },
    #[error("{file}: {source}")]
    World { file: String, source: WorldError },
}

/// A scenario's result: the report, and what did not hold.
#[derive(Debug)]
pub struct Outcome {
    pub report: Report,
    /// One per failed expectation or step that could not run, in step order.
    pub failures: Vec<Failure>,
    /// The virtual time before the first step and after the last one (RFC 3339, UTC).
    pub clock: (String, String),
}

/// An expectation that did not hold (or a step that could not run): which step, when on
/// the scenario's virtual clock, what was expected and what happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub step: usize,
    /// The step as the report names it (`sspr_reset alice@gntech.me`).
    pub action: String,
    /// The virtual time the step ran at (RFC 3339, UTC).
    pub at: String,
    pub expected: String,
    pub got: String,
}

impl Failure {
    /// A failed check step reports `what: expected A, got B` for each problem, joined by
    /// `; `; this splits them back into the expected and the actual side.
    fn from_check(step: usize, action: String, at: String, error: &str) -> Self {
        let (mut expected, mut got) = (Vec::new(), Vec::new());
        for problem in error.split("; ") {
            let split = problem.split_once(": expected ").and_then(|(what, rest)| {
                rest.rsplit_once(", got ")
                    .map(|(want, have)| (format!("{what}: {want}"), format!("{what}: {have}")))
            });
            match split {
                Some((want, have)) => {
                    expected.push(want);
                    got.push(have);
                }
                None => {
                    expected.push("the check to hold".to_string());
                    got.push(problem.to_string());
                }
            }
        }
        Self {
            step,
            action,
            at,
            expected: expected.join("; "),
            got: got.join("; "),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "step {} ({}) at {}: expected {}, got {}",
            self.step, self.action, self.at, self.expected, self.got
        )
    }
}

/// The scenario's name: its path under `root` without `.yaml` (`password/sspr-reset-ok`).
pub fn scenario_name(file: &Path, root: &Path) -> String {
    let rel = file.strip_prefix(root).unwrap_or(file);
    rel.with_extension("").to_string_lossy().replace('\\', "/")
}

pub fn parse(file: &Path) -> Result<Scenario, ScenarioError> {
    let name = file.display().to_string();
    let text = std::fs::read_to_string(file).map_err(|source| ScenarioError::Read {
        file: name.clone(),
        source,
    })?;
    model::from_yaml(&text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let message = e.to_string();
        let first = message.lines().next().unwrap_or_default();
        // serde-saphyr repeats the place ("error: line 2 column 1: …"); it is already in front.
        let message = first
            .strip_prefix("error: ")
            .map(|m| match m.split_once(": ") {
                Some((place, rest)) if place.starts_with("line ") => rest,
                _ => m,
            })
            .unwrap_or(first)
            .to_string();
        ScenarioError::Parse {
            file: name,
            line,
            column,
            message,
        }
    })
}

/// `world.tenant.generate`: the seeded users (with their AD accounts), devices and groups
/// join the ones the file lists.
fn add_generated(scenario: &mut Scenario, spec: &model::GenerateSpec, domain: &str, forest: &str) {
    let base_dn = forest
        .split('.')
        .map(|p| format!("DC={p}"))
        .collect::<Vec<_>>()
        .join(",");
    let tenant = &scenario.world.tenant;
    let taken = tenant
        .users
        .iter()
        .map(|u| u.upn.clone())
        .chain(tenant.groups.iter().map(|g| g.name.clone()))
        .collect();
    let g = super::generate::expand(spec, scenario.seed, domain, &base_dn, &taken);
    scenario.world.directory.entries.extend(g.entries);
    let tenant = &mut scenario.world.tenant;
    tenant.users.extend(g.users);
    tenant.devices.extend(g.devices);
    tenant.groups.extend(g.groups);
}

fn setup_err(file: &Path, message: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Setup {
        file: file.display().to_string(),
        message: message.to_string(),
    }
}

pub async fn run(file: &Path, root: &Path) -> Result<Outcome, ScenarioError> {
    let mut scenario = parse(file)?;
    let name = scenario
        .name
        .clone()
        .unwrap_or_else(|| scenario_name(file, root));
    let domain = scenario
        .world
        .tenant
        .domain
        .clone()
        .unwrap_or_else(|| "gntech.me".into());
    let forest = scenario
        .world
        .directory
        .forest
        .clone()
        .unwrap_or_else(|| domain.clone());
    if let Some(spec) = scenario.world.tenant.generate.clone() {
        add_generated(&mut scenario, &spec, &domain, &forest);
    }
    let w = &scenario.world;
    let opts = WorldOptions {
        seed: scenario.seed,
        directory: DirectoryConfig {
            forest,
            connector_dn: w.directory.connector.dn.clone(),
            ..DirectoryConfig::default()
        },
        tenant: TenantSettings {
            domain,
            license: match w.tenant.license {
                model::LicenseSpec::None => License::None,
                model::LicenseSpec::P1 => License::P1,
                model::LicenseSpec::P2 => License::P2,
            },
            exchange_hybrid: w.tenant.exchange_hybrid,
            sspr_enabled: sspr_enabled(w.tenant.sspr.enabled),
            sspr_writeback: w.tenant.sspr.writeback,
            sspr_selected_group: w.tenant.sspr.selected_group.clone(),
            unlock_option: w.tenant.sspr.unlock_option,
            group_writeback_default: w.tenant.group_writeback_default,
            writeback_onboarded: true,
        },
        password_writeback: w.engine.password_writeback.unwrap_or(true),
    };
    let mut world = World::start(opts)
        .await
        .map_err(|source| ScenarioError::World {
            file: file.display().to_string(),
            source,
        })?;
    let result = run_in(&scenario, &name, file, &mut world).await;
    world.shutdown().await;
    result
}

fn sspr_enabled(s: model::SsprEnabledSpec) -> SsprEnabled {
    match s {
        model::SsprEnabledSpec::None => SsprEnabled::None,
        model::SsprEnabledSpec::Selected => SsprEnabled::Selected,
        model::SsprEnabledSpec::All => SsprEnabled::All,
    }
}

/// An entry of `world.directory.entries` or an `ad: add` as an add request; `password`
/// becomes unicodePwd.
fn add_request(map: &BTreeMap<String, AttrValue>) -> Result<AddRequest, String> {
    let dn = match map.get("dn") {
        Some(AttrValue::Text(dn)) => dn.clone(),
        _ => return Err("an entry needs `dn`".into()),
    };
    let mut attrs = Vec::new();
    for (k, v) in map {
        match k.as_str() {
            "dn" => {}
            "password" => {
                let pw = v.texts().into_iter().next().unwrap_or_default();
                attrs.push(("unicodePwd".to_string(), vec![encode_unicode_pwd(&pw)]));
            }
            _ => attrs.push((
                k.clone(),
                v.texts().into_iter().map(String::into_bytes).collect(),
            )),
        }
    }
    Ok(AddRequest { dn, attrs })
}

fn ad_time_interval(d: &model::Duration) -> String {
    format!("-{}", d.0.as_micros() * 10)
}

async fn run_in(
    scenario: &Scenario,
    name: &str,
    file: &Path,
    world: &mut World,
) -> Result<Outcome, ScenarioError> {
    let w = &scenario.world;
    let base_dir = file.parent().unwrap_or(Path::new(".")).to_path_buf();
    let system = OpContext {
        tls: true,
        ..OpContext::default()
    };
    let now = world.clock.now_utc();
    for l in &w.directory.ldif {
        let path: PathBuf = base_dir.join(l);
        let text = std::fs::read_to_string(&path)
            .map_err(|e| setup_err(file, format!("ldif {}: {e}", path.display())))?;
        world
            .directory
            .import_ldif(&text, &path.display().to_string())
            .map_err(|e| setup_err(file, e))?;
    }
    for entry in &w.directory.entries {
        let req = add_request(entry).map_err(|e| setup_err(file, e))?;
        let dn = req.dn.clone();
        world
            .directory
            .write()
            .add(&Principal::System, &system, now, req)
            .map_err(|e| setup_err(file, format!("entry {dn}: {}", e.answer().1)))?;
    }
    if let Some(p) = &w.directory.password_policy {
        let mut changes = Vec::new();
        let mut set = |attr: &str, v: String| {
            changes.push(Change {
                op: ModOp::Replace,
                attr: attr.into(),
                values: vec![v.into_bytes()],
            })
        };
        if let Some(v) = p.min_length {
            set("minPwdLength", v.to_string());
        }
        if let Some(v) = p.complexity {
            set("pwdProperties", if v { "1" } else { "0" }.into());
        }
        if let Some(v) = p.history {
            set("pwdHistoryLength", v.to_string());
        }
        if let Some(d) = &p.min_age {
            set("minPwdAge", ad_time_interval(d));
        }
        if let Some(d) = &p.max_age {
            set("maxPwdAge", ad_time_interval(d));
        }
        if let Some(v) = p.lockout_threshold {
            set("lockoutThreshold", v.to_string());
        }
        if let Some(d) = &p.lockout_duration {
            set("lockoutDuration", ad_time_interval(d));
        }
        let domain = world.directory.domain().dn.to_string();
        world
            .directory
            .write()
            .modify(
                &Principal::System,
                &system,
                now,
                ModifyRequest {
                    dn: domain,
                    changes,
                },
            )
            .map_err(|e| setup_err(file, format!("password_policy: {}", e.answer().1)))?;
    }
    match &w.directory.connector.rights {
        model::RightsSpec::Default => {}
        model::RightsSpec::Word(w) if w == "default" => {}
        model::RightsSpec::Word(other) => {
            return Err(setup_err(
                file,
                format!("connector rights: `{other}` is not `default` or a list"),
            ))
        }
        model::RightsSpec::List(list) => {
            let connector = world.connector_dn();
            let domain = world.directory.domain().dn.to_string();
            for r in crate::directory::forest::CONNECTOR_RIGHTS {
                let _ = world.directory.revoke(&connector, *r, &domain);
            }
            for g in list {
                let right = g.right.parse().map_err(|e| setup_err(file, e))?;
                world
                    .directory
                    .grant(&connector, right, &g.on)
                    .map_err(|e| {
                        setup_err(
                            file,
                            format!("grant {} on {}: {}", g.right, g.on, e.answer().1),
                        )
                    })?;
            }
        }
    }
    for u in &w.tenant.users {
        world
            .add_user(
                &u.upn,
                u.synced_from.as_deref(),
                u.sspr_registered,
                u.groups.clone(),
            )
            .map_err(|source| ScenarioError::World {
                file: file.display().to_string(),
                source,
            })?;
    }
    world.begin();
    world.start_engine().await;
    // Device writeback as the wizard left it (default: on, container prepared, when the
    // tenant's licence allows it), then the initial cycle Entra Connect ran at install.
    for d in &w.tenant.devices {
        world
            .register_device(d)
            .map_err(|e| setup_err(file, format!("device {}: {e}", d.name)))?;
    }
    let explicit = w.engine.device_writeback.is_some();
    if let Err(e) = configure_devices(world, w.engine.device_writeback.as_ref()).await {
        if explicit {
            return Err(setup_err(file, format!("device_writeback: {e}")));
        }
    }
    for g in &w.tenant.groups {
        world
            .create_group(g)
            .map_err(|e| setup_err(file, format!("group {}: {e}", g.name)))?;
    }
    if let Some(gw) = &w.engine.group_writeback_v1 {
        configure_groups(world, gw)
            .await
            .map_err(|e| setup_err(file, format!("group_writeback_v1: {e}")))?;
    }
    if let Some(cs) = &w.engine.cloud_sync {
        configure_cloud_sync(world, cs)
            .await
            .map_err(|e| setup_err(file, format!("cloud_sync: {e}")))?;
    }
    if let Some(e) = world.engine() {
        e.sync(crate::engine::CycleKind::Initial).await;
    }
    let runs_before = world.history.runs().len();
    let events_before = world.history.events().len();

    // The state before the first step, for `unchanged` and the snapshot.
    let baseline_usn = world.directory.read().store.usn;
    let before: HashMap<String, Entry> = {
        let st = world.directory.read();
        st.store
            .all()
            .into_iter()
            .filter_map(|id| st.store.get(id))
            .map(|e| (e.dn.norm(), e.clone()))
            .collect()
    };

    let mut steps = Vec::new();
    let mut failures = Vec::new();
    let now = |world: &World| {
        world
            .clock
            .now_utc()
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()
    };
    let started_at = now(world);
    for (i, step) in scenario.steps.iter().enumerate() {
        let n = i + 1;
        let at = now(world);
        let report = run_step(world, step, n, &before).await;
        // A person's action may end any way (its `expect` says which is right); a check, a
        // change made in AD, a fault or a setting that fails means the scenario did not run.
        let person = matches!(
            step.action,
            Action::SsprReset(_)
                | Action::AdminReset(_)
                | Action::ChangePassword(_)
                | Action::SignIn(_)
                | Action::SsprUnlock(_)
        );
        if let Some(exp) = &step.expect {
            failures.extend(check_expect(exp, &report, &at));
        } else if report.outcome == "failed" && !person {
            failures.push(Failure::from_check(
                n,
                report.action.clone(),
                at,
                report.error.as_deref().unwrap_or_default(),
            ));
        }
        steps.push(report);
    }

    let ad = changed_entries(world, baseline_usn, &before);
    let report = Report {
        scenario: name.to_string(),
        summary: scenario.summary.clone(),
        case: scenario.case.clone(),
        seed: scenario.seed,
        steps,
        ad,
        runs: world.history.runs().into_iter().skip(runs_before).collect(),
        events: world
            .history
            .events()
            .into_iter()
            .skip(events_before)
            .collect(),
        features: world.features(),
    };
    Ok(Outcome {
        report,
        failures,
        clock: (started_at, now(world)),
    })
}

fn check_expect(exp: &model::Expect, r: &StepReport, at: &str) -> Vec<Failure> {
    let failure = |expected: String, got: String| Failure {
        step: r.step,
        action: r.action.clone(),
        at: at.to_string(),
        expected,
        got,
    };
    let mut failures = Vec::new();
    if let Some(want) = exp.outcome {
        let want = match want {
            ExpectedOutcome::Ok => "ok",
            ExpectedOutcome::Rejected => "rejected",
            ExpectedOutcome::Failed => "failed",
        };
        if r.outcome != want {
            failures.push(failure(
                format!("outcome {want}"),
                format!(
                    "outcome {}{}",
                    r.outcome,
                    r.error
                        .as_ref()
                        .map(|e| format!(" ({e})"))
                        .unwrap_or_default()
                ),
            ));
        }
    }
    if let Some(text) = &exp.error {
        let found = r
            .error
            .as_deref()
            .is_some_and(|e| e.contains(text.as_str()))
            || r.detail.iter().any(|d| d.contains(text.as_str()));
        if !found {
            let got = match (&r.error, r.detail.is_empty()) {
                (Some(e), true) => format!("error {e:?}"),
                (Some(e), false) => format!("error {e:?}, detail {:?}", r.detail),
                (None, true) => "no error".to_string(),
                (None, false) => format!("no error, detail {:?}", r.detail),
            };
            failures.push(failure(format!("an error containing {text:?}"), got));
        }
    }
    failures
}

fn answer(n: usize, action: String, a: UserAnswer) -> StepReport {
    StepReport {
        step: n,
        action,
        outcome: match a.outcome {
            StepOutcome::Ok => "ok",
            StepOutcome::Rejected => "rejected",
            StepOutcome::Failed => "failed",
        }
        .into(),
        error: a.error,
        detail: a.detail,
    }
}

fn done(n: usize, action: String, result: Result<Vec<String>, String>) -> StepReport {
    match result {
        Ok(detail) => StepReport {
            step: n,
            action,
            outcome: "ok".into(),
            error: None,
            detail,
        },
        Err(e) => StepReport {
            step: n,
            action,
            outcome: "failed".into(),
            error: Some(e),
            detail: vec![],
        },
    }
}

fn check(n: usize, action: String, problems: Vec<String>) -> StepReport {
    StepReport {
        step: n,
        action,
        outcome: if problems.is_empty() {
            "passed"
        } else {
            "failed"
        }
        .into(),
        error: (!problems.is_empty()).then(|| problems.join("; ")),
        detail: vec![],
    }
}

async fn run_step(
    world: &mut World,
    step: &Step,
    n: usize,
    before: &HashMap<String, Entry>,
) -> StepReport {
    let system = OpContext {
        tls: true,
        ..OpContext::default()
    };
    match &step.action {
        Action::SsprReset(s) => {
            world.await_listener().await;
            let a = world.passwords.sspr_reset(&s.user, &s.new_password).await;
            answer(n, format!("sspr_reset {}", s.user), a)
        }
        Action::AdminReset(s) => {
            world.await_listener().await;
            let a = world
                .passwords
                .admin_reset(&s.user, &s.new_password, s.force_change_at_next_logon)
                .await;
            let extra = if s.force_change_at_next_logon {
                " (force change at next logon)"
            } else {
                ""
            };
            answer(n, format!("admin_reset {}{extra}", s.user), a)
        }
        Action::SsprUnlock(u) => {
            world.await_listener().await;
            let a = world.passwords.sspr_unlock(&u.user).await;
            answer(n, format!("sspr_unlock {}", u.user), a)
        }
        Action::ChangePassword(s) => {
            world.await_listener().await;
            let a = world
                .passwords
                .change(&s.user, &s.old_password, &s.new_password)
                .await;
            answer(n, format!("change_password {}", s.user), a)
        }
        Action::SignIn(s) => {
            let label = format!("sign_in {}", s.user);
            let settings = ldap3::LdapConnSettings::new().set_no_tls_verify(true);
            let result =
                match ldap3::LdapConnAsync::with_settings(settings, &world.ldaps_url()).await {
                    Ok((conn, mut ldap)) => {
                        ldap3::drive!(conn);
                        let r = ldap.simple_bind(&s.user, &s.password).await;
                        let _ = ldap.unbind().await;
                        match r {
                            Ok(r) if r.rc == 0 => Ok(vec![]),
                            Ok(r) => Err(format!("LDAP {}: {}", r.rc, r.text)),
                            Err(e) => Err(format!("sign-in failed: {e}")),
                        }
                    }
                    Err(e) => Err(format!("cannot reach the directory: {e}")),
                };
            done(n, label, result)
        }
        Action::Tenant(t) => {
            let mut changed = Vec::new();
            world.tenant.update(|s| {
                if let Some(l) = t.license {
                    s.license = match l {
                        model::LicenseSpec::None => License::None,
                        model::LicenseSpec::P1 => License::P1,
                        model::LicenseSpec::P2 => License::P2,
                    };
                    changed.push(format!("license: {:?}", s.license));
                }
                if let Some(sspr) = &t.sspr {
                    s.sspr_enabled = sspr_enabled(sspr.enabled);
                    s.sspr_writeback = sspr.writeback;
                    s.sspr_selected_group = sspr.selected_group.clone();
                    s.unlock_option = sspr.unlock_option;
                    changed.push(format!(
                        "sspr: enabled {:?}, writeback {}, unlock without reset {}",
                        s.sspr_enabled, s.sspr_writeback, s.unlock_option
                    ));
                }
                if let Some(x) = t.exchange_hybrid {
                    s.exchange_hybrid = x;
                    changed.push(format!("exchange_hybrid: {x}"));
                }
                if let Some(x) = t.group_writeback_default {
                    s.group_writeback_default = x;
                    changed.push(format!("group_writeback_default: {x}"));
                }
            });
            done(n, "tenant".into(), Ok(changed))
        }
        Action::Ad(c) => {
            let now = world.clock.now_utc();
            let (label, result) = if let Some(add) = &c.add {
                match add_request(add) {
                    Ok(req) => {
                        let dn = req.dn.clone();
                        (
                            format!("ad add {dn}"),
                            world
                                .directory
                                .write()
                                .add(&Principal::System, &system, now, req)
                                .map(|_| ()),
                        )
                    }
                    Err(e) => return done(n, "ad add".into(), Err(e)),
                }
            } else if let Some(m) = &c.modify {
                let mut changes = Vec::new();
                for (op, map) in [
                    (ModOp::Replace, &m.replace),
                    (ModOp::Add, &m.add),
                    (ModOp::Delete, &m.delete),
                ] {
                    for (k, v) in map {
                        changes.push(Change {
                            op,
                            attr: k.clone(),
                            values: v.texts().into_iter().map(String::into_bytes).collect(),
                        });
                    }
                }
                let req = ModifyRequest {
                    dn: m.dn.clone(),
                    changes,
                };
                (
                    format!("ad modify {}", m.dn),
                    world
                        .directory
                        .write()
                        .modify(&Principal::System, &system, now, req),
                )
            } else if let Some(dn) = &c.delete {
                (
                    format!("ad delete {dn}"),
                    world
                        .directory
                        .write()
                        .delete(&Principal::System, &system, now, dn),
                )
            } else {
                return done(
                    n,
                    "ad".into(),
                    Err("`ad` needs add, modify or delete".into()),
                );
            };
            done(
                n,
                label,
                result.map(|()| vec![]).map_err(|e| {
                    let (code, msg, _) = e.answer();
                    format!("LDAP {}: {}", code as i64, msg.trim_end())
                }),
            )
        }
        Action::Grant(g) | Action::Revoke(g) => {
            let granting = matches!(step.action, Action::Grant(_));
            let to = g.to.clone().unwrap_or_else(|| world.connector_dn());
            let verb = if granting { "grant" } else { "revoke" };
            let label = format!("{verb} {} on {} to {to}", g.right, g.on);
            let result = match g.right.parse() {
                Err(e) => Err(format!("{e}")),
                Ok(right) => if granting {
                    world.directory.grant(&to, right, &g.on).map(|()| vec![])
                } else {
                    world.directory.revoke(&to, right, &g.on).map(|had| {
                        if had {
                            vec![]
                        } else {
                            vec!["there was no such grant".into()]
                        }
                    })
                }
                .map_err(|e| e.answer().1),
            };
            done(n, label, result)
        }
        Action::Fault(f) => {
            let mut detail = Vec::new();
            if let Some(r) = &f.relay {
                let mut faults = world.relay.faults();
                if let Some(l) = &r.latency {
                    faults.latency = Some(l.0);
                    detail.push(format!("relay latency {:?}", l.0));
                }
                if r.down {
                    faults.down = true;
                    detail.push("relay down".into());
                }
                world.set_relay_faults(faults);
                if r.drop_listener {
                    world.relay.drop_listeners();
                    detail.push("relay listeners dropped".into());
                }
            }
            if let Some(l) = &f.ldap {
                let mut faults = world.directory.faults();
                if let Some(d) = &l.latency {
                    faults.latency = Some(d.0);
                    detail.push(format!("ldap latency {:?}", d.0));
                }
                if l.down {
                    faults.down = true;
                    detail.push("ldap down".into());
                }
                world.directory.set_faults(faults);
                if l.reset_connections {
                    world.directory.reset_connections();
                    detail.push("ldap connections reset".into());
                }
            }
            if let Some(g) = &f.graph {
                let mut faults = world.graph.faults();
                if let Some(t) = &g.throttle {
                    faults.throttle = t.requests;
                    faults.retry_after = t.retry_after.0;
                    detail.push(format!(
                        "graph throttles the next {} requests (Retry-After {:?})",
                        t.requests, t.retry_after.0
                    ));
                }
                if let Some(st) = g.status {
                    faults.status = Some(st);
                    detail.push(format!("graph answers {st}"));
                }
                if let Some(l) = &g.latency {
                    faults.latency = Some(l.0);
                    detail.push(format!("graph latency {:?}", l.0));
                }
                if g.empty_pages {
                    faults.empty_pages = true;
                    detail.push("graph pads delta rounds with empty pages".into());
                }
                world.graph.set_faults(faults);
            }
            done(n, "fault".into(), Ok(detail))
        }
        Action::ClearFaults => {
            world.set_relay_faults(RelayFaults::default());
            world.directory.set_faults(Default::default());
            world.graph.set_faults(Default::default());
            done(n, "clear_faults".into(), Ok(vec![]))
        }
        Action::Advance(d) => {
            let ran = world.advance(d.0).await;
            let mut detail = vec![format!(
                "now {}",
                world.clock.now_utc().format("%Y-%m-%dT%H:%M:%SZ")
            )];
            if let Some(s) = ran {
                detail.push("the scheduled delta sync cycle ran".into());
                detail.extend(cycle_detail(&s).unwrap_or_else(|e| vec![e]));
            }
            done(n, format!("advance {:?}", d.0), Ok(detail))
        }
        Action::RestartEngine => {
            world.start_engine().await;
            done(n, "restart_engine".into(), Ok(vec![]))
        }
        Action::ExpectAd(x) => expect_ad(world, x, n, before),
        Action::ExpectRun(x) => {
            let runs = world.history.runs();
            let matching = |r: &&crate::engine::history::RunRecord| match x
                .profile
                .to_ascii_lowercase()
                .as_str()
            {
                "password" => r.profile == "PasswordSet" || r.profile == "PasswordChange",
                "export" => r.profile == "Export",
                "delta_import" | "import" => r.profile.ends_with("Import"),
                "full_import" => r.profile == "Full Import",
                "synchronization" => r.profile.ends_with("Synchronization"),
                p => r.profile.eq_ignore_ascii_case(p),
            };
            let label = format!("expect_run {}", x.profile);
            let Some(run) = runs.iter().rev().find(matching) else {
                return check(n, label, vec![format!("no run of profile {}", x.profile)]);
            };
            let mut problems = Vec::new();
            if let Some(s) = &x.status {
                if !run.status.eq_ignore_ascii_case(s) {
                    problems.push(format!("status: expected {s}, got {}", run.status));
                }
            }
            let password_run = run.profile.starts_with("Password");
            let updates = if password_run {
                u32::from(run.status == "success")
            } else {
                run.updates.unwrap_or(0)
            };
            for (what, want, got) in [
                ("adds", x.adds, run.adds.unwrap_or(0)),
                ("updates", x.updates, updates),
                ("deletes", x.deletes, run.deletes.unwrap_or(0)),
            ] {
                if let Some(w) = want {
                    if w != got {
                        problems.push(format!("{what}: expected {w}, got {got}"));
                    }
                }
            }
            if let Some(errors) = &x.errors {
                if password_run {
                    let got = usize::from(run.status != "success");
                    if errors.len() != got {
                        problems.push(format!("errors: expected {}, got {got}", errors.len()));
                    }
                } else if errors.len() != run.export_errors.len() {
                    problems.push(format!(
                        "errors: expected {}, got {}",
                        errors.len(),
                        run.export_errors.len()
                    ));
                } else {
                    for (want, got) in errors.iter().zip(&run.export_errors) {
                        if want.get("type").is_some_and(|t| *t != got.kind) {
                            problems.push(format!(
                                "error type: expected {:?}, got {}",
                                want.get("type"),
                                got.kind
                            ));
                        }
                        if want.get("dn").is_some_and(|d| {
                            crate::directory::dn::norm(d) != crate::directory::dn::norm(&got.dn)
                        }) {
                            problems.push(format!(
                                "error dn: expected {:?}, got {}",
                                want.get("dn"),
                                got.dn
                            ));
                        }
                    }
                }
            }
            check(n, label, problems)
        }
        Action::RegisterDevice(d) => {
            let r = world
                .register_device(d)
                .map(|id| vec![format!("registered in Entra ID (deviceId {id})")]);
            done(n, format!("register_device {}", d.name), r)
        }
        Action::UpdateDevice(u) => {
            let mut detail = Vec::new();
            let found = world.tenant.update_device(&u.name, |dev| {
                if let Some(e) = u.enabled {
                    dev.account_enabled = e;
                    detail.push(format!("accountEnabled: {e}"));
                }
                if let Some(name) = &u.display_name {
                    dev.display_name = name.clone();
                    detail.push(format!("displayName: {name}"));
                }
            });
            let mut result = if found {
                Ok(detail)
            } else {
                Err(format!("no device {} in the tenant", u.name))
            };
            if let (true, Some(upn)) = (found, &u.owner) {
                result = match world.tenant.user(upn) {
                    Some(user) => {
                        world.tenant.update_device(&u.name, |dev| {
                            dev.registered_owners = vec![user.id.clone()]
                        });
                        result.map(|mut d| {
                            d.push(format!("registeredOwners: {upn}"));
                            d
                        })
                    }
                    None => Err(format!("owner {upn} is not a user of the tenant")),
                };
            }
            done(n, format!("update_device {}", u.name), result)
        }
        Action::DeleteDevice(d) => {
            let r = if world.tenant.delete_device(&d.name) {
                Ok(vec![])
            } else {
                Err(format!("no device {} in the tenant", d.name))
            };
            done(n, format!("delete_device {}", d.name), r)
        }
        Action::CreateGroup(g) => {
            let r = world
                .create_group(g)
                .map(|id| vec![format!("created in Entra ID (objectId {id})")]);
            done(n, format!("create_group {}", g.name), r)
        }
        Action::UpdateGroup(u) => {
            let r = world.update_group(u);
            done(n, format!("update_group {}", u.name), r)
        }
        Action::DeleteGroup(d) => {
            let r = if world.tenant.delete_group(&d.name) {
                Ok(vec![])
            } else {
                Err(format!("no group {} in the tenant", d.name))
            };
            done(n, format!("delete_group {}", d.name), r)
        }
        Action::Configure(c) => {
            let mut detail = Vec::new();
            if let Some(model::Toggle::On(_) | model::Toggle::Off(true)) = &c.group_writeback_v2 {
                return done(
                    n,
                    "configure".into(),
                    Err("Group writeback v2 is deprecated in Entra Connect Sync: use Microsoft Entra Cloud Sync to provision cloud security groups".into()),
                );
            }
            if let Some(on) = c.password_writeback {
                world.set_password_writeback(on).await;
                detail.push(format!(
                    "password writeback {}",
                    if on { "enabled" } else { "disabled" }
                ));
            }
            if let Some(dw) = &c.device_writeback {
                match configure_devices(world, Some(dw)).await {
                    Ok(d) => detail.extend(d),
                    Err(e) => return done(n, "configure".into(), Err(e)),
                }
            }
            if let Some(gw) = &c.group_writeback_v1 {
                match configure_groups(world, gw).await {
                    Ok(d) => detail.extend(d),
                    Err(e) => return done(n, "configure".into(), Err(e)),
                }
            }
            if let Some(cs) = &c.cloud_sync {
                match configure_cloud_sync(world, cs).await {
                    Ok(d) => detail.extend(d),
                    Err(e) => return done(n, "configure".into(), Err(e)),
                }
            }
            done(n, "configure".into(), Ok(detail))
        }
        Action::Sync(kind) => {
            let Some(engine) = world.engine() else {
                return done(n, "sync".into(), Err("the engine is not running".into()));
            };
            let k = match kind {
                model::SyncKind::Delta => crate::engine::CycleKind::Delta,
                model::SyncKind::Initial => crate::engine::CycleKind::Initial,
            };
            let s = engine.sync(k).await;
            let label = format!(
                "sync {}",
                if k == crate::engine::CycleKind::Delta {
                    "delta"
                } else {
                    "initial"
                }
            );
            let mut result = cycle_detail(&s);
            if let (Ok(d), None) = (&mut result, &engine.config().device_writeback) {
                d.push("device writeback is not configured: devices are imported, nothing is exported (Entra Connect wizard → Configure device options)".into());
            }
            done(n, label, result)
        }
        Action::ExpectFeatures(want) => {
            let have = world.features();
            let problems = want
                .iter()
                .filter_map(|(k, v)| match have.get(k) {
                    Some(h) if h.eq_ignore_ascii_case(v) => None,
                    Some(h) => Some(format!("{k}: expected {v}, got {h}")),
                    None => Some(format!(
                        "{k}: not a feature Get-ADSyncAADCompanyFeature prints"
                    )),
                })
                .collect();
            check(n, "expect_features".into(), problems)
        }
    }
}

/// The wizard's group writeback v1 page: `false` turns it off, `true` or `{ou}` on.
async fn configure_groups(
    world: &mut World,
    gw: &model::Toggle<model::GroupWritebackSpec>,
) -> Result<Vec<String>, String> {
    use crate::engine::groups::V1Naming;
    match gw {
        model::Toggle::Off(false) => {
            world.disable_group_writeback_v1().await;
            Ok(vec!["group writeback v1 disabled".into()])
        }
        model::Toggle::Off(true) => {
            world
                .configure_group_writeback_v1(None, V1Naming::ObjectId)
                .await
        }
        model::Toggle::On(spec) => {
            world
                .configure_group_writeback_v1(spec.ou.as_deref(), spec.naming.unwrap_or_default())
                .await
        }
    }
}

/// Cloud Sync's group provisioning: `false` off, `true` or `{ou, scope}` on; `scope`:
/// `all_security_groups` or a list of group names (none: not configured).
async fn configure_cloud_sync(
    world: &mut World,
    cs: &model::Toggle<model::CloudSyncSpec>,
) -> Result<Vec<String>, String> {
    use crate::engine::groups::CloudSyncScope;
    match cs {
        model::Toggle::Off(false) => {
            world.disable_cloud_sync().await;
            Ok(vec!["Cloud Sync group provisioning disabled".into()])
        }
        model::Toggle::Off(true) => world.configure_cloud_sync(None, None).await,
        model::Toggle::On(spec) => {
            let scope = match &spec.scope {
                None => None,
                Some(AttrValue::Text(t)) if t == "all_security_groups" => {
                    Some(CloudSyncScope::AllSecurityGroups)
                }
                Some(AttrValue::List(names)) => Some(CloudSyncScope::Groups(
                    names.iter().map(model::Scalar::text).collect(),
                )),
                Some(other) => {
                    return Err(format!(
                    "cloud_sync scope {other:?}: use all_security_groups or a list of group names"
                ))
                }
            };
            world.configure_cloud_sync(spec.ou.as_deref(), scope).await
        }
    }
}

fn cycle_detail(s: &crate::engine::CycleSummary) -> Result<Vec<String>, String> {
    if let Some(e) = &s.import_failed {
        return Err(format!("the import stopped: {e}"));
    }
    let (a, u, d) = s.imported;
    let (ea, eu, ed) = s.exported;
    let mut detail = vec![
        format!("import: {a} adds, {u} updates, {d} deletes"),
        format!("export: {ea} adds, {eu} updates, {ed} deletes"),
    ];
    if s.export_errors > 0 {
        detail.push(format!("{} export errors", s.export_errors));
    }
    detail.extend(
        s.skipped
            .iter()
            .map(|x| format!("skipped {}: {}", x.object, x.reason)),
    );
    Ok(detail)
}

/// Configure device writeback from a scenario's `device_writeback` (None: the default).
async fn configure_devices(
    world: &mut World,
    spec: Option<&model::Toggle<model::DeviceWritebackSpec>>,
) -> Result<Vec<String>, String> {
    use crate::engine::devices::DeviceClass;
    let cfg = match spec {
        Some(model::Toggle::Off(false)) => {
            world.disable_device_writeback().await;
            return Ok(vec!["device writeback disabled".into()]);
        }
        Some(model::Toggle::On(c)) => c.clone(),
        None | Some(model::Toggle::Off(true)) => model::DeviceWritebackSpec {
            forest: None,
            container: None,
            object_class: None,
            prepare: None,
        },
    };
    let class = match cfg.object_class.as_deref() {
        None | Some("computer") => DeviceClass::Computer,
        Some(c) if c.eq_ignore_ascii_case("msDS-Device") => DeviceClass::MsDsDevice,
        Some(other) => {
            return Err(format!(
                "object_class `{other}`: use computer or msDS-Device"
            ))
        }
    };
    world
        .configure_device_writeback(
            cfg.forest.as_deref(),
            cfg.container.as_deref(),
            class,
            cfg.prepare.unwrap_or(true),
        )
        .await
}

fn expect_ad(
    world: &World,
    x: &model::ExpectAd,
    n: usize,
    before: &HashMap<String, Entry>,
) -> StepReport {
    if let (Some(base), Some(filter)) = (&x.base, &x.filter) {
        let label = format!("expect_ad {filter} under {base}");
        let parsed = match super::filter::parse(filter) {
            Ok(f) => f,
            Err(e) => return check(n, label, vec![e]),
        };
        let st = world.directory.read();
        let found = st.select(
            &Principal::System,
            base,
            &ldap3_proto::proto::LdapSearchScope::Subtree,
            &parsed,
            world.clock.now_utc(),
        );
        let problems = match (found, x.count) {
            (Err(e), _) => vec![format!("search failed: {}", e.answer().1.trim_end())],
            (Ok(sel), Some(c)) if sel.ids.len() != c => {
                vec![format!("count: expected {c}, got {}", sel.ids.len())]
            }
            _ => vec![],
        };
        return check(n, label, problems);
    }
    let Some(dn) = &x.dn else {
        return check(
            n,
            "expect_ad".into(),
            vec!["expect_ad needs `dn`, or `base` and `filter`".into()],
        );
    };
    let label = format!("expect_ad {dn}");
    let now_entry = world.directory.entry(dn);
    let exists = x.exists.unwrap_or(true);
    let mut problems = Vec::new();
    match (&now_entry, exists) {
        (None, true) => return check(n, label, vec!["the entry does not exist".into()]),
        (Some(_), false) => return check(n, label, vec!["the entry exists".into()]),
        (None, false) => return check(n, label, vec![]),
        (Some(_), true) => {}
    }
    let Some(e) = now_entry else {
        return check(n, label, problems);
    };
    let old = crate::directory::dn::norm(dn).and_then(|k| before.get(&k));
    for (attr, want) in &x.attributes {
        let got: Vec<String> = e.values(attr).iter().map(|v| show_value(attr, v)).collect();
        let raw: Vec<String> = e
            .values(attr)
            .iter()
            .map(|v| String::from_utf8_lossy(v).to_string())
            .collect();
        let was: Option<Vec<Vec<u8>>> = old.map(|o| o.values(attr).to_vec());
        match want {
            AttrValue::Text(w) if w == "changed" => {
                if was.as_deref() == Some(e.values(attr)) {
                    problems.push(format!("{attr}: expected changed, still {got:?}"));
                }
            }
            AttrValue::Text(w) if w == "unchanged" => {
                if was.as_deref() != Some(e.values(attr)) {
                    problems.push(format!("{attr}: expected unchanged, now {got:?}"));
                }
            }
            AttrValue::Text(w) if w == "absent" => {
                if !got.is_empty() {
                    problems.push(format!("{attr}: expected absent, got {got:?}"));
                }
            }
            AttrValue::Text(w) if w == "present" => {
                if got.is_empty() {
                    problems.push(format!("{attr}: expected present, absent"));
                }
            }
            other => {
                let want = other.texts();
                let same = want.len() == raw.len()
                    && want
                        .iter()
                        .all(|w| raw.iter().any(|r| r.eq_ignore_ascii_case(w)));
                if !same {
                    problems.push(format!("{attr}: expected {want:?}, got {got:?}"));
                }
            }
        }
    }
    check(n, label, problems)
}

fn changed_entries(
    world: &World,
    baseline_usn: i64,
    before: &HashMap<String, Entry>,
) -> Vec<AdEntry> {
    let st = world.directory.read();
    let mut out = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for id in st.store.all() {
        let Some(e) = st.store.get(id) else { continue };
        seen.insert(e.dn.norm());
        let usn = e.int("uSNChanged").unwrap_or(0);
        if usn <= baseline_usn {
            continue;
        }
        let attributes = show_entry(e);
        let (change, was) = match before.get(&e.dn.norm()) {
            Some(old) => (
                "changed",
                super::report::changed_from(&show_entry(old), &attributes),
            ),
            None => ("added", BTreeMap::new()),
        };
        out.push(AdEntry {
            dn: e.dn.to_string(),
            change: change.into(),
            attributes,
            before: was,
        });
    }
    let mut gone: Vec<&Entry> = before
        .iter()
        .filter(|(k, _)| !seen.contains(*k))
        .map(|(_, e)| e)
        .collect();
    gone.sort_by_key(|e| e.id);
    for e in gone {
        out.push(AdEntry {
            dn: e.dn.to_string(),
            change: "deleted".into(),
            attributes: BTreeMap::new(),
            before: BTreeMap::new(),
        });
    }
    out
}
