//! LDAP filters as scenarios write them (`expect_ad.filter`): RFC 4515 strings, the way
//! ldapsearch takes them, so `(displayName=Project X)` needs no quotes. ldap3's parser
//! reads the text and BER carries it to ldap3_proto's filter type, as the filter would
//! cross the wire to a DC; nothing here parses filter syntax by hand.

use ldap3::asn1::ASNTag;
use ldap3_proto::proto::LdapFilter;

/// The filter, or why the text is not one.
pub fn parse(text: &str) -> Result<LdapFilter, String> {
    let not_a_filter = || {
        format!(
            "`{text}` is not an LDAP filter (RFC 4515): write it in parentheses, e.g. (displayName=Marketing) or (&(objectClass=group)(cn=Group_*)); escape ( ) * \\ in values as \\28 \\29 \\2a \\5c"
        )
    };
    let tag = ldap3::parse_filter(text).map_err(|()| not_a_filter())?;
    let mut ber = bytes::BytesMut::new();
    ldap3::asn1::write::encode_into(&mut ber, tag.into_structure())
        .map_err(|e| format!("`{text}`: {e}"))?;
    let (_, tag) = ldap3_lber::parse::Parser::new(64)
        .parse(&ber)
        .map_err(|_| not_a_filter())?;
    LdapFilter::try_from(tag).map_err(|_| not_a_filter())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_with_spaces_need_no_quotes() {
        let f = parse("(displayName=Project X)").unwrap();
        assert_eq!(
            f,
            LdapFilter::Equality("displayName".into(), "Project X".into())
        );
    }

    #[test]
    fn compound_substring_and_presence_filters_parse() {
        let f = parse("(&(objectClass=group)(cn=Group_*)(!(mail=*)))").unwrap();
        let LdapFilter::And(parts) = f else {
            panic!("{f:?}")
        };
        assert_eq!(parts.len(), 3);
        assert!(matches!(parts[1], LdapFilter::Substring(..)));
        assert!(matches!(&parts[2], LdapFilter::Not(p) if matches!(**p, LdapFilter::Present(_))));
    }

    #[test]
    fn escapes_are_values_and_bad_text_says_why() {
        assert_eq!(
            parse(r"(cn=a\28b\29)").unwrap(),
            LdapFilter::Equality("cn".into(), "a(b)".into())
        );
        // Like ldapsearch, the outer parentheses may be left out.
        assert_eq!(
            parse("displayName=x").unwrap(),
            LdapFilter::Equality("displayName".into(), "x".into())
        );
        let e = parse("(cn=x").unwrap_err();
        assert!(e.contains("RFC 4515"), "{e}");
        assert!(parse("(&(cn=x)").is_err());
        assert!(parse("(cn=a)b)").is_err());
    }
}
