//! The JSON control messages of Azure Relay Hybrid Connections that travel on the
//! listener's control channel, as `relay-hybrid-connections-protocol.md` defines them:
//! `request`/`response` (HTTP mode; a message with `body: true` is followed by one binary
//! frame, the body), `accept` (a WebSocket sender waits at a rendezvous address) and
//! `renewToken`. Protocol code, shared by the fake relay and the engine's listener.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Relay → listener: a sender's HTTP request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Request {
    /// Rendezvous address for large exchanges (not used by this fake: bodies stay small).
    pub address: String,
    pub id: String,
    pub request_target: String,
    pub method: String,
    pub request_headers: BTreeMap<String, String>,
    pub body: bool,
}

/// Listener → relay: the answer to request `request_id`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Response {
    pub request_id: String,
    pub status_code: u16,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_description: Option<String>,
    #[serde(default)]
    pub response_headers: BTreeMap<String, String>,
    #[serde(default)]
    pub body: bool,
}

/// Listener → relay: a fresh token before the current one expires.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RenewToken {
    pub token: String,
}

/// Relay → listener: a sender opened a WebSocket (`sb-hc-action=connect`); the listener
/// accepts it by opening a WebSocket to `address` (single use, about 30 s), or rejects it
/// by connecting there with `sb-hc-statusCode` and `sb-hc-statusDescription` added.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Accept {
    pub address: String,
    pub id: String,
    /// The sender's upgrade request headers (`Sec-WebSocket-Key`, `-Version`, `-Protocol`…).
    pub connect_headers: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_endpoint: Option<RemoteEndpoint>,
}

/// Where a sender connected from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RemoteEndpoint {
    pub address: String,
    pub port: u16,
}

/// Every text frame on the control channel is one of these, keyed by its single field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ControlMessage {
    Accept(Accept),
    Request(Request),
    Response(Response),
    RenewToken(RenewToken),
}

/// WebSocket close codes the service uses on the control channel.
pub mod close {
    /// The hybrid connection path was deleted or disabled.
    pub const GOING_AWAY: u16 = 1001;
    /// The token expired or a renewal was refused.
    pub const POLICY_VIOLATION: u16 = 1008;
    /// A service error.
    pub const INTERNAL_ERROR: u16 = 1011;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_use_the_documented_shape() {
        let m = ControlMessage::Response(Response {
            request_id: "1".into(),
            status_code: 200,
            status_description: None,
            response_headers: BTreeMap::new(),
            body: true,
        });
        assert_eq!(
            serde_json::to_string(&m).unwrap(),
            r#"{"response":{"requestId":"1","statusCode":200,"responseHeaders":{},"body":true}}"#
        );
        let r: ControlMessage = serde_json::from_str(
            r#"{"request":{"address":"wss://x/$hc/p?sb-hc-action=request","id":"7","requestTarget":"/p","method":"POST","requestHeaders":{"Content-Type":"application/json"},"body":false}}"#,
        )
        .unwrap();
        assert!(matches!(r, ControlMessage::Request(Request { ref id, .. }) if id == "7"));
    }
}
