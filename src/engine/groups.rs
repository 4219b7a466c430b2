//! Groups flowing to AD: which cloud groups Entra Connect group writeback v1 and Cloud
//! Sync group provisioning take, what they are called in AD and the attributes written
//! (`reference/entra-writeback.md` §3). The LDAP writes and the sync-cycle wiring build
//! on this.

use super::ad::{AdFailure, AdSession, Attrs};
use super::config::{CloudSyncScope, V1Naming};
use super::graph_client::GraphClient;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashMap;

/// `GROUP_TYPE_UNIVERSAL_GROUP` (MS-ADTS 2.2.12): a universal distribution group.
pub const UNIVERSAL_DISTRIBUTION: i32 = 0x8;
/// `GROUP_TYPE_SECURITY_UNIVERSAL` (0x80000008) as AD stores it, a signed 32-bit integer.
pub const UNIVERSAL_SECURITY: i32 = 0x8000_0008_u32 as i32;

/// The default sync rule "Out to AD – Group Writeback Member Limit".
pub const MEMBER_LIMIT: usize = 50_000;

/// A cloud group as the engine reads it from Graph (`/groups/delta`, `/beta/groups`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupImage {
    pub object_id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub mail_nickname: String,
    pub mail: Option<String>,
    pub mail_enabled: bool,
    pub security_enabled: bool,
    pub unified: bool,
    pub proxy_addresses: Vec<String>,
    /// Synced from on-premises AD (`onPremisesSyncEnabled`, Cloud Sync's dirSyncEnabled).
    pub dir_synced: bool,
    /// `writebackConfiguration.isEnabled`; `None` when the group does not say.
    pub writeback_enabled: Option<bool>,
    /// `writebackConfiguration.onPremisesGroupType`, when the group says.
    pub on_premises_group_type: Option<String>,
    /// objectIds of the members.
    pub members: Vec<String>,
}

/// Why group writeback v1 leaves a group alone.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum V1Skip {
    /// Security and distribution groups are never written by v1.
    NotMicrosoft365,
    /// `writebackConfiguration.isEnabled` is false.
    WritebackDisabled,
    /// More members than the "Group Writeback Member Limit" rule allows.
    MemberLimit(usize),
    /// The wizard's "Exchange hybrid deployment" is off.
    ExchangeHybridMissing,
}

impl std::fmt::Display for V1Skip {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotMicrosoft365 => write!(
                f,
                "not a Microsoft 365 group; group writeback v1 writes only Microsoft 365 groups (use Cloud Sync for security groups)"
            ),
            Self::WritebackDisabled => write!(f, "writeback is disabled for this group"),
            Self::ExchangeHybridMissing => write!(
                f,
                "Exchange hybrid is not configured: group writeback v1 needs an Exchange hybrid deployment"
            ),
            Self::MemberLimit(n) => write!(
                f,
                "{n} members is over the {MEMBER_LIMIT} allowed by the sync rule 'Out to AD - Group Writeback Member Limit'"
            ),
        }
    }
}

/// The last 12 characters of an objectId: `Mid([objectId],25,12)`, the GUID's last group.
fn object_id_tail(object_id: &str) -> &str {
    let start = object_id.char_indices().rev().nth(11).map_or(0, |(i, _)| i);
    &object_id[start..]
}

fn text(s: &str) -> Vec<Vec<u8>> {
    vec![s.as_bytes().to_vec()]
}

fn bytes(v: &[String]) -> Vec<Vec<u8>> {
    v.iter().map(|s| s.as_bytes().to_vec()).collect()
}

impl GroupImage {
    /// From a Graph group (v1.0 or beta; `members@delta` or a `members` list of refs).
    pub fn from_graph(v: &Value) -> Option<Self> {
        let s = |k: &str| v[k].as_str().map(str::to_string);
        let strings = |k: &str| -> Vec<String> {
            v[k].as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(Value::as_str)
                        .map(str::to_string)
                        .collect()
                })
                .unwrap_or_default()
        };
        let members = v["members@delta"]
            .as_array()
            .or_else(|| v["members"].as_array())
            .map(|a| {
                a.iter()
                    .filter(|m| m.get("@removed").is_none())
                    .filter_map(|m| m["id"].as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let wb = &v["writebackConfiguration"];
        Some(Self {
            object_id: s("id")?,
            display_name: s("displayName").unwrap_or_default(),
            description: s("description"),
            mail_nickname: s("mailNickname").unwrap_or_default(),
            mail: s("mail"),
            mail_enabled: v["mailEnabled"].as_bool().unwrap_or(false),
            security_enabled: v["securityEnabled"].as_bool().unwrap_or(false),
            unified: strings("groupTypes")
                .iter()
                .any(|t| t.eq_ignore_ascii_case("Unified")),
            proxy_addresses: strings("proxyAddresses"),
            dir_synced: v["onPremisesSyncEnabled"].as_bool().unwrap_or(false),
            writeback_enabled: wb["isEnabled"].as_bool(),
            on_premises_group_type: wb["onPremisesGroupType"].as_str().map(str::to_string),
            members,
        })
    }

    /// The group after a delta item: a full round lists every member; a later round
    /// lists only the changes (`@removed` on a member that left), applied to `previous`.
    pub fn from_delta(v: &Value, previous: Option<&Self>, full: bool) -> Option<Self> {
        let mut g = Self::from_graph(v)?;
        if let (false, Some(prev)) = (full, previous) {
            let removed: Vec<&str> = v["members@delta"]
                .as_array()
                .map(|a| {
                    a.iter()
                        .filter(|m| m.get("@removed").is_some())
                        .filter_map(|m| m["id"].as_str())
                        .collect()
                })
                .unwrap_or_default();
            let mut members: Vec<String> = prev
                .members
                .iter()
                .filter(|m| !removed.contains(&m.as_str()))
                .cloned()
                .collect();
            for m in g.members {
                if !members.contains(&m) {
                    members.push(m);
                }
            }
            g.members = members;
        }
        Some(g)
    }

    /// Does group writeback v1 write this group? `member_limit`: whether the member-limit
    /// rule is in force (it is unless disabled).
    pub fn v1_decision(&self, member_limit: bool) -> Result<(), V1Skip> {
        if !self.unified {
            return Err(V1Skip::NotMicrosoft365);
        }
        // null or true: written back
        if self.writeback_enabled == Some(false) {
            return Err(V1Skip::WritebackDisabled);
        }
        if member_limit && self.members.len() > MEMBER_LIMIT {
            return Err(V1Skip::MemberLimit(self.members.len()));
        }
        Ok(())
    }

    /// The group's CN under group writeback v1.
    pub fn v1_cn(&self, naming: V1Naming) -> String {
        match naming {
            V1Naming::ObjectId => format!("Group_{}", self.object_id),
            V1Naming::DisplayName => {
                format!("{}_{}", self.display_name, object_id_tail(&self.object_id))
            }
        }
    }

    /// groupType for v1: universal distribution (8) unless the group asks for a
    /// (mail-enabled) universal security group.
    pub fn v1_group_type(&self) -> i32 {
        match self.on_premises_group_type.as_deref() {
            Some("universalSecurityGroup" | "universalMailEnabledSecurityGroup") => {
                UNIVERSAL_SECURITY
            }
            _ => UNIVERSAL_DISTRIBUTION,
        }
    }

    /// Attributes group writeback v1 writes (objectClass and the member DNs included;
    /// `members`: the AD DNs of the members that exist there).
    pub fn v1_attributes(&self, members: &[String]) -> Attrs {
        let mut a = Attrs::new();
        a.insert("objectClass", text("group"));
        a.insert("groupType", text(&self.v1_group_type().to_string()));
        a.insert("displayName", text(&self.display_name));
        a.insert("mailNickname", text(&self.mail_nickname));
        if let Some(m) = &self.mail {
            a.insert("mail", text(m));
        }
        if !self.proxy_addresses.is_empty() {
            a.insert("proxyAddresses", bytes(&self.proxy_addresses));
        }
        if !members.is_empty() {
            a.insert("member", bytes(members));
        }
        a
    }

    /// Cloud Sync's default scope, ANDed in before any configured filter:
    /// `securityEnabled IS TRUE AND dirSyncEnabled IS FALSE AND mailEnabled IS FALSE`.
    pub fn in_cloud_sync_default_scope(&self) -> bool {
        self.security_enabled && !self.dir_synced && !self.mail_enabled
    }

    /// Does Cloud Sync provision this group? `Err` says why not.
    pub fn cloud_sync_decision(&self, scope: Option<&CloudSyncScope>) -> Result<(), String> {
        let Some(scope) = scope else {
            return Err("Cloud Sync group provisioning has no scope configured: choose all security groups or selected groups in the provisioning settings".into());
        };
        if !self.in_cloud_sync_default_scope() {
            return Err("outside Cloud Sync's default scope (securityEnabled true, dirSyncEnabled false, mailEnabled false)".into());
        }
        match scope {
            CloudSyncScope::AllSecurityGroups => Ok(()),
            CloudSyncScope::Groups(names) if names.contains(&self.display_name) => Ok(()),
            CloudSyncScope::Groups(_) => {
                Err("not among the groups selected for Cloud Sync provisioning".into())
            }
        }
    }

    /// Cloud Sync's `cn`:
    /// `Append(Append(Left(Trim([displayName]),51),"_"),Mid([objectId],25,12))`.
    pub fn cloud_sync_cn(&self) -> String {
        let name: String = self.display_name.trim().chars().take(51).collect();
        format!("{name}_{}", object_id_tail(&self.object_id))
    }

    /// Cloud Sync's anchor: `msDS-ExternalDirectoryObjectId` (and adminDescription).
    pub fn cloud_sync_anchor(&self) -> String {
        format!("Group_{}", self.object_id)
    }

    /// Attributes Cloud Sync writes (objectClass and the member DNs included).
    pub fn cloud_sync_attributes(&self, members: &[String]) -> Attrs {
        let mut a = Attrs::new();
        a.insert("objectClass", text("group"));
        a.insert("groupType", text(&UNIVERSAL_SECURITY.to_string()));
        a.insert("displayName", text(&self.display_name));
        a.insert("adminDescription", text(&self.cloud_sync_anchor()));
        a.insert(
            "msDS-ExternalDirectoryObjectId",
            text(&self.cloud_sync_anchor()),
        );
        if let Some(d) = self.description.as_deref().map(str::trim) {
            if !d.is_empty() {
                a.insert(
                    "description",
                    text(&d.chars().take(448).collect::<String>()),
                );
            }
        }
        if !members.is_empty() {
            a.insert("member", bytes(members));
        }
        a
    }
}

/// A member's AD account, by way of Graph (`onPremisesImmutableId`) and the objectGUID it
/// names; `None` for a cloud-only user (or one Graph no longer knows).
async fn member_dn(
    graph: &GraphClient,
    ad: &mut AdSession,
    id: &str,
) -> Result<Option<String>, String> {
    let user = match graph
        .get(&format!(
            "/v1.0/users/{id}?$select=id,onPremisesImmutableId"
        ))
        .await
    {
        Ok(f) => f.body,
        Err(e) if e.status == 404 => return Ok(None),
        Err(e) => return Err(format!("reading member {id}: {e}")),
    };
    let Some(anchor) = user["onPremisesImmutableId"].as_str() else {
        return Ok(None);
    };
    ad.find_by_anchor(anchor)
        .await
        .map(|a| a.map(|a| a.dn))
        .map_err(|f| format!("finding member {id} in AD: {}", f.message))
}

/// The AD DNs of the members that have an AD account, in member order, and how many
/// members have none (cloud-only users, skipped). `cache` lives for one export.
pub async fn member_dns(
    graph: &GraphClient,
    ad: &mut AdSession,
    cache: &mut HashMap<String, Option<String>>,
    ids: &[String],
) -> Result<(Vec<String>, usize), String> {
    let (mut dns, mut cloud_only) = (Vec::new(), 0);
    for id in ids {
        let dn = match cache.get(id) {
            Some(hit) => hit.clone(),
            None => {
                let found = member_dn(graph, ad, id).await?;
                cache.insert(id.clone(), found.clone());
                found
            }
        };
        match dn {
            Some(dn) => dns.push(dn),
            None => cloud_only += 1,
        }
    }
    Ok((dns, cloud_only))
}

/// Add a group under group writeback v1; returns its DN.
pub async fn v1_add(
    ad: &mut AdSession,
    ou: &str,
    naming: V1Naming,
    g: &GroupImage,
    members: &[String],
) -> Result<String, AdFailure> {
    let dn = format!("CN={},{ou}", ldap3::dn_escape(g.v1_cn(naming)));
    ad.add(&dn, g.v1_attributes(members)).await?;
    Ok(dn)
}

/// Bring a written-back group in line, renamed when its name changed; returns its DN and
/// the attributes written. `old`: what was written last (`None` when unknown: every
/// attribute is written).
pub async fn v1_update(
    ad: &mut AdSession,
    dn: &str,
    naming: V1Naming,
    old: Option<(&GroupImage, &[String])>,
    new: (&GroupImage, &[String]),
) -> Result<(String, Vec<&'static str>), AdFailure> {
    let before = old.map(|(g, m)| g.v1_attributes(m)).unwrap_or_default();
    ad.converge(
        dn,
        &new.0.v1_cn(naming),
        &before,
        &new.0.v1_attributes(new.1),
    )
    .await
}

/// Provision a group with Cloud Sync: matched by its anchor
/// (`msDS-ExternalDirectoryObjectId`) when it exists anywhere under `domain`, created in
/// `ou` otherwise; renamed when its display name changed. Returns its DN and, when it
/// existed, the DN it had (`None`: created).
pub async fn cloud_sync_provision(
    ad: &mut AdSession,
    domain: &str,
    ou: &str,
    current: Option<&str>,
    g: &GroupImage,
    members: &[String],
) -> Result<(String, Option<String>), AdFailure> {
    let found = match current {
        Some(dn) => Some(dn.to_string()),
        None => {
            let filter = format!(
                "(msDS-ExternalDirectoryObjectId={})",
                ldap3::ldap_escape(g.cloud_sync_anchor())
            );
            ad.find_dn(domain, &filter).await?
        }
    };
    let after = g.cloud_sync_attributes(members);
    let cn = g.cloud_sync_cn();
    match found {
        None => {
            let dn = format!("CN={},{ou}", ldap3::dn_escape(&cn));
            ad.add(&dn, after).await?;
            Ok((dn, None))
        }
        Some(old) => {
            // What AD holds is read back, so the match writes only what differs.
            let before = ad.read_attrs(&old, after.keys().copied()).await?;
            let (dn, _) = ad.converge(&old, &cn, &before, &after).await?;
            Ok((dn, Some(old)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(a: &Attrs, k: &str) -> Vec<String> {
        a[k].iter()
            .map(|v| String::from_utf8_lossy(v).into_owned())
            .collect()
    }

    fn graph_group() -> Value {
        json!({
            "id": "0a6f3e2c-1b2d-4c5e-9f00-e9305786a271",
            "displayName": "Administrators",
            "description": "  Admins of the lab  ",
            "mailNickname": "admins",
            "mail": "admins@gntech.me",
            "mailEnabled": true,
            "securityEnabled": false,
            "groupTypes": ["Unified"],
            "proxyAddresses": ["SMTP:admins@gntech.me"],
            "onPremisesSyncEnabled": null,
            "members@delta": [
                {"@odata.type": "#microsoft.graph.user", "id": "u1"},
                {"@odata.type": "#microsoft.graph.user", "id": "u2", "@removed": {"reason": "deleted"}}
            ]
        })
    }

    #[test]
    fn later_delta_rounds_change_the_members_known() {
        let first = GroupImage::from_delta(&graph_group(), None, true).unwrap();
        assert_eq!(first.members, vec!["u1"]);
        let mut later = graph_group();
        later["members@delta"] = json!([
            {"id": "u3"},
            {"id": "u1", "@removed": {"reason": "deleted"}}
        ]);
        let prev = GroupImage {
            members: vec!["u1".into(), "u2".into()],
            ..first
        };
        let g = GroupImage::from_delta(&later, Some(&prev), false).unwrap();
        assert_eq!(g.members, vec!["u2", "u3"]);
        let g = GroupImage::from_delta(&later, Some(&prev), true).unwrap();
        assert_eq!(g.members, vec!["u3"], "a full round lists every member");
    }

    #[test]
    fn v1_names_groups_by_object_id_or_display_name() {
        let g = GroupImage::from_graph(&graph_group()).unwrap();
        assert_eq!(
            g.v1_cn(V1Naming::ObjectId),
            "Group_0a6f3e2c-1b2d-4c5e-9f00-e9305786a271"
        );
        // the article's example: CN=Administrators_e9305786a271
        assert_eq!(
            g.v1_cn(V1Naming::DisplayName),
            "Administrators_e9305786a271"
        );
        assert_eq!(g.members, vec!["u1"], "removed members are not members");
    }

    #[test]
    fn v1_takes_only_enabled_microsoft_365_groups_under_the_member_limit() {
        let mut g = GroupImage::from_graph(&graph_group()).unwrap();
        assert_eq!(g.v1_decision(true), Ok(()));
        g.writeback_enabled = Some(false);
        assert_eq!(g.v1_decision(true), Err(V1Skip::WritebackDisabled));
        g.writeback_enabled = None;
        g.members = (0..=MEMBER_LIMIT).map(|i| i.to_string()).collect();
        assert_eq!(g.v1_decision(true), Err(V1Skip::MemberLimit(50_001)));
        assert_eq!(g.v1_decision(false), Ok(()), "the rule can be disabled");
        g.unified = false;
        let skip = g.v1_decision(true).unwrap_err();
        assert_eq!(skip, V1Skip::NotMicrosoft365);
        assert!(skip.to_string().contains("Cloud Sync"));
    }

    #[test]
    fn v1_group_type_follows_on_premises_group_type() {
        let mut g = GroupImage::from_graph(&graph_group()).unwrap();
        assert_eq!(values(&g.v1_attributes(&[]), "groupType"), vec!["8"]);
        g.on_premises_group_type = Some("universalMailEnabledSecurityGroup".into());
        let a = g.v1_attributes(&["CN=u1,OU=Users,DC=gntech,DC=me".into()]);
        assert_eq!(values(&a, "groupType"), vec!["-2147483640"]);
        assert_eq!(values(&a, "mail"), vec!["admins@gntech.me"]);
        assert_eq!(a["member"].len(), 1);
    }

    #[test]
    fn cloud_sync_scope_needs_configuring_and_selects_by_name() {
        let mut g = GroupImage::from_graph(&graph_group()).unwrap();
        (g.mail_enabled, g.security_enabled, g.unified) = (false, true, false);
        let none = g.cloud_sync_decision(None).unwrap_err();
        assert!(none.contains("no scope configured"), "{none}");
        assert_eq!(
            g.cloud_sync_decision(Some(&CloudSyncScope::AllSecurityGroups)),
            Ok(())
        );
        let hr = CloudSyncScope::Groups(vec!["HR".into()]);
        assert!(g.cloud_sync_decision(Some(&hr)).is_err());
        let admins = CloudSyncScope::Groups(vec!["Administrators".into()]);
        assert_eq!(g.cloud_sync_decision(Some(&admins)), Ok(()));
        g.mail_enabled = true;
        assert!(g
            .cloud_sync_decision(Some(&admins))
            .unwrap_err()
            .contains("default scope"));
    }

    #[test]
    fn cloud_sync_scope_cn_and_anchor() {
        let mut g = GroupImage::from_graph(&graph_group()).unwrap();
        assert!(!g.in_cloud_sync_default_scope(), "mail-enabled");
        g.mail_enabled = false;
        g.security_enabled = true;
        assert!(g.in_cloud_sync_default_scope());
        g.dir_synced = true;
        assert!(!g.in_cloud_sync_default_scope(), "synced from AD");
        g.display_name = format!("  {}  ", "x".repeat(60));
        assert_eq!(
            g.cloud_sync_cn(),
            format!("{}_e9305786a271", "x".repeat(51))
        );
        let a = g.cloud_sync_attributes(&[]);
        assert_eq!(
            values(&a, "msDS-ExternalDirectoryObjectId"),
            vec!["Group_0a6f3e2c-1b2d-4c5e-9f00-e9305786a271"]
        );
        assert_eq!(
            values(&a, "adminDescription"),
            values(&a, "msDS-ExternalDirectoryObjectId")
        );
        assert_eq!(values(&a, "description"), vec!["Admins of the lab"]);
        assert_eq!(values(&a, "groupType"), vec!["-2147483640"]);
        assert!(
            !a.contains_key("member"),
            "no eligible members: created empty"
        );
    }
}
