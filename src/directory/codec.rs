//! The wire codec: `ldap3_proto`'s `LdapCodec`, plus one repair. `ldap3_proto` holds filter
//! assertion values as `String`, so a filter on a binary attribute — `(objectGUID=\6f\1b…)`,
//! which AD tools send all the time — would not decode and would cost the client its
//! connection. Before handing a search request to `ldap3_proto`, non-UTF-8 values inside
//! its filter are rewritten to a private marker form that [`filter_value_bytes`] turns back
//! into the original octets. BER itself is parsed by `ldap3_lber`, never by hand.

use bytes::{Buf, BytesMut};
use ldap3_lber::common::TagClass;
use ldap3_lber::parse::{Parser, DEFAULT_MAX_BER_DEPTH};
use ldap3_lber::structure::{StructureTag, PL};
use ldap3_proto::proto::LdapMsg;
use ldap3_proto::LdapCodec;
use std::io;
use tokio_util::codec::{Decoder, Encoder};

/// Starts a filter value that stood for non-UTF-8 octets (a supplementary private-use
/// character no client sends), followed by the octets in hex.
const BINARY_MARKER: char = '\u{F0000}';

/// The octets a filter assertion value stands for.
pub fn filter_value_bytes(v: &str) -> Vec<u8> {
    match v.strip_prefix(BINARY_MARKER) {
        Some(hex) => (0..hex.len() / 2)
            .filter_map(|i| {
                hex.get(2 * i..2 * i + 2)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
            })
            .collect(),
        None => v.as_bytes().to_vec(),
    }
}

pub struct AdCodec {
    inner: LdapCodec,
    max_message: usize,
}

impl AdCodec {
    pub fn new(max_message: usize) -> Self {
        Self {
            inner: LdapCodec::new(Some(max_message), None),
            max_message,
        }
    }
}

impl Decoder for AdCodec {
    type Item = LdapMsg;
    type Error = io::Error;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<LdapMsg>, io::Error> {
        if buf.len() > self.max_message * 2 {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "lber buffer is too large",
            ));
        }
        // A whole message that parses as BER: repair its filter, then decode it.
        let (size, mut tag) = match Parser::new(DEFAULT_MAX_BER_DEPTH).parse(buf) {
            Ok((rest, tag)) => (buf.len() - rest.len(), tag),
            // A header that announces more than the limit is refused now, not after the
            // bytes arrived (a client could otherwise make each connection hold the limit).
            Err(ldap3_lber::Err::Incomplete(nom::Needed::Size(more)))
                if buf.len().saturating_add(more.get()) > self.max_message =>
            {
                return Err(too_large(buf.len().saturating_add(more.get())));
            }
            // Incomplete, or not BER: the inner codec says which.
            Err(_) => return self.inner.decode(buf).map_err(|_| malformed(buf.len())),
        };
        if size > self.max_message {
            return Err(too_large(size));
        }
        buf.advance(size);
        if !message_id_in_range(&tag) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a {size}-byte message whose messageID is not in 0..2147483647"),
            ));
        }
        if !known_operation(&tag) {
            // ldap3_proto prints an unknown operation to stdout before refusing it.
            return Err(malformed(size));
        }
        if negative_page_size(&tag) {
            // RFC 2696: size INTEGER (0..maxInt). ldap3_proto would read -1 as 255.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a {size}-byte request whose paged-results size is negative"),
            ));
        }
        if !strings_are_utf8(&tag) {
            // ldap3_proto would read a non-UTF-8 newSuperior as none at all, and the
            // request would answer success without moving anything.
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("a {size}-byte modify-DN request whose newSuperior is not UTF-8"),
            ));
        }
        repair_search_filter(&mut tag);
        // The reason only, never the message: a malformed bind carries a password, and a
        // message's bytes printed whole make a log many times its size.
        LdapMsg::try_from(tag)
            .map(Some)
            .map_err(|_| malformed(size))
    }
}

fn too_large(size: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::OutOfMemory,
        format!("a message of {size} bytes is over the limit"),
    )
}

fn malformed(size: usize) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{size} bytes that are not an LDAP message"),
    )
}

/// LDAPMessage's messageID is `INTEGER (0 .. maxInt)`, maxInt 2147483647 (RFC 4511
/// §4.1.1): a longer or negative integer is a protocol error, not an ID to answer under
/// another value.
fn message_id_in_range(msg: &StructureTag) -> bool {
    let PL::C(parts) = &msg.payload else {
        return false;
    };
    match parts.first().map(|t| &t.payload) {
        Some(PL::P(bytes)) if !bytes.is_empty() && bytes.len() <= 8 => {
            // Two's complement, big-endian.
            let first = if bytes[0] & 0x80 != 0 { -1i64 } else { 0 };
            let value = bytes.iter().fold(first, |v, b| (v << 8) | i64::from(*b));
            (0..=i64::from(i32::MAX)).contains(&value)
        }
        _ => false,
    }
}

/// The protocolOp is one of RFC 4511's (an [APPLICATION n] tag of the right form).
fn known_operation(msg: &StructureTag) -> bool {
    let PL::C(parts) = &msg.payload else {
        return false;
    };
    let Some(op) = parts.get(1) else { return false };
    let primitive = matches!(op.payload, PL::P(_));
    op.class == TagClass::Application
        && match op.id {
            2 | 10 | 16 => primitive,
            0..=15 | 19 | 23..=25 => !primitive,
            _ => false,
        }
}

/// The OID of the simple paged results control (RFC 2696).
const PAGED_RESULTS: &[u8] = b"1.2.840.113556.1.4.319";

/// Does the message carry a paged-results control whose size is below zero?
fn negative_page_size(msg: &StructureTag) -> bool {
    let PL::C(parts) = &msg.payload else {
        return false;
    };
    let Some(PL::C(controls)) = parts
        .iter()
        .find(|p| p.class == TagClass::Context && p.id == 0)
        .map(|c| &c.payload)
    else {
        return false;
    };
    controls.iter().any(|c| {
        let PL::C(fields) = &c.payload else {
            return false;
        };
        let oid =
            matches!(fields.first().map(|f| &f.payload), Some(PL::P(o)) if o == PAGED_RESULTS);
        let value = fields.iter().skip(1).find_map(|f| match &f.payload {
            PL::P(v) if f.id == 4 => Some(v),
            _ => None,
        });
        let size = value.and_then(|v| Parser::new(DEFAULT_MAX_BER_DEPTH).parse(v).ok());
        oid && size.is_some_and(|(_, seq)| match &seq.payload {
            PL::C(items) => matches!(
                items.first().map(|i| &i.payload),
                Some(PL::P(n)) if n.first().is_some_and(|b| b & 0x80 != 0)
            ),
            _ => false,
        })
    })
}

/// A modify-DN request's entry, newrdn and newSuperior are LDAPDNs, UTF-8 strings (RFC
/// 4511 §4.1.3, §4.9).
fn strings_are_utf8(msg: &StructureTag) -> bool {
    let PL::C(parts) = &msg.payload else {
        return true;
    };
    let Some(op) = parts.get(1) else { return true };
    if op.class != TagClass::Application || op.id != 12 {
        return true;
    }
    let PL::C(fields) = &op.payload else {
        return true;
    };
    fields.iter().all(|f| match &f.payload {
        PL::P(bytes) if f.class != TagClass::Universal || f.id == 4 => {
            std::str::from_utf8(bytes).is_ok()
        }
        _ => true,
    })
}

impl Encoder<LdapMsg> for AdCodec {
    type Error = io::Error;

    fn encode(&mut self, msg: LdapMsg, buf: &mut BytesMut) -> io::Result<()> {
        self.inner.encode(msg, buf)
    }
}

/// LDAPMessage ::= SEQUENCE { messageID, protocolOp, … }; SearchRequest is
/// [APPLICATION 3] with the filter as its seventh field (RFC 4511 §4.5.1).
fn repair_search_filter(msg: &mut StructureTag) {
    let PL::C(parts) = &mut msg.payload else {
        return;
    };
    let Some(op) = parts.get_mut(1) else { return };
    if op.class != TagClass::Application || op.id != 3 {
        return;
    }
    if let PL::C(fields) = &mut op.payload {
        if let Some(filter) = fields.get_mut(6) {
            escape_binary(filter);
        }
    }
}

fn escape_binary(t: &mut StructureTag) {
    match &mut t.payload {
        PL::P(bytes) => {
            if std::str::from_utf8(bytes).is_err() {
                let mut s = String::from(BINARY_MARKER);
                for b in bytes.iter() {
                    s.push_str(&format!("{b:02x}"));
                }
                *bytes = s.into_bytes();
            }
        }
        PL::C(children) => children.iter_mut().for_each(escape_binary),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(bytes: &[u8]) -> Result<Option<LdapMsg>, io::Error> {
        AdCodec::new(10 * 1024 * 1024).decode(&mut BytesMut::from(bytes))
    }

    #[test]
    fn a_declared_length_over_the_limit_is_refused_before_the_bytes_arrive() {
        // SEQUENCE with a 4-byte length of 0xFFFFFFF0, and nothing after it yet.
        let e = decode(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xf0, 0x02]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::OutOfMemory);
        assert!(e.to_string().contains("over the limit"), "{e}");
        // Within the limit, an incomplete message waits for more.
        assert!(decode(&[0x30, 0x82, 0x01, 0x00, 0x02]).unwrap().is_none());
    }

    #[test]
    fn a_message_id_outside_0_to_maxint_is_a_protocol_error() {
        // unbind request (APPLICATION 2, empty) with messageID 2^31 (5 bytes) and -1.
        for id in [&[0x00u8, 0x80, 0x00, 0x00, 0x00][..], &[0xff][..]] {
            let mut m = vec![0x30, (2 + id.len() + 2) as u8, 0x02, id.len() as u8];
            m.extend_from_slice(id);
            m.extend_from_slice(&[0x42, 0x00]);
            let e = decode(&m).unwrap_err();
            assert!(e.to_string().contains("messageID"), "{e}");
        }
        let ok = decode(&[0x30, 0x08, 0x02, 0x04, 0x7f, 0xff, 0xff, 0xff, 0x42, 0x00])
            .unwrap()
            .unwrap();
        assert_eq!(ok.msgid, i32::MAX);
    }

    #[test]
    fn a_malformed_message_is_described_by_its_size_not_its_bytes() {
        // A bind request whose fields are wrong, with a password-like octet string.
        let secret = b"Sup3r!Secret";
        let mut m = vec![0x30, (3 + 2 + secret.len()) as u8, 0x02, 0x01, 0x01];
        m.extend_from_slice(&[0x60, secret.len() as u8]);
        m.extend_from_slice(secret);
        let e = decode(&m).unwrap_err().to_string();
        assert!(!e.contains("83") && !e.contains("Secret"), "{e}");
        assert!(e.contains("bytes that are not an LDAP message"), "{e}");
    }

    #[test]
    fn an_unknown_operation_is_refused_here_not_printed_by_the_decoder() {
        // [APPLICATION 30] is no LDAP operation.
        let e = decode(&[0x30, 0x05, 0x02, 0x01, 0x01, 0x7e, 0x00]).unwrap_err();
        assert!(e.to_string().contains("not an LDAP message"), "{e}");
    }

    #[test]
    fn a_modify_dn_with_a_non_utf8_new_superior_is_refused_not_ignored() {
        // modDN { entry "a", newrdn "b", deleteoldrdn TRUE, [0] newSuperior 0xff }
        let m = [
            0x30, 0x11, 0x02, 0x01, 0x01, 0x6c, 0x0c, 0x04, 0x01, b'a', 0x04, 0x01, b'b', 0x01,
            0x01, 0xff, 0x80, 0x01, 0xff,
        ];
        let e = decode(&m).unwrap_err();
        assert!(e.to_string().contains("newSuperior is not UTF-8"), "{e}");
        let mut ok = m;
        ok[18] = b'c';
        assert!(decode(&ok).unwrap().is_some());
    }

    #[test]
    fn marker_values_round_trip_to_octets() {
        let mut t = StructureTag {
            class: TagClass::Context,
            id: 3,
            payload: PL::P(vec![0xff, 0x00, 0x10]),
        };
        escape_binary(&mut t);
        let PL::P(b) = t.payload else { panic!() };
        let s = String::from_utf8(b).unwrap();
        assert_eq!(filter_value_bytes(&s), vec![0xff, 0x00, 0x10]);
        assert_eq!(filter_value_bytes("alice"), b"alice");
    }
}
