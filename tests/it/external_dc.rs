//! A real domain controller as a world's directory (`writeback_sim::world::external`):
//! provisioned over LDAP as its administrator — the fixture forest, a connector account, a
//! right as an ACE in nTSecurityDescriptor, a password policy — used, and left as it was
//! found. Runs when `WBSIM_DC_URL` names a DC (`.ci/run` starts Samba AD DC with
//! `../shared/tools/samba-dc` and sets it); `WBSIM_DC_ADMIN` and `WBSIM_DC_PASSWORD` default
//! to that tool's; `WBSIM_DC_CA` (a CA file) verifies the DC's certificate.

use std::collections::BTreeMap;
use writeback_sim::world::ad::{NewEntry, PasswordPolicy};
use writeback_sim::world::external::{DirectoryTarget, ExternalDc, Seen};
use writeback_sim::world::Right;

const CONNECTOR: &str = "CN=MSOL_wbsimtest,CN=Users,DC=gntech,DC=me";
const CONNECTOR_PASSWORD: &str = "Conn3ctor!Pass#2026";
const ALICE: &str = "CN=Alice Smith,OU=Staff,DC=gntech,DC=me";

/// One test at a time on the DC: each takes its census and restores from it.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// The DC the environment names, or `None` (the test then says so and passes).
fn target() -> Option<DirectoryTarget> {
    let url = std::env::var("WBSIM_DC_URL").ok()?;
    // Samba's own certificate names the DC in its subject only, with no subjectAltName,
    // which rustls refuses whatever the CA: without a CA file the test does not verify.
    let ca_pem = std::env::var("WBSIM_DC_CA")
        .ok()
        .and_then(|f| std::fs::read_to_string(f).ok());
    Some(DirectoryTarget {
        url,
        admin_dn: std::env::var("WBSIM_DC_ADMIN")
            .unwrap_or_else(|_| "CN=Administrator,CN=Users,DC=gntech,DC=me".into()),
        admin_password: std::env::var("WBSIM_DC_PASSWORD")
            .unwrap_or_else(|_| "Adm1n!Pass2026".into()),
        insecure: ca_pem.is_none(),
        ca_pem,
        prepare_schema: true,
    })
}

/// An entry as a restore must leave it: the attributes it keeps, and the explicit DACL.
type Picture = BTreeMap<String, (BTreeMap<String, Vec<Vec<u8>>>, Option<Vec<u8>>)>;

/// The domain as a comparable map, by DN.
fn picture(entries: &[Seen]) -> Picture {
    entries
        .iter()
        .map(|s| {
            let attrs = s
                .comparable()
                .into_iter()
                .map(|(k, vs)| (k.to_string(), vs.into_iter().map(<[u8]>::to_vec).collect()))
                .collect();
            (s.dn.to_ascii_lowercase(), (attrs, s.dacl.clone()))
        })
        .collect()
}

/// What differs between two pictures: entries gone or new, attributes and DACLs changed.
fn differences(before: &Picture, after: &Picture) -> Vec<String> {
    let mut out = Vec::new();
    for (dn, (attrs, dacl)) in before {
        let Some((now, now_dacl)) = after.get(dn) else {
            out.push(format!("{dn}: gone"));
            continue;
        };
        for name in attrs.keys().chain(now.keys()) {
            if attrs.get(name) != now.get(name) {
                out.push(format!("{dn}: {name}"));
            }
        }
        if dacl != now_dacl {
            out.push(format!("{dn}: the explicit DACL"));
        }
    }
    out.extend(
        after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .map(|k| format!("{k}: new")),
    );
    out.dedup();
    out
}

/// A reset of Alice's password as the connector account: the LDAP result code.
async fn reset_as_connector(t: &DirectoryTarget, password: &str) -> u32 {
    let connector = DirectoryTarget {
        admin_dn: CONNECTOR.into(),
        admin_password: CONNECTOR_PASSWORD.into(),
        ..t.clone()
    };
    let mut dc = ExternalDc::connect(&connector)
        .await
        .expect("the connector binds");
    let code = dc
        .reset_password(ALICE, password)
        .await
        .map_or_else(|r| r.code as u32, |()| 0);
    dc.close().await;
    code
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_real_dc_is_provisioned_over_ldap_and_left_as_it_was_found() {
    let Some(t) = target() else {
        eprintln!("WBSIM_DC_URL is not set: no DC to provision (CI starts Samba for this test)");
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let mut dc = ExternalDc::connect(&t).await.unwrap();
    let before = picture(&dc.dump().await.unwrap());
    assert_eq!(dc.domain(), "DC=gntech,DC=me");

    // The fixture forest, a connector account, its right, a stricter policy.
    let text = std::fs::read_to_string("fixtures/gntech.me.ldif").unwrap();
    assert_eq!(dc.import_ldif(&text, "gntech.me.ldif").await.unwrap(), 37);
    dc.add(NewEntry {
        dn: CONNECTOR.into(),
        attrs: vec![
            ("objectClass".into(), vec!["user".into()]),
            ("sAMAccountName".into(), vec!["MSOL_wbsimtest".into()]),
            ("userAccountControl".into(), vec!["512".into()]),
        ],
        password: Some(CONNECTOR_PASSWORD.into()),
    })
    .await
    .unwrap();
    let domain = dc.domain().to_string();
    dc.grant(Right::ResetPassword, &domain, CONNECTOR, false)
        .await
        .unwrap();
    dc.set_password_policy(&PasswordPolicy {
        min_length: Some(10),
        ..PasswordPolicy::default()
    })
    .await
    .unwrap();

    // The right works as AD evaluates it: the connector resets Alice's password...
    assert_eq!(reset_as_connector(&t, "Reset#By#Connector1").await, 0);
    // ...a password under the new minimum length is refused (constraintViolation)...
    assert_eq!(reset_as_connector(&t, "Short#1a").await, 19);
    // ...and without the ACE, insufficientAccessRights.
    assert!(dc
        .revoke(Right::ResetPassword, &domain, CONNECTOR)
        .await
        .unwrap());
    assert!(!dc
        .revoke(Right::ResetPassword, &domain, CONNECTOR)
        .await
        .unwrap());
    assert_eq!(reset_as_connector(&t, "Reset#By#Connector2").await, 50);
    dc.grant(Right::ResetPassword, &domain, CONNECTOR, false)
        .await
        .unwrap();

    // Restore: everything created goes, the domain object's policy and DACL come back.
    let restored = dc.restore().await.unwrap();
    assert!(restored.is_clean(), "{restored:?}");
    assert_eq!(restored.deleted.len(), 38, "{:?}", restored.deleted);
    assert!(
        restored
            .reverted
            .iter()
            .any(|dn| dn.eq_ignore_ascii_case(&domain)),
        "{restored:?}"
    );
    let after = picture(&dc.dump().await.unwrap());
    let changed = differences(&before, &after);
    assert!(changed.is_empty(), "not as found: {changed:?}");
    dc.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scenario_replayed_on_a_real_dc_passes_and_leaves_it_as_it_was_found() {
    let Some(t) = target() else {
        eprintln!("WBSIM_DC_URL is not set: no DC to replay on (CI starts Samba for this test)");
        return;
    };
    let _one = ONE_AT_A_TIME.lock().await;
    let mut dc = ExternalDc::connect(&t).await.unwrap();
    let before = picture(&dc.dump().await.unwrap());
    // The article's "Access denied": the connector's missing Reset Password right gives
    // SSPR_0029 and event 33004 on a real DC as on the embedded AD, then the fix works.
    let file = std::path::Path::new("scenarios/password/access-denied.yaml");
    // `run --compare`: on the embedded AD and on the DC, the AD parts the same.
    let mode = writeback_sim::scenario::suite::SnapshotMode { ci: true };
    let checked = writeback_sim::scenario::suite::run_and_check(file, mode, Some(&t), true).await;
    assert!(checked.problems().is_empty(), "{:?}", checked.problems());
    assert_eq!(checked.compared, Some(vec![]), "the AD parts differ");
    assert!(checked.note.is_none());
    let report = checked.rendered.unwrap();
    assert!(report.contains("id: 33004"), "{report}");
    let after = picture(&dc.dump().await.unwrap());
    let changed = differences(&before, &after);
    assert!(changed.is_empty(), "not as found: {changed:?}");
    dc.close().await;
}
