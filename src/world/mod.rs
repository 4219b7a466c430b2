//! One simulated world: the embedded AD (LDAPS on 127.0.0.1:0), the fake relay (axum on
//! 127.0.0.1:0), the fake tenant with its password services, and the real engine wired to
//! them through their protocols — all on one virtual clock and one seed. `scenario` (and
//! later `lab`) drive it; it is the only place that knows every part.

use crate::clock::{Clock, ManualClock};
use crate::cloud::graph::{Caller, Graph};
use crate::cloud::sspr::RelaySender;
use crate::cloud::tenant::{CloudUser, OnPremises, TenantSettings};
use crate::cloud::{PasswordService, Tenant};
use crate::directory::server::Running;
use crate::directory::tls::TlsMaterial;
use crate::directory::{Directory, DirectoryConfig};
use crate::engine::{ConnectorSpace, Engine, EngineConfig, History};
use crate::relay::{server as relay_server, Relay, RelayConfig, RelayFaults, Rights, SasPolicy};
use crate::writeback_protocol::HYBRID_CONNECTION;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

#[derive(Debug, thiserror::Error)]
pub enum WorldError {
    #[error("directory: {0}")]
    Directory(#[from] crate::directory::forest::ProvisionError),
    #[error("TLS: {0}")]
    Tls(#[from] crate::directory::tls::TlsError),
    #[error("cannot listen on loopback: {0}")]
    Listen(#[from] std::io::Error),
    #[error("user {upn}: synced_from `{dn}` is not an entry in the directory")]
    NoAnchor { upn: String, dn: String },
}

/// What a world is made of.
#[derive(Debug, Clone)]
pub struct WorldOptions {
    pub seed: u64,
    pub directory: DirectoryConfig,
    pub tenant: TenantSettings,
    /// Entra Connect's "Password writeback" optional feature.
    pub password_writeback: bool,
}

pub struct World {
    pub clock: ManualClock,
    pub directory: Directory,
    pub tenant: Tenant,
    pub relay: Relay,
    pub passwords: PasswordService,
    pub graph: Graph,
    /// `http://127.0.0.1:PORT`: Microsoft Graph of the fake tenant (`/v1.0/...`).
    pub graph_url: String,
    pub history: History,
    pub connector_space: ConnectorSpace,
    dc: Option<Running>,
    relay_stop: CancellationToken,
    relay_task: tokio::task::JoinHandle<std::io::Result<()>>,
    graph_task: tokio::task::JoinHandle<std::io::Result<()>>,
    engine: Option<Engine>,
    engine_config: EngineConfig,
    rng: StdRng,
}

impl World {
    pub async fn start(opts: WorldOptions) -> Result<World, WorldError> {
        // The forest is provisioned a month before the first step, so the accounts'
        // passwords are as old as they are in a real domain (past minPwdAge, within
        // maxPwdAge); `begin` moves the clock to the scenario's start.
        let clock = ManualClock::scenario_start();
        clock.advance(-chrono::Duration::days(30));
        let shared_clock: Arc<dyn Clock> = Arc::new(clock.clone());
        let mut rng = StdRng::seed_from_u64(opts.seed ^ 0x005e_ed0f_3077);
        let mut dir_cfg = opts.directory.clone();
        dir_cfg.seed = opts.seed;
        // No tokio timers racing socket I/O in a scenario (tokio-rs/tokio#4522).
        dir_cfg.idle_timeout = None;
        dir_cfg.handshake_timeout = None;
        let directory = Directory::new(dir_cfg, shared_clock.clone())?;
        let tls = TlsMaterial::generate(&[
            directory.domain().dc_host,
            "localhost".into(),
            "127.0.0.1".into(),
        ])?;
        let dc = Running::start(directory.clone(), None, "127.0.0.1:0".parse().ok(), tls).await?;
        let ldaps = dc.ldaps_url().unwrap_or_default();

        let namespace = format!(
            "{}-sspr.servicebus.windows.net",
            opts.tenant.domain.split('.').next().unwrap_or("tenant")
        );
        let key = |rng: &mut StdRng| {
            let mut b = [0u8; 32];
            rng.fill_bytes(&mut b);
            B64.encode(b)
        };
        let (listen_key, send_key) = (key(&mut rng), key(&mut rng));
        let relay = Relay::new(
            RelayConfig {
                namespace: namespace.clone(),
                paths: vec![HYBRID_CONNECTION.into()],
                policies: vec![
                    SasPolicy {
                        name: "OnPremListen".into(),
                        key: listen_key.clone(),
                        rights: Rights::Listen,
                    },
                    SasPolicy {
                        name: "CloudSend".into(),
                        key: send_key.clone(),
                        rights: Rights::Send,
                    },
                ],
                response_deadline: Duration::from_secs(60),
            },
            shared_clock.clone(),
        );
        let relay_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let relay_addr = relay_listener.local_addr()?;
        let relay_stop = CancellationToken::new();
        let relay_task = tokio::spawn(relay_server::serve(
            relay.clone(),
            relay_listener,
            relay_stop.clone(),
        ));

        let mut settings = opts.tenant.clone();
        settings.writeback_onboarded = opts.password_writeback;
        let tenant = Tenant::new(settings);
        let passwords = PasswordService::new(
            tenant.clone(),
            RelaySender {
                base_url: format!("http://{relay_addr}"),
                namespace: namespace.clone(),
                path: HYBRID_CONNECTION.into(),
                key_name: "CloudSend".into(),
                key: send_key,
            },
            shared_clock.clone(),
        );
        let graph = Graph::new(tenant.clone(), passwords.clone(), shared_clock.clone());
        let graph_listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let graph_url = format!("http://{}", graph_listener.local_addr()?);
        graph.set_base_url(&graph_url);
        let app = graph.clone().router();
        let stop = relay_stop.clone();
        let graph_listener = axum::serve::ListenerExt::tap_io(graph_listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        let graph_task = tokio::spawn(async move {
            axum::serve(graph_listener, app)
                .with_graceful_shutdown(async move { stop.cancelled().await })
                .await
        });
        let engine_config = EngineConfig {
            relay_url: format!("ws://{relay_addr}"),
            relay_namespace: namespace,
            relay_path: HYBRID_CONNECTION.into(),
            relay_key_name: "OnPremListen".into(),
            relay_key: listen_key,
            relay_token_lifetime: Duration::from_secs(3600),
            ad_url: ldaps,
            ad_starttls: false,
            ad_tls_no_verify: true,
            connector_dn: directory.connector_dn().unwrap_or_default(),
            connector_password: directory.connector_password().unwrap_or_default(),
            password_writeback: opts.password_writeback,
            reconnect_backoff: (Duration::from_millis(5), Duration::from_millis(200)),
            graph_url: Some(graph_url.clone()),
            graph_token: Some(graph.issue_token(Caller::Admin(format!(
                "Sync_AADCONNECT_{}@{}",
                "0a1b2c3d4e5f", opts.tenant.domain
            )))),
            tenant_name: format!(
                "{}.onmicrosoft.com",
                opts.tenant.domain.split('.').next().unwrap_or("tenant")
            ),
            device_writeback: None,
            group_writeback_v1: None,
            cloud_sync: None,
            sync_interval: Duration::from_secs(30 * 60),
        };
        Ok(World {
            clock,
            directory,
            tenant,
            relay,
            passwords,
            graph,
            graph_url,
            history: History::default(),
            connector_space: ConnectorSpace::default(),
            dc: Some(dc),
            relay_stop,
            relay_task,
            graph_task,
            engine: None,
            engine_config,
            rng,
        })
    }

    /// A new Entra objectId from the world's seed.
    fn object_id(&mut self) -> String {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b)
            .into_uuid()
            .hyphenated()
            .to_string()
    }

    /// Add a cloud user; `synced_from` names its AD account (the anchor is its objectGUID).
    pub fn add_user(
        &mut self,
        upn: &str,
        synced_from: Option<&str>,
        sspr_registered: bool,
        groups: Vec<String>,
    ) -> Result<(), WorldError> {
        let on_premises = match synced_from {
            Some(dn) => {
                let e = self
                    .directory
                    .entry(dn)
                    .ok_or_else(|| WorldError::NoAnchor {
                        upn: upn.into(),
                        dn: dn.into(),
                    })?;
                Some(OnPremises {
                    immutable_id: B64.encode(e.guid().unwrap_or_default()),
                    distinguished_name: e.dn.to_string(),
                })
            }
            None => None,
        };
        let display_name = on_premises
            .as_ref()
            .and_then(|o| self.directory.entry(&o.distinguished_name))
            .and_then(|e| e.str("displayName").map(str::to_string))
            .unwrap_or_else(|| upn.split('@').next().unwrap_or(upn).to_string());
        let id = self.object_id();
        self.tenant.add_user(CloudUser {
            id,
            user_principal_name: upn.into(),
            display_name,
            on_premises,
            sspr_registered,
            groups,
        });
        Ok(())
    }

    /// Setup is over: move the clock to the scenario's start (2026-01-05 09:00 UTC).
    pub fn begin(&self) {
        self.clock.set(ManualClock::scenario_start().now_utc());
    }

    /// Start (or restart) the engine and wait until it listens on the relay.
    pub async fn start_engine(&mut self) {
        if let Some(e) = self.engine.take() {
            e.stop().await;
        }
        let engine = Engine::start(
            self.engine_config.clone(),
            Arc::new(self.clock.clone()),
            self.history.clone(),
            self.connector_space.clone(),
        );
        self.engine = Some(engine);
        self.await_listener().await;
    }

    /// The running engine.
    pub fn engine(&self) -> Option<&Engine> {
        self.engine.as_ref()
    }

    /// Run the Entra Connect wizard's "Configure device writeback": the licence gate (P1 or
    /// P2, read from Graph by the engine), single forest only, then option A (`prepare`:
    /// create the container and grant the connector its rights, with Enterprise Admin
    /// credentials) or option B (the admin does both). Restarts the engine with it.
    pub async fn configure_device_writeback(
        &mut self,
        forest: Option<&str>,
        container: Option<&str>,
        class: crate::engine::devices::DeviceClass,
        prepare: bool,
    ) -> Result<Vec<String>, String> {
        use crate::directory::access::ObjectKind;
        use crate::engine::devices::DeviceClass;
        let domain = self.directory.domain();
        if let Some(f) = forest {
            if !f.eq_ignore_ascii_case(&domain.dns_name) {
                return Err(format!(
                    "device writeback forest {f} is not the forest the users are in ({}): device writeback supports a single forest only",
                    domain.dns_name
                ));
            }
        }
        self.require_premium("device writeback").await?;
        let container = container
            .map(str::to_string)
            .unwrap_or_else(|| format!("CN=RegisteredDevices,{}", domain.dn));
        let mut detail = vec![format!("device writeback to {container} as {class:?}")];
        if prepare {
            let (object_class, kind) = match class {
                DeviceClass::Computer => ("container", ObjectKind::Computer),
                DeviceClass::MsDsDevice => ("msDS-DeviceContainer", ObjectKind::Device),
            };
            detail.extend(self.prepare_container(&container, object_class, kind)?);
        }
        self.engine_config.device_writeback =
            Some(crate::engine::config::DeviceWriteback { container, class });
        self.start_engine().await;
        Ok(detail)
    }

    /// The wizard offers a writeback feature only to a tenant with Entra ID P1 or P2.
    async fn require_premium(&self, feature: &str) -> Result<(), String> {
        let premium = match self.engine.as_ref() {
            Some(e) => e
                .tenant_has_premium()
                .await
                .map_err(|e| format!("cannot read the tenant's licences: {e}"))?,
            None => false,
        };
        if premium {
            Ok(())
        } else {
            Err(format!("{feature} needs Microsoft Entra ID P1 or P2; the tenant has neither (the wizard does not offer the option)"))
        }
    }

    /// What the wizard (or its permission cmdlet) does for a writeback target: create the
    /// container when it is missing and grant the connector create / write / delete of
    /// `kind` objects there. Returns what it did.
    fn prepare_container(
        &mut self,
        dn: &str,
        object_class: &str,
        kind: crate::directory::access::ObjectKind,
    ) -> Result<Vec<String>, String> {
        use crate::directory::access::Right;
        let mut detail = Vec::new();
        if self.directory.entry(dn).is_none() {
            let ctx = crate::directory::OpContext {
                tls: true,
                ..Default::default()
            };
            let req = crate::directory::add::AddRequest {
                dn: dn.to_string(),
                attrs: vec![("objectClass".into(), vec![object_class.as_bytes().to_vec()])],
            };
            self.directory
                .write()
                .add(
                    &crate::directory::Principal::System,
                    &ctx,
                    self.clock.now_utc(),
                    req,
                )
                .map_err(|e| format!("creating {dn}: {}", e.answer().1))?;
            detail.push(format!("created {dn}"));
        }
        let connector = self.connector_dn();
        for right in [Right::Create(kind), Right::Write(kind), Right::Delete(kind)] {
            self.directory
                .grant(&connector, right, dn)
                .map_err(|e| e.answer().1)?;
        }
        detail.push(format!(
            "granted the connector create/write/delete of {kind:?} objects on {dn}"
        ));
        Ok(detail)
    }

    /// Group writeback v1 as the wizard sets it up: Microsoft 365 groups into `ou`
    /// (`OU=M365 Groups,<domain>` by default, created when missing) with the rights
    /// `Set-ADSyncUnifiedGroupWritebackPermissions` grants. Needs P1/P2; without Exchange
    /// hybrid it is accepted, and each group is left out with that reason.
    pub async fn configure_group_writeback_v1(
        &mut self,
        ou: Option<&str>,
        naming: crate::engine::groups::V1Naming,
    ) -> Result<Vec<String>, String> {
        use crate::directory::access::ObjectKind;
        self.require_premium("group writeback").await?;
        let ou = ou
            .map(str::to_string)
            .unwrap_or_else(|| format!("OU=M365 Groups,{}", self.directory.domain().dn));
        let exchange_hybrid = self.tenant.settings().exchange_hybrid;
        let mut detail = vec![format!("group writeback v1 to {ou} ({naming:?} names)")];
        if !exchange_hybrid {
            detail.push(
                "Exchange hybrid is not configured: Microsoft 365 groups will not be written back"
                    .into(),
            );
        }
        detail.extend(self.prepare_container(&ou, "organizationalUnit", ObjectKind::Group)?);
        self.engine_config.group_writeback_v1 = Some(crate::engine::config::GroupWritebackV1 {
            ou,
            naming,
            member_limit: true,
            exchange_hybrid,
        });
        self.connector_space.rescope_groups(true);
        self.start_engine().await;
        Ok(detail)
    }

    /// Cloud Sync "Group provision to Active Directory": security groups in `scope` into
    /// `ou` (`OU=Users,<domain>` by default, created when missing, the agent allowed to
    /// create / write / delete groups there). Needs P1/P2. Without a scope it is accepted
    /// and provisions nothing, each group saying why.
    pub async fn configure_cloud_sync(
        &mut self,
        ou: Option<&str>,
        scope: Option<crate::engine::groups::CloudSyncScope>,
    ) -> Result<Vec<String>, String> {
        use crate::directory::access::ObjectKind;
        self.require_premium("Cloud Sync group provisioning")
            .await?;
        let ou = ou
            .map(str::to_string)
            .unwrap_or_else(|| format!("OU=Users,{}", self.directory.domain().dn));
        let mut detail = vec![match &scope {
            Some(s) => format!("Cloud Sync group provisioning to {ou} ({s})"),
            None => format!("Cloud Sync group provisioning to {ou}: no scope configured"),
        }];
        detail.extend(self.prepare_container(&ou, "organizationalUnit", ObjectKind::Group)?);
        self.engine_config.cloud_sync = Some(crate::engine::config::CloudSync { ou, scope });
        self.connector_space
            .rescope_groups(self.engine_config.group_writeback_v1.is_some());
        self.start_engine().await;
        Ok(detail)
    }

    /// Turn Cloud Sync group provisioning off.
    pub async fn disable_cloud_sync(&mut self) {
        self.engine_config.cloud_sync = None;
        self.start_engine().await;
    }

    /// Turn group writeback v1 off: the next cycle deletes the groups it wrote.
    pub async fn disable_group_writeback_v1(&mut self) {
        self.engine_config.group_writeback_v1 = None;
        self.connector_space.retire_v1_groups();
        self.start_engine().await;
    }

    /// Turn device writeback off (the wizard's checkbox cleared).
    pub async fn disable_device_writeback(&mut self) {
        self.engine_config.device_writeback = None;
        self.start_engine().await;
    }

    /// Before a password operation: give a dropped listener its moment to reconnect
    /// (real time, bounded), unless the relay is down or writeback is off.
    pub async fn await_listener(&self) {
        let Some(engine) = &self.engine else { return };
        if !self.engine_config.password_writeback || self.relay.faults().down {
            return;
        }
        engine.wait_connected(Duration::from_secs(5)).await;
        for _ in 0..500 {
            if self.relay.listener_count(HYBRID_CONNECTION) > 0 {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }

    pub fn set_relay_faults(&self, f: RelayFaults) {
        self.relay.set_faults(f);
    }

    /// Move business time. The engine renews its relay token as the service would have
    /// while the time passed; the world waits (real time, bounded) until the relay has it,
    /// so the next step never races the renewal.
    /// A scheduled delta cycle that fell due runs (one, as ADSync's scheduler does after
    /// a pause); its summary is returned.
    pub async fn advance(&self, by: Duration) -> Option<crate::engine::CycleSummary> {
        self.clock
            .advance(chrono::Duration::from_std(by).unwrap_or(chrono::Duration::MAX));
        let e = self.engine.as_ref()?;
        let ran = e.run_due_cycle().await;
        if !e.connected() {
            return ran;
        }
        e.renew_token();
        let now = self.clock.now_utc();
        for _ in 0..2500 {
            let expiries = self.relay.listener_expiries(HYBRID_CONNECTION);
            if !expiries.is_empty() && expiries.iter().all(|t| *t > now) {
                break;
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        ran
    }

    /// Turn Entra Connect's password writeback feature on or off (the tenant learns it).
    pub async fn set_password_writeback(&mut self, on: bool) {
        self.engine_config.password_writeback = on;
        self.tenant.update(|s| s.writeback_onboarded = on);
        self.start_engine().await;
    }

    /// What `Get-ADSyncAADCompanyFeature` prints.
    pub fn features(&self) -> std::collections::BTreeMap<String, String> {
        let on = |b: bool| if b { "Enabled" } else { "Disabled" }.to_string();
        let dw = self.engine_config.device_writeback.as_ref();
        let forest = dw
            .map(|d| {
                d.container
                    .split(',')
                    .filter_map(|p| p.trim().strip_prefix("DC="))
                    .collect::<Vec<_>>()
                    .join(".")
            })
            .unwrap_or_default();
        [
            (
                "PasswordWriteback",
                on(self.engine_config.password_writeback),
            ),
            ("DeviceWriteback", on(dw.is_some())),
            ("DeviceWritebackForest", forest),
            (
                "UnifiedGroupWriteback",
                on(self.engine_config.group_writeback_v1.is_some()),
            ),
            ("GroupWritebackV2", on(false)),
            ("ForcePasswordChangeOnLogOn", on(false)),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    /// Register a device in the tenant, its ids from the world's seed.
    pub fn register_device(
        &mut self,
        spec: &crate::scenario::model::DeviceSpec,
    ) -> Result<String, String> {
        use crate::cloud::tenant::{AlternativeSecurityId, CloudDevice};
        let owners = match &spec.owner {
            Some(upn) => vec![
                self.tenant
                    .user(upn)
                    .ok_or_else(|| format!("owner {upn} is not a user of the tenant"))?
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
        if spec.whfb.unwrap_or(false) {
            let cert =
                device_certificate(&device_id).map_err(|e| format!("device certificate: {e}"))?;
            alternative_security_ids.push(AlternativeSecurityId {
                kind: 2,
                key: B64.encode(cert),
            });
        }
        self.tenant.put_device(CloudDevice {
            id: id.clone(),
            device_id: device_id.clone(),
            display_name: spec.name.clone(),
            operating_system: spec.os.clone().unwrap_or_else(|| "Windows".into()),
            operating_system_version: spec
                .os_version
                .clone()
                .unwrap_or_else(|| "10.0.22631.4317".into()),
            trust_type: spec.trust_type.clone().unwrap_or_else(|| "ServerAd".into()),
            account_enabled: spec.enabled.unwrap_or(true),
            alternative_security_ids,
            registered_owners: owners,
            is_compliant: true,
            is_managed: true,
            physical_ids: vec![format!("[GID]:g:{}", &thumbprint[..16])],
            registration_date_time: self.clock.now_utc(),
        });
        Ok(device_id)
    }

    /// The objectIds of tenant users by userPrincipalName.
    fn user_ids(&self, upns: &[String]) -> Result<Vec<String>, String> {
        upns.iter()
            .map(|upn| {
                self.tenant
                    .user(upn)
                    .map(|u| u.id)
                    .ok_or_else(|| format!("member {upn} is not a user of the tenant"))
            })
            .collect()
    }

    /// Create a cloud group (`type`: m365, the default, security or distribution); its
    /// objectId comes from the world's seed and is returned.
    pub fn create_group(
        &mut self,
        spec: &crate::scenario::model::GroupSpec,
    ) -> Result<String, String> {
        use crate::cloud::tenant::{CloudGroup, WritebackConfiguration, ON_PREMISES_GROUP_TYPES};
        if self
            .tenant
            .groups()
            .iter()
            .any(|g| g.display_name == spec.name)
        {
            return Err(format!("a group named {} already exists", spec.name));
        }
        let kind = spec.kind.as_deref().unwrap_or("m365");
        let (unified, mail_enabled, security_enabled) = match kind {
            "m365" => (true, true, false),
            "security" => (false, false, true),
            "distribution" => (false, true, false),
            other => {
                return Err(format!(
                    "group type `{other}`: use m365, security or distribution"
                ))
            }
        };
        if let Some(t) = &spec.on_prem_group_type {
            if !ON_PREMISES_GROUP_TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "on_prem_group_type `{t}`: use one of {}",
                    ON_PREMISES_GROUP_TYPES.join(", ")
                ));
            }
        }
        let members = self.user_ids(&spec.members)?;
        let nickname: String = spec
            .name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_')
            .collect::<String>()
            .to_ascii_lowercase();
        let mail = mail_enabled.then(|| format!("{nickname}@{}", self.tenant.settings().domain));
        let id = self.object_id();
        self.tenant.put_group(CloudGroup {
            id: id.clone(),
            display_name: spec.name.clone(),
            description: None,
            mail_nickname: nickname,
            proxy_addresses: mail.iter().map(|m| format!("SMTP:{m}")).collect(),
            mail,
            mail_enabled,
            security_enabled,
            group_types: if unified {
                vec!["Unified".into()]
            } else {
                vec![]
            },
            members,
            writeback: WritebackConfiguration {
                is_enabled: spec.writeback,
                on_premises_group_type: spec.on_prem_group_type.clone(),
            },
            on_premises_sync_enabled: false,
        });
        Ok(id)
    }

    /// Change a cloud group's members, name or writeback settings; returns what changed.
    pub fn update_group(
        &mut self,
        u: &crate::scenario::model::UpdateGroup,
    ) -> Result<Vec<String>, String> {
        use crate::cloud::tenant::ON_PREMISES_GROUP_TYPES;
        if let Some(t) = &u.on_prem_group_type {
            if !ON_PREMISES_GROUP_TYPES.contains(&t.as_str()) {
                return Err(format!(
                    "on_prem_group_type `{t}`: use one of {}",
                    ON_PREMISES_GROUP_TYPES.join(", ")
                ));
            }
        }
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
            Err(format!("no group {} in the tenant", u.name))
        }
    }

    /// The directory's LDAPS URL (for on-premises sign-ins).
    pub fn ldaps_url(&self) -> String {
        self.engine_config.ad_url.clone()
    }

    pub fn connector_dn(&self) -> String {
        self.engine_config.connector_dn.clone()
    }

    /// Stop everything and wait for it.
    pub async fn shutdown(mut self) {
        if let Some(e) = self.engine.take() {
            e.stop().await;
        }
        self.relay_stop.cancel();
        let _ = self.relay_task.await;
        let _ = self.graph_task.await;
        if let Some(dc) = self.dc.take() {
            dc.shutdown().await;
        }
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
