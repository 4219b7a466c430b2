//! The fake relay, driven by a plain tokio-tungstenite listener and an HTTP sender.

use futures::{SinkExt, StreamExt};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use writeback_sim::clock::{Clock, ManualClock};
use writeback_sim::relay::{server, Relay, RelayConfig, RelayFaults, Rights, SasPolicy};
use writeback_sim::sas;

const NS: &str = "gntech-sspr.servicebus.windows.net";

struct Fixture {
    relay: Relay,
    clock: ManualClock,
    base: String,
    _stop: tokio_util::sync::DropGuard,
}

async fn start() -> Fixture {
    let clock = ManualClock::scenario_start();
    let policy = |name: &str, key: &str, rights| SasPolicy {
        name: name.into(),
        key: key.into(),
        rights,
    };
    let relay = Relay::new(
        RelayConfig {
            namespace: NS.into(),
            paths: vec!["sspr".into()],
            policies: vec![
                policy("listen", "listen-key", Rights::Listen),
                policy("send", "send-key", Rights::Send),
            ],
            response_deadline: Duration::from_secs(60),
        },
        Arc::new(clock.clone()),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("127.0.0.1:{}", listener.local_addr().unwrap().port());
    let stop = CancellationToken::new();
    tokio::spawn(server::serve(relay.clone(), listener, stop.clone()));
    Fixture {
        relay,
        clock,
        base,
        _stop: stop.drop_guard(),
    }
}

impl Fixture {
    fn token(&self, key_name: &str, key: &str) -> String {
        let expiry = self.clock.now().timestamp() + 3600;
        sas::token(&format!("http://{NS}/sspr"), key_name, key, expiry)
    }

    fn listen_url(&self, token: Option<&str>) -> String {
        let mut u = format!("ws://{}/$hc/sspr?sb-hc-action=listen", self.base);
        if let Some(t) = token {
            u.push_str("&sb-hc-token=");
            u.push_str(
                &percent_encoding::utf8_percent_encode(t, percent_encoding::NON_ALPHANUMERIC)
                    .to_string(),
            );
        }
        u
    }

    async fn send(&self, body: &str) -> reqwest::Response {
        writeback_sim::tls::http_client(None)
            .unwrap()
            .post(format!("http://{}/sspr/reset?x=1", self.base))
            .header("ServiceBusAuthorization", self.token("send", "send-key"))
            .header("Content-Type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap()
    }
}

type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn listen(f: &Fixture) -> Ws {
    let (ws, _) =
        tokio_tungstenite::connect_async(f.listen_url(Some(&f.token("listen", "listen-key"))))
            .await
            .unwrap();
    assert!(f.relay.wait_listener("sspr", Duration::from_secs(5)).await);
    ws
}

/// Answer one request: echo its body back, upper-cased, with status 200.
async fn answer_one(ws: &mut Ws) -> serde_json::Value {
    answer_one_after(ws, None).await
}

/// Answer the next request once `work` has let business time pass on the clock.
async fn answer_one_after(
    ws: &mut Ws,
    work: Option<(&ManualClock, Duration)>,
) -> serde_json::Value {
    let Some(Ok(Message::Text(text))) = ws.next().await else {
        panic!("expected a request")
    };
    let msg: serde_json::Value = serde_json::from_str(&text).unwrap();
    let req = msg["request"].clone();
    let body = if req["body"] == true {
        let Some(Ok(Message::Binary(b))) = ws.next().await else {
            panic!("expected the body")
        };
        String::from_utf8(b.to_vec()).unwrap()
    } else {
        String::new()
    };
    if let Some((clock, d)) = work {
        clock.elapse(d).await;
    }
    let response = serde_json::json!({"response": {"requestId": req["id"], "statusCode": 200, "responseHeaders": {"Content-Type": "text/plain"}, "body": true}});
    ws.send(Message::Text(response.to_string().into()))
        .await
        .unwrap();
    ws.send(Message::Binary(body.to_uppercase().into_bytes().into()))
        .await
        .unwrap();
    req
}

#[tokio::test]
async fn a_request_reaches_the_listener_and_its_response_the_sender() {
    let f = start().await;
    let mut ws = listen(&f).await;
    let listener = tokio::spawn(async move {
        let req = answer_one(&mut ws).await;
        (req, ws)
    });
    let resp = f.send(r#"{"user":"alice"}"#).await;
    assert_eq!(resp.status(), 200);
    assert_eq!(resp.headers()["via"], format!("1.1 {NS}"));
    assert_eq!(resp.text().await.unwrap(), r#"{"USER":"ALICE"}"#);
    let (req, _ws) = listener.await.unwrap();
    assert_eq!(req["method"], "POST");
    assert_eq!(req["requestTarget"], "/reset?x=1");
    assert!(
        req["requestHeaders"]
            .get("ServiceBusAuthorization")
            .is_none(),
        "the token is stripped"
    );
}

#[tokio::test]
async fn handshake_failures_are_http_statuses() {
    let f = start().await;
    let status = |r: Result<_, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    };
    assert_eq!(
        status(tokio_tungstenite::connect_async(f.listen_url(None)).await),
        401
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(f.listen_url(Some("Bearer nonsense"))).await),
        401
    );
    assert_eq!(
        status(
            tokio_tungstenite::connect_async(f.listen_url(Some(&f.token("listen", "wrong-key"))))
                .await
        ),
        401
    );
    // A Send token cannot listen.
    assert_eq!(
        status(
            tokio_tungstenite::connect_async(f.listen_url(Some(&f.token("send", "send-key"))))
                .await
        ),
        403
    );
    // A token for another path.
    let other = sas::token(
        &format!("http://{NS}/other"),
        "listen",
        "listen-key",
        f.clock.now().timestamp() + 60,
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(f.listen_url(Some(&other))).await),
        403
    );
    // Expired.
    let old = sas::token(
        &format!("http://{NS}/sspr"),
        "listen",
        "listen-key",
        f.clock.now().timestamp() - 1,
    );
    assert_eq!(
        status(tokio_tungstenite::connect_async(f.listen_url(Some(&old))).await),
        401
    );
    // Unknown path.
    let url = format!("ws://{}/$hc/nope?sb-hc-action=listen", f.base);
    assert_eq!(status(tokio_tungstenite::connect_async(url).await), 404);
    // The token in the ServiceBusAuthorization header works.
    let mut req = format!("ws://{}/$hc/sspr?sb-hc-action=listen", f.base)
        .into_client_request()
        .unwrap();
    req.headers_mut().insert(
        "ServiceBusAuthorization",
        f.token("listen", "listen-key").parse().unwrap(),
    );
    assert_eq!(status(tokio_tungstenite::connect_async(req).await), 101);
}

#[tokio::test]
async fn no_listener_is_502_and_a_sender_without_send_right_is_403() {
    let f = start().await;
    assert_eq!(f.send("{}").await.status(), 502);
    let r = writeback_sim::tls::http_client(None)
        .unwrap()
        .post(format!("http://{}/sspr", f.base))
        .header("ServiceBusAuthorization", f.token("listen", "listen-key"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 403);
}

#[tokio::test]
async fn latency_beyond_the_deadline_times_out_on_business_time_at_once() {
    let f = start().await;
    let _ws = listen(&f).await;
    f.relay.set_faults(RelayFaults {
        latency: Some(Duration::from_secs(90)),
        down: false,
    });
    let before = f.clock.now();
    let started = std::time::Instant::now();
    assert_eq!(f.send("{}").await.status(), 504);
    assert_eq!(
        f.clock.now() - before,
        chrono::Duration::seconds(60),
        "60 s of business time passed"
    );
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "…in no real time"
    );
}

#[tokio::test]
async fn latency_below_the_deadline_delays_on_business_time() {
    let f = start().await;
    let mut ws = listen(&f).await;
    f.relay.set_faults(RelayFaults {
        latency: Some(Duration::from_secs(2)),
        down: false,
    });
    let listener = tokio::spawn(async move { answer_one(&mut ws).await });
    let before = f.clock.now();
    assert_eq!(f.send("ok").await.status(), 200);
    assert_eq!(f.clock.now() - before, chrono::Duration::seconds(2));
    listener.await.unwrap();
}

/// The deadline runs from the send until the answer arrives: a listener whose own work
/// takes 70 s of business time (a slow DC behind it) answers too late, and its answer is
/// dropped although it did the work.
#[tokio::test]
async fn an_answer_after_the_deadline_is_dropped_whatever_made_it_late() {
    let f = start().await;
    let mut ws = listen(&f).await;
    let clock = f.clock.clone();
    let listener = tokio::spawn(async move {
        answer_one_after(&mut ws, Some((&clock, Duration::from_secs(70)))).await;
        ws
    });
    let before = f.clock.now();
    assert_eq!(f.send("{}").await.status(), 504);
    assert_eq!(f.clock.now() - before, chrono::Duration::seconds(70));
    // Within the deadline the same work is answered.
    let mut ws = listener.await.unwrap();
    let answered = tokio::spawn(async move { answer_one(&mut ws).await });
    assert_eq!(f.send("ok").await.status(), 200);
    answered.await.unwrap();
}

#[tokio::test]
async fn down_refuses_listeners_and_senders_and_drop_listener_closes_the_channel() {
    let f = start().await;
    let mut ws = listen(&f).await;
    f.relay.drop_listeners();
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1011),
        other => panic!("expected a close frame, got {other:?}"),
    }
    f.relay.set_faults(RelayFaults {
        latency: None,
        down: true,
    });
    assert_eq!(f.send("{}").await.status(), 503);
    let r = tokio_tungstenite::connect_async(f.listen_url(Some(&f.token("listen", "listen-key"))))
        .await;
    assert!(
        matches!(r, Err(tokio_tungstenite::tungstenite::Error::Http(ref resp)) if resp.status() == 503)
    );
}

#[tokio::test]
async fn renew_token_keeps_the_listener_and_a_bad_one_closes_it_with_1008() {
    let f = start().await;
    let mut ws = listen(&f).await;
    let good = serde_json::json!({"renewToken": {"token": f.token("listen", "listen-key")}});
    ws.send(Message::Text(good.to_string().into()))
        .await
        .unwrap();
    let bad = serde_json::json!({"renewToken": {"token": f.token("listen", "wrong")}});
    ws.send(Message::Text(bad.to_string().into()))
        .await
        .unwrap();
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

#[tokio::test]
async fn an_expired_listener_token_closes_the_channel_with_1008() {
    let f = start().await;
    let mut ws = listen(&f).await;
    f.clock.advance(chrono::Duration::hours(2));
    assert_eq!(f.send("{}").await.status(), 502);
    match ws.next().await {
        Some(Ok(Message::Close(Some(frame)))) => assert_eq!(u16::from(frame.code), 1008),
        other => panic!("expected a close frame, got {other:?}"),
    }
}

/// Open a WebSocket sender (`sb-hc-action=connect`) with `token`, asking for `protocol`.
async fn connect_sender(
    f: &Fixture,
    token: &str,
    protocol: Option<&str>,
) -> Result<Ws, tokio_tungstenite::tungstenite::Error> {
    let mut req = format!("ws://{}/$hc/sspr?sb-hc-action=connect", f.base)
        .into_client_request()
        .unwrap();
    req.headers_mut()
        .insert("ServiceBusAuthorization", token.parse().unwrap());
    if let Some(p) = protocol {
        req.headers_mut()
            .insert("Sec-WebSocket-Protocol", p.parse().unwrap());
    }
    tokio_tungstenite::connect_async(req)
        .await
        .map(|(ws, _)| ws)
}

/// The next `accept` message on a listener's control channel.
async fn next_accept(ws: &mut Ws) -> serde_json::Value {
    let Some(Ok(Message::Text(text))) = ws.next().await else {
        panic!("expected an accept message")
    };
    let msg: serde_json::Value = serde_json::from_str(&text).unwrap();
    msg["accept"].clone()
}

#[tokio::test]
async fn a_websocket_sender_meets_the_listener_that_accepts_at_the_rendezvous_address() {
    let f = start().await;
    let mut control = listen(&f).await;
    let f = Arc::new(f);
    let connecting = tokio::spawn({
        let f = f.clone();
        async move {
            connect_sender(&f, &f.token("send", "send-key"), Some("echo"))
                .await
                .unwrap()
        }
    });
    let accept = next_accept(&mut control).await;
    let address = accept["address"].as_str().unwrap().to_string();
    assert!(
        address.starts_with(&format!(
            "ws://{}/$hc/sspr?sb-hc-action=accept&sb-hc-id=",
            f.base
        )),
        "{address}"
    );
    assert_eq!(accept["id"], address.rsplit('=').next().unwrap());
    let headers = &accept["connectHeaders"];
    assert!(headers["Sec-WebSocket-Key"].is_string(), "{headers}");
    assert_eq!(headers["Sec-WebSocket-Protocol"], "echo");
    assert!(
        headers.get("ServiceBusAuthorization").is_none(),
        "the token is stripped"
    );
    assert_eq!(accept["remoteEndpoint"]["address"], "127.0.0.1");

    let mut req = address.as_str().into_client_request().unwrap();
    req.headers_mut()
        .insert("Sec-WebSocket-Protocol", "echo".parse().unwrap());
    let (mut listener_side, _) = tokio_tungstenite::connect_async(req).await.unwrap();
    let mut sender_side = connecting.await.unwrap();

    sender_side
        .send(Message::Text("hello".into()))
        .await
        .unwrap();
    let Some(Ok(Message::Text(got))) = listener_side.next().await else {
        panic!("the listener gets the sender's message")
    };
    assert_eq!(got.as_str(), "hello");
    listener_side
        .send(Message::Binary(b"HELLO".to_vec().into()))
        .await
        .unwrap();
    let Some(Ok(Message::Binary(back))) = sender_side.next().await else {
        panic!("the sender gets the listener's answer")
    };
    assert_eq!(&back[..], b"HELLO");
    // The address was single use.
    let again = tokio_tungstenite::connect_async(address.as_str()).await;
    assert!(
        matches!(again, Err(tokio_tungstenite::tungstenite::Error::Http(ref r)) if r.status() == 403)
    );
    // A close on one side reaches the other.
    listener_side.close(None).await.unwrap();
    assert!(matches!(
        sender_side.next().await,
        Some(Ok(Message::Close(_))) | None
    ));
}

#[tokio::test]
async fn a_listener_that_rejects_gives_the_sender_its_status_and_gets_410() {
    let f = start().await;
    let mut control = listen(&f).await;
    let f = Arc::new(f);
    let connecting = tokio::spawn({
        let f = f.clone();
        async move { connect_sender(&f, &f.token("send", "send-key"), None).await }
    });
    let accept = next_accept(&mut control).await;
    let reject = format!(
        "{}&sb-hc-statusCode=403&sb-hc-statusDescription=not%20you",
        accept["address"].as_str().unwrap()
    );
    let r = tokio_tungstenite::connect_async(reject).await;
    assert!(
        matches!(r, Err(tokio_tungstenite::tungstenite::Error::Http(ref resp)) if resp.status() == 410),
        "{r:?}"
    );
    match connecting.await.unwrap() {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => {
            assert_eq!(resp.status(), 403);
            let body = String::from_utf8(resp.body().clone().unwrap_or_default()).unwrap();
            assert!(body.contains("not you"), "{body}");
        }
        other => panic!("expected 403, got {other:?}"),
    }
}

#[tokio::test]
async fn websocket_senders_need_send_rights_a_listener_and_a_valid_rendezvous() {
    let f = start().await;
    let status = |r: Result<Ws, tokio_tungstenite::tungstenite::Error>| match r {
        Err(tokio_tungstenite::tungstenite::Error::Http(resp)) => resp.status().as_u16(),
        Err(e) => panic!("unexpected error {e}"),
        Ok(_) => 101,
    };
    assert_eq!(
        status(connect_sender(&f, &f.token("send", "send-key"), None).await),
        502
    );
    let _control = listen(&f).await;
    assert_eq!(
        status(connect_sender(&f, &f.token("listen", "listen-key"), None).await),
        403
    );
    assert_eq!(
        status(connect_sender(&f, &f.token("send", "wrong"), None).await),
        401
    );
    let forged = format!("ws://{}/$hc/sspr?sb-hc-action=accept&sb-hc-id=42", f.base);
    assert_eq!(
        status(
            tokio_tungstenite::connect_async(forged)
                .await
                .map(|(ws, _)| ws)
        ),
        403
    );
}
