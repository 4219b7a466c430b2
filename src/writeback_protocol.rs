//! The password-writeback messages the cloud's SSPR service and the on-premises engine
//! exchange through the relay (HTTP request mode: `POST /password`, JSON both ways).
//!
//! The real service rides an undocumented WCF relay with RSA/AES-GCM-encrypted payloads
//! (`reference/entra-writeback.md` §1, GAP); this stand-in keeps what the two ends must
//! say to each other: the operation, how to find the account (cloud anchor and source
//! anchor), the passwords, and the outcome with the engine's event id and AD's answer.
//! Passwords travel only inside this message, never in a log or a snapshot.

use serde::{Deserialize, Serialize};

/// The path the engine listens on and the SSPR service sends to.
pub const HYBRID_CONNECTION: &str = "passwordwriteback";

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
    /// What the engine says happened, in words.
    pub message: String,
}
