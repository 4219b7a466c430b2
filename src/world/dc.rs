//! The on-premises verbs a driver uses, on the embedded AD or — when the world was given
//! one — on a real DC over LDAP ([`super::external`]), as the DC's administrator: LDIF,
//! entries, the password policy, rights, reading back, and leaving a real DC as found.

use super::ad::{parse_filter, AdObject, AdRefusal, AdState, AttrChange, NewEntry, PasswordPolicy};
use super::external::{Restored, Seen};
use super::{Right, World, WorldError};

impl AdObject {
    fn from_seen(s: Seen) -> Self {
        Self::from_ldap(&s.dn, s.attrs)
    }
}

impl World {
    /// Import an LDIF file's records (adds and changes) as the DC's administrator.
    pub async fn import_ldif(&self, text: &str, source: &str) -> Result<usize, WorldError> {
        match &self.external {
            Some(x) => Ok(x.dc.lock().await.import_ldif(text, source).await?),
            None => self.import_ldif_embedded(text, source),
        }
    }

    /// Add an entry as the DC's administrator; `password` becomes unicodePwd.
    pub async fn ad_add(&self, e: NewEntry) -> Result<(), AdRefusal> {
        match &self.external {
            Some(x) => x.dc.lock().await.add(e).await,
            None => self.ad_add_embedded(e),
        }
    }

    /// Modify an entry as the DC's administrator.
    pub async fn ad_modify(&self, dn: &str, changes: Vec<AttrChange>) -> Result<(), AdRefusal> {
        match &self.external {
            Some(x) => x.dc.lock().await.modify(dn, changes).await,
            None => self.ad_modify_embedded(dn, changes),
        }
    }

    /// Delete an entry as the DC's administrator.
    pub async fn ad_delete(&self, dn: &str) -> Result<(), AdRefusal> {
        match &self.external {
            Some(x) => x.dc.lock().await.delete(dn).await,
            None => self.ad_delete_embedded(dn),
        }
    }

    /// Exchange's `/PrepareSchema` on the forest (idempotent); what it added.
    pub async fn prepare_exchange_schema(&self) -> Result<Vec<String>, WorldError> {
        match &self.external {
            Some(x) => Ok(x
                .dc
                .lock()
                .await
                .prepare_exchange_schema(x.target.prepare_schema)
                .await?),
            None if self.directory.read().exchange_schema => Ok(Vec::new()),
            None => {
                self.directory.prepare_exchange_schema();
                Ok(vec![
                    "the forest's schema prepared for Exchange (mailNickname, targetAddress, extensionAttribute1-15)".into(),
                ])
            }
        }
    }

    /// Set the domain's password policy (the attributes of the domain object).
    pub async fn set_password_policy(&self, p: &PasswordPolicy) -> Result<(), AdRefusal> {
        match &self.external {
            Some(x) => x.dc.lock().await.set_password_policy(p).await,
            None => self.set_password_policy_embedded(p),
        }
    }

    /// Grant `right` on `on` (and below) to `to` (a DN; the connector account by default).
    pub async fn grant(&self, right: Right, on: &str, to: Option<&str>) -> Result<(), AdRefusal> {
        self.add_ace(right, on, to, false).await
    }

    /// Deny `right` on `on` (and below) to `to` (the connector account by default): a deny
    /// ACE, which wins over any allow on the same object and over inherited allows below.
    pub async fn deny(&self, right: Right, on: &str, to: Option<&str>) -> Result<(), AdRefusal> {
        self.add_ace(right, on, to, true).await
    }

    async fn add_ace(
        &self,
        right: Right,
        on: &str,
        to: Option<&str>,
        deny: bool,
    ) -> Result<(), AdRefusal> {
        match &self.external {
            Some(x) => {
                let to = to.unwrap_or(&x.connector_dn);
                x.dc.lock().await.grant(right, on, to, deny).await
            }
            None => self.add_ace_embedded(right, on, to, deny),
        }
    }

    /// Block (or restore) inheritance of permissions on `on`; `false` when it already was.
    pub async fn set_inheritance_blocked(
        &self,
        on: &str,
        blocked: bool,
    ) -> Result<bool, AdRefusal> {
        match &self.external {
            Some(x) => x.dc.lock().await.set_inheritance_blocked(on, blocked).await,
            None => Ok(self.directory.set_inheritance_blocked(on, blocked)?),
        }
    }

    /// Remove a grant; `false` when there was none.
    pub async fn revoke(
        &self,
        right: Right,
        on: &str,
        to: Option<&str>,
    ) -> Result<bool, AdRefusal> {
        match &self.external {
            Some(x) => {
                let to = to.unwrap_or(&x.connector_dn);
                x.dc.lock().await.revoke(right, on, to).await
            }
            None => self.revoke_embedded(right, on, to),
        }
    }

    /// Replace the rights the wizard gave the connector account by exactly these.
    pub async fn set_connector_rights(&self, rights: &[(Right, String)]) -> Result<(), WorldError> {
        let Some(x) = &self.external else {
            return self.set_connector_rights_embedded(rights);
        };
        let mut dc = x.dc.lock().await;
        let domain = dc.domain().to_string();
        for r in crate::directory::forest::CONNECTOR_RIGHTS {
            let _ = dc.revoke(*r, &domain, &x.connector_dn).await;
        }
        for (right, on) in rights {
            dc.grant(*right, on, &x.connector_dn, false)
                .await
                .map_err(|e| {
                    WorldError::Refused(format!("grant {right} on {on}: {}", e.message))
                })?;
        }
        Ok(())
    }

    /// The entry `dn` (any DN form the DC takes), if it exists.
    pub async fn ad_entry(&self, dn: &str) -> Option<AdObject> {
        match &self.external {
            Some(x) => x.dc.lock().await.entry(dn).await.map(AdObject::from_seen),
            None => self.ad_entry_embedded(dn),
        }
    }

    /// How many entries under `base` (subtree) match the RFC 4515 `filter`.
    pub async fn ad_count(&self, base: &str, filter: &str) -> Result<usize, String> {
        match &self.external {
            Some(x) => {
                parse_filter(filter)?;
                x.dc.lock()
                    .await
                    .count(base, filter)
                    .await
                    .map_err(|e| format!("search failed: {}", e.message.trim_end()))
            }
            None => self.ad_count_embedded(base, filter),
        }
    }

    /// The entries under `base` (subtree) that match the RFC 4515 `filter`, at most `limit`.
    pub async fn ad_search(
        &self,
        base: &str,
        filter: &str,
        limit: usize,
    ) -> Result<Vec<AdObject>, String> {
        match &self.external {
            Some(x) => {
                parse_filter(filter)?;
                let found =
                    x.dc.lock()
                        .await
                        .read(base, ldap3::Scope::Subtree, filter, limit)
                        .await
                        .map_err(|e| format!("search failed: {}", e.message.trim_end()))?;
                Ok(found.into_iter().map(AdObject::from_seen).collect())
            }
            None => self.ad_search_embedded(base, filter, limit),
        }
    }

    /// Every entry and the highest USN so far.
    pub async fn ad_state(&self) -> AdState {
        let Some(x) = &self.external else {
            return self.ad_state_embedded();
        };
        let mut dc = x.dc.lock().await;
        let usn = dc.highest_usn().await;
        let mut objects: Vec<AdObject> = dc
            .dump()
            .await
            .unwrap_or_default()
            .into_iter()
            .map(AdObject::from_seen)
            .collect();
        objects.sort_by_key(AdObject::order);
        AdState { usn, objects }
    }

    /// The kind of real DC the world uses (`samba`, `windows`); `None` on the embedded AD.
    pub async fn directory_kind(&self) -> Option<&'static str> {
        let x = self.external.as_ref()?;
        Some(x.dc.lock().await.kind())
    }

    /// Leave a real DC as it was found before the world used it (the embedded AD is the
    /// world's own: nothing to do). Says what it did and what it could not.
    pub async fn restore_directory(&self) -> Option<Result<Restored, WorldError>> {
        let x = self.external.as_ref()?;
        Some(x.dc.lock().await.restore().await.map_err(WorldError::from))
    }
}
