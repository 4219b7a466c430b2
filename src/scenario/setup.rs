//! A scenario's `world:` made real: the world started with its seed, forest and tenant; the
//! directory filled (LDIF, entries, password policy, the connector's rights); the tenant's
//! users; the engine installed and configured as the Entra Connect wizard left it
//! (password writeback, device writeback with its container, group writeback v1, Cloud
//! Sync) with the tenant's devices and groups; then the initial sync cycle Entra Connect
//! runs at install. Everything before the first step.

use super::convert;
use super::error::ScenarioError;
use super::model::{self, Scenario, Toggle};
use crate::world::{Choices, ClockKind, CycleKind, TenantSettings, World, WorldOptions};
use std::path::{Path, PathBuf};

fn setup_err(file: &Path, message: impl std::fmt::Display) -> ScenarioError {
    ScenarioError::Setup {
        file: file.display().to_string(),
        message: message.to_string(),
    }
}

/// `world.tenant.generate`: the seeded users (with their AD accounts), devices and groups
/// join the ones the file lists.
pub fn add_generated(scenario: &mut Scenario) {
    let Some(spec) = scenario.world.tenant.generate.clone() else {
        return;
    };
    let domain = domain(scenario);
    let base_dn = forest(scenario)
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
    let g = super::generate::expand(&spec, scenario.seed, &domain, &base_dn, &taken);
    scenario.world.directory.entries.extend(g.entries);
    let tenant = &mut scenario.world.tenant;
    tenant.users.extend(g.users);
    tenant.devices.extend(g.devices);
    tenant.groups.extend(g.groups);
}

fn domain(s: &Scenario) -> String {
    s.world
        .tenant
        .domain
        .clone()
        .unwrap_or_else(|| "gntech.me".into())
}

fn forest(s: &Scenario) -> String {
    s.world
        .directory
        .forest
        .clone()
        .unwrap_or_else(|| domain(s))
}

/// What a scenario's world is started with: on the virtual clock.
pub fn options(s: &Scenario) -> WorldOptions {
    options_on(
        s,
        WorldOptions {
            clock: ClockKind::Virtual,
            ..WorldOptions::default()
        },
    )
}

/// The scenario's world (seed, forest, connector, tenant) on `base`'s clock, listeners and
/// keys: how a lab opens a scenario.
pub fn options_on(s: &Scenario, base: WorldOptions) -> WorldOptions {
    let t = &s.world.tenant;
    let sspr = convert::sspr(&t.sspr);
    WorldOptions {
        seed: s.seed,
        forest: forest(s),
        connector_dn: s.world.directory.connector.dn.clone(),
        tenant: TenantSettings {
            domain: domain(s),
            license: convert::license(t.license),
            sspr_enabled: sspr.enabled,
            sspr_writeback: sspr.writeback,
            sspr_selected_group: sspr.selected_group,
            unlock_option: sspr.unlock_option,
            group_writeback_default: t.group_writeback_default,
        },
        exchange_hybrid: t.exchange_hybrid,
        exchange_schema: s.world.directory.exchange_schema,
        ..base
    }
}

/// Everything before the first step, on a started world.
pub async fn prepare(
    s: &mut Scenario,
    file: &Path,
    world: &mut World,
) -> Result<(), ScenarioError> {
    directory(s, file, world).await?;
    for u in &s.world.tenant.users {
        world
            .add_user(convert::user(u))
            .await
            .map_err(|e| setup_err(file, e))?;
    }
    world.begin();
    s.initial_sync = engine(s, file, world).await?;
    Ok(())
}

async fn directory(s: &Scenario, file: &Path, world: &mut World) -> Result<(), ScenarioError> {
    let d = &s.world.directory;
    let base_dir = file.parent().unwrap_or(Path::new("."));
    for l in &d.ldif {
        let path: PathBuf = base_dir.join(l);
        let text = crate::files::read_text(&path, crate::files::LDIF_LIMIT)
            .map_err(|e| setup_err(file, format!("ldif {}: {e}", path.display())))?;
        world
            .import_ldif(&text, &path.display().to_string())
            .await
            .map_err(|e| setup_err(file, e))?;
    }
    for entry in &d.entries {
        let e = convert::declared_entry(entry).map_err(|e| setup_err(file, e))?;
        let dn = e.dn.clone();
        world
            .ad_add(e)
            .await
            .map_err(|e| setup_err(file, format!("entry {dn}: {}", e.message)))?;
    }
    if let Some(p) = &d.password_policy {
        world
            .set_password_policy(&convert::policy(p))
            .await
            .map_err(|e| setup_err(file, format!("password_policy: {}", e.message)))?;
    }
    match &d.connector.rights {
        model::RightsSpec::Default => {}
        model::RightsSpec::Word(w) if w == "default" => {}
        model::RightsSpec::Word(other) => {
            return Err(setup_err(
                file,
                format!("connector rights: `{other}` is not `default` or a list"),
            ))
        }
        model::RightsSpec::List(list) => {
            let mut rights = Vec::new();
            for g in list {
                let right = g.right.parse().map_err(|e| setup_err(file, e))?;
                rights.push((right, g.on.clone()));
            }
            world
                .set_connector_rights(&rights)
                .await
                .map_err(|e| setup_err(file, e))?;
        }
    }
    Ok(())
}

/// The engine as the wizard left it, then started, then its initial cycle; returns what
/// that cycle did (the snapshot's `initial_sync`: the reasons it skipped something
/// included). A feature the file asks for and the wizard refuses makes the scenario
/// unusable; a default it refuses (an unlicensed tenant) is left off.
async fn engine(
    s: &Scenario,
    file: &Path,
    world: &mut World,
) -> Result<Vec<String>, ScenarioError> {
    let e = &s.world.engine;
    if e.password_writeback.unwrap_or(true) {
        let r = world
            .configure(Choices {
                password_writeback: Some(true),
                ..Choices::default()
            })
            .await;
        if let (Err(err), Some(true)) = (r, e.password_writeback) {
            return Err(setup_err(file, format!("password_writeback: {err}")));
        }
    }
    for d in &s.world.tenant.devices {
        world
            .register_device(convert::device(d))
            .map_err(|e| setup_err(file, format!("device {}: {e}", d.name)))?;
    }
    let devices = e.device_writeback.clone().unwrap_or(Toggle::Off(true));
    let r = match convert::device_choice(&devices) {
        Ok(choice) => world
            .configure(Choices {
                device_writeback: Some(choice),
                ..Choices::default()
            })
            .await
            .map_err(|e| e.to_string()),
        Err(e) => Err(e),
    };
    if let (Err(err), Some(_)) = (r, &e.device_writeback) {
        return Err(setup_err(file, format!("device_writeback: {err}")));
    }
    for g in &s.world.tenant.groups {
        let spec =
            convert::group(g).map_err(|e| setup_err(file, format!("group {}: {e}", g.name)))?;
        world
            .create_group(spec)
            .map_err(|e| setup_err(file, format!("group {}: {e}", g.name)))?;
    }
    if let Some(gw) = &e.group_writeback_v1 {
        world
            .configure(Choices {
                group_writeback_v1: Some(convert::group_choice(gw)),
                ..Choices::default()
            })
            .await
            .map_err(|e| setup_err(file, format!("group_writeback_v1: {e}")))?;
    }
    if let Some(cs) = &e.cloud_sync {
        let choice = convert::cloud_sync_choice(cs)
            .map_err(|e| setup_err(file, format!("cloud_sync: {e}")))?;
        world
            .configure(Choices {
                cloud_sync: Some(choice),
                ..Choices::default()
            })
            .await
            .map_err(|e| setup_err(file, format!("cloud_sync: {e}")))?;
    }
    world.start_engine().await;
    let summary = world
        .sync(CycleKind::Initial)
        .await
        .map_err(|e| setup_err(file, e))?;
    let mut notes = super::steps::cycle_notes(world, &summary);
    if world.cloud_sync_configured() {
        // Cloud Sync's job starts with its configuration: its first run, after the wizard's.
        let logs = world
            .cloud_sync()
            .await
            .map_err(|e| setup_err(file, format!("cloud_sync: {e}")))?;
        notes.extend(super::steps::cloud_sync_detail(&logs));
    }
    Ok(notes)
}
