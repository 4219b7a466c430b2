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
        let parsed = Parser::new(DEFAULT_MAX_BER_DEPTH)
            .parse(buf)
            .ok()
            .map(|(rest, tag)| (buf.len() - rest.len(), tag));
        let Some((size, mut tag)) = parsed else {
            // Incomplete, or not BER: the inner codec says which.
            return self.inner.decode(buf);
        };
        if size > self.max_message {
            return Err(io::Error::new(
                io::ErrorKind::OutOfMemory,
                "lber request too large",
            ));
        }
        buf.advance(size);
        repair_search_filter(&mut tag);
        LdapMsg::try_from(tag).map(Some).map_err(io::Error::other)
    }
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
