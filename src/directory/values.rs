//! How AD reads and derives attribute values: whether two values are the same under the
//! attribute's matching rule, the userAccountControl and groupType bits (MS-ADTS 2.2.16,
//! 2.2.12), sAMAccountType derived from them, and "never" in accountExpires. Shared by
//! add, modify, bind, compare and search.

use super::schema::Syntax;

/// userAccountControl bits (MS-ADTS 2.2.16).
pub mod uac {
    pub const ACCOUNTDISABLE: i64 = 0x2;
    pub const LOCKOUT: i64 = 0x10;
    pub const PASSWD_NOTREQD: i64 = 0x20;
    pub const NORMAL_ACCOUNT: i64 = 0x200;
    pub const WORKSTATION_TRUST_ACCOUNT: i64 = 0x1000;
    pub const SERVER_TRUST_ACCOUNT: i64 = 0x2000;
    pub const DONT_EXPIRE_PASSWORD: i64 = 0x10000;
    pub const PASSWORD_EXPIRED: i64 = 0x80_0000;
}

/// groupType bits (MS-ADTS 2.2.12).
pub mod group_type {
    pub const BUILTIN_LOCAL: i64 = 0x1;
    pub const GLOBAL: i64 = 0x2;
    pub const DOMAIN_LOCAL: i64 = 0x4;
    pub const UNIVERSAL: i64 = 0x8;
    pub const SECURITY_ENABLED: i64 = 0x8000_0000;
}

/// The value AD stores for "never" in accountExpires.
pub const NEVER: i64 = 9_223_372_036_854_775_807;

/// Two stored values are the same value under the attribute's matching rule.
pub fn values_equal(syntax: Syntax, a: &[u8], b: &[u8]) -> bool {
    match syntax {
        Syntax::Str => match (std::str::from_utf8(a), std::str::from_utf8(b)) {
            (Ok(x), Ok(y)) => x.to_lowercase() == y.to_lowercase(),
            _ => a == b,
        },
        Syntax::Dn | Syntax::DnText => {
            let n = |v: &[u8]| std::str::from_utf8(v).ok().and_then(super::dn::norm);
            n(a).is_some() && n(a) == n(b)
        }
        Syntax::DnBinary => {
            let n = |v: &[u8]| {
                let (data, dn) = split_dn_binary(std::str::from_utf8(v).ok()?)?;
                Some((data.to_ascii_uppercase(), super::dn::norm(dn)?))
            };
            n(a).is_some() && n(a) == n(b)
        }
        Syntax::Bool => a.eq_ignore_ascii_case(b),
        _ => a == b,
    }
}

/// An Object(DN-Binary) or Object(DN-String) value, `B:32:A9D1…:CN=Users,DC=…` or
/// `S:5:hello:DN` (MS-ADTS 3.1.1.2.2.2): the `B:len:data` part and the DN, when the
/// data has the length it announces (hex digits for B).
pub fn split_dn_binary(v: &str) -> Option<(&str, &str)> {
    let (kind, rest) = v.split_once(':')?;
    let (len, rest) = rest.split_once(':')?;
    let len: usize = len.parse().ok()?;
    let data = rest.get(..len)?;
    let dn = rest.get(len..)?.strip_prefix(':')?;
    let ok = match kind {
        "B" | "b" => len.is_multiple_of(2) && data.bytes().all(|c| c.is_ascii_hexdigit()),
        "S" | "s" => true,
        _ => false,
    };
    ok.then(|| v.split_at(v.len() - dn.len() - 1))
        .map(|(head, _)| (head, dn))
}

/// groupType as AD shows it: a signed 32-bit integer (0x80000002 → -2147483646).
pub fn signed32(v: i64) -> i64 {
    i64::from(v as u32 as i32)
}

/// sAMAccountType for a groupType, or `None` when the combination is invalid
/// (exactly one of global / domain local / universal, optionally security-enabled).
pub fn sam_account_type_of_group(gt: i64) -> Option<i64> {
    let gt = gt as u32 as i64;
    let security = gt & group_type::SECURITY_ENABLED != 0;
    let scope = gt & !group_type::SECURITY_ENABLED;
    let base = match scope {
        group_type::GLOBAL | group_type::UNIVERSAL => 0x1000_0000,
        group_type::DOMAIN_LOCAL => 0x2000_0000,
        x if x == group_type::DOMAIN_LOCAL | group_type::BUILTIN_LOCAL && security => 0x2000_0000,
        _ => return None,
    };
    Some(if security { base } else { base + 1 })
}

/// sAMAccountType for a userAccountControl: user 805306368, computer 805306369.
pub fn sam_account_type_of_uac(u: i64) -> i64 {
    if u & (uac::WORKSTATION_TRUST_ACCOUNT | uac::SERVER_TRUST_ACCOUNT) != 0 {
        0x3000_0001
    } else {
        0x3000_0000
    }
}
