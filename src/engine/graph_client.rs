//! The engine's Microsoft Graph client (reqwest): bearer token, `@odata.nextLink` /
//! `@odata.deltaLink` following, and throttling honoured — 429 and 503 wait for their
//! Retry-After (on the business clock) and try again, a bounded number of times. GET for
//! reads; PATCH for the wizard's onboarding.

use crate::clock::Clock;
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;

/// How many times one request is tried when Graph throttles or is unavailable.
const ATTEMPTS: u32 = 8;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph {status} {code}: {message}")]
pub struct GraphFailure {
    /// HTTP status; 0 when Graph could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    token: String,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// What one GET cost: the body, and how many throttled answers were waited out.
pub struct Fetched {
    pub body: Value,
    pub throttled: u32,
}

impl GraphClient {
    pub fn new(base: &str, token: &str, clock: Arc<dyn Clock>) -> Self {
        Self {
            http: reqwest::Client::new(),
            base: base.trim_end_matches('/').to_string(),
            token: token.to_string(),
            clock,
        }
    }

    /// A path under the base (`/v1.0/devices/delta`) or a whole link Graph gave.
    pub fn url(&self, path_or_link: &str) -> String {
        if path_or_link.starts_with("http") {
            path_or_link.to_string()
        } else {
            format!("{}{path_or_link}", self.base)
        }
    }

    pub async fn get(&self, path_or_link: &str) -> Result<Fetched, GraphFailure> {
        self.send(reqwest::Method::GET, path_or_link, None).await
    }

    /// PATCH `body` to a path; Graph answers 204 (or 200 with the object).
    pub async fn patch(&self, path: &str, body: &Value) -> Result<(), GraphFailure> {
        self.send(reqwest::Method::PATCH, path, Some(body))
            .await
            .map(|_| ())
    }

    async fn send(
        &self,
        method: reqwest::Method,
        path_or_link: &str,
        body: Option<&Value>,
    ) -> Result<Fetched, GraphFailure> {
        let url = self.url(path_or_link);
        let mut throttled = 0;
        for attempt in 1..=ATTEMPTS {
            let mut req = self
                .http
                .request(method.clone(), &url)
                .bearer_auth(&self.token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(|e| GraphFailure {
                status: 0,
                code: "unreachable".into(),
                message: e.to_string(),
            })?;
            let status = resp.status().as_u16();
            let retry_after = resp
                .headers()
                .get("retry-after")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok());
            let body: Value = resp.json().await.unwrap_or(Value::Null);
            if status == 200 || status == 204 {
                return Ok(Fetched { body, throttled });
            }
            if (status == 429 || status == 503) && attempt < ATTEMPTS {
                throttled += 1;
                let wait = Duration::from_secs(retry_after.unwrap_or(u64::from(attempt) * 2));
                tracing::info!(status, ?wait, "Graph asked to retry later");
                self.clock.elapse(wait).await;
                continue;
            }
            return Err(GraphFailure {
                status,
                code: body["error"]["code"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
                message: body["error"]["message"]
                    .as_str()
                    .unwrap_or_default()
                    .to_string(),
            });
        }
        Err(GraphFailure {
            status: 429,
            code: "throttled".into(),
            message: format!("still throttled after {ATTEMPTS} attempts"),
        })
    }
}
