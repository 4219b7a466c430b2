//! The tokens a signing key has signed, by their signing input (`header.claims`).
//!
//! RS256 (RSASSA-PKCS1-v1_5) is deterministic: the same claims under the same key give the
//! same token, byte for byte. Scenario worlds share the fixture key and a virtual clock that
//! starts at the same instant, so a catalogue signs the same few tokens in every world — an
//! RSA-2048 private-key operation each, an eighth of a catalogue run's CPU. Remembering what
//! was signed makes the repeat a look-up (the token is the one signing would give) and lets
//! [`super::Identity::verify`] skip the signature check for a token this key issued itself.
//! Bounded: at [`KEPT`] tokens the memory starts again.

use std::collections::HashMap;
use std::sync::Mutex;

/// At most this many tokens are remembered (a lab on the real clock signs new claims every
/// second; a few MB at most).
const KEPT: usize = 1024;

#[derive(Default)]
pub(super) struct Signed {
    by_input: Mutex<HashMap<String, String>>,
}

impl Signed {
    /// The token for `input`: the one signed before, or `sign(input)`'s signature appended
    /// (and remembered). `None` when signing fails.
    pub(super) fn token(
        &self,
        input: String,
        sign: impl FnOnce(&[u8]) -> Option<String>,
    ) -> Option<String> {
        if let Some(t) = self.lock().get(&input) {
            return Some(t.clone());
        }
        let signature = sign(input.as_bytes())?;
        let token = format!("{input}.{signature}");
        let mut kept = self.lock();
        if kept.len() >= KEPT {
            kept.clear();
        }
        kept.insert(input, token.clone());
        Some(token)
    }

    /// Whether this key signed exactly `token` (so its signature is good).
    pub(super) fn issued(&self, token: &str) -> bool {
        token
            .rsplit_once('.')
            .is_some_and(|(input, _)| self.lock().get(input).is_some_and(|t| t == token))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.by_input.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_input_is_signed_once_and_the_token_is_the_same() {
        let signed = Signed::default();
        let mut calls = 0;
        let mut sign = |input: &[u8]| {
            calls += 1;
            Some(format!("sig-of-{}", input.len()))
        };
        let a = signed.token("h.c".into(), &mut sign).unwrap();
        let b = signed.token("h.c".into(), &mut sign).unwrap();
        assert_eq!((a.as_str(), b.as_str()), ("h.c.sig-of-3", "h.c.sig-of-3"));
        assert_eq!(calls, 1);
        assert!(signed.issued("h.c.sig-of-3"));
        // Another signature on the same input, or an input never signed, is not ours.
        assert!(!signed.issued("h.c.forged"));
        assert!(!signed.issued("h.d.sig-of-3"));
        assert!(!signed.issued("no-dot"));
    }

    #[test]
    fn a_failed_signature_is_not_remembered_and_memory_is_bounded() {
        let signed = Signed::default();
        assert_eq!(signed.token("h.c".into(), |_| None), None);
        assert!(!signed.issued("h.c."));
        for i in 0..KEPT + 5 {
            signed
                .token(format!("h.{i}"), |_| Some("s".into()))
                .unwrap();
        }
        assert!(signed.lock().len() <= KEPT);
    }
}
