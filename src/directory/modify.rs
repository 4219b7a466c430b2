//! Modify (RFC 4511 §4.6) with AD's rules: all changes apply or none; system-only and RDN
//! attributes are refused; single-valued and duplicate values answered as AD answers them;
//! group membership keeps memberOf in step; and the password writes of MS-ADTS
//! 3.1.1.3.1.5 — unicodePwd as one replace (reset, needs Reset Password) or as a delete of
//! the old value plus an add of the new one (change, needs the old password and Change
//! Password), only on an encrypted connection, checked against the domain policy.

use super::access::{ObjectKind, Right};
use super::ad_error::{AdError, AdResult};
use super::password_policy::{apply_password, PasswordWrite};
use super::schema::{self, Writable};
use super::values::{sam_account_type_of_group, sam_account_type_of_uac, signed32, values_equal};
use super::{OpContext, Principal, State};
use crate::clock::to_filetime;
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ModOp {
    Add,
    Delete,
    Replace,
}

#[derive(Debug, Clone)]
pub struct Change {
    pub op: ModOp,
    pub attr: String,
    pub values: Vec<Vec<u8>>,
}

#[derive(Debug, Clone, Default)]
pub struct ModifyRequest {
    pub dn: String,
    pub changes: Vec<Change>,
}

impl State {
    pub fn modify(
        &mut self,
        p: &Principal,
        ctx: &OpContext,
        now: DateTime<Utc>,
        req: ModifyRequest,
    ) -> AdResult<()> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let id = self.resolve(&req.dn)?;
        let Some(original) = self.store.get(id).cloned() else {
            return Err(AdError::NoSuchObject {
                matched: String::new(),
            });
        };
        let mut e = original.clone();
        let kind = ObjectKind::of_class(e.structural());
        let class = schema::class(e.structural());
        let dn_text = e.dn.to_string();
        // Measured on Samba: a modify that leaves a security principal (user, computer,
        // group) with several descriptions is 20 0000200D; other objects, and adds, may
        // carry several.
        let single_on_modify = |def: &schema::AttrDef| {
            def.single || (def.name == "description" && class.is_some_and(|c| c.principal))
        };

        let (pwd_changes, other): (Vec<Change>, Vec<Change>) = req
            .changes
            .into_iter()
            .partition(|c| schema::attr(&c.attr).is_some_and(|d| d.name == "unicodePwd"));
        let password = password_write(pwd_changes)?;

        let mut needs: Vec<Right> = Vec::new();
        let mut new_sd: Option<Vec<u8>> = None;
        for c in other {
            let def = self
                .attr_def(&c.attr)
                .ok_or_else(|| AdError::UnknownAttribute(c.attr.clone()))?;
            let rdn_attr = class.map(|cl| cl.rdn).unwrap_or("cn");
            if def.name.eq_ignore_ascii_case(rdn_attr) || def.name == "name" {
                let shown =
                    e.dn.rdn()
                        .map(|r| r.attr.to_string())
                        .unwrap_or_else(|| def.name.to_uppercase());
                return Err(AdError::NotAllowedOnRdn {
                    attr: shown,
                    dn: dn_text,
                });
            }
            match def.name {
                "objectClass" => {
                    return Err(AdError::Unwilling(format!(
                        "0000209A: objectclass: the structural objectClass of '{dn_text}' cannot be changed"
                    )))
                }
                "userPassword" => return Err(AdError::PasswordWriteRefused),
                "nTSecurityDescriptor" => {
                    // Writing the DACL needs WRITE_DAC: full control here.
                    needs.push(Right::FullControl);
                    match (c.op, c.values.len()) {
                        (ModOp::Replace | ModOp::Add, 1) => new_sd = c.values.into_iter().next(),
                        _ => return Err(AdError::InvalidSyntax(def.name.into())),
                    }
                    continue;
                }
                "memberOf" => {
                    return Err(AdError::BackLink {
                        attr: def.name.into(),
                        dn: dn_text,
                    })
                }
                "pwdLastSet" => {
                    let v = special_value(&c, def)?;
                    let set = match v {
                        0 => 0,
                        -1 => to_filetime(now),
                        _ => return Err(AdError::PwdLastSetValue),
                    };
                    needs.push(Right::WritePwdLastSet);
                    e.set_int("pwdLastSet", set);
                    continue;
                }
                "lockoutTime" => {
                    if special_value(&c, def)? != 0 {
                        return Err(AdError::LockoutTimeValue);
                    }
                    needs.push(Right::WriteLockoutTime);
                    e.set_int("lockoutTime", 0);
                    e.set_int("badPwdCount", 0);
                    continue;
                }
                _ => {}
            }
            if def.writable == Writable::SystemOnly && *p != Principal::System {
                return Err(AdError::SystemOnly {
                    attr: def.name.into(),
                    dn: dn_text,
                });
            }
            needs.push(kind.map(Right::Write).unwrap_or(Right::FullControl));
            let member = def.name == "member";
            let group_guid = || e.guid().and_then(super::ids::guid_text).unwrap_or_default();
            match c.op {
                ModOp::Add => {
                    let vals = self.check_values(def, c.values)?;
                    let mut current = e.values(def.name).to_vec();
                    for v in vals {
                        if current.iter().any(|x| values_equal(def.syntax, x, &v)) {
                            if ctx.permissive_modify {
                                continue;
                            }
                            if member {
                                return Err(AdError::MemberExists(group_guid()));
                            }
                            return Err(AdError::ValueExists {
                                attr: def.name.into(),
                            });
                        }
                        if single_on_modify(def) && !current.is_empty() {
                            return Err(AdError::SingleValued {
                                attr: def.name.into(),
                                dn: dn_text,
                            });
                        }
                        current.push(v);
                    }
                    e.set(def.name, current);
                }
                ModOp::Delete => {
                    if c.values.is_empty() {
                        if !e.has(def.name) && !ctx.permissive_modify {
                            return Err(AdError::NoSuchValue {
                                attr: def.name.into(),
                            });
                        }
                        e.remove(def.name);
                    } else {
                        let mut current = e.values(def.name).to_vec();
                        for v in c.values {
                            let v = if member {
                                self.check_values(def, vec![v])?.remove(0)
                            } else {
                                v
                            };
                            match current.iter().position(|x| values_equal(def.syntax, x, &v)) {
                                Some(i) => {
                                    current.remove(i);
                                }
                                None if ctx.permissive_modify => {}
                                None if member => return Err(AdError::MemberMissing(group_guid())),
                                None => {
                                    return Err(AdError::NoSuchValue {
                                        attr: def.name.into(),
                                    })
                                }
                            }
                        }
                        e.set(def.name, current);
                    }
                }
                ModOp::Replace => {
                    if def.single && c.values.len() > 1 {
                        return Err(AdError::TooManyValues {
                            attr: def.name.into(),
                            dn: dn_text,
                        });
                    }
                    if single_on_modify(def) && c.values.len() > 1 {
                        return Err(AdError::SingleValued {
                            attr: def.name.into(),
                            dn: dn_text,
                        });
                    }
                    let vals = self.check_values(def, c.values)?;
                    e.set(def.name, vals);
                }
            }
        }

        // Rules that look at the result rather than at one change.
        if e.str("sAMAccountName") != original.str("sAMAccountName") {
            let sam = e.str("sAMAccountName").unwrap_or_default().to_string();
            if self.store.by_sam(&sam).is_some_and(|o| o.id != id) {
                return Err(AdError::SamAccountNameInUse(sam));
            }
        }
        if e.str("userPrincipalName") != original.str("userPrincipalName") {
            if let Some(upn) = e.str("userPrincipalName") {
                if self.store.by_upn(upn).is_some_and(|o| o.id != id) {
                    return Err(AdError::UpnInUse(upn.to_string()));
                }
            }
        }
        if e.is("group") && e.int("groupType") != original.int("groupType") {
            let gt = e.int("groupType").ok_or(AdError::InvalidGroupType)?;
            let sat = sam_account_type_of_group(gt).ok_or(AdError::InvalidGroupType)?;
            e.set_int("groupType", signed32(gt));
            e.set_int("sAMAccountType", sat);
        }
        if e.is("user") && e.int("userAccountControl") != original.int("userAccountControl") {
            let u = e.int("userAccountControl").unwrap_or(0);
            e.set_int("sAMAccountType", sam_account_type_of_uac(u));
        }
        if let Some(cl) = class {
            for m in cl.must {
                if !e.has(m) {
                    return Err(AdError::MissingMandatory {
                        attr: (*m).into(),
                        dn: dn_text,
                    });
                }
            }
        }
        needs.sort();
        needs.dedup();
        for r in needs {
            self.require(p, r, id)?;
        }
        if let Some(w) = password {
            if let Err(err) = apply_password(self, p, ctx, now, &mut e, w) {
                if err == AdError::WrongOldPassword {
                    self.register_bad_password(id, now);
                }
                return Err(err);
            }
        }

        if let Some(sd) = new_sd {
            self.set_security_descriptor(id, &sd).map_err(|why| {
                tracing::debug!(dn = %dn_text, %why, "nTSecurityDescriptor refused");
                AdError::InvalidSyntax("nTSecurityDescriptor".into())
            })?;
        }
        self.stamp(&mut e, now);
        let before = self.forward_links(id);
        self.store.update(e);
        self.follow_links(id, &before);
        Ok(())
    }
}

/// Recognise a reset or a change among the unicodePwd changes of one request.
fn password_write(changes: Vec<Change>) -> AdResult<Option<PasswordWrite>> {
    let mut it = changes.into_iter();
    let first = it.next();
    let second = it.next();
    if it.next().is_some() {
        return Err(AdError::PasswordWriteRefused);
    }
    let one = |c: Change| -> AdResult<Vec<u8>> {
        let mut v = c.values;
        if v.len() != 1 {
            return Err(AdError::PasswordWriteRefused);
        }
        Ok(v.remove(0))
    };
    Ok(match (first, second) {
        (None, _) => None,
        (Some(c), None) if c.op == ModOp::Replace => Some(PasswordWrite::Reset(one(c)?)),
        (Some(d), Some(a)) if d.op == ModOp::Delete && a.op == ModOp::Add => {
            Some(PasswordWrite::Change {
                old: one(d)?,
                new: one(a)?,
            })
        }
        _ => return Err(AdError::PasswordWriteRefused),
    })
}

/// The single integer a replace (or add) of pwdLastSet / lockoutTime carries.
fn special_value(c: &Change, def: &schema::AttrDef) -> AdResult<i64> {
    if c.op == ModOp::Delete || c.values.len() != 1 {
        return Err(AdError::Unwilling(format!(
            "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0 ({} takes exactly one value)",
            def.name
        )));
    }
    std::str::from_utf8(&c.values[0])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| AdError::InvalidSyntax(def.name.into()))
}
