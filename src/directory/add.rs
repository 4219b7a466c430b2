//! Add (RFC 4511 §4.7) with what a DC does on create (`reference/ad-behaviour.md` §7–§10):
//! the structural class and its naming, possible superiors and mandatory attributes; the
//! attributes the DC fills in (objectGUID, objectSid, whenCreated, uSNCreated, name,
//! objectCategory, account defaults); sAMAccountName and userPrincipalName uniqueness;
//! groupType validation; member links; and a password given as unicodePwd.

use super::access::{ObjectKind, Right};
use super::ad_error::{AdError, AdResult};
use super::dn::Dn;
use super::password_policy::{apply_password, PasswordWrite};
use super::schema::{self, ClassProblem, Syntax, Writable};
use super::store::Draft;
use super::values::{
    group_type, sam_account_type_of_group, sam_account_type_of_uac, signed32, uac, values_equal,
    NEVER,
};
use super::{ids, OpContext, Principal, State};
use crate::clock::generalized_time;
use chrono::{DateTime, Utc};

/// One add request, already decoded from the wire (or from LDIF).
#[derive(Debug, Clone, Default)]
pub struct AddRequest {
    pub dn: String,
    pub attrs: Vec<(String, Vec<Vec<u8>>)>,
}

impl State {
    pub fn add(
        &mut self,
        p: &Principal,
        ctx: &OpContext,
        now: DateTime<Utc>,
        req: AddRequest,
    ) -> AdResult<String> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let dn = Dn::parse(&req.dn).map_err(|_| AdError::InvalidDn(req.dn.clone()))?;
        let Some(rdn) = dn.rdn().cloned() else {
            return Err(AdError::Unwilling(WILL_NOT_PERFORM_ROOT.into()));
        };
        let (key, at) = dn.norm_and_parent();
        if self.store.id_by_key(&key).is_some() {
            return Err(AdError::EntryExists);
        }
        let parent_id = match self.store.id_by_key(&key[at..]) {
            Some(id) => Some(id),
            None if dn.rdns.len() == 1 || *p == Principal::System && self.store.is_empty() => None,
            None => {
                return Err(AdError::NoSuchObject {
                    matched: self.store.best_match(&dn),
                })
            }
        };

        // Merge the request's attributes by name.
        let mut given: Vec<(&'static schema::AttrDef, Vec<Vec<u8>>)> = Vec::new();
        let mut classes: Vec<String> = Vec::new();
        for (name, vals) in req.attrs {
            let def = self
                .attr_def(&name)
                .ok_or_else(|| AdError::UnknownAttribute(name.clone()))?;
            if def.name == "objectClass" {
                for v in vals {
                    classes.push(
                        String::from_utf8(v).map_err(|_| AdError::InvalidSyntax(name.clone()))?,
                    );
                }
                continue;
            }
            match given.iter_mut().find(|(d, _)| d.name == def.name) {
                Some((_, existing)) => existing.extend(vals),
                None => given.push((def, vals)),
            }
        }
        if classes.is_empty() {
            return Err(AdError::ObjectClassViolation(format!(
                "00002014: objectclass: no objectClass attribute specified on entry '{dn}'"
            )));
        }
        let class = match schema::structural_class(&classes) {
            Ok(Some(c)) => c,
            Ok(None) => return Err(AdError::NoStructuralClass(dn.to_string())),
            Err(ClassProblem::Unknown(c)) => return Err(AdError::UnknownClass(c)),
            Err(ClassProblem::Conflict(a, b)) => {
                return Err(AdError::ObjectClassViolation(format!(
                    "0000201F: objectclass: {b} is not a valid auxiliary or parent class of {a} on '{dn}'"
                )))
            }
        };
        if !rdn.attr.eq_ignore_ascii_case(class.rdn) {
            return Err(AdError::Naming(format!(
                "objectclass: Invalid RDN '{}' for objectclass '{}'!",
                rdn.attr, class.name
            )));
        }
        if let Some(pid) = parent_id {
            if let Some(parent) = self.store.get(pid) {
                let pclass = parent.structural();
                if !class
                    .superiors
                    .iter()
                    .any(|s| s.eq_ignore_ascii_case(pclass))
                {
                    return Err(AdError::Naming(format!(
                        "structural objectClass {} is not a valid child class for {}",
                        class.name, parent.dn
                    )));
                }
            }
            let right = ObjectKind::of_class(class.name)
                .map(Right::Create)
                .unwrap_or(Right::FullControl);
            self.require(p, right, pid)?;
        } else if *p != Principal::System {
            return Err(AdError::InsufficientAccess);
        }

        let mut e = Draft::new(dn.clone());
        // Auxiliary classes the structural class allows go after `top`, the structural
        // chain last (Entry::structural reads the last value).
        let auxiliary = schema::auxiliary_classes(class, &classes);
        let mut object_class: Vec<&str> = class.chain.to_vec();
        object_class.splice(1..1, auxiliary);
        e.set("objectClass", super::text_values(&object_class));
        let mut password: Option<Vec<u8>> = None;
        let mut pwd_last_set: Option<i64> = None;
        let mut security_descriptor: Option<Vec<u8>> = None;
        for (def, vals) in given {
            match def.name {
                "unicodePwd" => {
                    password = vals.into_iter().next();
                    continue;
                }
                "userPassword" => return Err(AdError::PasswordWriteRefused),
                "nTSecurityDescriptor" => {
                    security_descriptor = vals.into_iter().next();
                    continue;
                }
                "pwdLastSet" => {
                    pwd_last_set = Some(single_int(def, &vals, &dn)?);
                    continue;
                }
                "distinguishedName" | "name" => continue,
                _ => {}
            }
            if def.name == "memberOf" && *p != Principal::System {
                return Err(AdError::BackLink {
                    attr: def.name.into(),
                    dn: dn.to_string(),
                });
            }
            if def.writable == Writable::SystemOnly && *p != Principal::System {
                return Err(AdError::SystemOnly {
                    attr: def.name.into(),
                    dn: dn.to_string(),
                });
            }
            if def.single && vals.len() > 1 {
                return Err(AdError::TooManyValues {
                    attr: def.name.into(),
                    dn: dn.to_string(),
                });
            }
            let vals = self.check_values(def, vals)?;
            e.set(def.name, vals);
        }
        // The naming attribute and name always carry the RDN value.
        e.set_str(class.rdn, &rdn.value);
        e.set_str("name", &rdn.value);
        let text = dn.to_string();
        e.set_str("distinguishedName", &text);
        e.or_set("objectGUID", || vec![self.new_guid()]);
        let when = generalized_time(now);
        for a in ["whenCreated", "whenChanged"] {
            e.or_set_str(a, &when);
        }
        self.store.usn += 1;
        e.set_int("uSNCreated", self.store.usn);
        e.set_int("uSNChanged", self.store.usn);
        e.or_set_int("instanceType", 4);
        e.or_set("objectCategory", || {
            vec![self.domain.category_dn(class.category).into_bytes()]
        });
        // A class whose schema has defaultHidingValue TRUE (container, msDS-Device, …): its
        // objects are created with showInAdvancedViewOnly TRUE (MS-ADTS 3.1.1.5.2.2).
        if schema::hidden_by_default(class.name) {
            e.or_set_str("showInAdvancedViewOnly", "TRUE");
        }
        for m in class.must {
            if !e.has(m) {
                return Err(AdError::MissingMandatory {
                    attr: (*m).into(),
                    dn: dn.to_string(),
                });
            }
        }
        if class.principal {
            self.principal_defaults(p, &mut e, class.name)?;
        }
        if let Some(v) = pwd_last_set {
            // The DC itself (an LDIF import of an export) keeps the stored time as it is.
            if v != 0 && v != -1 && *p != Principal::System {
                return Err(AdError::PwdLastSetValue);
            }
        }
        let id = self.store.insert_keyed(e.finish(), parent_id, key);
        if let Some(pw) = password {
            let result = self
                .store
                .get(id)
                .cloned()
                .ok_or(AdError::Unavailable)
                .and_then(|mut e| {
                    apply_password(self, p, ctx, now, &mut e, PasswordWrite::Reset(pw))?;
                    self.store.update(e);
                    Ok(())
                });
            if let Err(err) = result {
                self.store.remove(id);
                return Err(err);
            }
        }
        if let Some(v) = pwd_last_set {
            if let Some(mut e) = self.store.get(id).cloned() {
                e.set_int(
                    "pwdLastSet",
                    if v == -1 {
                        crate::clock::to_filetime(now)
                    } else {
                        v
                    },
                );
                self.store.update(e);
            }
        }
        if let Some(sd) = security_descriptor {
            if !self.is_admin(p) {
                self.store.remove(id);
                return Err(AdError::InsufficientAccess);
            }
            if self.set_security_descriptor(id, &sd).is_err() {
                self.store.remove(id);
                return Err(AdError::InvalidSyntax("nTSecurityDescriptor".into()));
            }
        }
        self.follow_links(id, &[]);
        Ok(text)
    }

    /// What the DC fills in on users, computers and groups.
    fn principal_defaults(&mut self, p: &Principal, e: &mut Draft, class: &str) -> AdResult<()> {
        e.or_set("objectSid", || vec![self.new_sid()]);
        let sam = match e.str("sAMAccountName") {
            Some(s) => s.to_string(),
            None => {
                let s = format!("${}-{}", self.random_hex(8), self.random_hex(16));
                e.set_str("sAMAccountName", &s);
                s
            }
        };
        if self.store.by_sam(&sam).is_some() {
            return Err(AdError::SamAccountNameInUse(sam));
        }
        if class == "computer" && !sam.ends_with('$') && !self.is_admin(p) {
            return Err(AdError::ComputerNameNeedsDollar(sam));
        }
        if let Some(upn) = e.str("userPrincipalName") {
            if self.store.by_upn(upn).is_some() {
                return Err(AdError::UpnInUse(upn.to_string()));
            }
        }
        match class {
            "group" => {
                let gt = match e.int("groupType") {
                    Some(v) => v,
                    None => group_type::GLOBAL | group_type::SECURITY_ENABLED,
                };
                let sat = sam_account_type_of_group(gt).ok_or(AdError::InvalidGroupType)?;
                e.set_int("groupType", signed32(gt));
                e.set_int("sAMAccountType", sat);
            }
            _ => {
                let computer = class == "computer";
                let default_uac = if computer {
                    uac::WORKSTATION_TRUST_ACCOUNT | uac::PASSWD_NOTREQD | uac::ACCOUNTDISABLE
                } else {
                    uac::NORMAL_ACCOUNT | uac::PASSWD_NOTREQD | uac::ACCOUNTDISABLE
                };
                let uac_v = e.int("userAccountControl").unwrap_or(default_uac);
                e.set_int("userAccountControl", uac_v);
                // MS-SAMR 3.1.1.8.10: a trust account is marked critical (a DC) or not (a
                // workstation), as a real DC does on the add.
                let trust = uac_v & (uac::WORKSTATION_TRUST_ACCOUNT | uac::SERVER_TRUST_ACCOUNT);
                if trust != 0 && !e.has("isCriticalSystemObject") {
                    let critical = uac_v & uac::SERVER_TRUST_ACCOUNT != 0;
                    e.set_str(
                        "isCriticalSystemObject",
                        if critical { "TRUE" } else { "FALSE" },
                    );
                }
                e.set_int("sAMAccountType", sam_account_type_of_uac(uac_v));
                let defaults: [(&str, i64); 10] = [
                    ("primaryGroupID", if computer { 515 } else { 513 }),
                    ("pwdLastSet", 0),
                    ("accountExpires", NEVER),
                    ("badPwdCount", 0),
                    ("badPasswordTime", 0),
                    ("codePage", 0),
                    ("countryCode", 0),
                    ("lastLogoff", 0),
                    ("lastLogon", 0),
                    ("logonCount", 0),
                ];
                for (a, v) in defaults {
                    e.or_set_int(a, v);
                }
            }
        }
        Ok(())
    }

    /// Check (and canonicalise) the values of one attribute against its syntax.
    pub fn check_values(
        &self,
        def: &schema::AttrDef,
        vals: Vec<Vec<u8>>,
    ) -> AdResult<Vec<Vec<u8>>> {
        let bad = || AdError::InvalidSyntax(def.name.to_string());
        let mut out: Vec<Vec<u8>> = Vec::with_capacity(vals.len());
        for v in vals {
            let canon = match def.syntax {
                Syntax::Str => {
                    std::str::from_utf8(&v).map_err(|_| bad())?;
                    v
                }
                Syntax::Int => {
                    let s = std::str::from_utf8(&v).map_err(|_| bad())?;
                    s.trim()
                        .parse::<i64>()
                        .map_err(|_| bad())?
                        .to_string()
                        .into_bytes()
                }
                Syntax::Bool => match std::str::from_utf8(&v)
                    .map_err(|_| bad())?
                    .to_ascii_uppercase()
                    .as_str()
                {
                    "TRUE" => b"TRUE".to_vec(),
                    "FALSE" => b"FALSE".to_vec(),
                    _ => return Err(bad()),
                },
                Syntax::Dn => {
                    let s = std::str::from_utf8(&v).map_err(|_| bad())?;
                    let target = self
                        .resolve(s)
                        .map_err(|_| AdError::MemberNotFound(s.to_string()))?;
                    self.store
                        .get(target)
                        .map(|e| e.dn.to_string().into_bytes())
                        .ok_or_else(bad)?
                }
                Syntax::DnText => {
                    let s = std::str::from_utf8(&v).map_err(|_| bad())?;
                    Dn::parse(s).map_err(|_| bad())?.to_string().into_bytes()
                }
                Syntax::DnBinary => {
                    let s = std::str::from_utf8(&v).map_err(|_| bad())?;
                    let (data, dn) = super::values::split_dn_binary(s).ok_or_else(bad)?;
                    let dn = Dn::parse(dn).map_err(|_| bad())?;
                    format!("{data}:{dn}").into_bytes()
                }
                Syntax::Bytes => v,
                Syntax::Time => {
                    let s = std::str::from_utf8(&v).map_err(|_| bad())?;
                    if s.len() < 14 || !s[..14].chars().all(|c| c.is_ascii_digit()) {
                        return Err(bad());
                    }
                    v
                }
                Syntax::Sid => match std::str::from_utf8(&v).ok().and_then(ids::parse_sid) {
                    Some(b) => b,
                    None if ids::sid_text(&v).is_some() => v,
                    None => return Err(bad()),
                },
                Syntax::Guid => {
                    if v.len() != 16 {
                        return Err(bad());
                    }
                    v
                }
            };
            let dup = out.iter().any(|o| values_equal(def.syntax, o, &canon));
            if dup {
                return Err(AdError::ValueExists {
                    attr: def.name.into(),
                });
            }
            out.push(canon);
        }
        Ok(out)
    }
}

const WILL_NOT_PERFORM_ROOT: &str =
    "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0";

fn single_int(def: &schema::AttrDef, vals: &[Vec<u8>], dn: &Dn) -> AdResult<i64> {
    if vals.len() != 1 {
        return Err(AdError::TooManyValues {
            attr: def.name.into(),
            dn: dn.to_string(),
        });
    }
    std::str::from_utf8(&vals[0])
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .ok_or_else(|| AdError::InvalidSyntax(def.name.into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;

    #[rstest]
    #[case(-2147483646, Some(0x1000_0000))]
    #[case(8, Some(0x1000_0001))]
    #[case(-2147483640, Some(0x1000_0000))]
    #[case(-2147483644, Some(0x2000_0000))]
    #[case(3, None)]
    #[case(0, None)]
    fn group_types_follow_ms_adts(#[case] gt: i64, #[case] sat: Option<i64>) {
        assert_eq!(sam_account_type_of_group(gt), sat);
    }

    #[test]
    fn group_type_is_shown_signed() {
        assert_eq!(signed32(0x8000_0008), -2147483640);
        assert_eq!(signed32(8), 8);
    }
}
