//! The password-writeback messages the cloud's SSPR service and the on-premises engine
//! exchange through the relay (HTTP request mode: `POST /password`, JSON both ways).
//!
//! The real service rides an undocumented WCF relay (`reference/entra-writeback.md` §1,
//! GAP); this stand-in keeps what the two ends must say to each other: the operation, how
//! to find the account (cloud anchor and source anchor), the passwords, and the outcome
//! with the engine's event id and AD's answer. The request crosses the relay sealed for
//! the agent's key ([`Sealed`]: RSA-OAEP-wrapped AES-256-GCM, as the real service seals
//! it); passwords are never in a relay frame, a log or a snapshot.

use serde::{Deserialize, Serialize};

/// The path the engine listens on and the SSPR service sends to.
pub const HYBRID_CONNECTION: &str = "passwordwriteback";

/// Where the agent onboards its public key with the password reset service
/// (`PUT {"publicKey": base64 SPKI DER}`) and offboards it (`DELETE`), beside Graph.
pub const ONBOARDING: &str = "/passwordreset/v1.0/agentKey";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Operation {
    /// Self-service reset at the SSPR portal (event family 3100x).
    SelfServiceReset,
    /// Reset by an administrator (admin center or Graph resetPassword; 31009-31011).
    AdminReset,
    /// The user changes their password, knowing the current one (31006-31008).
    Change,
    /// Self-service unlock without a password reset (the tenant option "Allow users to
    /// unlock accounts without resetting their password"); `new_password` is empty.
    Unlock,
}

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordRequest {
    pub operation: Operation,
    /// Correlates the cloud's and the engine's records.
    pub tracking_id: String,
    /// `User_<objectId>` of the Entra user.
    pub cloud_anchor: String,
    /// The on-premises anchor: base64 of the AD account's objectGUID.
    pub source_anchor: String,
    pub user_principal_name: String,
    pub new_password: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current_password: Option<String>,
    /// Admin reset with "must change password at next logon".
    #[serde(default)]
    pub force_change_at_next_logon: bool,
    /// Unlock the account as part of the reset (the tenant's default).
    #[serde(default)]
    pub unlock: bool,
}

impl std::fmt::Debug for PasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordRequest")
            .field("operation", &self.operation)
            .field("tracking_id", &self.tracking_id)
            .field("cloud_anchor", &self.cloud_anchor)
            .field("user_principal_name", &self.user_principal_name)
            .finish_non_exhaustive()
    }
}

/// How the on-premises side ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Outcome {
    Success,
    /// The password breaks the AD policy (33008).
    PolicyViolation,
    /// The current password given for a change is wrong (33007).
    IncorrectPassword,
    /// The connector account lacks a right (33004).
    AccessDenied,
    /// The account is disabled on-premises (33005).
    AccountDisabled,
    /// No AD account has this anchor (33002).
    UserNotFound,
    /// Password writeback is turned off in the engine (Entra Connect's optional feature).
    WritebackDisabled,
    /// Anything else: AD unreachable, unexpected answers (33001 / 32000).
    Error,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PasswordResponse {
    pub outcome: Outcome,
    /// The PasswordResetService event id the engine logged for the outcome.
    pub event_id: u32,
    /// The LDAP result code of the failing operation, when AD answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ldap_code: Option<u32>,
    /// AD's diagnostic text (`0000052D: …`), when AD answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ad_message: Option<String>,
    /// The on-premises account, when found.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dn: Option<String>,
    /// What AD refused, when the engine got that far (`setting pwdLastSet to 0`), and
    /// whether the new password was already written: a must-change flag or an unlock can be
    /// refused after the password is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refused: Option<Refused>,
    /// What the engine says happened, in words.
    pub message: String,
}

/// The operation AD refused in a writeback, and the right it needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Refused {
    /// What the engine asked of AD, in words (`resetting the password`).
    pub operation: String,
    /// The connector account's right that operation needs (`Reset password`).
    pub right: String,
    /// The new password was written before AD refused this.
    pub password_written: bool,
}

/// A password request as it crosses the relay, sealed for the on-premises agent, as the
/// real service does it (`reference/entra-writeback.md` §1, flow step 3): the agent
/// creates an RSA-2048 key pair when password writeback is enabled and onboards its public
/// key with the tenant; the cloud encrypts the package with AES-GCM-256 under a package key
/// it wraps with that public key (RSA-OAEP, SHA-256). How the AES key is agreed is not
/// documented (GAP): here the cloud makes one package key per onboarded agent key and sends
/// it wrapped with every message, so the agent unwraps it once, not on every reset. A new
/// agent key (writeback disabled and enabled again) means a new package key. The relay, a
/// capture or a log sees only this.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Sealed {
    /// Which agent key it is sealed for ([`AgentKey::id`]).
    pub key_id: String,
    /// Base64 of the package key, RSA-OAEP-encrypted for the agent.
    pub wrapped_key: String,
    /// Base64 of the 96-bit AES-GCM nonce (random per message).
    pub nonce: String,
    /// Base64 of the AES-256-GCM ciphertext and tag of the request's JSON.
    pub package: String,
}

/// Why a sealed request could not be opened (or a key not made).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    #[error("the request is sealed for key {sealed}, and this service holds key {held}: enable password writeback again to onboard the current key")]
    OtherKey { sealed: String, held: String },
    #[error("the request's package key cannot be unwrapped with this service's key")]
    Unwrap,
    #[error(
        "the request failed its integrity check (altered, or sealed with another package key)"
    )]
    Tampered,
    #[error("the sealed request is malformed: {0}")]
    Malformed(String),
    #[error("the writeback key: {0}")]
    Key(String),
}

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn unb64(what: &str, text: &str) -> Result<Vec<u8>, SealError> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .map_err(|e| SealError::Malformed(format!("{what}: {e}")))
}

/// A key's name: base64 of the first 12 bytes of SHA-256 over its public key (SPKI DER).
fn key_id(spki: &[u8]) -> String {
    use sha2::Digest;
    b64(&sha2::Sha256::digest(spki)[..12])
}

fn aead(key: &[u8; 32]) -> ring::aead::LessSafeKey {
    // A 32-byte key is always a valid AES-256 key.
    let unbound = ring::aead::UnboundKey::new(&ring::aead::AES_256_GCM, key)
        .unwrap_or_else(|_| unreachable!("AES-256 takes a 32-byte key"));
    ring::aead::LessSafeKey::new(unbound)
}

/// The on-premises agent's key pair (RSA-2048). Its private half never leaves the agent
/// and is never printed.
pub struct AgentKey {
    private: rsa::RsaPrivateKey,
    spki: Vec<u8>,
    id: String,
    /// The package keys unwrapped lately, by their wrapped form (one per tenant the key
    /// serves; a fixture key serves every scenario world).
    opened: std::sync::Mutex<Vec<(String, [u8; 32])>>,
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl AgentKey {
    fn from_private(private: rsa::RsaPrivateKey) -> Result<Self, SealError> {
        use rsa::pkcs8::EncodePublicKey;
        let spki = private
            .to_public_key()
            .to_public_key_der()
            .map_err(|e| SealError::Key(e.to_string()))?
            .into_vec();
        Ok(Self {
            id: key_id(&spki),
            private,
            spki,
            opened: std::sync::Mutex::new(Vec::new()),
        })
    }

    /// A new key pair (RSA-2048: a second or so; run it off the async workers).
    pub fn generate() -> Result<Self, SealError> {
        let private = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048)
            .map_err(|e| SealError::Key(e.to_string()))?;
        Self::from_private(private)
    }

    /// A key pair from its PKCS#8 PEM.
    pub fn from_pem(pem: &str) -> Result<Self, SealError> {
        use rsa::pkcs8::DecodePrivateKey;
        let private = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
            .map_err(|e| SealError::Key(format!("not an RSA key in PKCS#8 PEM: {e}")))?;
        Self::from_private(private)
    }

    /// The private key in PKCS#8 PEM, for the installation to keep.
    pub fn to_pem(&self) -> Result<String, SealError> {
        use rsa::pkcs8::EncodePrivateKey;
        self.private
            .to_pkcs8_pem(rsa::pkcs8::LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| SealError::Key(e.to_string()))
    }

    /// One of the two fixture key pairs scenario worlds use (`fixtures/identity/`): the
    /// same every run and nothing to generate; enabling writeback again takes the other.
    pub fn fixture(n: usize) -> std::sync::Arc<Self> {
        const PEMS: [&str; 2] = [
            include_str!("../fixtures/identity/writeback-agent-key-1.pem"),
            include_str!("../fixtures/identity/writeback-agent-key-2.pem"),
        ];
        static KEYS: std::sync::OnceLock<[std::sync::Arc<AgentKey>; 2]> =
            std::sync::OnceLock::new();
        let keys = KEYS.get_or_init(|| {
            PEMS.map(|pem| {
                // The fixtures are valid keys; a broken checkout fails every password test.
                std::sync::Arc::new(
                    Self::from_pem(pem)
                        .unwrap_or_else(|e| panic!("fixtures/identity/writeback-agent-key: {e}")),
                )
            })
        });
        keys[n % keys.len()].clone()
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The public key (SPKI DER, base64) the agent onboards with the tenant.
    pub fn public_key(&self) -> String {
        b64(&self.spki)
    }

    /// The request inside `sealed`.
    pub fn open(&self, sealed: &Sealed) -> Result<PasswordRequest, SealError> {
        if sealed.key_id != self.id {
            return Err(SealError::OtherKey {
                sealed: sealed.key_id.clone(),
                held: self.id.clone(),
            });
        }
        let key = self.package_key(&sealed.wrapped_key)?;
        let nonce: [u8; 12] = unb64("nonce", &sealed.nonce)?
            .try_into()
            .map_err(|_| SealError::Malformed("the nonce is not 96 bits".into()))?;
        let mut package = unb64("package", &sealed.package)?;
        let plain = aead(&key)
            .open_in_place(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(sealed.key_id.as_bytes()),
                &mut package,
            )
            .map_err(|_| SealError::Tampered)?;
        serde_json::from_slice(plain)
            .map_err(|e| SealError::Malformed(format!("not a password request: {e}")))
    }

    /// The package key `wrapped` holds, unwrapped once per wrapped form.
    fn package_key(&self, wrapped: &str) -> Result<[u8; 32], SealError> {
        if let Some((_, k)) = self
            .opened
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(w, _)| w == wrapped)
        {
            return Ok(*k);
        }
        let bytes = self
            .private
            .decrypt(
                rsa::Oaep::new::<sha2::Sha256>(),
                &unb64("wrappedKey", wrapped)?,
            )
            .map_err(|_| SealError::Unwrap)?;
        let key: [u8; 32] = bytes.try_into().map_err(|_| SealError::Unwrap)?;
        let mut opened = self.opened.lock().unwrap_or_else(|e| e.into_inner());
        if opened.len() >= 64 {
            opened.remove(0);
        }
        opened.push((wrapped.to_string(), key));
        Ok(key)
    }
}

/// The cloud's side of an onboarded agent key: its public key and the package key wrapped
/// for it.
pub struct SealingKey {
    id: String,
    package_key: [u8; 32],
    wrapped: String,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SealingKey")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

impl SealingKey {
    /// For the agent key whose public key (SPKI DER, base64) was onboarded; a new package
    /// key.
    pub fn new(public_key: &str) -> Result<Self, SealError> {
        use rand::RngCore;
        let (spki, public) = Self::public(public_key)?;
        let mut package_key = [0u8; 32];
        rand::rngs::OsRng.fill_bytes(&mut package_key);
        let wrapped = public
            .encrypt(
                &mut rand::rngs::OsRng,
                rsa::Oaep::new::<sha2::Sha256>(),
                &package_key,
            )
            .map_err(|e| SealError::Key(e.to_string()))?;
        Ok(Self {
            id: key_id(&spki),
            package_key,
            wrapped: b64(&wrapped),
        })
    }

    /// Whether a package key can be sealed for this public key (SPKI DER, base64): an RSA
    /// key of at least 2048 bits, as the agent creates. Cheaper than [`SealingKey::new`]
    /// (no RSA operation): what onboarding checks.
    pub fn check(public_key: &str) -> Result<(), SealError> {
        Self::public(public_key).map(|_| ())
    }

    fn public(public_key: &str) -> Result<(Vec<u8>, rsa::RsaPublicKey), SealError> {
        use rsa::pkcs8::DecodePublicKey;
        use rsa::traits::PublicKeyParts;
        let spki = unb64("publicKey", public_key).map_err(|e| match e {
            SealError::Malformed(why) => SealError::Key(format!("the onboarded {why}")),
            other => other,
        })?;
        let public = rsa::RsaPublicKey::from_public_key_der(&spki)
            .map_err(|e| SealError::Key(format!("the onboarded public key: {e}")))?;
        if public.size() < 256 {
            return Err(SealError::Key(format!(
                "the onboarded public key has {} bits; the agent's key is RSA 2048",
                public.size() * 8
            )));
        }
        Ok((spki, public))
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// The id of the agent key whose public key (SPKI DER, base64) this is.
    pub fn id_of(public_key: &str) -> Option<String> {
        unb64("publicKey", public_key)
            .ok()
            .map(|spki| key_id(&spki))
    }

    /// `request`, sealed for the agent.
    pub fn seal(&self, request: &PasswordRequest) -> Sealed {
        use rand::RngCore;
        let mut nonce = [0u8; 12];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        // A request of strings and flags always serializes.
        let mut package = serde_json::to_vec(request).unwrap_or_default();
        aead(&self.package_key)
            .seal_in_place_append_tag(
                ring::aead::Nonce::assume_unique_for_key(nonce),
                ring::aead::Aad::from(self.id.as_bytes()),
                &mut package,
            )
            .unwrap_or_else(|_| unreachable!("AES-GCM seals any message under 64 GiB"));
        Sealed {
            key_id: self.id.clone(),
            wrapped_key: self.wrapped.clone(),
            nonce: b64(&nonce),
            package: b64(&package),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request() -> PasswordRequest {
        PasswordRequest {
            operation: Operation::SelfServiceReset,
            tracking_id: "t1".into(),
            cloud_anchor: "User_1".into(),
            source_anchor: "abc=".into(),
            user_principal_name: "alice@gntech.me".into(),
            new_password: "Autumn#Leaves2026".into(),
            current_password: None,
            force_change_at_next_logon: false,
            unlock: true,
        }
    }

    #[test]
    fn only_the_agent_opens_what_the_cloud_seals() {
        let agent = AgentKey::fixture(0);
        let cloud = SealingKey::new(&agent.public_key()).unwrap();
        assert_eq!(cloud.id(), agent.id());
        let sealed = cloud.seal(&request());
        let wire = serde_json::to_string(&sealed).unwrap();
        assert!(!wire.contains("Autumn#Leaves2026") && !wire.contains("alice"));
        assert_eq!(agent.open(&sealed).unwrap(), request());
        // Twice: the package key is unwrapped once and kept.
        assert_eq!(agent.open(&cloud.seal(&request())).unwrap(), request());

        // The other agent key (writeback enabled again) does not open it.
        let other = AgentKey::fixture(1);
        assert!(matches!(
            other.open(&sealed),
            Err(SealError::OtherKey { .. })
        ));
        // Nor does a package altered on the way.
        let mut altered = sealed.clone();
        let mut bytes = unb64("", &altered.package).unwrap();
        bytes[0] ^= 1;
        altered.package = b64(&bytes);
        assert_eq!(agent.open(&altered), Err(SealError::Tampered));
        // A key round-trips through its PEM, and its Debug shows only its id.
        let again = AgentKey::from_pem(&agent.to_pem().unwrap()).unwrap();
        assert_eq!(again.open(&sealed).unwrap(), request());
        assert!(!format!("{agent:?}").contains("PRIVATE"));
    }

    #[test]
    fn onboarding_takes_only_an_rsa_key_a_package_key_can_be_sealed_for() {
        use rsa::pkcs8::EncodePublicKey;
        assert_eq!(
            SealingKey::check(&AgentKey::fixture(0).public_key()),
            Ok(())
        );
        let small = rsa::RsaPrivateKey::new(&mut rand::rngs::OsRng, 512).unwrap();
        let spki = small.to_public_key().to_public_key_der().unwrap();
        let refused = SealingKey::check(&b64(spki.as_bytes())).unwrap_err();
        assert_eq!(
            refused.to_string(),
            "the writeback key: the onboarded public key has 512 bits; the agent's key is RSA 2048"
        );
        assert!(SealingKey::check("not base64!").is_err());
        assert!(SealingKey::check(&b64(b"not a key")).is_err());
    }
}
