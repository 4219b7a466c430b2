//! Password writeback on the on-premises side: one request from the relay becomes a
//! PasswordSet (reset) or PasswordChange export against AD, as Entra Connect does it —
//! find the account by its anchor, refuse disabled accounts, set or change the password
//! with the policy-hints control, then unlock and force a change at next logon when asked
//! — and its outcome is answered, logged as PasswordResetService events and recorded in
//! the run history.

use super::ad::{AdFailure, AdSession};
use super::config::EngineConfig;
use super::history::{History, Level, Profile, RunRecord, Status};
use crate::clock::Clock;
use crate::writeback_protocol::{Operation, Outcome, PasswordRequest, PasswordResponse, Refused};

/// userAccountControl bits the engine looks at.
const ACCOUNTDISABLE: i64 = 0x2;
const DONT_EXPIRE_PASSWORD: i64 = 0x10000;

/// The PasswordResetService event ids for each family (start, success, failure).
fn family(op: Operation) -> (u32, u32, u32, &'static str) {
    match op {
        Operation::SelfServiceReset => (31001, 31002, 31003, "PasswordReset"),
        // The event log documents no family of its own for unlock-only; it is an SSPR flow.
        Operation::Unlock => (31001, 31002, 31003, "AccountUnlock"),
        Operation::Change => (31006, 31007, 31008, "ChangePassword"),
        Operation::AdminReset => (31009, 31010, 31011, "ResetUserPasswordByAdmin"),
    }
}

/// The 330xx event and outcome for an AD answer.
fn classify(f: &AdFailure, change: bool) -> (Outcome, u32, &'static str) {
    match (f.code, f.message.get(..8)) {
        (Some(19), Some("00000056")) if change => {
            (Outcome::IncorrectPassword, 33007, "ADUserIncorrectPassword")
        }
        (Some(19), _) => (Outcome::PolicyViolation, 33008, "ADPasswordPolicyError"),
        (Some(50), _) => (Outcome::AccessDenied, 33004, "ADPermissionsError"),
        (Some(49), _) => (Outcome::Error, 33009, "ADConfigurationError"),
        _ => (Outcome::Error, 33001, "ADUnKnownError"),
    }
}

pub async fn handle(
    cfg: &EngineConfig,
    clock: &dyn Clock,
    history: &History,
    req: PasswordRequest,
) -> PasswordResponse {
    let start = clock.now();
    let (start_id, success_id, fail_id, name) = family(req.operation);
    let who = format!(
        "TrackingId: {}, Context: cloudAnchor: {}, UserPrincipalName: {}",
        req.tracking_id, req.cloud_anchor, req.user_principal_name
    );
    history.event(
        start,
        start_id,
        Level::Information,
        format!("{name}Start: {who}"),
    );
    let profile = match req.operation {
        Operation::Change => Profile::PasswordChange,
        Operation::Unlock => Profile::AccountUnlock,
        _ => Profile::PasswordSet,
    };

    let result = apply(cfg, &req).await;
    let end = clock.now();
    let response = match result {
        Ok(dn) => {
            history.event(
                end,
                success_id,
                Level::Information,
                format!("{name}Success: {who}"),
            );
            PasswordResponse {
                outcome: Outcome::Success,
                event_id: success_id,
                ldap_code: None,
                ad_message: None,
                dn: Some(dn),
                refused: None,
                message: format!("{name}Success"),
            }
        }
        Err(Failed {
            outcome,
            event_id,
            event_name,
            dn,
            ad,
            refused,
        }) => {
            let mut detail = match &ad {
                Some(f) => match f.code {
                    Some(c) => format!("LDAP {c}: {}", f.message),
                    None => f.message.clone(),
                },
                None => event_name.to_string(),
            };
            // A refusal after the password write (unlock, must-change) says which it was;
            // the password write's own is AD's text alone, as Entra Connect logs it.
            if let Some(r) = refused
                .as_ref()
                .filter(|r| ![RESET.0, CHANGE.0].contains(&r.operation.as_str()))
            {
                let written = if r.password_written {
                    " (the new password was already set)"
                } else {
                    ""
                };
                detail = format!("{}{written}: {detail}", r.operation);
            }
            history.event(
                end,
                fail_id,
                Level::Error,
                format!("{name}Fail: {who}, Reason: {event_name}"),
            );
            // The account the engine found, so that an admin knows where to look.
            let account = dn
                .as_ref()
                .map(|d| format!(", DistinguishedName: {d}"))
                .unwrap_or_default();
            history.event(
                end,
                event_id,
                Level::Error,
                format!("{event_name}: {who}{account}, Details: {detail}"),
            );
            PasswordResponse {
                outcome,
                event_id,
                ldap_code: ad.as_ref().and_then(|f| f.code),
                ad_message: ad.map(|f| f.message),
                dn,
                refused,
                message: event_name.to_string(),
            }
        }
    };
    let status = if response.outcome == Outcome::Success {
        Status::Success
    } else {
        Status::Failure
    };
    history.run(RunRecord {
        end,
        user: req.user_principal_name.clone(),
        dn: response.dn.clone(),
        error: (response.outcome != Outcome::Success)
            .then(|| format!("{} ({})", response.message, response.event_id)),
        ..RunRecord::new(profile, status, start)
    });
    response
}

struct Failed {
    outcome: Outcome,
    event_id: u32,
    event_name: &'static str,
    dn: Option<String>,
    ad: Option<AdFailure>,
    /// What AD refused, when it answered an operation on the account.
    refused: Option<Refused>,
}

impl Failed {
    fn ad(f: AdFailure, change: bool, dn: Option<String>) -> Self {
        let (outcome, event_id, event_name) = classify(&f, change);
        Self {
            outcome,
            event_id,
            event_name,
            dn,
            ad: Some(f),
            refused: None,
        }
    }

    /// AD refused `step` on the account `dn` ([`Step`]: what it was, the right it needs).
    fn refused(f: AdFailure, change: bool, dn: &str, step: Step, written: bool) -> Self {
        let answered = f.code.is_some();
        let mut failed = Self::ad(f, change, Some(dn.to_string()));
        let (operation, right) = step;
        failed.refused = answered.then(|| Refused {
            operation: operation.into(),
            right: right.into(),
            password_written: written,
        });
        failed
    }
}

/// An operation the engine asks of AD on the account, and the connector's right it needs.
type Step = (&'static str, &'static str);
const RESET: Step = ("resetting the password", "Reset password");
const CHANGE: Step = ("changing the password", "Change password");
const UNLOCK: Step = ("clearing lockoutTime (unlock)", "Write lockoutTime");
const MUST_CHANGE: Step = (
    "setting pwdLastSet to 0 (must change at next logon)",
    "Write pwdLastSet",
);

async fn apply(cfg: &EngineConfig, req: &PasswordRequest) -> Result<String, Failed> {
    if !cfg.password_writeback {
        return Err(Failed {
            outcome: Outcome::WritebackDisabled,
            event_id: 32005,
            event_name: "ConfigurationError",
            dn: None,
            ad: None,
            refused: None,
        });
    }
    let change = req.operation == Operation::Change;
    let mut ad = AdSession::open(cfg)
        .await
        .map_err(|f| Failed::ad(f, change, None))?;
    let result = apply_in(&mut ad, req, change).await;
    ad.close().await;
    result
}

async fn apply_in(
    ad: &mut AdSession,
    req: &PasswordRequest,
    change: bool,
) -> Result<String, Failed> {
    let account = ad
        .find_by_anchor(&req.source_anchor)
        .await
        .map_err(|f| Failed::ad(f, change, None))?
        .ok_or(Failed {
            outcome: Outcome::UserNotFound,
            event_id: 33002,
            event_name: "ADUserNotFoundError",
            dn: None,
            ad: None,
            refused: None,
        })?;
    let dn = account.dn.clone();
    if account.user_account_control & ACCOUNTDISABLE != 0 {
        return Err(Failed {
            outcome: Outcome::AccountDisabled,
            event_id: 33005,
            event_name: "ADUserAccountDisabled",
            dn: Some(dn),
            ad: None,
            refused: None,
        });
    }
    let password = req.operation != Operation::Unlock;
    if password {
        let (written, step) = match (&req.current_password, change) {
            (Some(old), true) => (ad.change(&dn, old, &req.new_password).await, CHANGE),
            _ => (ad.reset(&dn, &req.new_password).await, RESET),
        };
        written.map_err(|f| Failed::refused(f, change, &dn, step, false))?;
    }
    if req.unlock && account.lockout_time != 0 {
        ad.write_int(&dn, "lockoutTime", 0)
            .await
            .map_err(|f| Failed::refused(f, change, &dn, UNLOCK, password))?;
    }
    // Password never expires wins over "must change at next logon" (concept-sspr-writeback).
    if req.force_change_at_next_logon && account.user_account_control & DONT_EXPIRE_PASSWORD == 0 {
        ad.write_int(&dn, "pwdLastSet", 0)
            .await
            .map_err(|f| Failed::refused(f, change, &dn, MUST_CHANGE, password))?;
    }
    Ok(dn)
}
