//! The cloud side changing: devices registering, changing and going away, groups created,
//! changed and deleted, and the tenant's settings.

use crate::scenario::convert;
use crate::scenario::model::{
    DeleteDevice, DeleteGroup, DeviceSpec, GroupSpec, TenantChange, UpdateDevice, UpdateGroup,
};
use crate::scenario::report::StepReport;
use crate::world::{self, DeviceUpdate, GroupUpdate, World};

pub fn register_device(world: &mut World, d: &DeviceSpec, n: usize) -> StepReport {
    let r = world
        .register_device(convert::device(d))
        .map(|id| vec![format!("registered in Entra ID (deviceId {id})")]);
    StepReport::done(n, format!("register_device {}", d.name), r)
}

pub fn update_device(world: &World, u: &UpdateDevice, n: usize) -> StepReport {
    let r = world.update_device(DeviceUpdate {
        name: u.name.clone(),
        enabled: u.enabled,
        display_name: u.display_name.clone(),
        owner: u.owner.clone(),
    });
    StepReport::done(n, format!("update_device {}", u.name), r)
}

pub fn delete_device(world: &World, d: &DeleteDevice, n: usize) -> StepReport {
    let r = world.delete_device(&d.name).map(|()| vec![]);
    StepReport::done(n, format!("delete_device {}", d.name), r)
}

pub fn create_group(world: &mut World, g: &GroupSpec, n: usize) -> StepReport {
    let r = convert::group(g).and_then(|spec| {
        world
            .create_group(spec)
            .map(|id| vec![format!("created in Entra ID (objectId {id})")])
            .map_err(|e| e.to_string())
    });
    StepReport::done(n, format!("create_group {}", g.name), r)
}

pub fn update_group(world: &World, u: &UpdateGroup, n: usize) -> StepReport {
    let r = world.update_group(GroupUpdate {
        name: u.name.clone(),
        add_members: u.add_members.clone(),
        remove_members: u.remove_members.clone(),
        writeback: u.writeback,
        display_name: u.display_name.clone(),
        on_prem_group_type: u.on_prem_group_type.clone(),
    });
    StepReport::done(n, format!("update_group {}", u.name), r)
}

pub fn delete_group(world: &World, d: &DeleteGroup, n: usize) -> StepReport {
    let r = world.delete_group(&d.name).map(|()| vec![]);
    StepReport::done(n, format!("delete_group {}", d.name), r)
}

pub async fn tenant(world: &mut World, t: &TenantChange, n: usize) -> StepReport {
    let changed = world
        .change_tenant(world::TenantChange {
            license: t.license.map(convert::license),
            sspr: t.sspr.as_ref().map(convert::sspr),
            exchange_hybrid: t.exchange_hybrid,
            group_writeback_default: t.group_writeback_default,
        })
        .await;
    StepReport::done(n, "tenant".into(), changed)
}
