//! Extended operations other than StartTLS (which the transport handles, since it changes
//! the socket): WhoAmI (RFC 4532), which Windows serves and admins use through
//! ldapwhoami. Anything else is answered 2 protocolError, as a DC does.

use super::ad_error::{AdError, AdResult};
use super::bind::authz_id;
use super::{Principal, State};
use ldap3_proto::proto::OID_WHOAMI;

/// The response value of an extended operation.
pub fn handle(st: &State, p: &Principal, oid: &str) -> AdResult<Option<Vec<u8>>> {
    if oid == OID_WHOAMI {
        return Ok(Some(authz_id(st, p).into_bytes()));
    }
    Err(AdError::UnsupportedExtendedOp(oid.to_string()))
}
