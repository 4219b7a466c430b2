//! Shared Access Signature tokens as Azure Service Bus / Relay use them
//! (`SharedAccessSignature sr=…&sig=…&se=…&skn=…`): the sender or listener builds one from a
//! key, the relay checks it. Protocol code, used on both sides of the wire.
//!
//! sig = urlencode(base64(HMAC-SHA256(key, urlencode(resource) + "\n" + expiry))).
//!
//! Clients URL-encode differently (JavaScript's `encodeURIComponent` keeps `-_.!~*'()`,
//! others escape more), so the signature is checked over `sr` exactly as the token carries
//! it, as the service does; tokens built here encode as `encodeURIComponent` does.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use hmac::{Hmac, Mac};
use percent_encoding::{percent_decode_str, utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use sha2::Sha256;

/// The parts of a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SasToken {
    /// The resource URI the token is for (decoded).
    pub resource: String,
    /// `sr` as the token carries it (URL-encoded): what the signature covers.
    signed_resource: String,
    pub key_name: String,
    /// Unix seconds.
    pub expiry: i64,
    /// The signature (base64, decoded from the URL form).
    pub signature: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SasError {
    #[error("not a SharedAccessSignature token")]
    Malformed,
    #[error("the token has no `{0}`")]
    Missing(&'static str),
}

/// What `encodeURIComponent` leaves alone: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

fn encode(s: &str) -> String {
    utf8_percent_encode(s, URI_COMPONENT).to_string()
}

/// The signature over an already URL-encoded resource.
fn sign(encoded_resource: &str, expiry: i64, key: &str) -> String {
    // HMAC takes keys of any length, so this cannot fail.
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes())
        .expect("HMAC-SHA256 takes keys of any length");
    mac.update(format!("{encoded_resource}\n{expiry}").as_bytes());
    B64.encode(mac.finalize().into_bytes())
}

/// Build a token for `resource` (e.g. `http://gntech-sspr.servicebus.windows.net/sspr`).
pub fn token(resource: &str, key_name: &str, key: &str, expiry: i64) -> String {
    format!(
        "SharedAccessSignature sr={}&sig={}&se={expiry}&skn={}",
        encode(resource),
        encode(&sign(&encode(resource), expiry, key)),
        encode(key_name)
    )
}

/// Parse a token (the `SharedAccessSignature ` prefix is required).
pub fn parse(text: &str) -> Result<SasToken, SasError> {
    let body = text
        .trim()
        .strip_prefix("SharedAccessSignature ")
        .ok_or(SasError::Malformed)?;
    let mut resource = None;
    let mut signed_resource = None;
    let mut key_name = None;
    let mut expiry = None;
    let mut signature = None;
    for pair in body.split('&') {
        let (k, raw) = pair.split_once('=').ok_or(SasError::Malformed)?;
        let v = percent_decode_str(raw)
            .decode_utf8()
            .map_err(|_| SasError::Malformed)?
            .to_string();
        match k {
            "sr" => {
                signed_resource = Some(raw.to_string());
                resource = Some(v);
            }
            "skn" => key_name = Some(v),
            "se" => expiry = Some(v.parse().map_err(|_| SasError::Malformed)?),
            "sig" => signature = Some(v),
            _ => {}
        }
    }
    Ok(SasToken {
        resource: resource.ok_or(SasError::Missing("sr"))?,
        signed_resource: signed_resource.unwrap_or_default(),
        key_name: key_name.ok_or(SasError::Missing("skn"))?,
        expiry: expiry.ok_or(SasError::Missing("se"))?,
        signature: signature.ok_or(SasError::Missing("sig"))?,
    })
}

/// Does the signature match `key`?
pub fn verify(t: &SasToken, key: &str) -> bool {
    let want = sign(&t.signed_resource, t.expiry, key);
    // Constant-time comparison through the MAC would be better; the fake compares bytes.
    want.as_bytes() == t.signature.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_only_the_right_key_verifies() {
        let t = token(
            "http://ns.servicebus.windows.net/sspr",
            "RootManageSharedAccessKey",
            "s3cr3t",
            1_800_000_000,
        );
        assert!(t.starts_with("SharedAccessSignature sr=http%3A%2F%2Fns.servicebus"));
        let p = parse(&t).unwrap();
        assert_eq!(p.resource, "http://ns.servicebus.windows.net/sspr");
        assert_eq!(p.expiry, 1_800_000_000);
        assert!(verify(&p, "s3cr3t"));
        assert!(!verify(&p, "other"));
        assert_eq!(parse("Bearer x"), Err(SasError::Malformed));
        assert_eq!(
            parse("SharedAccessSignature sr=a&se=1&skn=k"),
            Err(SasError::Missing("sig"))
        );
    }

    #[test]
    fn tokens_encoded_by_other_clients_verify_over_sr_as_sent() {
        // Built as hyco-ws's createRelayToken does (encodeURIComponent, namespace root).
        let js = "SharedAccessSignature sr=http%3A%2F%2Fgntech-sspr.servicebus.windows.net%2F&sig=FVSar2dL3pdWu5OqOrqr0giftexiPrHUoKRaVcXEYFA%3D&se=1800000000&skn=RootManageSharedAccessKey";
        let p = parse(js).unwrap();
        assert_eq!(p.resource, "http://gntech-sspr.servicebus.windows.net/");
        assert!(verify(&p, "s3cr3t"));
        // The same token with every character escaped is a different signed string.
        let escaped = js.replace("gntech-sspr.", "gntech%2Dsspr%2E");
        assert!(!verify(&parse(&escaped).unwrap(), "s3cr3t"));
        // And ours is what encodeURIComponent gives.
        let ours = token(
            "http://gntech-sspr.servicebus.windows.net/",
            "RootManageSharedAccessKey",
            "s3cr3t",
            1_800_000_000,
        );
        assert_eq!(ours, js);
    }
}
