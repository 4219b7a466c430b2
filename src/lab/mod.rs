//! `writeback-sim lab`: the whole world kept running for a homelab — the embedded AD on
//! LDAP and LDAPS, Microsoft Graph and the identity platform over HTTPS with a CA of the
//! lab's own, the relay, and the engine on the real clock with its own scheduler — on fixed
//! loopback ports (or free ones), kept in a state folder so that it survives restarts.
//!
//! - this file: start (a new lab from a world the caller prepares, or the saved one), the
//!   credentials clients need (`lab.json`), shutdown.
//! - `saver`: what changed is written to the state folder, part by part.
//! - [`state`]: the state folder (format, atomic writes, lock).
//! - [`control`]: the control endpoint (faults, cycles, status) behind a bearer token.
//!
//! - [`pages`]: the web pages (the SSPR portal and My Account, the admin center, the sync
//!   console), over HTTPS.
//!
//! The lab drives the world through its API only.

pub mod control;
pub mod pages;
mod saver;
pub mod state;

use crate::world::{
    AppRegistration, CertificateAuthority, ClockKind, Listeners, SigningKey, UserSpec, World,
    WorldError, WorldOptions,
};
use rand::RngCore;
use saver::{save, saver, Saved};
use serde::{Deserialize, Serialize};
use state::{Opened, Secrets, StateDir, StateError};
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;
use tokio_util::sync::CancellationToken;

/// The fixed ports (`--ports auto` takes free ones instead).
pub const LDAP_PORT: u16 = 10389;
pub const LDAPS_PORT: u16 = 10636;
/// Microsoft Graph and the identity platform (HTTPS).
pub const WEB_PORT: u16 = 10443;
pub const RELAY_PORT: u16 = 10080;
pub const CONTROL_PORT: u16 = 10090;
/// The web pages (HTTPS): the portal, the admin center, the sync console.
pub const PAGES_PORT: u16 = 10444;
/// A hybrid connection of the lab's relay for clients of one's own (hyco-ws).
pub const LAB_RELAY_PATH: &str = "lab";
/// The application permissions of the lab's app for scripts and SDKs: what the admin
/// center needs.
const ADMIN_APP_PERMISSIONS: &[&str] = &[
    "User.ReadWrite.All",
    "Group.ReadWrite.All",
    "Device.Read.All",
    "Directory.ReadWrite.All",
    "Organization.Read.All",
    "OnPremDirectorySynchronization.ReadWrite.All",
    "UserAuthenticationMethod.ReadWrite.All",
];

/// Where the lab's apps may be sent a code: any port of localhost, as for a desktop app.
pub const LAB_REDIRECT_URI: &str = "http://localhost";

/// The delegated permissions of the lab's apps (a user signed in to them).
const DELEGATED_PERMISSIONS: &[&str] = &[
    "User.Read",
    "Directory.AccessAsUser.All",
    "UserAuthenticationMethod.ReadWrite.All",
    "Group.ReadWrite.All",
];

#[derive(Debug, Clone)]
pub struct LabOptions {
    /// The state folder.
    pub state: PathBuf,
    /// Free ports instead of the fixed ones.
    pub auto_ports: bool,
    /// The address every listener binds (loopback unless asked otherwise).
    pub bind: IpAddr,
    /// How often the engine runs a delta cycle.
    pub cycle_interval: Duration,
    /// The admin's own DC instead of the embedded AD: the world's directory part is
    /// provisioned there, the engine and the pages use it, and stopping the lab leaves it
    /// as it was found. Such a lab starts fresh every time (nothing of it is saved).
    pub directory: Option<crate::world::external::DirectoryTarget>,
}

#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error(transparent)]
    State(#[from] StateError),
    #[error(transparent)]
    World(#[from] WorldError),
    #[error("setting up the lab's world: {0}")]
    Setup(String),
    #[error("the lab's certificates and keys: {0}")]
    Keys(String),
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        addr: SocketAddr,
        source: std::io::Error,
    },
}

/// `lab.json`: what a client needs to reach the lab (mode 0600: it holds secrets).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LabInfo {
    pub domain: String,
    pub tenant_id: String,
    /// The https base clients use as their authority (`{authority}/oauth2/v2.0/token`).
    pub authority: String,
    /// The authority's host alone (`https://127.0.0.1:PORT`): what azure-identity's
    /// `authority=` and MSAL's instance take, the tenant being given apart.
    pub authority_host: String,
    pub token_url: String,
    /// Microsoft Graph, ending in `/v1.0` (`/beta` beside it).
    pub graph_url: String,
    pub client_id: String,
    pub client_secret: String,
    pub public_client_id: String,
    /// A redirect URI both apps accept (`http://localhost`, any port).
    pub redirect_uri: String,
    /// A cloud Global Administrator (for delegated calls such as resetPassword).
    pub admin_upn: String,
    pub admin_user_password: String,
    /// The CA certificate the HTTPS and LDAPS listeners are issued by.
    pub ca_file: String,
    pub ldap_url: String,
    pub ldaps_url: String,
    /// The AD's administrator.
    pub admin_dn: String,
    pub admin_password: String,
    pub relay_url: String,
    pub relay_namespace: String,
    pub relay_path: String,
    pub relay_key_name: String,
    pub relay_key: String,
    pub control_url: String,
    pub control_token: String,
    /// The user's SSPR portal (`/portal`); My Account is beside it (`/myaccount`).
    pub portal_url: String,
    /// The Entra admin center.
    pub admin_url: String,
    /// The Entra Connect server's console (Synchronization Service Manager, events, …).
    pub console_url: String,
    /// The app the pages sign people in with (a public client).
    pub pages_client_id: String,
    pub state_dir: String,
}

/// A running lab.
pub struct Lab {
    world: Arc<Mutex<World>>,
    dir: Arc<StateDir>,
    info: LabInfo,
    /// Started from a new state folder.
    new: bool,
    next_cycle: Option<chrono::DateTime<chrono::Utc>>,
    cycle_interval: Duration,
    stop: CancellationToken,
    saver: tokio::task::JoinHandle<()>,
    /// What is on disk, part by part (shared by the saver and shutdown).
    saved: Arc<Mutex<Saved>>,
    control: tokio::task::JoinHandle<std::io::Result<()>>,
    pages: tokio::task::JoinHandle<std::io::Result<()>>,
}

fn random_text(bytes: usize) -> String {
    use base64::Engine as _;
    let mut b = vec![0u8; bytes];
    rand::thread_rng().fill_bytes(&mut b);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(b)
}

fn guid() -> String {
    uuid::Uuid::new_v4().hyphenated().to_string()
}

/// A password the lab makes up: long, and of every category AD counts (its own admin's, and
/// the admin center's temporary ones).
pub(crate) fn password() -> String {
    format!("Lab#{}a1", random_text(12))
}

fn new_secrets() -> Result<Secrets, LabError> {
    let ca = CertificateAuthority::generate().map_err(|e| LabError::Keys(e.to_string()))?;
    let key = SigningKey::generate().map_err(LabError::Keys)?;
    Ok(Secrets {
        ca_cert: ca.cert_pem().to_string(),
        ca_key: ca.key_pem().to_string(),
        signing_key: key.pem().to_string(),
        client_id: guid(),
        client_secret: random_text(30),
        public_client_id: guid(),
        admin_upn: String::new(),
        admin_user_password: password(),
        control_token: random_text(32),
    })
}

impl Lab {
    /// Start the lab kept in `opts.state`, or — when the folder is new — the world
    /// `new_world` makes from the lab's options (listeners, CA, clock) and prepares.
    pub async fn start<F, Fut>(opts: LabOptions, new_world: F) -> Result<Lab, LabError>
    where
        F: FnOnce(WorldOptions) -> Fut,
        Fut: Future<Output = Result<World, String>>,
    {
        let started = std::time::Instant::now();
        let Opened {
            dir,
            secrets,
            world: saved,
        } = StateDir::open(&opts.state)?;
        tracing::info!(
            ms = started.elapsed().as_millis() as u64,
            "state folder read"
        );
        if opts.directory.is_some() && saved.is_some() {
            return Err(LabError::Setup(format!(
                "{} holds a lab on the embedded AD; a lab on your own DC starts fresh each time: give it a new --state folder",
                opts.state.display()
            )));
        }
        let new = saved.is_none();
        let mut secrets = match secrets {
            Some(s) => s,
            None => new_secrets()?,
        };
        let port = |p: u16| SocketAddr::new(opts.bind, if opts.auto_ports { 0 } else { p });
        let template = WorldOptions {
            clock: ClockKind::System,
            sync_interval: opts.cycle_interval,
            listen: Listeners {
                ldap: Some(port(LDAP_PORT)),
                ldaps: port(LDAPS_PORT),
                web: port(WEB_PORT),
                relay: port(RELAY_PORT),
            },
            tls: Some(CertificateAuthority::from_pem(
                &secrets.ca_cert,
                &secrets.ca_key,
            )),
            signing_key: Some(SigningKey::from_pem(&secrets.signing_key).map_err(LabError::Keys)?),
            relay_paths: vec![LAB_RELAY_PATH.into()],
            directory: opts.directory.clone(),
            generate_writeback_keys: true,
            ..WorldOptions::default()
        };
        let mut world = match saved {
            Some(state) => {
                let mut w = World::start(WorldOptions {
                    forest: state.directory.forest.clone(),
                    restore: Some(Box::new(state)),
                    ..template
                })
                .await?;
                tracing::info!(ms = started.elapsed().as_millis() as u64, "world restored");
                w.begin();
                // As this version registers them (a lab made by an older one catches up).
                add_lab_identities(&mut w, &secrets).await?;
                w.start_engine().await;
                w
            }
            None => {
                let mut w = new_world(template).await.map_err(LabError::Setup)?;
                secrets.admin_upn = format!("lab-admin@{}", w.domain());
                add_lab_identities(&mut w, &secrets).await?;
                w
            }
        };
        let (pages_listener, pages_tls, pages_url) = pages::start(
            port(PAGES_PORT),
            &CertificateAuthority::from_pem(&secrets.ca_cert, &secrets.ca_key),
            world.dc_host(),
        )
        .await?;
        pages::register_app(
            &mut world,
            &pages::client_id(&secrets.client_id),
            &pages_url,
        );
        let control_addr = port(CONTROL_PORT);
        let listen_error = |source| LabError::Listen {
            addr: control_addr,
            source,
        };
        let listener = tokio::net::TcpListener::bind(control_addr)
            .await
            .map_err(listen_error)?;
        let control_url = format!(
            "http://{}",
            crate::net::reachable(listener.local_addr().map_err(listen_error)?)
        );
        let info = info(&world, &secrets, &dir, control_url, &pages_url);
        let next_cycle = world.next_cycle();
        dir.save_secrets(&secrets)?;
        let world = Arc::new(Mutex::new(world));
        let dir = Arc::new(dir);
        // A new lab is written whole; a resumed one is on disk as it was loaded.
        let mut saved = Saved::default();
        if new {
            save(&world, &dir, &mut saved).await?;
        } else {
            saved = Saved::now(&*world.lock().await);
        }
        // A lab on a real DC is not resumed (see `save`): its folder stays unsealed, so that
        // the next start builds the world afresh.
        if opts.directory.is_none() {
            dir.seal()?;
        }
        dir.write_file("ca.pem", secrets.ca_cert.as_bytes(), false)?;
        let json = serde_json::to_vec_pretty(&info).unwrap_or_default();
        dir.write_file("lab.json", &json, true)?;

        let stop = CancellationToken::new();
        let saves = Arc::new(std::sync::atomic::AtomicU64::new(0));
        let control = tokio::spawn(control::serve(
            listener,
            world.clone(),
            secrets.control_token.clone(),
            saves.clone(),
            stop.clone(),
        ));
        let pages = tokio::spawn(pages::serve(
            pages_listener,
            pages_tls,
            world.clone(),
            pages::PagesConfig {
                base_url: pages_url,
                authority: info.authority.clone(),
                token_url: info.token_url.clone(),
                client_id: pages::client_id(&secrets.client_id),
                ca_pem: secrets.ca_cert.clone(),
                control_token: secrets.control_token.clone(),
                cycle_interval: opts.cycle_interval,
            },
            stop.clone(),
        ));
        let saved = Arc::new(Mutex::new(saved));
        let saver = tokio::spawn(saver(
            world.clone(),
            dir.clone(),
            saved.clone(),
            saves,
            stop.clone(),
        ));
        Ok(Lab {
            world,
            dir,
            info,
            new,
            next_cycle,
            cycle_interval: opts.cycle_interval,
            stop,
            saver,
            saved,
            control,
            pages,
        })
    }

    /// What clients need (also in `lab.json`).
    pub fn info(&self) -> &LabInfo {
        &self.info
    }

    /// The running world, to drive it.
    pub fn world(&self) -> Arc<Mutex<World>> {
        self.world.clone()
    }

    /// The short screen printed at start: what runs where, where the credentials are, and
    /// three things to try. No secret is on it.
    pub fn screen(&self) -> String {
        let i = &self.info;
        let lab_json = self.dir.file("lab.json").display().to_string();
        let ca = &i.ca_file;
        let cycle = match self.next_cycle {
            Some(t) => format!(
                "delta cycle every {}, next at {}",
                humantime(self.cycle_interval),
                t.format("%H:%M:%SZ")
            ),
            None => format!("delta cycle every {}", humantime(self.cycle_interval)),
        };
        format!(
            "writeback-sim lab for {domain} ({state}, {age})\n\
             \x20 AD       {ldap}  {ldaps}\n\
             \x20 Graph    {graph}  (beta beside it)\n\
             \x20 Sign-in  {authority}  (tenant {tid})\n\
             \x20 Relay    {relay}  ({ns})\n\
             \x20 Engine   {cycle}\n\
             \x20 Control  {control}  (writeback-sim lab ctl --state {state} status)\n\
             \x20 Pages    {portal}  (SSPR portal; My Account beside it)\n\
             \x20          {admin}  (Entra admin center: sign in as admin_upn)\n\
             \x20          {console}  (Entra Connect server: sign in as admin_dn)\n\
             Credentials and endpoints: {lab_json} (mode 0600); CA certificate: {ca}\n\
             Try:\n\
             \x20 1. LDAPTLS_CACERT={ca} ldapwhoami -x -H {ldaps} -D \"$(jq -r .admin_dn {lab_json})\" -w \"$(jq -r .admin_password {lab_json})\"\n\
             \x20 2. curl --cacert {ca} {token} -d grant_type=client_credentials -d scope=https://graph.microsoft.com/.default \\\n\
             \x20       -d client_id=\"$(jq -r .client_id {lab_json})\" -d client_secret=\"$(jq -r .client_secret {lab_json})\"\n\
             \x20 3. writeback-sim lab ctl --state {state} fault --relay-down   (then reset a password and see SSPR_0030)\n",
            domain = i.domain,
            state = self.dir.path().display(),
            age = if self.new { "new" } else { "resumed" },
            ldap = i.ldap_url,
            ldaps = i.ldaps_url,
            graph = i.graph_url,
            authority = i.authority,
            tid = i.tenant_id,
            relay = i.relay_url,
            ns = i.relay_namespace,
            control = i.control_url,
            token = i.token_url,
            portal = i.portal_url,
            admin = i.admin_url,
            console = i.console_url,
        )
    }

    /// Stop serving, save everything, and release the state folder.
    pub async fn shutdown(self) -> Result<(), LabError> {
        self.stop.cancel();
        let _ = self.saver.await;
        let _ = self.control.await;
        let _ = self.pages.await;
        // What changed since the saver's last write.
        let result = save(&self.world, &self.dir, &mut *self.saved.lock().await).await;
        let world = Arc::try_unwrap(self.world).map(Mutex::into_inner);
        let mut left = Ok(());
        if let Ok(w) = world {
            // A lab on the admin's own DC leaves it as it found it.
            left = match w.restore_directory().await {
                Some(Ok(r)) => match r.problem() {
                    Some(p) => Err(LabError::Setup(format!(
                        "the DC could not be left as it was found: {p}"
                    ))),
                    None => Ok(()),
                },
                Some(Err(e)) => Err(e.into()),
                None => Ok(()),
            };
            w.shutdown().await;
        }
        result.and(left)
    }
}

pub(crate) fn humantime(d: Duration) -> String {
    let s = d.as_secs();
    match s {
        0 => format!("{}ms", d.as_millis()),
        s if s % 3600 == 0 => format!("{}h", s / 3600),
        s if s % 60 == 0 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

/// The lab's own identities in the tenant: a cloud Global Administrator, an app for
/// scripts and SDKs (client credentials), and a public client for the password grant.
async fn add_lab_identities(w: &mut World, s: &Secrets) -> Result<(), LabError> {
    if w.user_id(&s.admin_upn).is_none() {
        w.add_user(UserSpec {
            upn: s.admin_upn.clone(),
            sspr_registered: true,
            roles: vec!["Global Administrator".into()],
            password: Some(s.admin_user_password.clone()),
            ..UserSpec::default()
        })
        .await?;
    }
    let list = |l: &[&str]| l.iter().map(|p| p.to_string()).collect();
    w.register_app(AppRegistration {
        client_id: s.client_id.clone(),
        display_name: "writeback-sim lab".into(),
        secret_hash: Some(crate::world::secret_hash(&s.client_id, &s.client_secret)),
        application_permissions: list(ADMIN_APP_PERMISSIONS),
        // Signed in as a user (the authorization-code flow), it acts for them.
        delegated_permissions: list(DELEGATED_PERMISSIONS),
        redirect_uris: vec![LAB_REDIRECT_URI.into()],
    });
    w.register_app(AppRegistration {
        client_id: s.public_client_id.clone(),
        display_name: "writeback-sim lab (public client)".into(),
        secret_hash: None,
        application_permissions: vec![],
        delegated_permissions: list(DELEGATED_PERMISSIONS),
        redirect_uris: vec![
            LAB_REDIRECT_URI.into(),
            "https://login.microsoftonline.com/common/oauth2/nativeclient".into(),
        ],
    });
    Ok(())
}

fn info(w: &World, s: &Secrets, dir: &StateDir, control_url: String, pages: &str) -> LabInfo {
    let e = w.endpoints();
    LabInfo {
        domain: w.domain(),
        tenant_id: e.tenant_id.clone(),
        authority: e.authority.clone(),
        authority_host: e.graph.clone(),
        token_url: e.token_url.clone(),
        graph_url: format!("{}/v1.0", e.graph),
        client_id: s.client_id.clone(),
        client_secret: s.client_secret.clone(),
        public_client_id: s.public_client_id.clone(),
        redirect_uri: LAB_REDIRECT_URI.into(),
        admin_upn: s.admin_upn.clone(),
        admin_user_password: s.admin_user_password.clone(),
        // Absolute, so that lab.json works from any directory.
        ca_file: absolute(&dir.file("ca.pem")),
        ldap_url: e.ldap.clone().unwrap_or_default(),
        ldaps_url: e.ldaps.clone(),
        admin_dn: w.admin_dn(),
        admin_password: w.admin_password(),
        relay_url: e.relay.clone(),
        relay_namespace: e.relay_namespace.clone(),
        relay_path: LAB_RELAY_PATH.into(),
        relay_key_name: crate::world::RELAY_MANAGE_POLICY.into(),
        relay_key: e.relay_manage_key.clone(),
        control_url,
        control_token: s.control_token.clone(),
        portal_url: format!("{pages}/portal"),
        admin_url: format!("{pages}/admin"),
        console_url: format!("{pages}/console"),
        pages_client_id: pages::client_id(&s.client_id),
        state_dir: absolute(dir.path()),
    }
}

fn absolute(p: &std::path::Path) -> String {
    std::path::absolute(p)
        .unwrap_or_else(|_| p.to_path_buf())
        .display()
        .to_string()
}
