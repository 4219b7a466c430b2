//! What more than one benchmark sets up: a world whose AD holds `n` enabled accounts
//! (`OU=Bench`), each a synced, SSPR-registered user of the tenant, with the domain's
//! minimum password age and history at 0 (as the writeback tutorial advises for testing,
//! so an account can be reset again at once), password writeback enabled and the engine
//! running.

use std::time::Duration;
use writeback_sim::world::ad::{NewEntry, PasswordPolicy};
use writeback_sim::world::{Choices, UserSpec, World, WorldOptions};

/// The UPN of bench account `i`.
pub fn upn(i: usize) -> String {
    format!("bench{i:03}@gntech.me")
}

/// The DN of bench account `i` in a world whose domain is `domain`.
pub fn dn(domain: &str, i: usize) -> String {
    format!("CN=Bench {i:03},OU=Bench,{domain}")
}

pub async fn accounts_world(n: usize, options: WorldOptions) -> World {
    let mut w = World::start(options).await.expect("world");
    let domain = w.domain_dn();
    w.ad_add(NewEntry {
        dn: format!("OU=Bench,{domain}"),
        attrs: vec![("objectClass".into(), vec!["organizationalUnit".into()])],
        password: None,
    })
    .await
    .expect("OU");
    for i in 0..n {
        let dn = dn(&domain, i);
        w.ad_add(NewEntry {
            dn: dn.clone(),
            attrs: vec![
                ("objectClass".into(), vec!["user".into()]),
                ("sAMAccountName".into(), vec![format!("bench{i:03}")]),
                ("userPrincipalName".into(), vec![upn(i)]),
                ("userAccountControl".into(), vec!["512".into()]),
            ],
            password: Some("Initial#Pass2026".into()),
        })
        .await
        .expect("account");
        w.add_user(UserSpec {
            upn: upn(i),
            synced_from: Some(dn),
            sspr_registered: true,
            ..UserSpec::default()
        })
        .await
        .expect("user");
    }
    w.set_password_policy(&PasswordPolicy {
        min_age: Some(Duration::ZERO),
        history: Some(0),
        ..PasswordPolicy::default()
    })
    .await
    .expect("policy");
    w.begin();
    w.start_engine().await;
    w.configure(Choices {
        password_writeback: Some(true),
        ..Choices::default()
    })
    .await
    .expect("configure");
    w
}
