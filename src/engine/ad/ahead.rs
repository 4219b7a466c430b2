//! Adds sent ahead of their answers ([`AdSession::send_add`]), for an export of many
//! objects: one round trip to the DC between them all rather than one each.

use super::{add_on, AdFailure, AdSession, Attrs};
use std::future::Future;
use std::pin::Pin;
use std::task::Poll;

type SentAnswer = Pin<Box<dyn Future<Output = Result<(), AdFailure>> + Send>>;

/// An add on its way to the DC ([`AdSession::send_add`]).
pub struct SentAdd {
    answer: SentAnswer,
}

impl SentAdd {
    /// The DC's answer.
    pub async fn answer(self) -> Result<(), AdFailure> {
        self.answer.await
    }
}

impl AdSession {
    /// Send an add without waiting for its answer ([`SentAdd::answer`]): adds sent ahead
    /// cost the connection one round trip between them all, not one each. Ours takes a
    /// connection's requests in the order they were sent, so its directory ends as one add
    /// at a time leaves it; each answer is matched to its request by message ID, so a DC
    /// that works on several side by side is read right all the same.
    pub async fn send_add(&self, dn: String, attrs: Attrs) -> SentAdd {
        let mut ldap = self.ldap.clone();
        let mut answer: SentAnswer = Box::pin(async move { add_on(&mut ldap, &dn, attrs).await });
        // The first poll hands the request to the connection (ldap3 builds and queues it
        // before its first await), so requests leave in the order of the calls.
        let mut first = None;
        std::future::poll_fn(|cx| {
            if let Poll::Ready(r) = answer.as_mut().poll(cx) {
                first = Some(r);
            }
            Poll::Ready(())
        })
        .await;
        SentAdd {
            answer: match first {
                Some(r) => Box::pin(std::future::ready(r)),
                None => answer,
            },
        }
    }
}
