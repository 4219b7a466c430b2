//! The cloud side of a world, as people and admins change it in Entra: users (synced from
//! an AD account, or cloud-only), registered devices, groups, and the tenant's settings.
//! New objectIds and deviceIds come from the world's seed, in the order things are created.

use super::{World, WorldError};
use crate::cloud::tenant::{
    AlternativeSecurityId, CloudDevice, CloudGroup, CloudUser, GroupFlags, OnPremises,
    WritebackConfiguration, ON_PREMISES_GROUP_TYPES,
};
use crate::cloud::{License, SsprEnabled};
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;

/// A user of the tenant.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserSpec {
    pub upn: String,
    /// The DN of the AD account it is synced from (the anchor is that account's
    /// objectGUID); `None` for a cloud-only user.
    pub synced_from: Option<String>,
    /// Registered for SSPR (methods on file).
    pub sspr_registered: bool,
    /// Cloud groups the user is in (for SSPR "selected").
    pub groups: Vec<String>,
    /// Directory roles (`Global Administrator`, `Authentication Administrator`, …).
    pub roles: Vec<String>,
    /// The cloud password of a cloud-only user (synced users sign in with AD's).
    pub password: Option<String>,
}

/// A device registering in Entra ID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceSpec {
    pub name: String,
    /// The registered owner's UPN.
    pub owner: Option<String>,
    /// Default `Windows`, `10.0.22631.4317`, `ServerAd` (hybrid joined), enabled.
    pub os: Option<String>,
    pub os_version: Option<String>,
    pub trust_type: Option<String>,
    pub enabled: Option<bool>,
    /// Enrolled for Windows Hello for Business (carries a device certificate).
    pub whfb: bool,
}

/// A change to a registered device.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeviceUpdate {
    pub name: String,
    pub enabled: Option<bool>,
    pub display_name: Option<String>,
    pub owner: Option<String>,
}

/// The kinds of cloud group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum GroupKind {
    /// A Microsoft 365 (Unified) group: mail-enabled.
    #[default]
    M365,
    Security,
    Distribution,
}

/// A group created in Entra ID.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupSpec {
    pub name: String,
    pub kind: GroupKind,
    /// Members by UPN.
    pub members: Vec<String>,
    /// `writebackConfiguration.isEnabled`; `None`: the kind's default (and for Microsoft
    /// 365 groups the tenant's "Write back Microsoft 365 groups" setting).
    pub writeback: Option<bool>,
    /// `writebackConfiguration.onPremisesGroupType`.
    pub on_prem_group_type: Option<String>,
}

/// A change to a group.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupUpdate {
    pub name: String,
    pub add_members: Vec<String>,
    pub remove_members: Vec<String>,
    pub writeback: Option<bool>,
    pub display_name: Option<String>,
    pub on_prem_group_type: Option<String>,
}

/// The SSPR policy, as the Password reset blade sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SsprChange {
    pub enabled: SsprEnabled,
    /// "Write back passwords to your on-premises directory".
    pub writeback: bool,
    pub selected_group: Option<String>,
    /// "Allow users to unlock accounts without resetting their password".
    pub unlock_option: bool,
}

/// A change of tenant settings; `None` leaves a setting as it is.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TenantChange {
    pub license: Option<License>,
    pub sspr: Option<SsprChange>,
    /// The organisation deploys (or removes) Exchange hybrid.
    pub exchange_hybrid: Option<bool>,
    pub group_writeback_default: Option<bool>,
}

fn check_group_type(t: &Option<String>) -> Result<(), WorldError> {
    match t {
        Some(t) if !ON_PREMISES_GROUP_TYPES.contains(&t.as_str()) => {
            Err(WorldError::Refused(format!(
                "on_prem_group_type `{t}`: use one of {}",
                ON_PREMISES_GROUP_TYPES.join(", ")
            )))
        }
        _ => Ok(()),
    }
}

impl World {
    /// Add a cloud user; returns its objectId.
    pub async fn add_user(&mut self, u: UserSpec) -> Result<String, WorldError> {
        // The AD account it is synced from, as the DC has it (embedded or real).
        let account = match &u.synced_from {
            Some(dn) => Some(
                self.ad_entry(dn)
                    .await
                    .ok_or_else(|| WorldError::NoAnchor {
                        upn: u.upn.clone(),
                        dn: dn.clone(),
                    })?,
            ),
            None => None,
        };
        let on_premises = account.as_ref().map(|e| OnPremises {
            immutable_id: B64.encode(e.values("objectGUID").first().unwrap_or_default()),
            distinguished_name: e.dn(),
        });
        let display_name = account
            .as_ref()
            .and_then(|e| e.readable("displayName").into_iter().next())
            .unwrap_or_else(|| u.upn.split('@').next().unwrap_or(&u.upn).to_string());
        let id = self.object_id();
        let password_hash = u
            .password
            .as_deref()
            .filter(|_| on_premises.is_none())
            .map(|p| crate::cloud::tenant::password_hash(&id, p));
        self.tenant.add_user(CloudUser {
            id: id.clone(),
            user_principal_name: u.upn,
            display_name,
            on_premises,
            sspr_registered: u.sspr_registered,
            groups: u.groups,
            roles: u.roles,
            password_hash,
        });
        Ok(id)
    }

    /// The objectId of a tenant user.
    pub fn user_id(&self, upn: &str) -> Option<String> {
        self.tenant.user(upn).map(|u| u.id)
    }

    /// Register a device in the tenant, its ids from the world's seed; returns its deviceId.
    pub fn register_device(&mut self, spec: DeviceSpec) -> Result<String, WorldError> {
        let owners = match &spec.owner {
            Some(upn) => vec![
                self.tenant
                    .user(upn)
                    .ok_or_else(|| {
                        WorldError::Refused(format!("owner {upn} is not a user of the tenant"))
                    })?
                    .id,
            ],
            None => vec![],
        };
        let id = self.object_id();
        let device_id = self.object_id();
        let thumbprint: String = device_id.replace('-', "").to_ascii_uppercase();
        let key_text = format!("X509:<SHA1-TP-PUBKEY>{thumbprint}");
        let key: Vec<u8> = key_text.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let mut alternative_security_ids = vec![AlternativeSecurityId {
            kind: 2,
            key: B64.encode(key),
        }];
        if spec.whfb {
            let cert = device_certificate(&device_id)
                .map_err(|e| WorldError::Refused(format!("device certificate: {e}")))?;
            alternative_security_ids.push(AlternativeSecurityId {
                kind: 2,
                key: B64.encode(cert),
            });
        }
        self.tenant.put_device(CloudDevice {
            id,
            device_id: device_id.clone(),
            display_name: spec.name,
            operating_system: spec.os.unwrap_or_else(|| "Windows".into()),
            operating_system_version: spec.os_version.unwrap_or_else(|| "10.0.22631.4317".into()),
            trust_type: spec.trust_type.unwrap_or_else(|| "ServerAd".into()),
            account_enabled: spec.enabled.unwrap_or(true),
            alternative_security_ids,
            registered_owners: owners,
            is_compliant: true,
            is_managed: true,
            physical_ids: vec![format!("[GID]:g:{}", &thumbprint[..16])],
            registration_date_time: self.now(),
        });
        Ok(device_id)
    }

    /// Enable, disable, rename a device or give it another owner; returns what changed.
    pub fn update_device(&self, u: DeviceUpdate) -> Result<Vec<String>, WorldError> {
        let mut detail = Vec::new();
        let found = self.tenant.update_device(&u.name, |dev| {
            if let Some(e) = u.enabled {
                dev.account_enabled = e;
                detail.push(format!("accountEnabled: {e}"));
            }
            if let Some(name) = &u.display_name {
                dev.display_name = name.clone();
                detail.push(format!("displayName: {name}"));
            }
        });
        if !found {
            return Err(WorldError::Refused(format!(
                "no device {} in the tenant",
                u.name
            )));
        }
        if let Some(upn) = &u.owner {
            let user = self.tenant.user(upn).ok_or_else(|| {
                WorldError::Refused(format!("owner {upn} is not a user of the tenant"))
            })?;
            self.tenant
                .update_device(&u.name, |dev| dev.registered_owners = vec![user.id]);
            detail.push(format!("registeredOwners: {upn}"));
        }
        Ok(detail)
    }

    /// Delete a device in Entra ID (a hard delete).
    pub fn delete_device(&self, name: &str) -> Result<(), WorldError> {
        if self.tenant.delete_device(name) {
            Ok(())
        } else {
            Err(WorldError::Refused(format!(
                "no device {name} in the tenant"
            )))
        }
    }

    /// The objectId of a tenant device, by its name or either of its ids.
    pub fn device_object_id(&self, name: &str) -> Option<String> {
        self.tenant.device(name).map(|d| d.id)
    }

    /// The objectIds of tenant users by userPrincipalName.
    fn user_ids(&self, upns: &[String]) -> Result<Vec<String>, WorldError> {
        upns.iter()
            .map(|upn| {
                self.user_id(upn).ok_or_else(|| {
                    WorldError::Refused(format!("member {upn} is not a user of the tenant"))
                })
            })
            .collect()
    }

    /// Create a cloud group; its objectId comes from the world's seed and is returned.
    pub fn create_group(&mut self, spec: GroupSpec) -> Result<String, WorldError> {
        if self
            .tenant
            .groups()
            .iter()
            .any(|g| g.display_name == spec.name)
        {
            return Err(WorldError::Refused(format!(
                "a group named {} already exists",
                spec.name
            )));
        }
        let (unified, mail_enabled, security_enabled) = match spec.kind {
            GroupKind::M365 => (true, true, false),
            GroupKind::Security => (false, false, true),
            GroupKind::Distribution => (false, true, false),
        };
        check_group_type(&spec.on_prem_group_type)?;
        let members = self.user_ids(&spec.members)?;
        let nickname: String = spec
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
            .to_ascii_lowercase();
        let id = self.object_id();
        self.tenant.put_group(CloudGroup {
            writeback: WritebackConfiguration {
                is_enabled: spec.writeback,
                on_premises_group_type: spec.on_prem_group_type,
            },
            ..CloudGroup::created(
                id.clone(),
                spec.name,
                nickname,
                GroupFlags {
                    unified,
                    mail_enabled,
                    security_enabled,
                },
                &self.tenant.settings().domain,
                members,
            )
        });
        Ok(id)
    }

    /// Change a cloud group's members, name or writeback settings; returns what changed.
    pub fn update_group(&self, u: GroupUpdate) -> Result<Vec<String>, WorldError> {
        check_group_type(&u.on_prem_group_type)?;
        let add = self.user_ids(&u.add_members)?;
        let remove = self.user_ids(&u.remove_members)?;
        let mut detail = Vec::new();
        let found = self.tenant.update_group(&u.name, |g| {
            for (id, upn) in add.iter().zip(&u.add_members) {
                if !g.members.contains(id) {
                    g.members.push(id.clone());
                    detail.push(format!("member added: {upn}"));
                }
            }
            for (id, upn) in remove.iter().zip(&u.remove_members) {
                if g.members.contains(id) {
                    g.members.retain(|m| m != id);
                    detail.push(format!("member removed: {upn}"));
                }
            }
            if let Some(w) = u.writeback {
                g.writeback.is_enabled = Some(w);
                detail.push(format!("writebackConfiguration.isEnabled: {w}"));
            }
            if let Some(t) = &u.on_prem_group_type {
                g.writeback.on_premises_group_type = Some(t.clone());
                detail.push(format!("writebackConfiguration.onPremisesGroupType: {t}"));
            }
            if let Some(name) = &u.display_name {
                g.display_name = name.clone();
                detail.push(format!("displayName: {name}"));
            }
        });
        if found {
            Ok(detail)
        } else {
            Err(WorldError::Refused(format!(
                "no group {} in the tenant",
                u.name
            )))
        }
    }

    /// Delete a group in Entra ID (a hard delete).
    pub fn delete_group(&self, name: &str) -> Result<(), WorldError> {
        if self.tenant.delete_group(name) {
            Ok(())
        } else {
            Err(WorldError::Refused(format!(
                "no group {name} in the tenant"
            )))
        }
    }

    /// Change tenant settings; returns what changed, as the admin center would confirm it.
    /// Deploying Exchange hybrid prepares the forest's schema for Exchange as Exchange's
    /// setup does (on a real DC, where the run allows it).
    pub async fn change_tenant(&mut self, t: TenantChange) -> Result<Vec<String>, WorldError> {
        let deploying = t.exchange_hybrid == Some(true);
        let mut changed = self.change_tenant_settings(t);
        if deploying {
            changed.extend(self.prepare_exchange_schema().await?);
        }
        Ok(changed)
    }

    /// [`Self::change_tenant`] for the settings alone: licence, SSPR, the group default (an
    /// `exchange_hybrid` given here changes the flag and leaves the forest's schema as is).
    pub fn change_tenant_settings(&mut self, t: TenantChange) -> Vec<String> {
        let mut changed = Vec::new();
        self.tenant.update(|s| {
            if let Some(l) = t.license {
                s.license = l;
                changed.push(format!("license: {:?}", s.license));
            }
            if let Some(sspr) = &t.sspr {
                s.sspr_enabled = sspr.enabled;
                s.sspr_writeback = sspr.writeback;
                s.sspr_selected_group = sspr.selected_group.clone();
                s.unlock_option = sspr.unlock_option;
                changed.push(format!(
                    "sspr: enabled {:?}, writeback {}, unlock without reset {}",
                    s.sspr_enabled, s.sspr_writeback, s.unlock_option
                ));
            }
        });
        if let Some(x) = t.exchange_hybrid {
            self.exchange_hybrid = x;
            self.generation += 1;
            changed.push(format!("exchange_hybrid: {x}"));
        }
        if let Some(x) = t.group_writeback_default {
            self.tenant.update(|s| s.group_writeback_default = x);
            changed.push(format!("group_writeback_default: {x}"));
        }
        changed
    }
}

/// The certificate of a device enrolled for Windows Hello for Business (hybrid certificate
/// trust): X.509, CN = the deviceId, signed with the fixture's Ed25519 key, so the same
/// device gets the same bytes on every run. The tenant carries it as a second
/// alternativeSecurityIds entry (Graph shows no certificate of its own: a GAP).
fn device_certificate(device_id: &str) -> Result<Vec<u8>, rcgen::Error> {
    let key = rcgen::KeyPair::from_pem(include_str!("../../fixtures/whfb/device-ca-key.pem"))?;
    let mut params = rcgen::CertificateParams::new(Vec::<String>::new())?;
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, device_id);
    let serial: Vec<u8> = device_id
        .bytes()
        .filter(u8::is_ascii_hexdigit)
        .take(16)
        .collect();
    params.serial_number = Some(rcgen::SerialNumber::from_slice(&serial));
    Ok(params.self_signed(&key)?.der().to_vec())
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_device_certificate_is_the_same_on_every_run() {
        let a = super::device_certificate("b0c2bb32-d942-4893-87f2-e765f5c603d6").unwrap();
        let b = super::device_certificate("b0c2bb32-d942-4893-87f2-e765f5c603d6").unwrap();
        let c = super::device_certificate("df53d751-464e-4013-8a94-087830c9eca0").unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(a[0], 0x30, "DER");
    }
}
