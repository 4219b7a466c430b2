//! What each Graph operation needs from the token (the permissions tables of the Graph
//! reference): an app needs one of the application permissions (`roles`); a user needs one
//! of the delegated ones (`scp`) — `Directory.AccessAsUser.All` acts as the user for every
//! directory read and write — and for an admin action one of the directory roles that may
//! do it. A token without them is 403 `Authorization_RequestDenied`.

use super::{Caller, GraphError};
use axum::http::StatusCode;

/// An operation's requirement.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    ReadUsers,
    ReadOrganization,
    ReadDevices,
    ReadGroups,
    WriteGroups,
    /// `resetPassword`: delegated only, by an authentication or password administrator.
    ResetPassword,
    /// `/me/changePassword`: a signed-in user, for themselves.
    ChangeOwnPassword,
    ReadSyncSettings,
    WriteSyncSettings,
    /// `POST /devices`: delegated only, by a Global, Intune or Windows 365 Administrator.
    RegisterDevice,
    /// A device's registered owners.
    WriteDevices,
}

/// The roles that may reset another user's password (authenticationmethod-resetpassword).
const RESET_ROLES: &[&str] = &[
    "Global Administrator",
    "Privileged Authentication Administrator",
    "Authentication Administrator",
    "Helpdesk Administrator",
    "Password Administrator",
    "User Administrator",
];

/// The roles that may register a device through Graph (device-post-devices).
const DEVICE_ROLES: &[&str] = &[
    "Global Administrator",
    "Intune Administrator",
    "Windows 365 Administrator",
];

impl Need {
    /// The directory roles a signed-in user must also hold, when the operation names some.
    fn roles(self) -> Option<&'static [&'static str]> {
        match self {
            Need::ResetPassword => Some(RESET_ROLES),
            Need::RegisterDevice => Some(DEVICE_ROLES),
            _ => None,
        }
    }

    /// Application permissions that grant it (none: apps may not).
    fn application(self) -> &'static [&'static str] {
        match self {
            Need::ReadUsers => &[
                "User.Read.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Need::ReadOrganization => &[
                "Organization.Read.All",
                "Organization.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Need::ReadDevices => &[
                "Device.Read.All",
                "Device.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Need::ReadGroups => &[
                "Group.Read.All",
                "Group.ReadWrite.All",
                "GroupMember.Read.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
            ],
            Need::WriteGroups => &[
                "Group.Create",
                "Group.ReadWrite.All",
                "Directory.ReadWrite.All",
            ],
            Need::ReadSyncSettings => &[
                "OnPremDirectorySynchronization.Read.All",
                "OnPremDirectorySynchronization.ReadWrite.All",
            ],
            Need::WriteSyncSettings => &["OnPremDirectorySynchronization.ReadWrite.All"],
            Need::WriteDevices => &["Device.ReadWrite.All", "Directory.ReadWrite.All"],
            Need::ResetPassword | Need::ChangeOwnPassword | Need::RegisterDevice => &[],
        }
    }

    /// Delegated permissions that grant it.
    fn delegated(self) -> &'static [&'static str] {
        match self {
            Need::ResetPassword => &[
                "UserAuthenticationMethod.ReadWrite.All",
                "Directory.AccessAsUser.All",
            ],
            Need::ChangeOwnPassword => &["Directory.AccessAsUser.All"],
            Need::ReadUsers => &[
                "User.Read.All",
                "User.ReadBasic.All",
                "User.ReadWrite.All",
                "Directory.Read.All",
                "Directory.ReadWrite.All",
                "Directory.AccessAsUser.All",
            ],
            _ => {
                // The same names as the application permissions, and acting as the user.
                const ALL: &[&str] = &["Directory.AccessAsUser.All"];
                ALL
            }
        }
    }
}

fn denied() -> GraphError {
    GraphError::new(
        StatusCode::FORBIDDEN,
        "Authorization_RequestDenied",
        "Insufficient privileges to complete the operation.",
    )
}

fn any(have: &[String], want: &[&str]) -> bool {
    have.iter()
        .any(|h| want.iter().any(|w| h.eq_ignore_ascii_case(w)))
}

/// Does `caller` meet `need`? The caller when it does.
pub fn check(caller: Caller, need: Need) -> Result<Caller, GraphError> {
    let ok = match &caller {
        Caller::App { roles, .. } => any(roles, need.application()),
        Caller::User { scopes, roles, .. } => {
            let scoped = any(scopes, need.delegated()) || any(scopes, need.application());
            scoped && need.roles().is_none_or(|wanted| any(roles, wanted))
        }
    };
    if ok {
        Ok(caller)
    } else {
        Err(denied())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apps_need_application_permissions_and_may_not_reset_passwords() {
        let app = Caller::app(
            "a",
            &["User.Read.All", "UserAuthenticationMethod.ReadWrite.All"],
        );
        assert!(check(app.clone(), Need::ReadUsers).is_ok());
        assert!(check(app.clone(), Need::ReadDevices).is_err());
        assert!(
            check(app, Need::ResetPassword).is_err(),
            "Application: Not supported"
        );
    }

    #[test]
    fn a_reset_needs_a_delegated_scope_and_an_admin_role() {
        assert!(check(Caller::admin("admin@gntech.me"), Need::ResetPassword).is_ok());
        assert!(check(Caller::user("alice@gntech.me"), Need::ResetPassword).is_err());
        assert!(check(Caller::user("alice@gntech.me"), Need::ChangeOwnPassword).is_ok());
        assert!(check(Caller::user("alice@gntech.me"), Need::ReadUsers).is_ok());
    }

    #[test]
    fn registering_a_device_is_delegated_only_and_for_device_admins() {
        assert!(check(Caller::admin("admin@gntech.me"), Need::RegisterDevice).is_ok());
        assert!(check(Caller::user("alice@gntech.me"), Need::RegisterDevice).is_err());
        let app = Caller::app("a", &["Device.ReadWrite.All", "Directory.ReadWrite.All"]);
        assert!(check(app.clone(), Need::RegisterDevice).is_err());
        assert!(check(app, Need::WriteDevices).is_ok());
    }
}
