//! What a world's administrator does to an external DC, over LDAP: add, change and delete
//! entries, import LDIF, set the domain's password policy, reset a password, and grant or
//! revoke a right as an ACE in the target's nTSecurityDescriptor (DACL only, explicit ACEs
//! before inherited ones).

use super::{checked, ldap_mod, refusal, sd_flags, sd_flags_dacl, ExternalDc, ExternalError};
use crate::directory::ldif::{self, Record};
use crate::directory::password_policy::encode_unicode_pwd;
use crate::nt_security::SecurityDescriptor;
use crate::world::ad::{AdRefusal, AttrChange, NewEntry, PasswordPolicy};
use crate::world::Right;
use ldap3::{Mod, Scope, SearchEntry};
use std::collections::HashSet;

impl ExternalDc {
    /// Add an entry as the administrator; `password` becomes unicodePwd.
    pub async fn add(&mut self, e: NewEntry) -> Result<(), AdRefusal> {
        let mut attrs: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = e
            .attrs
            .into_iter()
            .map(|(k, v)| {
                (
                    k.into_bytes(),
                    v.into_iter().map(String::into_bytes).collect(),
                )
            })
            .collect();
        if let Some(pw) = &e.password {
            attrs.push((
                b"unicodePwd".to_vec(),
                HashSet::from([encode_unicode_pwd(pw)]),
            ));
        }
        checked(self.ldap.add(&e.dn, attrs).await)
    }

    /// Change an entry as the administrator.
    pub async fn modify(&mut self, dn: &str, changes: Vec<AttrChange>) -> Result<(), AdRefusal> {
        let mods = changes
            .into_iter()
            .map(|c| {
                let values = c.values.into_iter().map(String::into_bytes).collect();
                ldap_mod(c.op, c.attr, values)
            })
            .collect();
        checked(self.ldap.modify(dn, mods).await)
    }

    /// Reset `dn`'s password (one replace of unicodePwd, as a helpdesk tool does).
    pub async fn reset_password(&mut self, dn: &str, password: &str) -> Result<(), AdRefusal> {
        let value = HashSet::from([encode_unicode_pwd(password)]);
        checked(
            self.ldap
                .modify(dn, vec![Mod::Replace(b"unicodePwd".to_vec(), value)])
                .await,
        )
    }

    pub async fn delete(&mut self, dn: &str) -> Result<(), AdRefusal> {
        checked(self.ldap.delete(dn).await)
    }

    /// Import an LDIF file's records (adds, changes, deletes, renames) over LDAP.
    pub async fn import_ldif(&mut self, text: &str, source: &str) -> Result<usize, ExternalError> {
        let records = ldif::parse(text, source)?;
        let n = records.len();
        for (line, record) in records {
            let at = |dn: &str| format!("{source}:{line}: {dn}");
            let done = match record {
                Record::Add { dn, attrs } => {
                    let mut by_name: Vec<(Vec<u8>, HashSet<Vec<u8>>)> = Vec::new();
                    for (k, v) in attrs {
                        match by_name
                            .iter_mut()
                            .find(|(n, _)| n.eq_ignore_ascii_case(k.as_bytes()))
                        {
                            Some((_, vs)) => {
                                vs.insert(v);
                            }
                            None => by_name.push((k.into_bytes(), HashSet::from([v]))),
                        }
                    }
                    checked(self.ldap.add(&dn, by_name).await).map_err(|r| (at(&dn), r))
                }
                Record::Modify { dn, changes } => {
                    let mods = changes
                        .into_iter()
                        .map(|(op, attr, values)| ldap_mod(op, attr, values.into_iter().collect()))
                        .collect();
                    checked(self.ldap.modify(&dn, mods).await).map_err(|r| (at(&dn), r))
                }
                Record::Delete { dn } => {
                    checked(self.ldap.delete(&dn).await).map_err(|r| (at(&dn), r))
                }
                Record::ModRdn {
                    dn,
                    new_rdn,
                    new_superior,
                } => checked(
                    self.ldap
                        .modifydn(&dn, &new_rdn, true, new_superior.as_deref())
                        .await,
                )
                .map_err(|r| (at(&dn), r)),
            };
            done.map_err(|(what, r)| ExternalError::Ldap {
                what,
                why: r.to_string(),
            })?;
        }
        Ok(n)
    }

    /// The domain's password policy, as attributes of the domain object.
    pub async fn set_password_policy(&mut self, p: &PasswordPolicy) -> Result<(), AdRefusal> {
        let domain = self.domain.clone();
        let changes = crate::world::ad::policy_changes(p);
        if changes.is_empty() {
            return Ok(());
        }
        self.modify(&domain, changes).await
    }

    /// The objectSid of `dn`.
    async fn sid(&mut self, dn: &str) -> Result<Vec<u8>, AdRefusal> {
        let (entries, _) = self
            .ldap
            .search(dn, Scope::Base, "(objectClass=*)", vec!["objectSid"])
            .await
            .and_then(|r| r.success())
            .map_err(refusal)?;
        entries
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| {
                e.bin_attrs
                    .get("objectSid")
                    .and_then(|v| v.first())
                    .cloned()
            })
            .ok_or_else(|| AdRefusal {
                code: 32,
                message: format!("{dn} has no objectSid"),
            })
    }

    /// The DACL-only descriptor of `on`, changed by `f`, written back.
    async fn edit_dacl(
        &mut self,
        on: &str,
        f: impl FnOnce(&mut u16, &mut Vec<crate::nt_security::Ace>) -> bool,
    ) -> Result<bool, AdRefusal> {
        let (entries, _) = self
            .ldap
            .with_controls(vec![sd_flags()])
            .search(
                on,
                Scope::Base,
                "(objectClass=*)",
                vec!["nTSecurityDescriptor"],
            )
            .await
            .and_then(|r| r.success())
            .map_err(refusal)?;
        let sd = entries
            .into_iter()
            .next()
            .map(SearchEntry::construct)
            .and_then(|e| {
                e.bin_attrs
                    .get("nTSecurityDescriptor")
                    .and_then(|v| v.first())
                    .cloned()
            })
            .ok_or_else(|| AdRefusal {
                code: 32,
                message: format!("{on} has no nTSecurityDescriptor"),
            })?;
        let mut sd = SecurityDescriptor::decode(&sd).map_err(|e| AdRefusal {
            code: 21,
            message: format!("the descriptor of {on}: {e}"),
        })?;
        let dacl = sd
            .dacl
            .get_or_insert_with(|| crate::nt_security::Acl::new(Vec::new()));
        if !f(&mut sd.control, &mut dacl.aces) {
            return Ok(false);
        }
        dacl.revision = 4;
        let written = SecurityDescriptor {
            owner: None,
            group: None,
            sacl: None,
            ..sd
        };
        checked(
            self.ldap
                .with_controls(vec![sd_flags_dacl()])
                .modify(
                    on,
                    vec![Mod::Replace(
                        b"nTSecurityDescriptor".to_vec(),
                        HashSet::from([written.encode()]),
                    )],
                )
                .await,
        )?;
        Ok(true)
    }

    /// Grant `right` on `on` (inherited below) to `to`, as an ACE in `on`'s descriptor;
    /// with `deny`, a deny ACE, placed first as AD's canonical order has it.
    pub async fn grant(
        &mut self,
        right: Right,
        on: &str,
        to: &str,
        deny: bool,
    ) -> Result<(), AdRefusal> {
        let mut ace = crate::directory::security_descriptor::ace_for(right, self.sid(to).await?);
        if deny {
            ace = ace.denying();
        }
        self.edit_dacl(on, |_, aces| {
            if aces.contains(&ace) {
                return false;
            }
            // Explicit deny ACEs first, explicit allows before inherited ones.
            let at = if deny {
                0
            } else {
                aces.iter()
                    .position(|a| a.is_inherited())
                    .unwrap_or(aces.len())
            };
            aces.insert(at, ace);
            true
        })
        .await
        .map(|_| ())
    }

    /// Remove the ACEs (allow or deny) a grant of `right` on `on` to `to` added; `false`
    /// when there was none.
    pub async fn revoke(&mut self, right: Right, on: &str, to: &str) -> Result<bool, AdRefusal> {
        let ace = crate::directory::security_descriptor::ace_for(right, self.sid(to).await?);
        let deny = ace.clone().denying();
        self.edit_dacl(on, |_, aces| {
            let before = aces.len();
            aces.retain(|a| *a != ace && *a != deny);
            aces.len() != before
        })
        .await
    }

    /// Block inheritance on `on` (SE_DACL_PROTECTED, the inherited ACEs removed, as
    /// "Disable inheritance → Remove all inherited permissions" does) or restore it (the
    /// DC propagates the parent's ACEs again). `false` when it already was so.
    pub async fn set_inheritance_blocked(
        &mut self,
        on: &str,
        blocked: bool,
    ) -> Result<bool, AdRefusal> {
        use crate::nt_security::control::DACL_PROTECTED;
        self.edit_dacl(on, |control, aces| {
            if (*control & DACL_PROTECTED != 0) == blocked {
                return false;
            }
            if blocked {
                *control |= DACL_PROTECTED;
                aces.retain(|a| !a.is_inherited());
            } else {
                *control &= !DACL_PROTECTED;
            }
            true
        })
        .await
    }
}
