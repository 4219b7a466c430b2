//! The Entra Connect configuration wizard ("Configure" → optional features, device
//! options) and the Cloud Sync agent's group-provisioning setup, as engine code that speaks
//! only LDAP and Graph, so it works unchanged against a real DC:
//!
//! - every writeback feature needs Entra ID P1 or P2, read from Graph (`subscribedSkus`);
//!   without it the wizard does not offer the option;
//! - device writeback works in one forest only: the forest asked for is compared with the
//!   one the DC serves (RootDSE `rootDomainNamingContext`);
//! - "Exchange hybrid deployment" needs the Exchange schema in AD (`mailNickname` among the
//!   subschema's attribute types);
//! - option A (`prepare`) creates the writeback container or OU with the Enterprise Admin
//!   credentials it is given and grants the connector its rights there ([`super::adprep`]);
//!   option B leaves both to the admin;
//! - enabling or disabling password writeback onboards (offboards) it with the tenant over
//!   Graph (`onPremisesSynchronization.features.passwordWritebackEnabled`), with the
//!   PasswordResetService's Onboarding / Offboarding events.
//!
//! Choices are checked before anything is changed: a refused configuration changes nothing.

use super::ad::{AdFailure, AdSession};
use super::adprep::{prepare, Kind};
use super::config::{
    CloudSync, CloudSyncScope, DeviceClass, DeviceWriteback, EngineConfig, GroupWritebackV1,
    V1Naming,
};
use super::graph_client::{GraphClient, GraphFailure};
use super::history::{History, Level};
use crate::clock::Clock;
use crate::writeback_protocol::{AgentKey, ONBOARDING};
use std::sync::Arc;

/// What the admin chooses in one run of the wizard. `None` leaves a feature as it is; for
/// the optional ones `Some(None)` turns it off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Choices {
    pub password_writeback: Option<bool>,
    /// "Exchange hybrid deployment", when the admin sets it on this run.
    pub exchange_hybrid: Option<bool>,
    pub device_writeback: Option<Option<DeviceChoice>>,
    pub group_writeback_v1: Option<Option<GroupChoice>>,
    /// Group writeback v2: refused, it is deprecated.
    pub group_writeback_v2: bool,
    pub cloud_sync: Option<Option<CloudSyncChoice>>,
}

/// The device options page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceChoice {
    /// The forest the admin picks (the users' forest is the only one that works).
    pub forest: Option<String>,
    /// Default `CN=RegisteredDevices,<domain>`.
    pub container: Option<String>,
    pub class: DeviceClass,
    /// Option A: the wizard prepares the container and the rights.
    pub prepare: bool,
}

/// The group writeback v1 page.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupChoice {
    /// Default `OU=M365 Groups,<domain>`.
    pub ou: Option<String>,
    pub naming: V1Naming,
}

/// Cloud Sync's "Group provision to Active Directory".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudSyncChoice {
    /// Default `OU=Users,<domain>`.
    pub ou: Option<String>,
    pub scope: Option<CloudSyncScope>,
}

/// The Enterprise Admin credentials the wizard asks for to prepare the forest.
#[derive(Clone)]
pub struct AdminCredentials {
    pub dn: String,
    pub password: String,
}

impl std::fmt::Debug for AdminCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AdminCredentials")
            .field("dn", &self.dn)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WizardError {
    #[error("{feature} needs Microsoft Entra ID P1 or P2; the tenant has neither (the wizard does not offer the option)")]
    Unlicensed { feature: &'static str },
    #[error("cannot read the tenant's licences: {0}")]
    Licences(GraphFailure),
    #[error("device writeback forest {asked} is not the forest the users are in ({forest}): device writeback supports a single forest only")]
    OtherForest { asked: String, forest: String },
    #[error("Group writeback v2 is deprecated in Entra Connect Sync: use Microsoft Entra Cloud Sync to provision cloud security groups")]
    V2Deprecated,
    #[error("Exchange hybrid deployment needs the Exchange schema in AD: the schema has no mailNickname attribute (run Exchange's /PrepareSchema first)")]
    NoExchangeSchema,
    #[error("cannot reach the directory: {0}")]
    Unreachable(String),
    /// AD refused a change the wizard made, in AD's words.
    #[error("{0}")]
    Ad(String),
    #[error("onboarding password writeback with the tenant failed: {0}")]
    Onboarding(GraphFailure),
}

/// A configuration the wizard accepted and applied, and what it did.
#[derive(Debug, Clone)]
pub struct Configured {
    pub config: EngineConfig,
    pub detail: Vec<String>,
}

fn connect_err(f: AdFailure) -> WizardError {
    WizardError::Unreachable(f.message)
}

/// AD refused something the wizard did: its first line.
fn ad_err(f: AdFailure) -> WizardError {
    WizardError::Ad(f.message.lines().next().unwrap_or_default().to_string())
}

/// `DC=gntech,DC=me` → `gntech.me`.
fn dns_name(dn: &str) -> String {
    dn.split(',')
        .filter_map(|p| {
            let p = p.trim();
            p.get(..3)
                .filter(|k| k.eq_ignore_ascii_case("DC="))
                .map(|_| &p[3..])
        })
        .collect::<Vec<_>>()
        .join(".")
}

/// What the DC says of itself: the domain and the forest root.
struct Forest {
    domain_dn: String,
    root_dn: String,
}

async fn forest(ad: &mut AdSession) -> Result<Forest, WizardError> {
    let dse = ad
        .root_dse(&["defaultNamingContext", "rootDomainNamingContext"])
        .await
        .map_err(connect_err)?;
    let get = |k: &str| dse.get(k).and_then(|v| v.first()).cloned();
    let domain_dn = get("defaultNamingContext").unwrap_or_default();
    let root_dn = get("rootDomainNamingContext").unwrap_or_else(|| domain_dn.clone());
    Ok(Forest { domain_dn, root_dn })
}

/// Does the tenant hold Entra ID P1 or P2 (`GET /v1.0/subscribedSkus`)?
pub async fn tenant_has_premium(graph: &GraphClient) -> Result<bool, GraphFailure> {
    let skus = graph.get("/v1.0/subscribedSkus").await?.body;
    Ok(skus["value"].as_array().is_some_and(|v| {
        v.iter().any(|s| {
            s["skuPartNumber"]
                .as_str()
                .is_some_and(|p| p.starts_with("AAD_PREMIUM"))
        })
    }))
}

/// The wizard's licence gate, read once per run.
struct Licence<'a> {
    graph: Option<&'a GraphClient>,
    premium: Option<bool>,
}

impl Licence<'_> {
    async fn require(&mut self, feature: &'static str) -> Result<(), WizardError> {
        let premium = match (self.premium, self.graph) {
            (Some(p), _) => p,
            (None, None) => false,
            (None, Some(g)) => {
                let p = tenant_has_premium(g).await.map_err(WizardError::Licences)?;
                self.premium = Some(p);
                p
            }
        };
        if premium {
            Ok(())
        } else {
            Err(WizardError::Unlicensed { feature })
        }
    }
}

/// Run the wizard with `choices` on top of `current`.
pub async fn configure(
    current: &EngineConfig,
    clock: &Arc<dyn Clock>,
    history: &History,
    pool: &super::graph_client::HttpPool,
    choices: &Choices,
    admin: &AdminCredentials,
) -> Result<Configured, WizardError> {
    if choices.group_writeback_v2 {
        return Err(WizardError::V2Deprecated);
    }
    let graph = GraphClient::from_config(current, clock, pool);
    let mut licence = Licence {
        graph: graph.as_ref(),
        premium: None,
    };
    // Check every choice before changing anything.
    if choices.password_writeback == Some(true) {
        licence.require("password writeback").await?;
    }
    let enabling_device = matches!(choices.device_writeback, Some(Some(_)));
    let enabling_v1 = matches!(choices.group_writeback_v1, Some(Some(_)));
    let enabling_cloud_sync = matches!(choices.cloud_sync, Some(Some(_)));
    if enabling_device {
        licence.require("device writeback").await?;
    }
    if enabling_v1 {
        licence.require("group writeback").await?;
    }
    if enabling_cloud_sync {
        licence.require("Cloud Sync group provisioning").await?;
    }
    let exchange_hybrid = choices.exchange_hybrid.unwrap_or(current.exchange_hybrid);
    // Option A works as the Enterprise Admin: one session for the checks and the changes.
    // Otherwise the connector's account reads what the checks need.
    let prepares = matches!(&choices.device_writeback, Some(Some(d)) if d.prepare)
        || enabling_v1
        || enabling_cloud_sync;
    let mut admin_session = None;
    let mut connector_session = None;
    let reader = if prepares {
        Some(admin_ad(&mut admin_session, current, admin).await?)
    } else if enabling_device {
        connector_session = Some(AdSession::open(current).await.map_err(connect_err)?);
        connector_session.as_mut()
    } else {
        None
    };
    let mut domain_dn = String::new();
    if let Some(ad) = reader {
        let f = forest(ad).await?;
        if let Some(Some(DeviceChoice {
            forest: Some(asked),
            ..
        })) = &choices.device_writeback
        {
            let forest = dns_name(&f.root_dn);
            if !asked.eq_ignore_ascii_case(&forest) {
                return Err(WizardError::OtherForest {
                    asked: asked.clone(),
                    forest,
                });
            }
        }
        if enabling_v1
            && exchange_hybrid
            && !ad
                .schema_has_attribute("mailNickname")
                .await
                .map_err(ad_err)?
        {
            return Err(WizardError::NoExchangeSchema);
        }
        domain_dn = f.domain_dn;
    }
    if let Some(ad) = connector_session {
        ad.close().await;
    }

    let mut cfg = current.clone();
    let mut detail = Vec::new();
    if let Some(on) = choices.password_writeback {
        if let Some(g) = &graph {
            cfg.writeback_key = onboard(g, &cfg, clock, history, on).await?;
        }
        cfg.password_writeback = on;
        detail.push(format!(
            "password writeback {}",
            if on { "enabled" } else { "disabled" }
        ));
    }
    match &choices.device_writeback {
        None => {}
        Some(None) => {
            cfg.device_writeback = None;
            detail.push("device writeback disabled".into());
        }
        Some(Some(d)) => {
            let container = d
                .container
                .clone()
                .unwrap_or_else(|| format!("CN=RegisteredDevices,{domain_dn}"));
            detail.push(format!("device writeback to {container} as {:?}", d.class));
            if d.prepare {
                let (class, kind) = match d.class {
                    DeviceClass::Computer => ("container", Kind::Computer),
                    DeviceClass::MsDsDevice => ("msDS-DeviceContainer", Kind::Device),
                };
                detail.extend(
                    prepare_as_admin(&mut admin_session, current, admin, &container, class, kind)
                        .await?,
                );
            }
            cfg.device_writeback = Some(DeviceWriteback {
                container,
                class: d.class,
            });
        }
    }
    match &choices.group_writeback_v1 {
        None => {}
        Some(None) => {
            cfg.group_writeback_v1 = None;
            detail.push("group writeback v1 disabled".into());
        }
        Some(Some(g)) => {
            let ou =
                g.ou.clone()
                    .unwrap_or_else(|| format!("OU=M365 Groups,{domain_dn}"));
            detail.push(format!("group writeback v1 to {ou} ({:?} names)", g.naming));
            cfg.exchange_hybrid = exchange_hybrid;
            if !exchange_hybrid {
                detail.push(
                    "Exchange hybrid is not configured: Microsoft 365 groups will not be written back"
                        .into(),
                );
            }
            detail.extend(
                prepare_as_admin(
                    &mut admin_session,
                    current,
                    admin,
                    &ou,
                    "organizationalUnit",
                    Kind::Group,
                )
                .await?,
            );
            cfg.group_writeback_v1 = Some(GroupWritebackV1 {
                ou,
                naming: g.naming,
                member_limit: true,
            });
        }
    }
    match &choices.cloud_sync {
        None => {}
        Some(None) => {
            cfg.cloud_sync = None;
            detail.push("Cloud Sync group provisioning disabled".into());
        }
        Some(Some(c)) => {
            let ou =
                c.ou.clone()
                    .unwrap_or_else(|| format!("OU=Users,{domain_dn}"));
            detail.push(match &c.scope {
                Some(s) => format!("Cloud Sync group provisioning to {ou} ({s})"),
                None => format!("Cloud Sync group provisioning to {ou}: no scope configured"),
            });
            detail.extend(
                prepare_as_admin(
                    &mut admin_session,
                    current,
                    admin,
                    &ou,
                    "organizationalUnit",
                    Kind::Group,
                )
                .await?,
            );
            cfg.cloud_sync = Some(CloudSync {
                ou,
                scope: c.scope.clone(),
            });
        }
    }
    if let Some(ad) = admin_session {
        ad.close().await;
    }
    Ok(Configured {
        config: cfg,
        detail,
    })
}

/// Option A for one target, as the Enterprise Admin ([`super::adprep`]).
async fn prepare_as_admin(
    session: &mut Option<AdSession>,
    cfg: &EngineConfig,
    admin: &AdminCredentials,
    dn: &str,
    object_class: &str,
    kind: Kind,
) -> Result<Vec<String>, WizardError> {
    let ad = admin_ad(session, cfg, admin).await?;
    prepare(ad, &cfg.connector_dn, dn, object_class, kind)
        .await
        .map_err(WizardError::Ad)
}

/// One session as the Enterprise Admin for the whole run, opened when first needed.
async fn admin_ad<'a>(
    session: &'a mut Option<AdSession>,
    cfg: &EngineConfig,
    admin: &AdminCredentials,
) -> Result<&'a mut AdSession, WizardError> {
    if session.is_none() {
        let s = AdSession::open_as(cfg, &admin.dn, &admin.password)
            .await
            .map_err(|f| match f.code {
                Some(_) => WizardError::Ad(format!(
                    "the Enterprise Admin credentials were refused: {}",
                    f.message.lines().next().unwrap_or_default()
                )),
                None => connect_err(f),
            })?;
        *session = Some(s);
    }
    // Set just above when it was empty.
    session
        .as_mut()
        .ok_or_else(|| WizardError::Unreachable("no session".into()))
}

/// The agent's new key pair: a generated one, off the async workers, or (scenario
/// worlds) the fixture pairs in turn, one per onboarding so far.
async fn new_agent_key(
    cfg: &EngineConfig,
    history: &History,
) -> Result<Arc<AgentKey>, GraphFailure> {
    if cfg.fixture_keys {
        let onboarded = history
            .snapshot()
            .events
            .iter()
            .filter(|e| e.id == 31005)
            .count();
        return Ok(AgentKey::fixture(onboarded));
    }
    let generated = tokio::task::spawn_blocking(AgentKey::generate)
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r.map_err(|e| e.to_string()));
    generated.map(Arc::new).map_err(|e| GraphFailure {
        status: 0,
        code: "keyGeneration".into(),
        message: format!("the agent's key pair could not be made: {e}"),
    })
}

/// Tell the tenant that password writeback is on or off (Graph
/// `PATCH /directory/onPremisesSynchronization/{id}`), with the service's events. On, the
/// agent makes a new key pair and onboards its public key ([`ONBOARDING`]); off, it
/// offboards it. Returns the key the agent holds now (keys roll on every enable).
async fn onboard(
    graph: &GraphClient,
    cfg: &EngineConfig,
    clock: &Arc<dyn Clock>,
    history: &History,
    on: bool,
) -> Result<Option<Arc<AgentKey>>, WizardError> {
    let (start, success, fail, what) = if on {
        (31004, 31005, 32011, "Onboarding")
    } else {
        (31012, 31013, 31014, "Offboarding")
    };
    let who = format!("TenantName: {}", cfg.tenant_name);
    history.event(
        clock.now(),
        start,
        Level::Information,
        format!("{what}EventStart: {who}"),
    );
    let result = async {
        let list = graph
            .get("/v1.0/directory/onPremisesSynchronization")
            .await?;
        let id = list.body["value"][0]["id"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let key = if on {
            let key = new_agent_key(cfg, history).await?;
            graph
                .put(
                    ONBOARDING,
                    &serde_json::json!({ "publicKey": key.public_key() }),
                )
                .await?;
            Some(key)
        } else {
            None
        };
        graph
            .patch(
                &format!("/v1.0/directory/onPremisesSynchronization/{id}"),
                &serde_json::json!({ "features": { "passwordWritebackEnabled": on } }),
            )
            .await?;
        if !on {
            graph.delete(ONBOARDING).await?;
        }
        Ok::<_, GraphFailure>(key)
    }
    .await;
    match result {
        Ok(key) => {
            history.event(
                clock.now(),
                success,
                Level::Information,
                format!("{what}EventSuccess: {who}"),
            );
            Ok(key)
        }
        Err(e) => {
            let name = if on {
                "OnBoardingServiceError"
            } else {
                "OffboardingEventFail"
            };
            history.event(
                clock.now(),
                fail,
                Level::Error,
                format!("{name}: {who}, Details: {e}"),
            );
            Err(WizardError::Onboarding(e))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_forest_is_named_after_the_dc_parts_of_its_root() {
        assert_eq!(dns_name("DC=gntech,DC=me"), "gntech.me");
        assert_eq!(dns_name("dc=Corp, dc=Example,DC=com"), "Corp.Example.com");
        assert_eq!(dns_name("OU=x"), "");
    }
}
