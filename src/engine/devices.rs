//! Device writeback: how a device registered in Entra ID becomes an object in the
//! configured container, and the LDAP writes that add, update, rename and delete it.
//!
//! Two shapes: what the article shows (objectClass computer, CN = the display name,
//! altSecurityIdentities from alternativeSecurityIds) and what Entra Connect really writes
//! (objectClass msDS-Device under an msDS-DeviceContainer, CN = the deviceId, with
//! msDS-DeviceID, msDS-IsEnabled, msDS-CloudAnchor, msDS-DeviceOSType, … —
//! `reference/entra-writeback.md` §2; the exact sync-rule transforms are a GAP there).

use super::ad::{AdFailure, AdSession};
use super::config::DeviceClass;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

/// The device as the connector space keeps it: the attributes that flow to AD.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceImage {
    pub object_id: String,
    pub device_id: String,
    pub display_name: String,
    pub enabled: bool,
    pub os: String,
    pub os_version: String,
    pub alt_security_ids: Vec<String>,
    /// Certificates among alternativeSecurityIds (Windows Hello for Business): userCertificate.
    pub certificates: Vec<Vec<u8>>,
    pub physical_ids: Vec<String>,
    pub is_managed: bool,
    pub is_compliant: bool,
    /// The registered owner's userPrincipalName (from `registeredOwners`).
    pub owner: Option<String>,
}

/// The AD account of a device's owner: managedBy (computer) or msDS-RegisteredOwner
/// (msDS-Device, a SID) point at it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    pub dn: String,
    pub sid: Vec<u8>,
}

impl DeviceImage {
    /// From a Graph device (`/devices/delta` item).
    pub fn from_graph(v: &Value) -> Option<Self> {
        let s = |k: &str| v[k].as_str().unwrap_or_default().to_string();
        let object_id = v["id"].as_str()?.to_string();
        Some(Self {
            object_id,
            device_id: s("deviceId"),
            display_name: s("displayName"),
            enabled: v["accountEnabled"].as_bool().unwrap_or(true),
            os: s("operatingSystem"),
            os_version: s("operatingSystemVersion"),
            alt_security_ids: keys(v)
                .into_iter()
                .filter_map(|k| match k {
                    Key::Identity(t) => Some(t),
                    Key::Certificate(_) => None,
                })
                .collect(),
            certificates: keys(v)
                .into_iter()
                .filter_map(|k| match k {
                    Key::Certificate(c) => Some(c),
                    Key::Identity(_) => None,
                })
                .collect(),
            physical_ids: v["physicalIds"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default(),
            is_managed: v["isManaged"].as_bool().unwrap_or(false),
            is_compliant: v["isCompliant"].as_bool().unwrap_or(false),
            owner: v["registeredOwners"]
                .as_array()
                .and_then(|a| a.first())
                .and_then(|o| o["userPrincipalName"].as_str())
                .map(str::to_string),
        })
    }

    /// The RDN value of the object in AD.
    pub fn cn(&self, class: DeviceClass) -> String {
        match class {
            DeviceClass::Computer => self.display_name.clone(),
            DeviceClass::MsDsDevice => self.device_id.clone(),
        }
    }

    /// Attributes to write (the RDN and objectClass included).
    pub fn attributes(
        &self,
        class: DeviceClass,
        owner: Option<&Owner>,
    ) -> BTreeMap<&'static str, Vec<Vec<u8>>> {
        let text = |s: &str| vec![s.as_bytes().to_vec()];
        let mut a: BTreeMap<&'static str, Vec<Vec<u8>>> = BTreeMap::new();
        let alt: Vec<Vec<u8>> = self
            .alt_security_ids
            .iter()
            .map(|s| s.as_bytes().to_vec())
            .collect();
        match class {
            DeviceClass::Computer => {
                a.insert("objectClass", text("computer"));
                let sam: String = self
                    .display_name
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
                    .take(15)
                    .collect();
                a.insert(
                    "sAMAccountName",
                    text(&format!("{}$", sam.to_ascii_uppercase())),
                );
                // WORKSTATION_TRUST_ACCOUNT, plus ACCOUNTDISABLE when disabled in Entra ID.
                a.insert(
                    "userAccountControl",
                    text(if self.enabled { "4096" } else { "4098" }),
                );
                a.insert("operatingSystem", text(&self.os));
                a.insert("operatingSystemVersion", text(&self.os_version));
                a.insert(
                    "description",
                    text(&format!(
                        "Device written back from Entra ID (deviceId {})",
                        self.device_id
                    )),
                );
                if !alt.is_empty() {
                    a.insert("altSecurityIdentities", alt);
                }
                // The article: userCertificate is populated when WHfB is configured.
                if !self.certificates.is_empty() {
                    a.insert("userCertificate", self.certificates.clone());
                }
            }
            DeviceClass::MsDsDevice => {
                a.insert("objectClass", text("msDS-Device"));
                a.insert("displayName", text(&self.display_name));
                let id = uuid::Uuid::parse_str(&self.device_id)
                    .map(|u| u.to_bytes_le().to_vec())
                    .unwrap_or_default();
                a.insert("msDS-DeviceID", vec![id]);
                a.insert(
                    "msDS-IsEnabled",
                    text(if self.enabled { "TRUE" } else { "FALSE" }),
                );
                a.insert(
                    "msDS-CloudAnchor",
                    text(&format!("Device_{}", self.object_id)),
                );
                a.insert("msDS-DeviceOSType", text(&self.os));
                a.insert("msDS-DeviceOSVersion", text(&self.os_version));
                a.insert(
                    "msDS-IsManaged",
                    text(if self.is_managed { "TRUE" } else { "FALSE" }),
                );
                a.insert(
                    "msDS-IsCompliant",
                    text(if self.is_compliant { "TRUE" } else { "FALSE" }),
                );
                a.insert("msDS-DeviceObjectVersion", text("1"));
                // mandatory in the schema: written even when Graph has none
                a.insert(
                    "altSecurityIdentities",
                    if alt.is_empty() {
                        text(&format!("X509:<DeviceId>{}", self.device_id))
                    } else {
                        alt
                    },
                );
                if !self.physical_ids.is_empty() {
                    a.insert(
                        "msDS-DevicePhysicalIDs",
                        self.physical_ids
                            .iter()
                            .map(|p| p.as_bytes().to_vec())
                            .collect(),
                    );
                }
            }
        }
        if let Some(o) = owner {
            match class {
                DeviceClass::Computer => {
                    a.insert("managedBy", vec![o.dn.as_bytes().to_vec()]);
                }
                DeviceClass::MsDsDevice => {
                    a.insert("msDS-RegisteredOwner", vec![o.sid.clone()]);
                }
            }
        }
        a
    }
}

/// What an alternativeSecurityIds key holds.
enum Key {
    /// Text for altSecurityIdentities.
    Identity(String),
    /// A DER certificate (a WHfB device) for userCertificate.
    Certificate(Vec<u8>),
}

fn keys(v: &Value) -> Vec<Key> {
    v["alternativeSecurityIds"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x["key"].as_str())
                .map(classify_key)
                .collect()
        })
        .unwrap_or_default()
}

fn classify_key(key: &str) -> Key {
    match B64.decode(key) {
        // A DER SEQUENCE with a long-form length: an X.509 certificate.
        Ok(b) if b.len() > 4 && b[0] == 0x30 && b[1] & 0x80 != 0 => Key::Certificate(b),
        _ => Key::Identity(alt_security_identity(key)),
    }
}

/// alternativeSecurityIds keys are base64 of UTF-16LE text such as
/// `X509:<SHA1-TP-PUBKEY>thumbprint…`; AD's altSecurityIdentities holds that text.
fn alt_security_identity(key: &str) -> String {
    let Ok(bytes) = B64.decode(key) else {
        return format!("X509:<SHA1-TP-PUBKEY>{key}");
    };
    let text: Option<String> = (bytes.len() % 2 == 0)
        .then(|| {
            String::from_utf16(
                &bytes
                    .chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            )
            .ok()
        })
        .flatten()
        .filter(|t| t.starts_with("X509:"));
    text.unwrap_or_else(|| format!("X509:<SHA1-TP-PUBKEY>{key}"))
}

/// The DN the device is added under in `container`.
pub fn dn_in(container: &str, class: DeviceClass, d: &DeviceImage) -> String {
    format!("CN={},{container}", ldap3::dn_escape(d.cn(class)))
}

/// Bring the AD object in line with the device; returns its (possibly new) DN and the
/// attributes written.
pub async fn update(
    ad: &mut AdSession,
    dn: &str,
    class: DeviceClass,
    old: (&DeviceImage, Option<&Owner>),
    new: (&DeviceImage, Option<&Owner>),
) -> Result<(String, Vec<&'static str>), AdFailure> {
    let ((old, old_owner), (new, new_owner)) = (old, new);
    ad.converge(
        dn,
        &new.cn(class),
        &old.attributes(class, old_owner),
        &new.attributes(class, new_owner),
    )
    .await
}
