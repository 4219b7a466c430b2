//! The world's services started and wired: the embedded AD on LDAPS (and LDAP when asked),
//! the relay, the tenant with its password services, Microsoft Graph and the identity
//! platform on one web listener (HTTPS when the world has a certificate authority), and the
//! engine's configuration pointing at all of them — its relay keys, the connector account,
//! and an app registration it signs in to Graph with.

use super::{ClockKind, Endpoints, WorldError, WorldOptions};
use crate::clock::Clock;
use crate::cloud::graph::Graph;
use crate::cloud::identity::{Identity, PasswordCheck, SigningKey};
use crate::cloud::sspr::RelaySender;
use crate::cloud::tenant::{password_hash, AppRegistration};
use crate::cloud::{PasswordService, Tenant};
use crate::directory::server::Running;
use crate::directory::Directory;
use crate::engine::config::GraphAuth;
use crate::engine::EngineConfig;
use crate::fault_proxy::FaultProxy;
use crate::net::reachable;
use crate::relay::{server as relay_server, Relay, RelayConfig, Rights, SasPolicy};
use crate::tls::TlsMaterial;
use crate::writeback_protocol::HYBRID_CONNECTION;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::sync::Arc;
use std::time::Duration;
use tokio_util::sync::CancellationToken;

/// The application permissions Entra Connect's sync account uses in Graph.
const ENGINE_PERMISSIONS: &[&str] = &[
    "User.Read.All",
    "Device.Read.All",
    "Group.ReadWrite.All",
    "Organization.Read.All",
    "OnPremDirectorySynchronization.ReadWrite.All",
];

/// The key of the relay policy that may do everything (for a lab's own clients).
pub const RELAY_MANAGE_POLICY: &str = "RootManageSharedAccessKey";

pub(super) struct Services {
    pub directory: Directory,
    pub dc: Running,
    /// Between the world's LDAP clients (the engine, sign-ins) and the DC, for the LDAP
    /// faults; `None` in front of a real DC whose certificate is verified (a proxy on
    /// 127.0.0.1 would not match its name), and then LDAP faults cannot be put in force.
    pub ldap_proxy: Option<FaultProxy>,
    pub tenant: Tenant,
    pub relay: Relay,
    pub passwords: PasswordService,
    pub graph: Graph,
    pub identity: Identity,
    pub endpoints: Endpoints,
    pub engine_config: EngineConfig,
    pub relay_task: tokio::task::JoinHandle<std::io::Result<()>>,
    pub web_task: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn key(rng: &mut StdRng) -> String {
    let mut b = [0u8; 32];
    rng.fill_bytes(&mut b);
    B64.encode(b)
}

/// A GUID from `rng`.
fn guid(rng: &mut StdRng) -> String {
    let mut b = [0u8; 16];
    rng.fill_bytes(&mut b);
    uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

/// Pass-through authentication for the identity platform: a synced user's password is
/// right when it binds on the DC.
fn password_check(ldaps: String) -> PasswordCheck {
    Arc::new(move |upn: String, password: String| {
        let url = ldaps.clone();
        Box::pin(async move {
            !password.is_empty()
                && super::people::simple_bind(&url, &upn, &password)
                    .await
                    .is_ok()
        })
    })
}

pub(super) async fn start(
    opts: &WorldOptions,
    directory: Directory,
    tenant: Option<super::TenantState>,
    clock: Arc<dyn Clock>,
    rng: &mut StdRng,
    stop: &CancellationToken,
    external: Option<&super::external::Access>,
) -> Result<Services, WorldError> {
    // Secrets no report shows come from their own stream, so that adding one moves no
    // objectId a snapshot holds; a lab's are random.
    let mut secrets = match opts.clock {
        ClockKind::Virtual => StdRng::seed_from_u64(opts.seed ^ 0x0005_ec2e_7500),
        ClockKind::System => StdRng::from_entropy(),
    };
    let virtual_clock = opts.clock == ClockKind::Virtual;
    let names = crate::net::certificate_names(directory.domain().dc_host, opts.listen.ldaps.ip());
    let tls = match &opts.tls {
        Some(ca) => ca.issue(&names)?,
        None => TlsMaterial::generate(&names)?,
    };
    let l = &opts.listen;
    let listen = |what: &'static str, addr: String| {
        move |source: std::io::Error| WorldError::Listen { what, addr, source }
    };
    let dc_addrs = match l.ldap {
        Some(ldap) => format!("{ldap} and {}", l.ldaps),
        None => l.ldaps.to_string(),
    };
    let dc = Running::start(directory.clone(), l.ldap, Some(l.ldaps), tls.clone())
        .await
        .map_err(listen("LDAP and LDAPS", dc_addrs))?;
    // A real DC in place of the embedded one: every LDAPS client of the world goes there.
    let ldaps = match external {
        Some(x) => x.url.clone(),
        None => dc.ldaps_url().unwrap_or_default(),
    };
    // The world's own LDAP clients reach it through the fault proxy.
    let ldap_proxy = if external.is_none_or(|x| x.insecure) {
        Some(
            FaultProxy::start(crate::net::ldap_host_port(&ldaps), clock.clone())
                .await
                .map_err(listen("the LDAP fault proxy", "127.0.0.1:0".into()))?,
        )
    } else {
        None
    };
    let clients_url = ldap_proxy
        .as_ref()
        .map_or_else(|| ldaps.clone(), |p| format!("ldaps://{}", p.addr()));

    let short = opts
        .tenant
        .domain
        .split('.')
        .next()
        .unwrap_or("tenant")
        .to_string();
    let namespace = format!("{short}-sspr.servicebus.windows.net");
    let (listen_key, send_key) = (key(rng), key(rng));
    let manage_key = key(&mut secrets);
    let mut paths = vec![HYBRID_CONNECTION.to_string()];
    paths.extend(opts.relay_paths.iter().cloned());
    let relay = Relay::new(
        RelayConfig {
            namespace: namespace.clone(),
            paths,
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
                SasPolicy {
                    name: RELAY_MANAGE_POLICY.into(),
                    key: manage_key.clone(),
                    rights: Rights::Manage,
                },
            ],
            response_deadline: Duration::from_secs(60),
        },
        clock.clone(),
    );
    let relay_listener = tokio::net::TcpListener::bind(l.relay)
        .await
        .map_err(listen("the relay", l.relay.to_string()))?;
    let relay_addr = reachable(
        relay_listener
            .local_addr()
            .map_err(listen("the relay", l.relay.to_string()))?,
    );
    let relay_task = tokio::spawn(relay_server::serve(
        relay.clone(),
        relay_listener,
        stop.clone(),
    ));

    let tenant = match tenant {
        Some(state) => Tenant::restore(state),
        None => Tenant::new(opts.tenant.clone()),
    };
    let passwords = PasswordService::new(
        tenant.clone(),
        RelaySender {
            base_url: format!("http://{relay_addr}"),
            namespace: namespace.clone(),
            path: HYBRID_CONNECTION.into(),
            key_name: "CloudSend".into(),
            key: send_key,
        },
        clock.clone(),
    );
    let signing = opts.signing_key.clone().unwrap_or_else(SigningKey::fixture);
    let identity = Identity::new(tenant.clone(), signing, clock.clone());
    identity.set_password_check(password_check(clients_url.clone()));
    let graph = Graph::new(
        tenant.clone(),
        passwords.clone(),
        identity.clone(),
        clock.clone(),
    );
    let web_listener = tokio::net::TcpListener::bind(l.web)
        .await
        .map_err(listen("Graph and sign-in", l.web.to_string()))?;
    let web_addr = web_listener
        .local_addr()
        .map_err(listen("Graph and sign-in", l.web.to_string()))?;
    let https = opts.tls.is_some();
    let web_url = format!(
        "{}://{}",
        if https { "https" } else { "http" },
        reachable(web_addr)
    );
    graph.set_base_url(&web_url);
    identity.set_base_url(&web_url);
    let router = graph.clone().router().merge(identity.clone().router());
    let web_stop = stop.clone();
    let web_task = if https {
        let timeout = (!virtual_clock).then(|| Duration::from_secs(10));
        tokio::spawn(crate::https::serve(
            web_listener,
            router,
            tls,
            timeout,
            stop.clone(),
        ))
    } else {
        let listener = axum::serve::ListenerExt::tap_io(web_listener, |tcp| {
            let _ = tcp.set_nodelay(true);
        });
        tokio::spawn(async move {
            axum::serve(listener, router)
                .with_graceful_shutdown(async move { web_stop.cancelled().await })
                .await
        })
    };

    // Entra Connect's identity in the tenant: an app with the permissions sync needs.
    let client_id = guid(&mut secrets);
    let client_secret = key(&mut secrets);
    tenant.put_app(AppRegistration {
        client_id: client_id.clone(),
        display_name: "Microsoft Entra Connect Sync".into(),
        secret_hash: Some(password_hash(&client_id, &client_secret)),
        application_permissions: ENGINE_PERMISSIONS.iter().map(|p| p.to_string()).collect(),
        delegated_permissions: vec![],
        redirect_uris: vec![],
    });
    let engine_config = EngineConfig {
        relay_url: format!("ws://{relay_addr}"),
        relay_namespace: namespace.clone(),
        relay_path: HYBRID_CONNECTION.into(),
        relay_key_name: "OnPremListen".into(),
        relay_key: listen_key,
        relay_token_lifetime: Duration::from_secs(3600),
        ad_url: clients_url,
        ad_starttls: false,
        // The embedded DC's certificate is its own; a real DC's is checked unless told not to.
        ad_tls_no_verify: external.is_none_or(|x| x.insecure),
        ad_ca: external.and_then(|x| x.ca_pem.clone()),
        connector_dn: match external {
            Some(x) => x.connector_dn.clone(),
            None => directory.connector_dn().unwrap_or_default(),
        },
        connector_password: match external {
            Some(x) => x.connector_password.clone(),
            None => directory.connector_password().unwrap_or_default(),
        },
        password_writeback: false,
        exchange_hybrid: false,
        reconnect_backoff: (Duration::from_millis(5), Duration::from_millis(200)),
        graph_url: Some(web_url.clone()),
        graph_auth: Some(GraphAuth::ClientSecret {
            token_url: identity.token_url(),
            client_id,
            client_secret,
        }),
        tls_ca: opts.tls.as_ref().map(|ca| ca.cert_pem().to_string()),
        tenant_name: format!("{short}.onmicrosoft.com"),
        device_writeback: None,
        group_writeback_v1: None,
        cloud_sync: None,
        sync_interval: opts.sync_interval,
        writeback_key: None,
        fixture_keys: !opts.generate_writeback_keys,
    };
    let endpoints = Endpoints {
        // With a real DC, what clients are told to reach is the DC itself (its LDAPS URL),
        // not the unused embedded AD.
        ldap: dc.ldap_url().filter(|_| external.is_none()),
        ldaps,
        graph: web_url.clone(),
        relay: format!("ws://{relay_addr}"),
        relay_namespace: namespace,
        relay_manage_key: manage_key,
        authority: identity.authority(),
        token_url: identity.token_url(),
        tenant_id: tenant.id(),
    };
    Ok(Services {
        directory,
        dc,
        ldap_proxy,
        tenant,
        relay,
        passwords,
        graph,
        identity,
        endpoints,
        engine_config,
        relay_task,
        web_task,
    })
}
