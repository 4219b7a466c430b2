//! Transport: LDAP, LDAPS, StartTLS, many connections, bad input, size limit, shutdown.

use crate::support::*;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use writeback_sim::directory::DirectoryConfig;

#[tokio::test]
async fn binds_work_over_plain_ldap_starttls_and_ldaps() {
    let dc = Dc::start().await;
    for mut l in [dc.plain().await, dc.starttls().await, dc.ldaps().await] {
        let r = l.simple_bind(ADMIN_DN, ADMIN_PW).await.unwrap();
        assert_eq!(r.rc, 0, "{}", r.text);
    }
}

#[tokio::test]
async fn many_concurrent_connections_are_served() {
    let dc = Dc::start().await;
    let url = dc.ldaps_url();
    let mut tasks = Vec::new();
    for _ in 0..40 {
        let url = url.clone();
        tasks.push(tokio::spawn(async move {
            let mut l = connect(&url, false).await;
            l.simple_bind(ALICE, ALICE_PW)
                .await
                .unwrap()
                .success()
                .unwrap();
            let (entries, res) =
                search(&mut l, PROBE_OU, "(sAMAccountName=alice.p)", &["cn"]).await;
            assert_eq!(res.rc, 0);
            entries.len()
        }));
    }
    for t in tasks {
        assert_eq!(t.await.unwrap(), 1);
    }
}

/// Read everything the server sends until it closes the connection (or 5 s pass).
async fn read_until_closed(s: &mut TcpStream) -> (Vec<u8>, bool) {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(Duration::from_secs(5), s.read(&mut buf)).await {
            Ok(Ok(0)) => return (out, true),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Ok(Err(_)) => return (out, true),
            Err(_) => return (out, false),
        }
    }
}

const NOTICE_OID: &[u8] = b"1.3.6.1.4.1.1466.20036";

/// Over the connection cap (over every listener) a new connection is closed at once; the
/// ones being served go on, and a slot that frees up serves the next client.
#[tokio::test]
async fn connections_over_the_cap_are_closed_and_the_served_ones_go_on() {
    let dc = Dc::start_with(DirectoryConfig {
        max_connections: 2,
        ..DirectoryConfig::default()
    })
    .await;
    let mut first = dc.admin().await;
    let _second = dc.admin().await;
    let hp = dc.ldap_url().trim_start_matches("ldap://").to_string();
    let mut third = TcpStream::connect(&hp).await.unwrap();
    let (bytes, closed) = read_until_closed(&mut third).await;
    assert!(
        closed && bytes.is_empty(),
        "the third is closed without a word"
    );
    let ldaps = dc.ldaps_url().trim_start_matches("ldaps://").to_string();
    let mut over_ldaps = TcpStream::connect(&ldaps).await.unwrap();
    assert!(
        read_until_closed(&mut over_ldaps).await.1,
        "the cap covers LDAPS too"
    );
    // The served ones still work.
    let (entries, r) = search(&mut first, PROBE_OU, "(objectClass=user)", &["cn"]).await;
    assert_eq!((r.rc, entries.len()), (0, 2));
    // Once one leaves, the next client is served.
    first.unbind().await.unwrap();
    let mut served = false;
    for _ in 0..100 {
        if let Ok(mut l) = tokio::time::timeout(Duration::from_millis(500), async {
            let mut l = connect(&dc.ldap_url(), false).await;
            l.simple_bind(ADMIN_DN, ADMIN_PW).await?.success()?;
            Ok::<_, ldap3::LdapError>(l)
        })
        .await
        .unwrap_or_else(|_| Err(ldap3::LdapError::EndOfStream))
        {
            let _ = l.unbind().await;
            served = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(served, "a freed slot serves the next client");
}

#[tokio::test]
async fn undecodable_input_gets_a_protocol_error_notice_and_only_that_connection_closes() {
    let dc = Dc::start().await;
    let mut bystander = dc.plain().await;
    bystander
        .simple_bind(ADMIN_DN, ADMIN_PW)
        .await
        .unwrap()
        .success()
        .unwrap();

    let mut raw = TcpStream::connect(dc.running.ldap_addr.unwrap())
        .await
        .unwrap();
    // A well-framed SEQUENCE whose content is not an LDAPMessage.
    raw.write_all(&[0x30, 0x05, 0x04, 0x03, b'b', b'a', b'd'])
        .await
        .unwrap();
    let (bytes, closed) = read_until_closed(&mut raw).await;
    assert!(closed, "the server must close the connection");
    assert!(
        bytes.windows(NOTICE_OID.len()).any(|w| w == NOTICE_OID),
        "notice of disconnection expected"
    );
    // resultCode protocolError (2) is encoded as ENUMERATED 0x0a 0x01 0x02
    assert!(
        bytes.windows(3).any(|w| w == [0x0a, 0x01, 0x02]),
        "protocolError expected: {bytes:02x?}"
    );

    let (entries, res) = search(&mut bystander, DOMAIN, "(sAMAccountName=alice.p)", &["cn"]).await;
    assert_eq!(
        (res.rc, entries.len()),
        (0, 1),
        "other clients keep being served"
    );
}

#[tokio::test]
async fn oversized_messages_are_refused_with_a_notice() {
    let dc = Dc::start_with(DirectoryConfig {
        max_message_bytes: 4096,
        ..DirectoryConfig::default()
    })
    .await;
    let mut raw = TcpStream::connect(dc.running.ldap_addr.unwrap())
        .await
        .unwrap();
    // The start of a 100 kB message: the length alone exceeds the limit.
    let mut msg = vec![0x30, 0x83, 0x01, 0x86, 0xa0];
    msg.extend(std::iter::repeat_n(0u8, 20_000));
    let _ = raw.write_all(&msg).await;
    let (bytes, closed) = read_until_closed(&mut raw).await;
    assert!(closed);
    assert!(bytes.windows(NOTICE_OID.len()).any(|w| w == NOTICE_OID));
    // The listener still works.
    let mut l = dc.plain().await;
    assert_eq!(l.simple_bind(ADMIN_DN, ADMIN_PW).await.unwrap().rc, 0);
}

#[tokio::test]
async fn shutdown_tells_open_connections_and_stops_listening() {
    let dc = Dc::start().await;
    let addr = dc.running.ldap_addr.unwrap();
    let mut raw = TcpStream::connect(addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(50)).await;
    let Dc { running, .. } = dc;
    running.shutdown().await;
    let (bytes, closed) = read_until_closed(&mut raw).await;
    assert!(closed);
    assert!(bytes.windows(NOTICE_OID.len()).any(|w| w == NOTICE_OID));
    // resultCode unavailable (52)
    assert!(bytes.windows(3).any(|w| w == [0x0a, 0x01, 52]));
    assert!(
        TcpStream::connect(addr).await.is_err(),
        "nothing listens after shutdown"
    );
}

#[tokio::test]
async fn starttls_twice_is_an_operations_error() {
    let dc = Dc::start().await;
    let mut l = dc.starttls().await;
    // ldap3 has no second-StartTLS helper; a raw extended op does it.
    let r = l
        .extended(ldap3::exop::Exop {
            name: Some("1.3.6.1.4.1.1466.20037".into()),
            val: None,
        })
        .await
        .unwrap();
    assert_eq!(r.1.rc, 1, "{}", r.1.text);
}

#[tokio::test]
async fn an_idle_connection_is_closed_after_the_idle_timeout() {
    let dc = Dc::start_with(DirectoryConfig {
        idle_timeout: Some(Duration::from_millis(200)),
        ..DirectoryConfig::default()
    })
    .await;
    let mut raw = TcpStream::connect(dc.running.ldap_addr.unwrap())
        .await
        .unwrap();
    let started = std::time::Instant::now();
    let (_, closed) = read_until_closed(&mut raw).await;
    assert!(closed, "closed by the server");
    assert!(started.elapsed() >= Duration::from_millis(200));
}

/// A search whose filter has a hundred thousand terms keeps the CPU for a while; it runs
/// off the async workers, so another client is answered meanwhile (on this test's
/// single-threaded runtime, before the big search ends). Before, both waited.
#[tokio::test]
async fn a_search_with_a_huge_filter_does_not_stall_other_clients() {
    let dc = Dc::start().await;
    let terms: String = (0..100_000).map(|i| format!("(cn=x{i})")).collect();
    let filter = format!("(|{terms})");
    let url = dc.ldap_url();
    let big = tokio::spawn(async move {
        let mut l = connect(&url, false).await;
        l.simple_bind(ALICE, ALICE_PW).await.unwrap();
        let (entries, res) = search(&mut l, "DC=gntech,DC=me", &filter, &["cn"]).await;
        assert_eq!((entries.len(), res.rc), (0, 0));
        std::time::Instant::now()
    });
    // The big request is on its way (about 1 MB) and being evaluated.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut l = dc.plain().await;
    l.simple_bind(ALICE, ALICE_PW).await.unwrap();
    let (entries, res) = search(&mut l, PROBE_OU, "(sAMAccountName=alice.p)", &["cn"]).await;
    let answered = std::time::Instant::now();
    assert_eq!((entries.len(), res.rc), (1, 0));
    let big_done = big.await.unwrap();
    assert!(
        answered < big_done,
        "the other client waited for the big search"
    );
}
