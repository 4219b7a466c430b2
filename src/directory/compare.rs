//! Compare (RFC 4511 §4.10): 6 compareTrue / 5 compareFalse under the attribute's
//! matching rule; an unknown or absent attribute compares false, as on a DC.

use super::ad_error::{AdError, AdResult};
use super::filter::Matcher;
use super::schema::Syntax;
use super::values::values_equal;
use super::{Principal, State};
use chrono::{DateTime, Utc};

impl State {
    /// `Ok(true)` for compareTrue, `Ok(false)` for compareFalse.
    pub fn compare(
        &self,
        p: &Principal,
        now: DateTime<Utc>,
        dn: &str,
        attr: &str,
        value: &[u8],
    ) -> AdResult<bool> {
        if *p == Principal::Anonymous {
            return Err(AdError::BindRequired);
        }
        let id = self.resolve(dn)?;
        let Some(e) = self.store.get(id) else {
            return Ok(false);
        };
        let Some(def) = self.attr_def(attr) else {
            return Ok(false);
        };
        let wanted = match def.syntax {
            Syntax::Int => match std::str::from_utf8(value)
                .ok()
                .and_then(|s| s.trim().parse::<i64>().ok())
            {
                Some(n) => n.to_string().into_bytes(),
                None => return Ok(false),
            },
            _ => value.to_vec(),
        };
        let m = Matcher { st: self, now };
        Ok(m.values(e, def.name)
            .iter()
            .any(|v| values_equal(def.syntax, v, &wanted)))
    }
}
