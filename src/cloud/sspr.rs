//! The password services of the tenant: the SSPR portal (a user who proved who they are
//! resets), an admin's reset (admin center / Graph resetPassword), a user's change. Each
//! checks the gates the real service checks, in the order it checks them, and answers with
//! the code the portal shows (`troubleshoot-sspr.md`); a synced user's password then goes
//! through the relay to the on-premises engine, and AD's verdict comes back at once.
//!
//! The sender side of the relay is plain HTTP with a Send SAS token, as any Hybrid
//! Connections sender; the message is [`crate::writeback_protocol`].

use super::tenant::{CloudUser, License, SsprEnabled, Tenant};
use crate::clock::Clock;
use crate::sas;
use crate::writeback_protocol::{
    Operation, Outcome, PasswordRequest, PasswordResponse, SealingKey,
};
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

/// What the person (or the scenario) sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum AnswerOutcome {
    /// Done.
    Ok,
    /// Refused, and the person can correct it (policy, wrong current password).
    Rejected,
    /// Writeback could not be done (configuration, permissions, licence, connectivity).
    Failed,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct UserAnswer {
    pub outcome: AnswerOutcome,
    /// What the person reads.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// What an admin reads: code, event, LDAP answer.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub detail: Vec<String>,
}

impl UserAnswer {
    fn ok(detail: Vec<String>) -> Self {
        Self {
            outcome: AnswerOutcome::Ok,
            error: None,
            detail,
        }
    }

    fn failed(error: &str, detail: Vec<String>) -> Self {
        Self {
            outcome: AnswerOutcome::Failed,
            error: Some(error.into()),
            detail,
        }
    }

    fn code(code: &str, text: &str) -> Self {
        Self::failed(&format!("{code}: {text}"), vec![code.into()])
    }

    /// A failure the page explains by its SSPR code: the person reads the code's technical
    /// line; the cause (the article's words), the event and AD's answer are the admin's
    /// detail, after the code.
    fn coded(code: &str, cause: &str, mut detail: Vec<String>) -> Self {
        detail.insert(0, code.into());
        detail.insert(1, cause.into());
        let text = sspr_wording(code).map_or(cause, |w| w.1);
        Self::failed(&format!("{code}: {text}"), detail)
    }
}

impl UserAnswer {
    /// The SSPR code the answer carries (`SSPR_0029`), if any.
    pub fn sspr_code(&self) -> Option<&str> {
        self.detail
            .iter()
            .map(String::as_str)
            .find(|d| d.starts_with("SSPR_") && d.len() == 9)
    }
}

/// What the portal tells a person for an SSPR code: the explanation, then the technical
/// line with the code (`troubleshoot-sspr.md`, "Error | Details | Technical details").
pub fn sspr_wording(code: &str) -> Option<(&'static str, &'static str)> {
    Some(match code {
        "SSPR_0009" => (
            "We're sorry, you can't reset your password at this time because your administrator has disabled password reset for your organization. There is no further action you can take to resolve this situation. Contact your admin and ask them to enable this feature.",
            "We've detected that password reset has not been enabled by your administrator. Contact your admin and ask them to enable password reset for your organization.",
        ),
        "SSPR_0010" => (
            "We're sorry, you can't reset your password at this time because your administrator has not enabled a necessary service for your organization. There is no further action you can take to resolve this situation. Contact your admin and ask them to check your organization's configuration.",
            "We've detected that password writeback has not been enabled. Contact your admin and ask them to enable password writeback.",
        ),
        "SSPR_0011" => (
            "We're sorry, you can't reset your password at this time because your administrator has not configured password reset for your organization. There is no further action you can take to resolve this situation. Contact your admin and ask them to configure password reset.",
            "Your organization has not defined a password reset policy. Contact your admin and ask them to define a password reset policy.",
        ),
        "SSPR_0012" => (
            "We're sorry, you can't reset your password at this time because required licenses are missing from your organization. There is no further action you can take to resolve this situation. Contact your admin and ask them to check your license assignment.",
            "Your organization does not have the required licenses necessary to perform password reset. Contact your admin and ask them to review the license assignments.",
        ),
        "SSPR_0013" => (
            "We're sorry, you can't reset your password at this time because your administrator has not configured your account to use password reset. There is no further action you can take to resolve this situation. Contact your admin and ask them to configure your account for password reset.",
            "You are not a member of a group enabled for password reset. Contact your admin and request to be added to the group.",
        ),
        "SSPR_0014" => (
            "We're sorry, you can't reset your password at this time because necessary information is missing from your account. There is no further action you can take to resolve this situation. Contact your admin and ask them to reset your password for you.",
            "Additional security info is needed to reset your password. To proceed, contact your admin and ask them to reset your password. After you have access to your account, you can register additional security info at https://aka.ms/ssprsetup.",
        ),
        "SSPR_0029" => (
            "We're sorry, we can't reset your password at this time because of a problem with your organization's password reset configuration. There is no further action you can take to resolve this situation. Contact your admin and ask them to investigate.",
            "We are unable to reset your password due to an error in your on-premises configuration. Contact your admin and ask them to investigate.",
        ),
        "SSPR_0030" => (
            "We're sorry, we can't reset your password at this time because of connectivity issues to your organization. There is no action to take right now, but the problem might be resolved if you try again later. If the problem persists, contact your admin and ask them to investigate.",
            "We can't reset your password due to a poor connection with your on-premises environment. Contact your admin and ask them to investigate.",
        ),
        _ => return None,
    })
}

/// Where the relay sender endpoint is and the Send key.
#[derive(Clone)]
pub struct RelaySender {
    /// `http://127.0.0.1:PORT` (the relay's HTTP base).
    pub base_url: String,
    pub namespace: String,
    pub path: String,
    pub key_name: String,
    pub key: String,
}

impl std::fmt::Debug for RelaySender {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RelaySender")
            .field("base_url", &self.base_url)
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

#[derive(Debug, Clone)]
pub struct PasswordService {
    tenant: Tenant,
    relay: RelaySender,
    clock: Arc<dyn Clock>,
    http: reqwest::Client,
    /// Tracking ids, in order (deterministic).
    next_tracking: Arc<AtomicU64>,
}

const ON_PREMISES: &str = "An error occurred in your on-premises configuration";

const CONNECTIVITY: &str = "We're sorry, we can't reset your password at this time because of a poor connection with your on-premises environment";

impl PasswordService {
    pub fn new(tenant: Tenant, relay: RelaySender, clock: Arc<dyn Clock>) -> Self {
        Self {
            tenant,
            relay,
            clock,
            // Plain HTTP to the relay on loopback; the client also speaks HTTPS.
            http: crate::tls::http_client(None).unwrap_or_default(),
            next_tracking: Arc::new(AtomicU64::new(1)),
        }
    }

    /// The sealing key for the agent key the tenant holds; `None` when no key is
    /// onboarded. One package key per agent key in the process: an agent that onboarded
    /// a new key gets a new one, and scenario worlds, which share the fixture agent keys,
    /// share their package keys too (the agent unwraps each once, not once per world).
    fn sealing_key(&self) -> Option<Result<Arc<SealingKey>, String>> {
        type Keys = std::sync::Mutex<std::collections::HashMap<String, Arc<SealingKey>>>;
        static KEYS: std::sync::OnceLock<Keys> = std::sync::OnceLock::new();
        let public = self.tenant.writeback_key()?;
        let keys = KEYS.get_or_init(Keys::default);
        let mut keys = keys.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(k) = keys.get(&public) {
            return Some(Ok(k.clone()));
        }
        Some(match SealingKey::new(&public) {
            Ok(k) => {
                let k = Arc::new(k);
                if keys.len() >= 64 {
                    keys.clear();
                }
                keys.insert(public, k.clone());
                Ok(k)
            }
            Err(e) => Err(e.to_string()),
        })
    }

    fn user(&self, upn: &str) -> Result<CloudUser, UserAnswer> {
        self.tenant.user(upn).ok_or_else(|| {
            UserAnswer::failed(
                &format!("The account {upn} does not exist in the tenant"),
                vec![],
            )
        })
    }

    /// A user whose password may be written back: synced users need P1 or P2.
    fn licensed_user(&self, upn: &str) -> Result<CloudUser, UserAnswer> {
        let user = self.user(upn)?;
        if user.on_premises.is_some() && self.tenant.settings().license == License::None {
            return Err(UserAnswer::code(
                "SSPR_0012",
                "Your organization does not have the required licenses for password writeback",
            ));
        }
        Ok(user)
    }

    /// The SSPR portal's gates, in the order the service checks them.
    fn portal(&self, upn: &str) -> Result<(CloudUser, super::tenant::TenantSettings), UserAnswer> {
        let user = self.user(upn)?;
        let s = self.tenant.settings();
        if s.sspr_enabled == SsprEnabled::None {
            return Err(UserAnswer::code(
                "SSPR_0009",
                "Your organization has not enabled password reset",
            ));
        }
        if s.license == License::None {
            return Err(UserAnswer::code(
                "SSPR_0012",
                "Your organization does not have the required licenses for password reset",
            ));
        }
        if s.sspr_enabled == SsprEnabled::Selected {
            let group = s.sspr_selected_group.clone().unwrap_or_default();
            if !user.groups.iter().any(|g| g.eq_ignore_ascii_case(&group)) {
                return Err(UserAnswer::code(
                    "SSPR_0013",
                    "You are not a member of a group enabled for password reset",
                ));
            }
        }
        if !user.sspr_registered {
            return Err(UserAnswer::code(
                "SSPR_0014",
                "Additional security information is needed to reset your password",
            ));
        }
        Ok((user, s))
    }

    /// The portal's gates alone, as when a user ID is entered (before any code is sent).
    pub fn check_portal(&self, upn: &str) -> Result<(), UserAnswer> {
        self.portal(upn).map(|_| ())
    }

    /// Self-service reset at the SSPR portal, identity already verified.
    pub async fn sspr_reset(&self, upn: &str, new_password: &str) -> UserAnswer {
        let (user, _) = match self.portal(upn) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        self.writeback(
            &user,
            Operation::SelfServiceReset,
            new_password,
            None,
            false,
            true,
        )
        .await
    }

    /// Self-service unlock without a reset, when the tenant allows it.
    pub async fn sspr_unlock(&self, upn: &str) -> UserAnswer {
        let (user, s) = match self.portal(upn) {
            Ok(x) => x,
            Err(answer) => return answer,
        };
        if !s.unlock_option {
            return UserAnswer::failed(
                "Your organization does not allow unlocking an account without resetting its password",
                vec!["the tenant option \"Allow users to unlock accounts without resetting their password\" is No".into()],
            );
        }
        if user.on_premises.is_none() {
            return UserAnswer::ok(vec!["cloud-only user: nothing to unlock on-premises".into()]);
        }
        self.writeback(&user, Operation::Unlock, "", None, false, true)
            .await
    }

    /// Reset by an administrator, optionally forcing a change at next sign-in.
    pub async fn admin_reset(
        &self,
        upn: &str,
        new_password: &str,
        force_change: bool,
    ) -> UserAnswer {
        let user = match self.licensed_user(upn) {
            Ok(u) => u,
            Err(answer) => return answer,
        };
        self.writeback(
            &user,
            Operation::AdminReset,
            new_password,
            None,
            force_change,
            true,
        )
        .await
    }

    /// The user changes their password, giving the current one.
    pub async fn change(&self, upn: &str, current: &str, new_password: &str) -> UserAnswer {
        let user = match self.licensed_user(upn) {
            Ok(u) => u,
            Err(answer) => return answer,
        };
        self.writeback(
            &user,
            Operation::Change,
            new_password,
            Some(current),
            false,
            false,
        )
        .await
    }

    async fn writeback(
        &self,
        user: &CloudUser,
        operation: Operation,
        new_password: &str,
        current: Option<&str>,
        force_change: bool,
        unlock: bool,
    ) -> UserAnswer {
        let Some(onprem) = &user.on_premises else {
            return UserAnswer::ok(vec![
                "cloud-only user: the password is set in Entra ID, nothing to write back".into(),
            ]);
        };
        let s = self.tenant.settings();
        if !s.sspr_writeback || !self.tenant.sync_features().password_writeback {
            return UserAnswer::code(
                "SSPR_0010",
                "Your organization's password writeback is not enabled, so the on-premises password cannot be changed",
            );
        }
        // The request is sealed for the agent's onboarded key: no relay or log holds the
        // password. Writeback onboarded without a key cannot carry one.
        let sealing = match self.sealing_key() {
            Some(Ok(k)) => k,
            Some(Err(e)) => {
                return UserAnswer::failed(
                    &format!("SSPR_0029: {ON_PREMISES}"),
                    vec!["SSPR_0029".into(), format!("the onboarded agent key: {e}")],
                )
            }
            None => {
                return UserAnswer::code(
                    "SSPR_0010",
                    "Your organization's password writeback is not enabled, so the on-premises password cannot be changed",
                )
            }
        };
        let tracking = self.next_tracking.fetch_add(1, Ordering::SeqCst);
        let request = PasswordRequest {
            operation,
            tracking_id: format!("{tracking:08}-0000-4000-8000-000000000000"),
            cloud_anchor: format!("User_{}", user.id),
            source_anchor: onprem.immutable_id.clone(),
            user_principal_name: user.user_principal_name.clone(),
            new_password: new_password.to_string(),
            current_password: current.map(str::to_string),
            force_change_at_next_logon: force_change,
            unlock,
        };
        let resource = format!("http://{}/{}", self.relay.namespace, self.relay.path);
        let token = sas::token(
            &resource,
            &self.relay.key_name,
            &self.relay.key,
            self.clock.now().timestamp() + 3600,
        );
        let sent = self
            .http
            .post(format!(
                "{}/{}/password",
                self.relay.base_url.trim_end_matches('/'),
                self.relay.path
            ))
            .header("ServiceBusAuthorization", token)
            .json(&sealing.seal(&request))
            .send()
            .await;
        let resp = match sent {
            Ok(r) => r,
            Err(e) => {
                return UserAnswer::failed(
                    &format!("SSPR_0030: {CONNECTIVITY}"),
                    vec!["SSPR_0030".into(), format!("relay unreachable: {e}")],
                )
            }
        };
        let status = resp.status().as_u16();
        match status {
            200 => {}
            504 => {
                return UserAnswer::coded(
                    "SSPR_0030",
                    "Writeback timeout",
                    vec!["the on-premises service did not answer within 60 s (relay 504)".into()],
                )
            }
            _ => {
                let text = resp.text().await.unwrap_or_default();
                return UserAnswer::failed(
                    &format!("SSPR_0030: {CONNECTIVITY}"),
                    vec![
                        "SSPR_0030".into(),
                        format!("relay {status}: {}", text.trim()),
                    ],
                );
            }
        }
        let answer: PasswordResponse = match resp.json().await {
            Ok(a) => a,
            Err(e) => {
                return UserAnswer::failed(
                    &format!("SSPR_0029: {ON_PREMISES}"),
                    vec![
                        "SSPR_0029".into(),
                        format!("unreadable answer from the on-premises service: {e}"),
                    ],
                )
            }
        };
        let mut detail = vec![format!("event {} {}", answer.event_id, answer.message)];
        if let (Some(code), Some(msg)) = (answer.ldap_code, &answer.ad_message) {
            detail.push(format!("LDAP {code}: {}", msg.trim_end()));
        }
        if let Some(dn) = &answer.dn {
            detail.push(format!("on-premises account: {dn}"));
        }
        if let Some(r) = answer.refused.as_ref().filter(|r| r.password_written) {
            detail.push(format!(
                "the new password was set in AD before {} was refused",
                r.operation
            ));
        }
        let rejected = |text: &str, detail: Vec<String>| UserAnswer {
            outcome: AnswerOutcome::Rejected,
            error: Some(text.to_string()),
            detail,
        };
        match answer.outcome {
            Outcome::Success => UserAnswer::ok(detail),
            Outcome::PolicyViolation => {
                rejected("Password does not meet complexity requirements", detail)
            }
            Outcome::IncorrectPassword => rejected("The current password is incorrect", detail),
            Outcome::AccessDenied => UserAnswer::coded(
                "SSPR_0029",
                &format!(
                    "Access denied: the AD DS connector account lacks the {} right",
                    answer
                        .refused
                        .as_ref()
                        .map_or("Reset password", |r| r.right.as_str())
                ),
                detail,
            ),
            Outcome::AccountDisabled => {
                UserAnswer::coded("SSPR_0029", "The on-premises account is disabled", detail)
            }
            Outcome::UserNotFound => {
                UserAnswer::coded("SSPR_0029", "The account was not found on-premises", detail)
            }
            Outcome::WritebackDisabled => {
                UserAnswer::code("SSPR_0010", "Password writeback is not enabled on-premises")
            }
            Outcome::Error => UserAnswer::coded(
                "SSPR_0029",
                "An error occurred in the on-premises configuration",
                detail,
            ),
        }
    }
}
