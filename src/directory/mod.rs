//! The embedded Active Directory: a directory served over real LDAP/LDAPS sockets with the
//! `ldap3_proto` codec, answering like a Windows Server DC wherever writeback, the Entra
//! Connect wizard or an admin with ldapsearch touches it (`reference/ad-behaviour.md`).
//!
//! - [`server`]: sockets, TLS (`crate::tls`), StartTLS, the codec ([`codec`]), one task per
//!   connection, shutdown.
//! - [`session`]: one connection's state; maps an `LdapOp` to the response ops;
//!   [`controls`]: the OIDs it knows.
//! - one file per operation: [`bind`], [`search`] (with [`filter`]), [`add`], [`modify`],
//!   [`delete`], [`modify_dn`], [`compare`], [`extended`], [`rootdse`].
//! - [`domain`] (names, SIDs, RIDs), [`store`] (entries, indexes) and [`snapshot`] (all of it as data, restored), [`dn`], [`ids`] (SIDs, GUIDs), [`schema`], [`values`]
//!   (matching rules, userAccountControl and groupType bits), [`password_policy`] (and
//!   the password write), [`access`] (rights) with [`security_descriptor`]
//!   (nTSecurityDescriptor as a view of them), [`ldif`], [`forest`] (the default domain),
//!   [`ad_error`] (result code + AD diagnostic), `template` (forests as provisioning and
//!   LDIF imports left them, kept for the next world built the same way).
//!
//! Left out on purpose: replication, Kerberos/NTLM/SASL binds, the global catalog,
//! tombstones and the recycle bin.

pub mod access;
pub mod ad_error;
pub mod ad_schema;
pub mod add;
pub mod bind;
pub mod classes;
pub mod codec;
pub mod compare;
pub mod controls;
pub mod delete;
pub mod dn;
pub mod domain;
pub mod extended;
pub mod filter;
pub mod forest;
pub mod ids;
pub mod ldif;
pub mod links;
pub mod modify;
pub mod modify_dn;
pub mod paging;
pub mod password_policy;
pub mod peer_log;
pub mod result_sets;
pub mod rootdse;
pub mod schema;
pub mod search;
pub mod security_descriptor;
pub mod server;
pub mod session;
pub mod snapshot;
pub mod store;
pub mod subschema;
mod template;
pub mod values;

use crate::clock::{generalized_time, Clock};
use access::{Grant, Right};
use ad_error::{AdError, AdResult};
use chrono::{DateTime, Utc};
use dn::Dn;
use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use store::{Entry, EntryId, Store};

pub use domain::{rid, DomainInfo};

/// How the directory is set up.
#[derive(Clone)]
pub struct DirectoryConfig {
    /// DNS name of the forest root domain (`gntech.me` → `DC=gntech,DC=me`).
    pub forest: String,
    /// Password of CN=Administrator.
    pub admin_password: String,
    /// Seeds every GUID, SID and generated name, so the same config gives the same forest.
    pub seed: u64,
    /// Answer plain-LDAP simple binds with 8 strongerAuthRequired (LDAP signing enforced).
    pub require_tls_for_bind: bool,
    /// Largest LDAP message accepted (AD's MaxReceiveBuffer is 10 MiB).
    pub max_message_bytes: usize,
    /// AD's MaxPageSize: the most entries one search answer (or page) carries.
    pub max_page_size: usize,
    /// Create the MSOL_ connector account with the wizard's rights.
    pub connector: bool,
    /// Password of the connector account; generated from the seed when `None`.
    pub connector_password: Option<String>,
    /// DN of the connector account (in CN=Users); `CN=MSOL_<12 hex>,…` when `None`.
    pub connector_dn: Option<String>,
    /// Close a connection that sends nothing for this long (AD's MaxConnIdleTime, 900 s).
    /// `None` in a world whose tokio clock is paused: a tokio timer must not race socket
    /// I/O there (tokio-rs/tokio#4522).
    pub idle_timeout: Option<std::time::Duration>,
    /// Drop a connection whose TLS handshake takes longer than this; `None` as above.
    pub handshake_timeout: Option<std::time::Duration>,
    /// The forest's schema is prepared for Exchange (mailNickname, targetAddress,
    /// extensionAttribute1-15); a fresh forest's is not.
    pub exchange_schema: bool,
    /// Connections served at once, over every listener (AD's MaxConnections, 5000); never
    /// more than half the process's file-descriptor limit, so that a flood of idle sockets
    /// cannot starve the rest of the process (a lab's saver, its other listeners). A
    /// connection over the cap is closed as soon as it is accepted.
    pub max_connections: usize,
}

impl std::fmt::Debug for DirectoryConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DirectoryConfig")
            .field("forest", &self.forest)
            .field("seed", &self.seed)
            .field("require_tls_for_bind", &self.require_tls_for_bind)
            .finish_non_exhaustive()
    }
}

impl Default for DirectoryConfig {
    fn default() -> Self {
        Self {
            forest: "gntech.me".into(),
            admin_password: "Adm1n!Pass2026".into(),
            seed: 0,
            require_tls_for_bind: false,
            max_message_bytes: 10 * 1024 * 1024,
            max_page_size: 1000,
            connector: true,
            connector_password: None,
            connector_dn: None,
            idle_timeout: Some(std::time::Duration::from_secs(900)),
            handshake_timeout: Some(std::time::Duration::from_secs(10)),
            exchange_schema: false,
            max_connections: 5000,
        }
    }
}

/// Who is asking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    Anonymous,
    /// The DC itself: LDIF import, forest provisioning, `ad` steps of a scenario that an
    /// Enterprise Admin would make.
    System,
    /// A bound account, by objectGUID so a rename does not lose it.
    Account(Vec<u8>),
}

/// What a write operation knows about its request besides the principal.
#[derive(Debug, Clone, Default)]
pub struct OpContext {
    /// The connection is encrypted (LDAPS or after StartTLS).
    pub tls: bool,
    /// LDAP_SERVER_POLICY_HINTS (…2239 / …2066) was sent: a reset enforces history.
    pub policy_hints: bool,
    /// LDAP_SERVER_PERMISSIVE_MODIFY (…1413): adding a present value or deleting an absent
    /// one is not an error.
    pub permissive_modify: bool,
    /// LDAP_SERVER_TREE_DELETE (…805): delete a whole subtree.
    pub tree_delete: bool,
}

/// Mutable directory state: entries, grants, counters. Behind one lock, never held across
/// an await.
#[derive(Debug, Clone)]
pub struct State {
    pub store: Store,
    pub grants: Vec<Grant>,
    /// Normalised DNs of the objects whose DACL is protected (inheritance blocked).
    pub protected: std::collections::BTreeSet<String>,
    pub domain: DomainInfo,
    rng: StdRng,
    next_rid: u32,
    /// DN of the MSOL_ connector account, when one was provisioned.
    pub connector: Option<String>,
    /// Its password, so the world can configure the engine (and the CLI can print it).
    pub connector_password: Option<String>,
    /// The schema holds Exchange's attributes (`/PrepareSchema` has run on the forest).
    pub exchange_schema: bool,
}

impl State {
    /// The schema's definition of an attribute a client names, as this forest's schema
    /// has it: Exchange's attributes only once it is prepared for Exchange.
    pub fn attr_def(&self, name: &str) -> Option<&'static schema::AttrDef> {
        schema::attr(name).filter(|d| self.exchange_schema || !schema::is_exchange(d.name))
    }

    /// A fresh GUID in AD's stored byte order, from the seeded RNG.
    pub fn new_guid(&mut self) -> Vec<u8> {
        let mut b = [0u8; 16];
        self.rng.fill_bytes(&mut b);
        uuid::Builder::from_random_bytes(b)
            .into_uuid()
            .to_bytes_le()
            .to_vec()
    }

    pub fn new_sid(&mut self) -> Vec<u8> {
        let rid = self.next_rid;
        self.next_rid += 1;
        self.domain.sid(rid)
    }

    pub fn random_hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:08X}", self.rng.next_u32()));
        }
        s.truncate(len);
        s
    }

    /// Move the USN forward and stamp uSNChanged / whenChanged on `e`.
    pub fn stamp(&mut self, e: &mut Entry, now: DateTime<Utc>) {
        self.store.usn += 1;
        e.set_int("uSNChanged", self.store.usn);
        e.set_str("whenChanged", &generalized_time(now));
    }

    /// The domain object (it always exists once provisioned).
    pub fn domain_entry(&self) -> Option<&Entry> {
        self.store.by_dn(&self.domain.dn)
    }

    /// Parse a DN as AD does, including the `<GUID=…>`, `<SID=…>` and `<WKGUID=…,DN>`
    /// forms (MS-ADTS 3.1.1.3.1.2.4).
    pub fn resolve(&self, text: &str) -> AdResult<EntryId> {
        let t = text.trim();
        if let Some(inner) = t.strip_prefix('<').and_then(|s| s.strip_suffix('>')) {
            let (key, value) = inner
                .split_once('=')
                .ok_or_else(|| AdError::InvalidDn(t.to_string()))?;
            let found = match key.to_ascii_uppercase().as_str() {
                "GUID" => ids::parse_guid(value).and_then(|b| self.store.by_guid(&b)),
                "SID" => ids::parse_sid(value).and_then(|b| self.store.by_sid(&b)),
                "WKGUID" => self.well_known(value),
                _ => return Err(AdError::InvalidDn(t.to_string())),
            };
            return found.map(|e| e.id).ok_or(AdError::NoSuchObject {
                matched: String::new(),
            });
        }
        let dn = Dn::parse(t).map_err(|_| AdError::InvalidDn(t.to_string()))?;
        self.store
            .id_by_dn(&dn)
            .ok_or_else(|| AdError::NoSuchObject {
                matched: self.store.best_match(&dn),
            })
    }

    /// `GUID,DN` of a `<WKGUID=…>` name: the object DN's wellKnownObjects (or
    /// otherWellKnownObjects) lists under that GUID.
    fn well_known(&self, value: &str) -> Option<&Entry> {
        let (guid, dn) = value.split_once(',')?;
        let holder = self.store.by_dn(&Dn::parse(dn).ok()?)?;
        let target = ["wellKnownObjects", "otherWellKnownObjects"]
            .iter()
            .flat_map(|a| holder.values(a))
            .filter_map(|v| std::str::from_utf8(v).ok())
            .find_map(|v| {
                let rest = v.strip_prefix("B:32:")?;
                let (g, target) = rest.split_at_checked(32)?;
                g.eq_ignore_ascii_case(guid.trim())
                    .then(|| target.strip_prefix(':'))
                    .flatten()
            })?;
        self.store.by_dn(&Dn::parse(target).ok()?)
    }

    /// The DN an extended name (`<GUID=…>`, `<SID=…>`, `<WKGUID=…>`) stands for, as
    /// text; other text is returned as it is. Filter values of DN-syntax attributes.
    pub fn extended_dn_text(&self, text: &str) -> Option<String> {
        if !text.trim_start().starts_with('<') {
            return Some(text.to_string());
        }
        let id = self.resolve(text).ok()?;
        self.store.get(id).map(|e| e.dn.to_string())
    }

    pub fn principal_entry(&self, p: &Principal) -> Option<&Entry> {
        match p {
            Principal::Account(guid) => self.store.by_guid(guid),
            _ => None,
        }
    }

    /// objectGUIDs of the principal and of every group it is in, transitively.
    fn token(&self, p: &Principal) -> Vec<Vec<u8>> {
        let Some(e) = self.principal_entry(p) else {
            return Vec::new();
        };
        let mut seen = vec![e.id];
        let mut i = 0;
        while i < seen.len() {
            for g in self.store.linked(seen[i], "memberOf") {
                if !seen.contains(&g) {
                    seen.push(g);
                }
            }
            i += 1;
        }
        seen.iter()
            .filter_map(|id| {
                self.store
                    .get(*id)
                    .and_then(|e| e.guid())
                    .map(<[u8]>::to_vec)
            })
            .collect()
    }

    /// The DC, Administrator and members of Domain Admins / Enterprise Admins.
    pub fn is_admin(&self, p: &Principal) -> bool {
        match p {
            Principal::System => true,
            Principal::Anonymous => false,
            Principal::Account(_) => self.has_admin_sid(&self.token_sids(p)),
        }
    }

    /// Does a token hold Administrator's, Domain Admins' or Enterprise Admins' SID?
    pub fn has_admin_sid(&self, sids: &[Vec<u8>]) -> bool {
        [
            rid::ADMINISTRATOR,
            rid::DOMAIN_ADMINS,
            rid::ENTERPRISE_ADMINS,
        ]
        .iter()
        .any(|r| sids.contains(&self.domain.sid(*r)))
    }

    /// The objectGUID of the object a DN names.
    pub fn guid_of(&self, dn: &str) -> AdResult<Vec<u8>> {
        let id = self.resolve(dn)?;
        Ok(self
            .store
            .get(id)
            .and_then(|e| e.guid())
            .map(<[u8]>::to_vec)
            .unwrap_or_default())
    }

    /// The ACE "`trustee` holds `right` on `scope` and below", from DNs.
    /// Fail with 50 unless `p` holds `right` on `target`.
    pub fn require(&self, p: &Principal, right: Right, target: EntryId) -> AdResult<()> {
        if self.has_right(p, right, target) {
            Ok(())
        } else {
            Err(AdError::InsufficientAccess)
        }
    }
}

/// A handle on one embedded directory; cheap to clone, shared by every connection.
#[derive(Clone)]
pub struct Directory {
    inner: Arc<Inner>,
}

struct Inner {
    config: DirectoryConfig,
    clock: Arc<dyn Clock>,
    state: RwLock<State>,
    /// Bumped whenever the state is locked for writing: tells a saver something may have
    /// changed.
    generation: std::sync::atomic::AtomicU64,
    /// One permit per connection being served ([`DirectoryConfig::max_connections`]).
    connections: Arc<tokio::sync::Semaphore>,
    /// What made the state, and the generation it did so at (see [`template`]).
    recipe: std::sync::Mutex<Option<(template::Recipe, u64)>>,
    /// Paged searches in progress on every connection (AD's MaxResultSetSize is per DC).
    result_sets: Arc<result_sets::ResultSets>,
}

impl std::fmt::Debug for Directory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Directory")
            .field("config", &self.inner.config)
            .finish_non_exhaustive()
    }
}

impl Directory {
    /// Provision a new forest (see [`forest`]) on the given clock.
    pub fn new(
        config: DirectoryConfig,
        clock: Arc<dyn Clock>,
    ) -> Result<Self, forest::ProvisionError> {
        let recipe = template::Recipe::provision(&config, clock.now());
        if let Some((state, generation, _)) = template::find(&recipe) {
            let dir = Self {
                inner: Arc::new(Inner::new(config, clock, state)),
            };
            dir.follow(recipe, generation);
            return Ok(dir);
        }
        let mut rng = StdRng::seed_from_u64(config.seed);
        let mut domain = DomainInfo::new(&config.forest);
        domain.sid_prefix = vec![
            21,
            1_000_000_000 + rng.next_u32() % 1_000_000_000,
            1_000_000_000 + rng.next_u32() % 1_000_000_000,
            1_000_000_000 + rng.next_u32() % 1_000_000_000,
        ];
        let state = State {
            store: Store::default(),
            grants: Vec::new(),
            protected: Default::default(),
            domain,
            rng,
            next_rid: rid::FIRST_FREE,
            connector: None,
            connector_password: None,
            exchange_schema: config.exchange_schema,
        };
        let dir = Self {
            inner: Arc::new(Inner::new(config, clock, state)),
        };
        forest::provision(&dir)?;
        dir.keep_as(recipe, 0);
        Ok(dir)
    }

    pub fn config(&self) -> &DirectoryConfig {
        &self.inner.config
    }

    /// The paged searches this DC keeps for its connections.
    pub fn result_sets(&self) -> &Arc<result_sets::ResultSets> {
        &self.inner.result_sets
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.inner.clock.now()
    }

    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    pub fn read(&self) -> RwLockReadGuard<'_, State> {
        // A panic while holding the lock poisons it; the state is still consistent because
        // every operation builds its changes before committing them.
        self.inner.state.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.inner
            .generation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A number that moves whenever the state may have changed.
    pub fn generation(&self) -> u64 {
        self.inner
            .generation
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn domain(&self) -> DomainInfo {
        self.read().domain.clone()
    }

    /// Exchange's `/PrepareSchema`: the schema gains Exchange's attributes (for good).
    pub fn prepare_exchange_schema(&self) {
        self.write().exchange_schema = true;
    }

    /// Grant `right` on `scope` (and below) to the account or group `trustee` (DNs; or a
    /// SID such as `S-1-5-11`): an explicit, inheritable allow ACE.
    pub fn grant(&self, trustee: &str, right: Right, scope: &str) -> AdResult<()> {
        self.add_ace(trustee, right, scope, false)
    }

    /// Deny `right` on `scope` (and below) to `trustee`: an explicit, inheritable deny ACE,
    /// which wins over every allow at its level and below it.
    pub fn deny(&self, trustee: &str, right: Right, scope: &str) -> AdResult<()> {
        self.add_ace(trustee, right, scope, true)
    }

    /// An explicit, inheritable ACE of `right` on `scope` for `trustee`: allow, or `deny`.
    pub fn add_ace(&self, trustee: &str, right: Right, scope: &str, deny: bool) -> AdResult<()> {
        let mut st = self.write();
        let g = st.grant_for(trustee, right, scope, deny)?;
        if !st.grants.contains(&g) {
            st.grants.push(g);
        }
        Ok(())
    }

    /// Remove the ACEs (allow or deny) of `right` on `scope` for `trustee`. Returns whether
    /// there was one.
    pub fn revoke(&self, trustee: &str, right: Right, scope: &str) -> AdResult<bool> {
        let mut st = self.write();
        let g = st.grant_for(trustee, right, scope, false)?;
        let before = st.grants.len();
        st.grants
            .retain(|x| (&x.trustee, x.right, &x.scope) != (&g.trustee, g.right, &g.scope));
        Ok(st.grants.len() != before)
    }

    /// Block (or restore) inheritance on `scope`: its DACL becomes protected, and the ACEs
    /// of its ancestors no longer reach it or its subtree. Returns whether anything changed.
    pub fn set_inheritance_blocked(&self, scope: &str, blocked: bool) -> AdResult<bool> {
        let mut st = self.write();
        let id = st.resolve(scope)?;
        let norm = st.store.get(id).map(|e| e.dn.norm()).unwrap_or_default();
        Ok(if blocked {
            st.protected.insert(norm)
        } else {
            st.protected.remove(&norm)
        })
    }

    /// Does the account `who` (a DN) hold `right` on `target` (a DN)?
    pub fn has_right(&self, who: &str, right: Right, target: &str) -> AdResult<bool> {
        let st = self.read();
        let t = st.resolve(target)?;
        let p = Principal::Account(st.guid_of(who)?);
        Ok(st.has_right(&p, right, t))
    }

    /// A copy of one entry, for checks and snapshots (secrets are not attributes).
    pub fn entry(&self, dn: &str) -> Option<Entry> {
        let st = self.read();
        st.resolve(dn).ok().and_then(|id| st.store.get(id).cloned())
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.read().store.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The password of the default connector account, when one was provisioned.
    pub fn connector_password(&self) -> Option<String> {
        self.read().connector_password.clone()
    }

    /// The DN of the default connector account, when one was provisioned.
    pub fn connector_dn(&self) -> Option<String> {
        let st = self.read();
        let dn = st.connector.as_deref()?;
        st.resolve(dn)
            .ok()
            .and_then(|id| st.store.get(id))
            .map(|e| e.dn.to_string())
    }
}

/// Values of a string attribute as bytes.
pub fn text_values<I, S>(vals: I) -> Vec<Vec<u8>>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    vals.into_iter()
        .map(|s| s.as_ref().as_bytes().to_vec())
        .collect()
}
