//! From the scenario file's words to the world's: each YAML spec becomes the input type of
//! the world verb it drives. Where the file can say something the world has no word for
//! (an unknown group type, an object class), the error says what to write instead.

use super::model::{self, AttrValue, Toggle};
use crate::world::{
    self, Choices, CloudSyncChoice, CloudSyncScope, DeviceChoice, DeviceClass, GroupChoice,
    GroupKind, License, NewEntry, PasswordPolicy, SsprChange, SsprEnabled, V1Naming,
};
use std::collections::BTreeMap;

pub fn license(l: model::LicenseSpec) -> License {
    match l {
        model::LicenseSpec::None => License::None,
        model::LicenseSpec::P1 => License::P1,
        model::LicenseSpec::P2 => License::P2,
    }
}

pub fn sspr(s: &model::SsprSpec) -> SsprChange {
    SsprChange {
        enabled: match s.enabled {
            model::SsprEnabledSpec::None => SsprEnabled::None,
            model::SsprEnabledSpec::Selected => SsprEnabled::Selected,
            model::SsprEnabledSpec::All => SsprEnabled::All,
        },
        writeback: s.writeback,
        selected_group: s.selected_group.clone(),
        unlock_option: s.unlock_option,
    }
}

pub fn user(u: &model::UserSpec) -> world::UserSpec {
    world::UserSpec {
        upn: u.upn.clone(),
        synced_from: u.synced_from.clone(),
        sspr_registered: u.sspr_registered,
        groups: u.groups.clone(),
        ..world::UserSpec::default()
    }
}

pub fn device(d: &model::DeviceSpec) -> world::DeviceSpec {
    world::DeviceSpec {
        name: d.name.clone(),
        owner: d.owner.clone(),
        os: d.os.clone(),
        os_version: d.os_version.clone(),
        trust_type: d.trust_type.clone(),
        enabled: d.enabled,
        whfb: d.whfb.unwrap_or(false),
    }
}

pub fn group(g: &model::GroupSpec) -> Result<world::GroupSpec, String> {
    let kind = match g.kind.as_deref().unwrap_or("m365") {
        "m365" => GroupKind::M365,
        "security" => GroupKind::Security,
        "distribution" => GroupKind::Distribution,
        other => {
            return Err(format!(
                "group type `{other}`: use m365, security or distribution"
            ))
        }
    };
    Ok(world::GroupSpec {
        name: g.name.clone(),
        kind,
        members: g.members.clone(),
        writeback: g.writeback,
        on_prem_group_type: g.on_prem_group_type.clone(),
    })
}

/// An entry of `world.directory.entries` or an `ad: add`; `password` becomes unicodePwd.
pub fn new_entry(map: &BTreeMap<String, AttrValue>) -> Result<NewEntry, String> {
    let dn = match map.get("dn") {
        Some(AttrValue::Text(dn)) => dn.clone(),
        _ => return Err("an entry needs `dn`".into()),
    };
    let mut entry = NewEntry {
        dn,
        ..NewEntry::default()
    };
    for (k, v) in map {
        match k.as_str() {
            "dn" => {}
            "password" => entry.password = v.texts().into_iter().next(),
            _ => entry.attrs.push((k.clone(), v.texts())),
        }
    }
    Ok(entry)
}

/// An entry the world declares (`world.directory.entries`): as [`new_entry`], but a user
/// given a password and no userAccountControl is a normal enabled account (512), as an
/// admin's provisioning script makes it — not the disabled account (546) a bare LDAP add
/// of a user gets. An explicit userAccountControl wins.
pub fn declared_entry(map: &BTreeMap<String, AttrValue>) -> Result<NewEntry, String> {
    let mut e = new_entry(map)?;
    let has = |name: &str| e.attrs.iter().any(|(k, _)| k.eq_ignore_ascii_case(name));
    let is_user = e.attrs.iter().any(|(k, v)| {
        k.eq_ignore_ascii_case("objectClass")
            && v.iter()
                .any(|c| c.eq_ignore_ascii_case("user") || c.eq_ignore_ascii_case("inetOrgPerson"))
            && !v.iter().any(|c| c.eq_ignore_ascii_case("computer"))
    });
    if e.password.is_some() && is_user && !has("userAccountControl") {
        e.attrs
            .push(("userAccountControl".into(), vec!["512".into()]));
    }
    Ok(e)
}

pub fn policy(p: &model::PolicySpec) -> PasswordPolicy {
    PasswordPolicy {
        min_length: p.min_length,
        complexity: p.complexity,
        history: p.history,
        min_age: p.min_age.map(|d| d.0),
        max_age: p.max_age.map(|d| d.0),
        lockout_threshold: p.lockout_threshold,
        lockout_duration: p.lockout_duration.map(|d| d.0),
    }
}

/// The device options page: `false` off, `true` the defaults, or a configuration.
pub fn device_choice(
    t: &Toggle<model::DeviceWritebackSpec>,
) -> Result<Option<DeviceChoice>, String> {
    let spec = match t {
        Toggle::Off(false) => return Ok(None),
        Toggle::Off(true) => model::DeviceWritebackSpec {
            forest: None,
            container: None,
            object_class: None,
            prepare: None,
        },
        Toggle::On(c) => c.clone(),
    };
    let class = match spec.object_class.as_deref() {
        None | Some("computer") => DeviceClass::Computer,
        Some(c) if c.eq_ignore_ascii_case("msDS-Device") => DeviceClass::MsDsDevice,
        Some(other) => {
            return Err(format!(
                "object_class `{other}`: use computer or msDS-Device"
            ))
        }
    };
    Ok(Some(DeviceChoice {
        forest: spec.forest,
        container: spec.container,
        class,
        prepare: spec.prepare.unwrap_or(true),
    }))
}

/// Group writeback v1: `false` off, `true` or `{ou, naming}` on.
pub fn group_choice(t: &Toggle<model::GroupWritebackSpec>) -> Option<GroupChoice> {
    match t {
        Toggle::Off(false) => None,
        Toggle::Off(true) => Some(GroupChoice {
            ou: None,
            naming: V1Naming::ObjectId,
        }),
        Toggle::On(spec) => Some(GroupChoice {
            ou: spec.ou.clone(),
            naming: match spec.naming.unwrap_or_default() {
                model::GroupNaming::ObjectId => V1Naming::ObjectId,
                model::GroupNaming::DisplayName => V1Naming::DisplayName,
            },
        }),
    }
}

/// Cloud Sync's group provisioning: `false` off, `true` or `{ou, scope}` on; `scope`:
/// `all_security_groups` or a list of group names (none: not configured).
pub fn cloud_sync_choice(
    t: &Toggle<model::CloudSyncSpec>,
) -> Result<Option<CloudSyncChoice>, String> {
    match t {
        Toggle::Off(false) => Ok(None),
        Toggle::Off(true) => Ok(Some(CloudSyncChoice {
            ou: None,
            scope: None,
        })),
        Toggle::On(spec) => {
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
            Ok(Some(CloudSyncChoice {
                ou: spec.ou.clone(),
                scope,
            }))
        }
    }
}

/// A `configure` step (or the world's engine section) as the wizard's choices; keys left
/// out leave a feature as it is.
pub fn choices(e: &model::EngineSpec) -> Result<Choices, String> {
    Ok(Choices {
        password_writeback: e.password_writeback,
        exchange_hybrid: None,
        device_writeback: e.device_writeback.as_ref().map(device_choice).transpose()?,
        group_writeback_v1: e.group_writeback_v1.as_ref().map(group_choice),
        group_writeback_v2: matches!(
            e.group_writeback_v2,
            Some(Toggle::On(_) | Toggle::Off(true))
        ),
        cloud_sync: e.cloud_sync.as_ref().map(cloud_sync_choice).transpose()?,
    })
}
