//! One LDAP connection's state — who it is bound as, whether it is encrypted, which of the
//! DC's paged searches are its own — and the mapping of one request (`LdapOp` plus
//! controls) to the response messages (searches in [`super::paging`]). No sockets here:
//! the transport loop in [`super::server`] owns those.

use super::ad_error::{AdError, AdResult};
use super::add::AddRequest;
use super::controls::*;
use super::modify::{Change, ModOp, ModifyRequest};
use super::modify_dn::ModifyDnRequest;
use super::result_sets::ResultSets;
use super::{extended, Directory, OpContext, Principal};
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapExtendedResponse, LdapModifyType, LdapMsg, LdapOp,
    LdapResult, LdapResultCode,
};
use std::sync::Arc;

/// What the transport should do after a request.
#[derive(Debug)]
pub enum Action {
    Reply(Vec<LdapMsg>),
    /// Send this StartTLS response, then run the TLS handshake on the socket.
    StartTls(LdapMsg),
    /// Send these (possibly none) and close the connection.
    Close(Vec<LdapMsg>),
}

pub struct Session {
    pub principal: Principal,
    pub tls: bool,
    /// StartTLS is offered on this connection (plain LDAP with a certificate).
    pub starttls_available: bool,
    /// This connection's number among the DC's, and where the DC keeps paged searches.
    pub(super) conn: u64,
    pub(super) sets: Arc<ResultSets>,
}

impl Drop for Session {
    fn drop(&mut self) {
        self.sets.forget(self.conn);
    }
}

/// The controls of one request, decoded.
#[derive(Default)]
pub(super) struct Controls {
    ctx: OpContext,
    pub(super) paging: Option<(i64, Vec<u8>)>,
    pub(super) sort: Option<(String, bool)>,
    /// LDAP_SERVER_EXTENDED_DN: entry DNs carry `<GUID=…>;<SID=…>;` in this format.
    pub(super) extended_dn: Option<i32>,
    /// Domain scope: no continuation references.
    pub(super) no_references: bool,
    /// Phantom root: a search from `""` covers every naming context.
    pub(super) phantom_root: bool,
}

impl Session {
    pub fn new(dir: &Directory, tls: bool, starttls_available: bool) -> Self {
        let sets = dir.result_sets().clone();
        Self {
            principal: Principal::Anonymous,
            tls,
            starttls_available,
            conn: sets.connection(),
            sets,
        }
    }

    pub fn handle(&mut self, dir: &Directory, msg: LdapMsg) -> Action {
        let id = msg.msgid;
        let controls = match self.controls(msg.ctrl) {
            Ok(c) => c,
            Err(e) => return Action::Reply(vec![error_response(id, &msg.op, &e)]),
        };
        let now = dir.now();
        let reply = |op| Action::Reply(vec![LdapMsg::new(id, op)]);
        match msg.op {
            LdapOp::BindRequest(req) => {
                let res = self.bind(dir, req.version, &req.dn, req.cred);
                reply(LdapOp::BindResponse(LdapBindResponse {
                    res: result(res),
                    saslcreds: None,
                }))
            }
            LdapOp::UnbindRequest => Action::Close(Vec::new()),
            LdapOp::AbandonRequest(_) => Action::Reply(Vec::new()),
            LdapOp::SearchRequest(req) => Action::Reply(self.search(dir, id, req, controls)),
            LdapOp::AddRequest(req) => {
                let add = AddRequest {
                    dn: req.dn,
                    attrs: req
                        .attributes
                        .into_iter()
                        .map(|a| (a.atype, a.vals))
                        .collect(),
                };
                let res = dir
                    .write()
                    .add(&self.principal, &self.op_ctx(controls), now, add)
                    .map(|_| ());
                reply(LdapOp::AddResponse(result(res)))
            }
            LdapOp::ModifyRequest(req) => {
                let m = ModifyRequest {
                    dn: req.dn,
                    changes: req
                        .changes
                        .into_iter()
                        .map(|c| Change {
                            op: match c.operation {
                                LdapModifyType::Add => ModOp::Add,
                                LdapModifyType::Delete => ModOp::Delete,
                                _ => ModOp::Replace,
                            },
                            attr: c.modification.atype,
                            values: c.modification.vals,
                        })
                        .collect(),
                };
                let res = dir
                    .write()
                    .modify(&self.principal, &self.op_ctx(controls), now, m);
                reply(LdapOp::ModifyResponse(result(res)))
            }
            LdapOp::DelRequest(dn) => {
                let res = dir
                    .write()
                    .delete(&self.principal, &self.op_ctx(controls), now, &dn);
                reply(LdapOp::DelResponse(result(res)))
            }
            LdapOp::ModifyDNRequest(req) => {
                let r = ModifyDnRequest {
                    dn: req.dn,
                    new_rdn: req.newrdn,
                    new_superior: req.new_superior,
                };
                let res = dir.write().modify_dn(&self.principal, now, r).map(|_| ());
                reply(LdapOp::ModifyDNResponse(result(res)))
            }
            LdapOp::CompareRequest(req) => {
                let res = dir
                    .read()
                    .compare(&self.principal, now, &req.dn, &req.atype, &req.val);
                let r = match res {
                    Ok(true) => plain(LdapResultCode::CompareTrue),
                    Ok(false) => plain(LdapResultCode::CompareFalse),
                    Err(e) => result(Err(e)),
                };
                reply(LdapOp::CompareResult(r))
            }
            LdapOp::ExtendedRequest(req) => {
                if req.name == OID_START_TLS {
                    return self.start_tls(id);
                }
                let res = extended::handle(&dir.read(), &self.principal, &req.name);
                let (res, value) = match res {
                    Ok(v) => (result(Ok(())), v),
                    Err(e) => (result(Err(e)), None),
                };
                reply(LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res,
                    name: None,
                    value,
                }))
            }
            other => Action::Close(vec![notice_of_disconnection(
                LdapResultCode::ProtocolError,
                &format!(
                    "00000057: LdapErr: DSID-0C090E0B, comment: {} is not a request, data 0, v4563",
                    op_name(&other)
                ),
            )]),
        }
    }

    fn op_ctx(&self, c: Controls) -> OpContext {
        OpContext {
            tls: self.tls,
            ..c.ctx
        }
    }

    fn bind(
        &mut self,
        dir: &Directory,
        version: i64,
        name: &str,
        cred: LdapBindCred,
    ) -> AdResult<()> {
        // A bind resets the connection to anonymous until it succeeds (RFC 4511 §4.2.1).
        self.principal = Principal::Anonymous;
        self.sets.forget(self.conn);
        if !(2..=3).contains(&version) {
            return Err(AdError::BadVersion(version));
        }
        let password = match cred {
            LdapBindCred::Simple(pw) => pw,
            LdapBindCred::SASL(s) => return Err(AdError::SaslNotSupported(s.mechanism)),
            LdapBindCred::Unsupported => return Err(AdError::SaslNotSupported("(unknown)".into())),
        };
        if dir.config().require_tls_for_bind && !self.tls && !password.is_empty() {
            return Err(AdError::BindNeedsTls);
        }
        let now = dir.now();
        // Judged under the read lock; only a bind that counts or clears a bad password
        // takes the write lock (and is judged again there).
        let (answer, effect) = dir.read().judge_bind(name, &password, now);
        let p = match effect {
            None => answer?,
            Some(_) => dir.write().bind(name, &password, now)?,
        };
        self.principal = p;
        Ok(())
    }

    fn start_tls(&mut self, id: i32) -> Action {
        let respond = |res: LdapResult| {
            LdapMsg::new(
                id,
                LdapOp::ExtendedResponse(LdapExtendedResponse {
                    res,
                    name: Some(OID_START_TLS.into()),
                    value: None,
                }),
            )
        };
        if self.tls {
            return Action::Reply(vec![respond(LdapResult {
                code: LdapResultCode::OperationsError,
                matcheddn: String::new(),
                message: "00000000: LdapErr: DSID-0C091139, comment: TLS or SSL already in effect, data 0, v4563".into(),
                referral: vec![],
            })]);
        }
        if !self.starttls_available {
            return Action::Reply(vec![respond(result(Err(AdError::UnsupportedExtendedOp(
                OID_START_TLS.into(),
            ))))]);
        }
        Action::StartTls(respond(plain(LdapResultCode::Success)))
    }

    fn controls(&self, ctrl: Vec<LdapControl>) -> AdResult<Controls> {
        let mut c = Controls::default();
        for control in ctrl {
            match control {
                LdapControl::SimplePagedResults { size, cookie } => c.paging = Some((size, cookie)),
                LdapControl::ServerSort { sort_requests } => {
                    c.sort = sort_requests
                        .into_iter()
                        .next()
                        .map(|s| (s.attribute_name, s.reverse_order));
                }
                // Accepted: no security descriptors on the wire, no tombstones to show.
                LdapControl::SdFlags { .. } | LdapControl::ShowDeleted { .. } => {}
                LdapControl::ExtendedDn { format, .. } => c.extended_dn = Some(format),
                LdapControl::Unknown {
                    oid,
                    criticality,
                    value,
                } => match oid.as_str() {
                    OID_POLICY_HINTS | OID_POLICY_HINTS_DEPRECATED => {
                        c.ctx.policy_hints = match value {
                            Some(v) => sequence_of_integer(&v).ok_or_else(|| {
                                AdError::Protocol(format!(
                                    "00000057: LdapErr: DSID-0C090DA7, comment: Error processing control {oid}: value is not SEQUENCE {{ INTEGER }}, data 0, v4563"
                                ))
                            })? & 1
                                == 1,
                            None => true,
                        };
                    }
                    OID_PERMISSIVE_MODIFY => c.ctx.permissive_modify = true,
                    OID_TREE_DELETE => c.ctx.tree_delete = true,
                    OID_DOMAIN_SCOPE => c.no_references = true,
                    OID_SEARCH_OPTIONS => {
                        let flags = value.as_deref().and_then(sequence_of_integer).ok_or_else(|| {
                            AdError::Protocol(format!(
                                "00000057: LdapErr: DSID-0C090DA7, comment: Error processing control {oid}: value is not SEQUENCE {{ INTEGER }}, data 0, v4563"
                            ))
                        })?;
                        c.no_references |= flags & 1 != 0;
                        c.phantom_root = flags & 2 != 0;
                    }
                    OID_RANGE_OPTION | OID_SHOW_RECYCLED => {}
                    _ if criticality => return Err(AdError::UnavailableCriticalExtension(oid)),
                    _ => {}
                },
                LdapControl::SyncRequest {
                    criticality: true, ..
                } => {
                    return Err(AdError::UnavailableCriticalExtension(
                        "1.3.6.1.4.1.4203.1.9.1.1".into(),
                    ))
                }
                LdapControl::AdDirsync { .. } => {
                    return Err(AdError::UnavailableCriticalExtension(
                        "1.2.840.113556.1.4.841".into(),
                    ))
                }
                LdapControl::ManageDsaIT { criticality: true } => {
                    return Err(AdError::UnavailableCriticalExtension(
                        "2.16.840.1.113730.3.4.2".into(),
                    ))
                }
                LdapControl::PasswordPolicyRequest { criticality: true } => {
                    return Err(AdError::UnavailableCriticalExtension(
                        "1.3.6.1.4.1.42.2.27.8.5.1".into(),
                    ))
                }
                // ldap3_proto decodes 1.2.840.113556.1.4.1338 (verify name) into this variant.
                LdapControl::SearchOptions {
                    criticality: true, ..
                } => {
                    return Err(AdError::UnavailableCriticalExtension(
                        "1.2.840.113556.1.4.1338".into(),
                    ))
                }
                _ => {}
            }
        }
        Ok(c)
    }
}

/// The flags of a control value shaped BER `SEQUENCE { INTEGER }` (policy hints, search
/// options).
fn sequence_of_integer(v: &[u8]) -> Option<i64> {
    let (_, tag) = ldap3_lber::parse::Parser::new(8).parse(v).ok()?;
    let inner = tag
        .expect_constructed()?
        .into_iter()
        .next()?
        .expect_primitive()?;
    if inner.is_empty() || inner.len() > 8 {
        return None;
    }
    // Two's-complement big-endian integer content.
    let mut n: i64 = if inner[0] & 0x80 != 0 { -1 } else { 0 };
    for b in inner {
        n = (n << 8) | i64::from(b);
    }
    Some(n)
}

pub(super) fn plain(code: LdapResultCode) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: String::new(),
        referral: vec![],
    }
}

/// The LDAPResult for an operation's outcome.
pub fn result(r: AdResult<()>) -> LdapResult {
    match r {
        Ok(()) => plain(LdapResultCode::Success),
        Err(e) => {
            let (code, message, matcheddn) = e.answer();
            LdapResult {
                code,
                matcheddn,
                message,
                referral: vec![],
            }
        }
    }
}

/// The response op that matches a request, carrying an error.
fn error_response(id: i32, op: &LdapOp, e: &AdError) -> LdapMsg {
    let res = result(Err(e.clone()));
    let op = match op {
        LdapOp::BindRequest(_) => LdapOp::BindResponse(LdapBindResponse {
            res,
            saslcreds: None,
        }),
        LdapOp::SearchRequest(_) => LdapOp::SearchResultDone(res),
        LdapOp::ModifyRequest(_) => LdapOp::ModifyResponse(res),
        LdapOp::AddRequest(_) => LdapOp::AddResponse(res),
        LdapOp::DelRequest(_) => LdapOp::DelResponse(res),
        LdapOp::ModifyDNRequest(_) => LdapOp::ModifyDNResponse(res),
        LdapOp::CompareRequest(_) => LdapOp::CompareResult(res),
        _ => LdapOp::ExtendedResponse(LdapExtendedResponse {
            res,
            name: None,
            value: None,
        }),
    };
    LdapMsg::new(id, op)
}

/// The unsolicited notice a server sends before it drops a connection (RFC 4511 §4.4.1).
pub fn notice_of_disconnection(code: LdapResultCode, message: &str) -> LdapMsg {
    LdapMsg::new(
        0,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: LdapResult {
                code,
                matcheddn: String::new(),
                message: message.to_string(),
                referral: vec![],
            },
            name: Some(OID_NOTICE_OF_DISCONNECTION.into()),
            value: None,
        }),
    )
}

fn op_name(op: &LdapOp) -> &'static str {
    match op {
        LdapOp::BindResponse(_) => "BindResponse",
        LdapOp::SearchResultEntry(_) => "SearchResultEntry",
        LdapOp::SearchResultDone(_) => "SearchResultDone",
        LdapOp::SearchResultReference(_) => "SearchResultReference",
        LdapOp::ModifyResponse(_) => "ModifyResponse",
        LdapOp::AddResponse(_) => "AddResponse",
        LdapOp::DelResponse(_) => "DelResponse",
        LdapOp::ModifyDNResponse(_) => "ModifyDNResponse",
        LdapOp::CompareResult(_) => "CompareResponse",
        LdapOp::ExtendedResponse(_) => "ExtendedResponse",
        LdapOp::IntermediateResponse(_) => "IntermediateResponse",
        _ => "this operation",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_hints_value_is_a_sequence_of_one_integer() {
        assert_eq!(
            sequence_of_integer(&[0x30, 0x03, 0x02, 0x01, 0x01]),
            Some(1)
        );
        assert_eq!(
            sequence_of_integer(&[0x30, 0x03, 0x02, 0x01, 0x00]),
            Some(0)
        );
        assert_eq!(sequence_of_integer(b"nonsense"), None);
    }
}
