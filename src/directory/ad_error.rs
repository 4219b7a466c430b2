//! Every way a directory operation can fail, and the one function that turns a failure into
//! what a Windows Server DC puts on the wire: the LDAP result code, the diagnostic text that
//! starts with the 8-hex-digit Win32 code (`0000052D: …`) and, for missing objects, the
//! matched DN. The texts follow `reference/ad-behaviour.md`'s sim column; the DSID part is
//! cosmetic (it varies by Windows build) and nothing should match on it.

use ldap3_proto::proto::LdapResultCode;

/// The `data XXX` word of a failed bind, which tells an admin why AD refused it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BindFailure {
    /// 52e: unknown name or wrong password (AD never says which).
    WrongPassword,
    /// 533: userAccountControl has ACCOUNTDISABLE.
    Disabled,
    /// 773: pwdLastSet is 0, the password must be changed first.
    MustChangePassword,
    /// 701: accountExpires is in the past.
    AccountExpired,
    /// 775: lockoutTime is set and lockoutDuration has not passed.
    Locked,
    /// 532: the password is older than maxPwdAge.
    PasswordExpired,
}

impl BindFailure {
    pub fn data(self) -> &'static str {
        match self {
            Self::WrongPassword => "52e",
            Self::Disabled => "533",
            Self::MustChangePassword => "773",
            Self::AccountExpired => "701",
            Self::Locked => "775",
            Self::PasswordExpired => "532",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdError {
    #[error("bind refused (data {})", .0.data())]
    Bind(BindFailure),
    #[error("simple binds need TLS on this directory")]
    BindNeedsTls,
    #[error("the operation needs a bind first")]
    BindRequired,
    #[error("SASL mechanism {0} is not supported")]
    SaslNotSupported(String),
    #[error("LDAP version {0} is not supported")]
    BadVersion(i64),
    #[error("unicodePwd can only be written over an encrypted connection, as quoted UTF-16LE")]
    PasswordWriteRefused,
    #[error("the password does not meet the domain policy")]
    PasswordPolicy,
    #[error("the old password does not match")]
    WrongOldPassword,
    #[error("insufficient access rights")]
    InsufficientAccess,
    #[error("the entry already exists")]
    EntryExists,
    #[error("no such object (best match {matched})")]
    NoSuchObject { matched: String },
    #[error("the new parent of {dn} does not exist")]
    MoveParentMissing { dn: String },
    #[error("sAMAccountName {0} is already in use")]
    SamAccountNameInUse(String),
    #[error("userPrincipalName {0} is already in use")]
    UpnInUse(String),
    #[error("computer sAMAccountName {0} must end in $")]
    ComputerNameNeedsDollar(String),
    #[error("no structural objectClass for {0}")]
    NoStructuralClass(String),
    #[error("objectClass {0} is not in the schema")]
    UnknownClass(String),
    #[error("attribute {0} is not in the schema")]
    UnknownAttribute(String),
    #[error("value of {0} has the wrong syntax")]
    InvalidSyntax(String),
    #[error("naming violation: {0}")]
    Naming(String),
    #[error("{attr} is the RDN of {dn}")]
    NotAllowedOnRdn { attr: String, dn: String },
    #[error("{attr} on {dn} can only be modified by the system")]
    SystemOnly { attr: String, dn: String },
    #[error("{attr} on {dn} is a back-link, changed only through its forward link")]
    BackLink { attr: String, dn: String },
    #[error("{attr} has no such value")]
    NoSuchValue { attr: String },
    #[error("{attr} already has that value")]
    ValueExists { attr: String },
    #[error("{attr} is single-valued and already has a value")]
    SingleValued { attr: String, dn: String },
    #[error("{attr} is single-valued and was given several values")]
    TooManyValues { attr: String, dn: String },
    #[error("the entry has children")]
    NotAllowedOnNonLeaf,
    #[error("groupType is not a valid combination")]
    InvalidGroupType,
    #[error("member {0} does not exist")]
    MemberNotFound(String),
    #[error("already a member (target GUID {0})")]
    MemberExists(String),
    #[error("not a member (target GUID {0})")]
    MemberMissing(String),
    #[error("mandatory attribute {attr} missing on {dn}")]
    MissingMandatory { attr: String, dn: String },
    #[error("pwdLastSet must be 0 or -1")]
    PwdLastSetValue,
    #[error("lockoutTime can only be set to 0")]
    LockoutTimeValue,
    #[error("critical control {0} is not supported")]
    UnavailableCriticalExtension(String),
    #[error("extended operation {0} is not supported")]
    UnsupportedExtendedOp(String),
    #[error("invalid DN syntax: {0}")]
    InvalidDn(String),
    #[error("unwilling to perform: {0}")]
    Unwilling(String),
    #[error("object class violation: {0}")]
    ObjectClassViolation(String),
    #[error("protocol error: {0}")]
    Protocol(String),
    #[error("the directory is unavailable")]
    Unavailable,
    /// A search ran past the client's time limit or AD's MaxQueryDuration.
    #[error("the search ran past its time limit")]
    TimeLimitExceeded,
}

/// Windows' wording for a generic unwilling-to-perform.
const WILL_NOT_PERFORM: &str =
    "0000001F: SvcErr: DSID-031A126C, problem 5003 (WILL_NOT_PERFORM), data 0";

impl AdError {
    /// The one mapping from a failure to the LDAP result AD answers with.
    /// Returns (result code, diagnostic message, matched DN).
    pub fn answer(&self) -> (LdapResultCode, String, String) {
        use LdapResultCode as C;
        let (code, msg) = match self {
            Self::Bind(f) => (
                C::InvalidCredentials,
                format!(
                    "80090308: LdapErr: DSID-0C09044E, comment: AcceptSecurityContext error, data {}, v4563",
                    f.data()
                ),
            ),
            Self::BindNeedsTls => (
                C::StrongerAuthRequired,
                "00002028: LdapErr: DSID-0C090259, comment: The server requires binds to turn on integrity checking if SSL\\TLS are not already active on the connection, data 0, v4563".into(),
            ),
            Self::BindRequired => (
                C::OperationsError,
                "000004DC: LdapErr: DSID-0C090A5C, comment: In order to perform this operation a successful bind must be completed on the connection., data 0, v4563".into(),
            ),
            Self::SaslNotSupported(m) => (
                C::AuthMethodNotSupported,
                format!("00002027: LdapErr: DSID-0C090A52, comment: Unsupported SASL mechanism {m} on this simulated DC, data 0, v4563"),
            ),
            Self::BadVersion(v) => (
                C::ProtocolError,
                format!("00000057: LdapErr: DSID-0C090E0B, comment: Unsupported LDAP version {v}, data 0, v4563"),
            ),
            Self::PasswordWriteRefused => (C::UnwillingToPerform, WILL_NOT_PERFORM.into()),
            Self::PasswordPolicy => (
                C::ConstraintViolation,
                "0000052D: AtrErr: DSID-03191083, #1: 0: 0000052D: DSID-03191083, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)".into(),
            ),
            Self::WrongOldPassword => (
                C::ConstraintViolation,
                "00000056: AtrErr: DSID-03190F80, #1: 0: 00000056: DSID-03190F80, problem 1005 (CONSTRAINT_ATT_TYPE), data 0, Att 9005a (unicodePwd)".into(),
            ),
            Self::InsufficientAccess => (
                C::InsufficentAccessRights,
                "00002098: SecErr: DSID-03150F94, problem 4003 (INSUFF_ACCESS_RIGHTS), data 0".into(),
            ),
            Self::EntryExists => (
                C::EntryAlreadyExists,
                "00000524: UpdErr: DSID-031A11E2, problem 6005 (ENTRY_EXISTS), data 0".into(),
            ),
            Self::NoSuchObject { matched } => (
                C::NoSuchObject,
                format!("0000208D: NameErr: DSID-0310021B, problem 2001 (NO_OBJECT), data 0, best match of:\n\t'{matched}'\n"),
            ),
            Self::MoveParentMissing { dn } => (
                C::Other,
                format!("00002095: objectclass: Cannot rename {dn}, parent does not exist!"),
            ),
            Self::SamAccountNameInUse(n) => (
                C::EntryAlreadyExists,
                format!("00002071: samldb: samAccountName '{n}' already in use!"),
            ),
            Self::UpnInUse(u) => (
                C::ConstraintViolation,
                format!("0000202F: samldb: userPrincipalName '{u}' is already in use"),
            ),
            Self::ComputerNameNeedsDollar(n) => (
                C::ConstraintViolation,
                format!("00000523: SysErr: DSID-031A1248, problem 22 (Invalid argument), data 0, computer sAMAccountName '{n}' must end with a single '$' (KB5008102)"),
            ),
            Self::NoStructuralClass(dn) => (
                C::UnwillingToPerform,
                format!("Failed to find a structural class for {dn}"),
            ),
            Self::UnknownClass(c) => (
                C::NoSuchAttribute,
                format!("0000200A: objectclass {c} is not a valid objectClass in schema"),
            ),
            Self::UnknownAttribute(_) => (
                C::UndefinedAttributeType,
                "00000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563".into(),
            ),
            Self::InvalidSyntax(_) => (
                C::InvalidAttributeSyntax,
                "00000057: LdapErr: DSID-0C090D8A, comment: Error in attribute conversion operation, data 0, v4563".into(),
            ),
            Self::Naming(text) => (C::NamingViolation, format!("00002037: {text}")),
            Self::NotAllowedOnRdn { attr, dn } => (
                C::NotALlowedOnRDN,
                format!("00002016: Modify of RDN '{attr}' on {dn} not permitted, must use 'rename' operation instead"),
            ),
            Self::BackLink { attr, dn } => (
                C::UnwillingToPerform,
                format!("00002035: objectclass_attrs: attribute '{attr}' on entry '{dn}' must not be modified directly, it is a linked attribute"),
            ),
            Self::SystemOnly { attr, dn } => (
                C::ConstraintViolation,
                format!("0000202F: samldb: attribute '{attr}' on entry '{dn}' can only be modified as system"),
            ),
            Self::NoSuchValue { attr } => (
                C::NoSuchAttribute,
                format!("00002077: AtrErr: DSID-03152E7C, #1: 0: 00002077: DSID-03152E7C, problem 1001 (NO_ATTRIBUTE_OR_VAL), data 0, Att ({attr})"),
            ),
            Self::ValueExists { attr } => (
                C::AttributeOrValueExists,
                format!("00002083: AtrErr: DSID-03151818, #1: 0: 00002083: DSID-03151818, problem 1006 (ATT_OR_VALUE_EXISTS), data 0, Att ({attr})"),
            ),
            Self::SingleValued { attr, dn } => (
                C::AttributeOrValueExists,
                format!("0000200D: SINGLE-VALUE attribute {attr} on {dn} specified more than once"),
            ),
            Self::TooManyValues { attr, dn } => (
                C::ConstraintViolation,
                format!("0000202F: SINGLE-VALUE attribute {attr} on {dn} specified more than once"),
            ),
            Self::NotAllowedOnNonLeaf => (
                C::NotAllowedOnNonLeaf,
                "0000208C: UpdErr: DSID-031A0D6D, problem 6003 (CANT_ON_NON_LEAF), data 0".into(),
            ),
            Self::InvalidGroupType => (
                C::UnwillingToPerform,
                "00002035: samldb: Unrecognized account type!".into(),
            ),
            Self::MemberNotFound(_) => (C::NoSuchObject, "00000525: specified dn doesn't exist".into()),
            Self::MemberExists(g) => (
                C::EntryAlreadyExists,
                format!("Attribute member already exists for target GUID {g}"),
            ),
            Self::MemberMissing(g) => (
                C::UnwillingToPerform,
                format!("Attribute member doesn't exist for target GUID {g}"),
            ),
            Self::MissingMandatory { attr, dn } => (
                C::ObjectClassViolation,
                format!("00002014: objectclass_attrs: at least one mandatory attribute ('{attr}') on entry '{dn}' wasn't specified!"),
            ),
            Self::PwdLastSetValue => (
                C::Other,
                "00000057: setup_last_set_field: pwdLastSet must be 0 or -1 only!".into(),
            ),
            Self::LockoutTimeValue => (C::UnwillingToPerform, WILL_NOT_PERFORM.into()),
            Self::UnavailableCriticalExtension(oid) => (
                C::UnavailableCriticalExtension,
                format!("00000057: LdapErr: DSID-0C090DA7, comment: Error processing control {oid}, data 0, v4563"),
            ),
            Self::UnsupportedExtendedOp(oid) => (
                C::ProtocolError,
                format!("Extended Operation({oid}) not supported"),
            ),
            Self::InvalidDn(dn) => (
                C::InvalidDNSyntax,
                format!("0000208F: NameErr: DSID-03100241, problem 2006 (BAD_NAME_SYNTAX), data 8350, best match of:\n\t'{dn}'\n"),
            ),
            Self::Unwilling(text) => (C::UnwillingToPerform, text.clone()),
            Self::ObjectClassViolation(text) => (C::ObjectClassViolation, text.clone()),
            Self::Protocol(text) => (C::ProtocolError, text.clone()),
            Self::Unavailable => (
                C::Unavailable,
                "00000005: LdapErr: DSID-0C0906A1, comment: The directory service is unavailable, data 0, v4563".into(),
            ),
            // The reference is silent on a Windows DC's text; this is what Samba 4.17
            // answered a search past its time limit (asked 2026-12-01, README).
            Self::TimeLimitExceeded => (
                C::TimeLimitExceeded,
                "00002022: Indexed and full searches both failed!\n".into(),
            ),
        };
        let matched = match self {
            Self::NoSuchObject { matched } => matched.clone(),
            _ => String::new(),
        };
        (code, msg, matched)
    }
}

pub type AdResult<T> = Result<T, AdError>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_failures_carry_the_data_word() {
        let (code, msg, _) = AdError::Bind(BindFailure::Locked).answer();
        assert_eq!(code, LdapResultCode::InvalidCredentials);
        assert!(msg.starts_with("80090308:"));
        assert!(msg.contains("data 775,"));
    }

    #[test]
    fn no_such_object_names_the_best_match() {
        let (code, msg, matched) = AdError::NoSuchObject {
            matched: "OU=Probe,DC=gntech,DC=me".into(),
        }
        .answer();
        assert_eq!(code, LdapResultCode::NoSuchObject);
        assert!(msg.starts_with("0000208D"));
        assert_eq!(matched, "OU=Probe,DC=gntech,DC=me");
    }
}
