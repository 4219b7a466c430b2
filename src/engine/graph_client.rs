//! The engine's Microsoft Graph client (reqwest over rustls): it signs in with the
//! connector's client credentials at the tenant's token endpoint and renews the token on
//! the business clock before it expires (or when Graph says it has), follows
//! `@odata.nextLink` / `@odata.deltaLink`, and honours throttling — 429 and 503 wait for
//! their Retry-After (on the business clock) and try again, a bounded number of times.
//! GET for reads; PATCH for the wizard's onboarding.

use super::config::{EngineConfig, GraphAuth};
use crate::clock::Clock;
use serde_json::Value;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// How many times one request is tried when Graph throttles or is unavailable.
const ATTEMPTS: u32 = 8;
/// A cached token is renewed this long before it expires.
const RENEW_BEFORE_SECS: i64 = 300;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Graph {status} {code}: {message}")]
pub struct GraphFailure {
    /// HTTP status; 0 when Graph could not be reached.
    pub status: u16,
    pub code: String,
    pub message: String,
}

impl GraphFailure {
    fn unreachable(e: impl std::fmt::Display) -> Self {
        Self {
            status: 0,
            code: "unreachable".into(),
            message: e.to_string(),
        }
    }
}

#[derive(Clone)]
pub struct GraphClient {
    http: reqwest::Client,
    base: String,
    auth: GraphAuth,
    /// The current token and when it expires (Unix seconds, business time).
    token: Arc<Mutex<Option<(String, i64)>>>,
    clock: Arc<dyn Clock>,
}

impl std::fmt::Debug for GraphClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GraphClient")
            .field("base", &self.base)
            .finish_non_exhaustive()
    }
}

/// The engine's HTTPS connections to Graph, shared by the wizard's runs and the service's
/// (re)starts on one machine: each client of its own would open a connection and make a TLS
/// handshake of its own. Only the connections are shared: each [`GraphClient`] signs in
/// for a token of its own, as a new process would.
#[derive(Debug, Clone, Default)]
pub struct HttpPool(Arc<Mutex<Option<Pooled>>>);

/// The CA a pool's client trusts (PEM; none: the platform's roots only), and the client.
type Pooled = (Option<String>, reqwest::Client);

impl HttpPool {
    /// The client trusting `ca` (PEM) besides the platform's roots; built on first use, and
    /// again when the CA changes.
    fn client(&self, ca: Option<&str>) -> Result<reqwest::Client, crate::tls::TlsError> {
        let mut held = self.0.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((for_ca, client)) = held.as_ref() {
            if for_ca.as_deref() == ca {
                return Ok(client.clone());
            }
        }
        let client = crate::tls::http_client(ca)?;
        *held = Some((ca.map(str::to_string), client.clone()));
        Ok(client)
    }
}

/// What one GET cost: the body, and how many throttled answers were waited out.
pub struct Fetched {
    pub body: Value,
    pub throttled: u32,
}

impl GraphClient {
    /// A client of Graph at `base`, trusting `ca` (PEM) besides the platform's roots, on
    /// `pool`'s connections.
    pub fn new(
        base: &str,
        auth: GraphAuth,
        ca: Option<&str>,
        clock: Arc<dyn Clock>,
        pool: &HttpPool,
    ) -> Result<Self, GraphFailure> {
        let http = pool.client(ca).map_err(GraphFailure::unreachable)?;
        Ok(Self {
            http,
            base: base.trim_end_matches('/').to_string(),
            auth,
            token: Arc::default(),
            clock,
        })
    }

    /// The client an engine's configuration names; `None` without a Graph endpoint.
    pub fn from_config(
        cfg: &EngineConfig,
        clock: &Arc<dyn Clock>,
        pool: &HttpPool,
    ) -> Option<Self> {
        let (url, auth) = (cfg.graph_url.as_ref()?, cfg.graph_auth.clone()?);
        match Self::new(url, auth, cfg.tls_ca.as_deref(), clock.clone(), pool) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!(error = %e, "no HTTPS client for Microsoft Graph");
                None
            }
        }
    }

    /// A path under the base (`/v1.0/devices/delta`) or a whole link Graph gave. A link is
    /// followed on the configured endpoint whatever host it names: the token goes nowhere
    /// else, and a saved delta link outlives the port of the Graph that gave it (a lab).
    pub fn url(&self, path_or_link: &str) -> String {
        match reqwest::Url::parse(path_or_link) {
            Ok(link) => {
                let query = link.query().map(|q| format!("?{q}")).unwrap_or_default();
                format!("{}{}{query}", self.base, link.path())
            }
            Err(_) => format!("{}{path_or_link}", self.base),
        }
    }

    /// A token for Graph: the given one, or the cached one while it is fresh, or a new one
    /// from the token endpoint.
    async fn bearer(&self) -> Result<String, GraphFailure> {
        let (token_url, client_id, client_secret) = match &self.auth {
            GraphAuth::Token(t) => return Ok(t.clone()),
            GraphAuth::ClientSecret {
                token_url,
                client_id,
                client_secret,
            } => (token_url, client_id, client_secret),
        };
        let now = self.clock.now().timestamp();
        if let Some((t, exp)) = self.token.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            if now < exp - RENEW_BEFORE_SECS {
                return Ok(t);
            }
        }
        let resp = self
            .http
            .post(token_url)
            .form(&[
                ("grant_type", "client_credentials"),
                ("client_id", client_id.as_str()),
                ("client_secret", client_secret.as_str()),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .map_err(GraphFailure::unreachable)?;
        let status = resp.status().as_u16();
        let body: Value = resp.json().await.unwrap_or(Value::Null);
        let Some(token) = body["access_token"].as_str().filter(|_| status == 200) else {
            return Err(GraphFailure {
                status,
                code: body["error"].as_str().unwrap_or("no_token").to_string(),
                message: body["error_description"]
                    .as_str()
                    .unwrap_or("the token endpoint gave no access token")
                    .to_string(),
            });
        };
        let lifetime = body["expires_in"].as_i64().unwrap_or(3599);
        *self.token.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((token.to_string(), now + lifetime));
        Ok(token.to_string())
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

    /// PUT `body` to a path (204 or 200).
    pub async fn put(&self, path: &str, body: &Value) -> Result<(), GraphFailure> {
        self.send(reqwest::Method::PUT, path, Some(body))
            .await
            .map(|_| ())
    }

    /// DELETE a path (204 or 200).
    pub async fn delete(&self, path: &str) -> Result<(), GraphFailure> {
        self.send(reqwest::Method::DELETE, path, None)
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
        let mut signed_in_again = false;
        for attempt in 1..=ATTEMPTS {
            let token = self.bearer().await?;
            let mut req = self.http.request(method.clone(), &url).bearer_auth(token);
            if let Some(b) = body {
                req = req.json(b);
            }
            let resp = req.send().await.map_err(GraphFailure::unreachable)?;
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
            if status == 401 && !signed_in_again && !matches!(self.auth, GraphAuth::Token(_)) {
                // The token lapsed (or the tenant forgot it): sign in again, once.
                signed_in_again = true;
                *self.token.lock().unwrap_or_else(|e| e.into_inner()) = None;
                continue;
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

#[cfg(test)]
mod tests {
    use super::*;
    use axum::serve::ListenerExt;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A Graph answering `{}` at `/v1.0/me`, and how many connections it accepted.
    async fn graph() -> (String, Arc<AtomicUsize>) {
        let accepted = Arc::new(AtomicUsize::new(0));
        let counted = accepted.clone();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let listener = listener.tap_io(move |_| {
            counted.fetch_add(1, Ordering::SeqCst);
        });
        let app = axum::Router::new().route(
            "/v1.0/me",
            axum::routing::get(|| async { axum::Json(serde_json::json!({})) }),
        );
        tokio::spawn(async move { axum::serve(listener, app).await });
        (base, accepted)
    }

    #[tokio::test]
    async fn clients_of_one_pool_share_its_connection_and_of_two_pools_do_not() {
        let clock: Arc<dyn Clock> = Arc::new(crate::clock::ManualClock::scenario_start());
        let auth = GraphAuth::Token("t".into());
        for (pools, connections) in [(1, 1), (2, 2)] {
            let (base, accepted) = graph().await;
            let all: Vec<HttpPool> = (0..pools).map(|_| HttpPool::default()).collect();
            for i in 0..2 {
                let pool = &all[i % pools];
                let c = GraphClient::new(&base, auth.clone(), None, clock.clone(), pool).unwrap();
                c.get("/v1.0/me").await.unwrap();
            }
            assert_eq!(
                accepted.load(Ordering::SeqCst),
                connections,
                "{pools} pool(s)"
            );
        }
    }
}
