//! What people do: a user resets or unlocks at the SSPR portal or changes their password,
//! an admin resets one in the admin center — each through the tenant's password services,
//! the relay and the engine, answered with what the person would read — and a user signs
//! in on-premises (a simple bind to the DC over LDAPS).

use super::{UserAnswer, World};

impl World {
    /// Self-service reset at the SSPR portal, identity verified.
    pub async fn sspr_reset(&self, upn: &str, new_password: &str) -> UserAnswer {
        self.await_listener().await;
        self.passwords.sspr_reset(upn, new_password).await
    }

    /// Unlock at the SSPR portal without a reset.
    pub async fn sspr_unlock(&self, upn: &str) -> UserAnswer {
        self.await_listener().await;
        self.passwords.sspr_unlock(upn).await
    }

    /// A reset in the Entra admin center, optionally forcing a change at next sign-in.
    pub async fn admin_reset(
        &self,
        upn: &str,
        new_password: &str,
        force_change: bool,
    ) -> UserAnswer {
        self.await_listener().await;
        self.passwords
            .admin_reset(upn, new_password, force_change)
            .await
    }

    /// The user changes their password, giving the current one.
    pub async fn change_password(
        &self,
        upn: &str,
        current: &str,
        new_password: &str,
    ) -> UserAnswer {
        self.await_listener().await;
        self.passwords.change(upn, current, new_password).await
    }

    /// An on-premises sign-in: a simple bind over LDAPS as `user` (a UPN, `DOMAIN\sam` or a
    /// DN). `Err` says what the DC answered.
    pub async fn sign_in(&self, user: &str, password: &str) -> Result<(), String> {
        simple_bind(&self.endpoints.ldaps, user, password).await
    }
}

/// A simple bind as `user` on the DC at `url` (LDAPS, its certificate not checked), then
/// an unbind. `Err` says what the DC answered, or that it could not be reached.
pub(super) async fn simple_bind(url: &str, user: &str, password: &str) -> Result<(), String> {
    let settings = crate::tls::ldap_unverified(ldap3::LdapConnSettings::new());
    let settings = crate::net::ldap_nodelay(settings, url)
        .await
        .map_err(|e| format!("cannot reach the directory: {e}"))?;
    let (conn, mut ldap) = ldap3::LdapConnAsync::with_settings(settings, url)
        .await
        .map_err(|e| format!("cannot reach the directory: {e}"))?;
    ldap3::drive!(conn);
    let r = ldap.simple_bind(user, password).await;
    let _ = ldap.unbind().await;
    match r {
        Ok(r) if r.rc == 0 => Ok(()),
        Ok(r) => Err(format!("LDAP {}: {}", r.rc, r.text)),
        Err(e) => Err(format!("sign-in failed: {e}")),
    }
}
