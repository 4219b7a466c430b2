//! The fake tenant's identity platform — what login.microsoftonline.com serves — enough for
//! real clients (MSAL, azure-identity, a script with curl) to sign in to the fake Graph:
//!
//! - `GET /{tenant}/v2.0/.well-known/openid-configuration` and its JWKS
//!   (`/{tenant}/discovery/v2.0/keys`);
//! - `POST /{tenant}/oauth2/v2.0/token`: client credentials (an app registration's secret,
//!   in the form or as HTTP Basic; scope `<resource>/.default`), the resource-owner password
//!   grant (ROPC) for a tenant user — a synced user's password is checked against AD as
//!   pass-through authentication does, a cloud-only user's against its cloud password —
//!   authorization codes (with PKCE) and refresh tokens;
//! - `GET|POST /{tenant}/oauth2/v2.0/authorize`: the sign-in page of the
//!   authorization-code flow ([`authorize`]);
//! - `GET /common/userrealm/{user}`: the home-realm discovery MSAL does before ROPC.
//!
//! Access tokens for Graph are RS256 JWTs in Graph's v1.0 shape (`iss`
//! `https://sts.windows.net/{tid}/`, `aud` Graph, `tid`, `oid`, `appid`, `roles` for an app
//! or `scp` and `wids` for a user, `iat` / `nbf` / `exp` on the tenant's clock), signed with
//! the key the JWKS publishes; [`Identity::verify`] checks them for Graph. Errors are the
//! JSON the real endpoint gives (`error`, `error_description` starting with the AADSTS code,
//! `error_codes`, trace and correlation ids). Left out: the device-code flow, certificate
//! credentials, conditional access, MFA, consent prompts (an app has what it was given).

pub mod authorize;
mod discovery;
mod signed;
mod token;

pub use token::AadError;

use super::tenant::Tenant;
use crate::clock::Clock;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64URL;
use base64::Engine as _;
use futures::future::BoxFuture;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// The audiences a Graph token carries: the resource URI or Graph's app id.
pub const GRAPH_RESOURCE: &str = "https://graph.microsoft.com";
pub const GRAPH_APP_ID: &str = "00000003-0000-0000-c000-000000000000";
/// How long an access token lives (Entra's default is 60–90 minutes).
const TOKEN_LIFETIME_SECS: i64 = 3600;

/// Directory role names and their template ids (`wids` in user tokens).
const ROLE_TEMPLATES: &[(&str, &str)] = &[
    (
        "Global Administrator",
        "62e90394-69f5-4237-9190-012177145e10",
    ),
    (
        "Privileged Authentication Administrator",
        "7be44c8a-adaf-4e2a-84d6-ab2649e08a13",
    ),
    (
        "Authentication Administrator",
        "c4e39bd9-1100-46d3-8c65-fb160da0071f",
    ),
    (
        "Helpdesk Administrator",
        "729827e3-9c14-49f7-bb1b-9608f156bbb8",
    ),
    (
        "Password Administrator",
        "966707d0-3269-4727-9be2-8c3a10f19b9d",
    ),
    ("User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"),
    (
        "Directory Synchronization Accounts",
        "d29b2b05-8046-44ba-8758-1e26182fcf32",
    ),
];

/// The key tokens are signed with (RSA 2048, RS256) and its public half as the JWKS shows it.
#[derive(Clone)]
pub struct SigningKey {
    encoding: EncodingKey,
    decoding: DecodingKey,
    /// `kid` (and `x5t`): base64url of the first 20 bytes of SHA-256 over the modulus.
    kid: String,
    n: String,
    e: String,
    pem: String,
    /// What this key signed (shared by its clones: every scenario world's fixture key).
    signed: Arc<signed::Signed>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key from its PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, String> {
        use rsa::pkcs1::EncodeRsaPrivateKey;
        use rsa::pkcs8::DecodePrivateKey;
        use rsa::traits::PublicKeyParts;
        let key = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| format!("the signing key is not an RSA key in PKCS#8 PEM: {e}"))?;
        let n = key.n().to_bytes_be();
        let e = key.e().to_bytes_be();
        let digest = {
            use sha2::Digest;
            sha2::Sha256::digest(&n)
        };
        Ok(Self {
            encoding: EncodingKey::from_rsa_der(
                key.to_pkcs1_der()
                    .map_err(|e| format!("the signing key: {e}"))?
                    .as_bytes(),
            ),
            decoding: DecodingKey::from_rsa_components(&B64URL.encode(&n), &B64URL.encode(&e))
                .map_err(|e| format!("the signing key: {e}"))?,
            kid: B64URL.encode(&digest[..20]),
            n: B64URL.encode(&n),
            e: B64URL.encode(&e),
            pem: pem.to_string(),
            signed: Arc::default(),
        })
    }

    /// A new key (a second or two: a lab makes one when it creates its state).
    pub fn generate() -> Result<Self, String> {
        use rsa::pkcs8::EncodePrivateKey;
        let key = rsa::RsaPrivateKey::new(&mut rand::thread_rng(), 2048)
            .map_err(|e| format!("generating the signing key: {e}"))?;
        let pem = key
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .map_err(|e| format!("encoding the signing key: {e}"))?;
        Self::from_pem(&pem)
    }

    /// The fixture key scenario worlds sign with (`fixtures/identity/signing-key.pem`): the
    /// same every run, and nothing to generate.
    pub fn fixture() -> Self {
        static FIXTURE: std::sync::OnceLock<SigningKey> = std::sync::OnceLock::new();
        FIXTURE
            .get_or_init(|| {
                // The fixture is a valid key; a broken checkout fails every test that signs in.
                Self::from_pem(include_str!("../../../fixtures/identity/signing-key.pem"))
                    .unwrap_or_else(|e| panic!("fixtures/identity/signing-key.pem: {e}"))
            })
            .clone()
    }

    /// The private key in PKCS#8 PEM, to keep with a lab's state.
    pub fn pem(&self) -> &str {
        &self.pem
    }
}

/// Who a token stands for, as Graph reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// An app with application permissions (client credentials): `roles`.
    App {
        client_id: String,
        roles: Vec<String>,
    },
    /// A signed-in user with delegated permissions (`scp`) and directory roles.
    User {
        upn: String,
        scopes: Vec<String>,
        roles: Vec<String>,
    },
}

impl Caller {
    /// A Global Administrator signed in with Graph's broad delegated permissions.
    pub fn admin(upn: &str) -> Self {
        Self::User {
            upn: upn.into(),
            scopes: vec![
                "Directory.AccessAsUser.All".into(),
                "UserAuthenticationMethod.ReadWrite.All".into(),
            ],
            roles: vec!["Global Administrator".into()],
        }
    }

    /// A member user signed in to act as themselves.
    pub fn user(upn: &str) -> Self {
        Self::User {
            upn: upn.into(),
            scopes: vec!["User.Read".into(), "Directory.AccessAsUser.All".into()],
            roles: vec![],
        }
    }

    /// An app with these application permissions.
    pub fn app(client_id: &str, roles: &[&str]) -> Self {
        Self::App {
            client_id: client_id.into(),
            roles: roles.iter().map(|r| r.to_string()).collect(),
        }
    }
}

/// Checks a user's password for the resource-owner grant (pass-through authentication
/// for synced users: the world binds to AD with it).
pub type PasswordCheck = Arc<dyn Fn(String, String) -> BoxFuture<'static, bool> + Send + Sync>;

/// The claims of an access token for Graph (v1.0 shape).
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Claims {
    aud: String,
    iss: String,
    iat: i64,
    nbf: i64,
    exp: i64,
    tid: String,
    oid: String,
    sub: String,
    appid: String,
    idtyp: String,
    ver: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    app_displayname: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    roles: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    scp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    upn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    unique_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    wids: Option<Vec<String>>,
}

/// Why Graph refuses a token (the message its 401 carries).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenProblem {
    #[error("CompactToken parsing failed with error code: 80049217")]
    Malformed,
    #[error("Access token validation failure.")]
    Signature,
    #[error("Access token has expired or is not yet valid.")]
    Lifetime,
    #[error("Access token validation failure. Invalid audience.")]
    Audience,
    #[error("Access token validation failure. Invalid issuer.")]
    Tenant,
}

/// A refresh token's grant: who, for which client, with which scopes.
#[derive(Debug, Clone)]
struct Refresh {
    client_id: String,
    upn: String,
    scopes: Vec<String>,
}

/// The identity platform; cheap to clone.
#[derive(Clone)]
pub struct Identity {
    tenant: Tenant,
    key: Arc<SigningKey>,
    clock: Arc<dyn Clock>,
    /// `https://localhost:PORT`: the authority host clients are given.
    base: Arc<Mutex<String>>,
    refresh: Arc<Mutex<HashMap<String, Refresh>>>,
    /// Authorization codes waiting to be redeemed.
    codes: Arc<Mutex<HashMap<String, token::AuthCode>>>,
    check: Arc<Mutex<Option<PasswordCheck>>>,
}

impl std::fmt::Debug for Identity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Identity(..)")
    }
}

impl Identity {
    pub fn new(tenant: Tenant, key: SigningKey, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenant,
            key: Arc::new(key),
            clock,
            base: Arc::new(Mutex::new("https://login.microsoftonline.com".into())),
            refresh: Arc::default(),
            codes: Arc::default(),
            check: Arc::default(),
        }
    }

    /// Where the platform is served (`https://localhost:PORT`), for the authority and the
    /// OpenID configuration's links.
    pub fn set_base_url(&self, url: &str) {
        *self.base.lock().unwrap_or_else(|e| e.into_inner()) =
            url.trim_end_matches('/').to_string();
    }

    pub(crate) fn base(&self) -> String {
        self.base.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// The authority clients are given: `https://localhost:PORT/{tenant id}`.
    pub fn authority(&self) -> String {
        format!("{}/{}", self.base(), self.tenant.id())
    }

    /// The token endpoint.
    pub fn token_url(&self) -> String {
        format!("{}/oauth2/v2.0/token", self.authority())
    }

    /// How the resource-owner grant checks a synced user's password.
    pub fn set_password_check(&self, check: PasswordCheck) {
        *self.check.lock().unwrap_or_else(|e| e.into_inner()) = Some(check);
    }

    pub(crate) fn password_check(&self) -> Option<PasswordCheck> {
        self.check.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// A signed access token for Graph standing for `caller`, valid for an hour of the
    /// tenant's time.
    pub fn issue(&self, caller: &Caller) -> String {
        let now = self.clock.now().timestamp();
        let tid = self.tenant.id();
        let mut claims = Claims {
            aud: GRAPH_RESOURCE.into(),
            iss: format!("https://sts.windows.net/{tid}/"),
            iat: now,
            nbf: now,
            exp: now + TOKEN_LIFETIME_SECS,
            tid,
            oid: String::new(),
            sub: String::new(),
            appid: String::new(),
            idtyp: String::new(),
            ver: "1.0".into(),
            app_displayname: None,
            roles: None,
            scp: None,
            upn: None,
            unique_name: None,
            name: None,
            wids: None,
        };
        match caller {
            Caller::App { client_id, roles } => {
                let app = self.tenant.app(client_id);
                claims.appid = client_id.clone();
                claims.oid = derived_id("sp", client_id);
                claims.sub = claims.oid.clone();
                claims.idtyp = "app".into();
                claims.app_displayname = app.map(|a| a.display_name);
                claims.roles = Some(roles.clone());
            }
            Caller::User { upn, scopes, roles } => {
                let user = self.tenant.user(upn);
                claims.appid = "1b730954-1685-4b74-9bfd-dac224a7b894".into();
                claims.oid = user
                    .as_ref()
                    .map_or_else(|| derived_id("user", upn), |u| u.id.clone());
                claims.sub = derived_id("sub", upn);
                claims.idtyp = "user".into();
                claims.scp = Some(scopes.join(" "));
                claims.upn = Some(upn.clone());
                claims.unique_name = Some(upn.clone());
                claims.name = user.map(|u| u.display_name);
                claims.wids = Some(
                    roles
                        .iter()
                        .filter_map(|r| {
                            ROLE_TEMPLATES
                                .iter()
                                .find(|(n, _)| n.eq_ignore_ascii_case(r))
                                .map(|(_, id)| id.to_string())
                        })
                        .collect(),
                );
            }
        }
        self.sign(&claims)
    }

    pub(crate) fn sign<T: Serialize>(&self, claims: &T) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(self.key.kid.clone());
        header.x5t = Some(self.key.kid.clone());
        header.typ = Some("JWT".into());
        // What jsonwebtoken::encode signs: base64url JSON of the header and of the claims.
        let part = |json: serde_json::Result<Vec<u8>>| B64URL.encode(json.unwrap_or_default());
        let input = format!(
            "{}.{}",
            part(serde_json::to_vec(&header)),
            part(serde_json::to_vec(claims))
        );
        // Signing with a loaded RSA key and serialisable claims does not fail.
        self.key
            .signed
            .token(input, |input| {
                jsonwebtoken::crypto::sign(input, &self.key.encoding, Algorithm::RS256).ok()
            })
            .unwrap_or_default()
    }

    /// Check a bearer token as Graph does — signature, lifetime on the tenant's clock,
    /// audience, tenant — and say who it stands for.
    pub fn verify(&self, token: &str) -> Result<Caller, TokenProblem> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenProblem::Malformed)?;
        if header.alg != Algorithm::RS256 {
            return Err(TokenProblem::Signature);
        }
        let mut v = Validation::new(Algorithm::RS256);
        // Lifetime and audience are checked below, on the tenant's clock, with Graph's words.
        v.validate_exp = false;
        v.validate_nbf = false;
        v.validate_aud = false;
        v.required_spec_claims.clear();
        if self.key.signed.issued(token) {
            // Exactly a token this key signed: the RSA check would pass.
            v.insecure_disable_signature_validation();
        }
        let data = jsonwebtoken::decode::<Claims>(token, &self.key.decoding, &v).map_err(|e| {
            match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature => TokenProblem::Signature,
                _ => TokenProblem::Malformed,
            }
        })?;
        let c = data.claims;
        let now = self.clock.now().timestamp();
        if now < c.nbf - 300 || now >= c.exp + 300 {
            return Err(TokenProblem::Lifetime);
        }
        if c.aud != GRAPH_RESOURCE && c.aud != GRAPH_APP_ID && c.aud != format!("{GRAPH_RESOURCE}/")
        {
            return Err(TokenProblem::Audience);
        }
        if !c.tid.eq_ignore_ascii_case(&self.tenant.id()) {
            return Err(TokenProblem::Tenant);
        }
        Ok(match (c.roles, c.scp, c.upn) {
            (_, Some(scp), Some(upn)) => Caller::User {
                roles: c
                    .wids
                    .unwrap_or_default()
                    .iter()
                    .filter_map(|id| {
                        ROLE_TEMPLATES
                            .iter()
                            .find(|(_, t)| t == id)
                            .map(|(n, _)| n.to_string())
                    })
                    .collect(),
                scopes: scp.split(' ').map(str::to_string).collect(),
                upn,
            },
            (roles, _, _) => Caller::App {
                client_id: c.appid,
                roles: roles.unwrap_or_default(),
            },
        })
    }

    /// Does this name the tenant (its id, a verified domain, or common / organizations)?
    pub(crate) fn is_tenant(&self, t: &str) -> bool {
        let domain = self.tenant.settings().domain;
        let short = domain.split('.').next().unwrap_or_default().to_string();
        t.eq_ignore_ascii_case(&self.tenant.id())
            || t.eq_ignore_ascii_case(&domain)
            || t.eq_ignore_ascii_case(&format!("{short}.onmicrosoft.com"))
            || t.eq_ignore_ascii_case("common")
            || t.eq_ignore_ascii_case("organizations")
    }

    pub(crate) fn known_tenant(&self, t: &str) -> Result<(), AadError> {
        if self.is_tenant(t) {
            Ok(())
        } else {
            Err(AadError::new(
                StatusCode::BAD_REQUEST,
                "invalid_request",
                90002,
                format!("Tenant '{t}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud. Check with your subscription administrator, this may happen if there are no active subscriptions for the tenant."),
            ))
        }
    }

    pub fn router(self) -> Router {
        Router::new()
            .route(
                "/{tenant}/v2.0/.well-known/openid-configuration",
                get(discovery::openid_configuration),
            )
            .route("/{tenant}/discovery/v2.0/keys", get(discovery::keys))
            .route("/{tenant}/oauth2/v2.0/token", post(token::token))
            .route(
                "/{tenant}/oauth2/v2.0/authorize",
                get(authorize::page).post(authorize::sign_in),
            )
            .route("/common/userrealm/{user}", get(discovery::user_realm))
            .with_state(self)
    }
}

/// A stable GUID-shaped id for something the tenant has no object for (a service
/// principal, a token subject).
pub(crate) fn derived_id(kind: &str, key: &str) -> String {
    use sha2::Digest;
    let h = sha2::Sha256::digest(format!("{kind}:{}", key.to_ascii_lowercase()).as_bytes());
    let mut b = [0u8; 16];
    b.copy_from_slice(&h[..16]);
    uuid::Builder::from_random_bytes(b)
        .into_uuid()
        .hyphenated()
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::ManualClock;
    use crate::cloud::tenant::TenantSettings;
    use serde_json::{json, Value};

    fn identity() -> (Identity, ManualClock) {
        let clock = ManualClock::scenario_start();
        let tenant = Tenant::new(TenantSettings::default());
        (
            Identity::new(tenant, SigningKey::fixture(), Arc::new(clock.clone())),
            clock,
        )
    }

    #[test]
    fn a_token_verifies_until_it_expires_on_the_tenants_clock() {
        let (id, clock) = identity();
        let t = id.issue(&Caller::app("c1", &["User.Read.All"]));
        assert_eq!(id.verify(&t), Ok(Caller::app("c1", &["User.Read.All"])));
        let u = id.issue(&Caller::admin("admin@gntech.me"));
        assert_eq!(id.verify(&u), Ok(Caller::admin("admin@gntech.me")));
        clock.advance(chrono::Duration::hours(2));
        assert_eq!(id.verify(&t), Err(TokenProblem::Lifetime));
    }

    #[test]
    fn tampered_foreign_and_garbage_tokens_are_refused_with_graphs_words() {
        let (id, _) = identity();
        let t = id.issue(&Caller::user("alice@gntech.me"));
        let mut parts: Vec<String> = t.split('.').map(str::to_string).collect();
        let mut claims: Value = serde_json::from_slice(&B64URL.decode(&parts[1]).unwrap()).unwrap();
        claims["scp"] = json!("Directory.ReadWrite.All");
        parts[1] = B64URL.encode(claims.to_string());
        assert_eq!(id.verify(&parts.join(".")), Err(TokenProblem::Signature));
        assert_eq!(id.verify("not-a-jwt"), Err(TokenProblem::Malformed));
        let other = Identity::new(
            Tenant::new(TenantSettings {
                domain: "contoso.com".into(),
                ..TenantSettings::default()
            }),
            SigningKey::fixture(),
            Arc::new(ManualClock::scenario_start()),
        );
        let foreign = other.issue(&Caller::user("bob@contoso.com"));
        assert_eq!(id.verify(&foreign), Err(TokenProblem::Tenant));
    }

    #[test]
    fn a_remembered_token_is_the_one_jsonwebtoken_signs() {
        let (id, _) = identity();
        let claims = json!({"aud": GRAPH_RESOURCE, "n": 1});
        let mut header = Header::new(Algorithm::RS256);
        (header.kid, header.x5t) = (Some(id.key.kid.clone()), Some(id.key.kid.clone()));
        header.typ = Some("JWT".into());
        let expected = jsonwebtoken::encode(&header, &claims, &id.key.encoding).unwrap();
        assert_eq!(
            (id.sign(&claims), id.sign(&claims)),
            (expected.clone(), expected)
        );
    }
}
