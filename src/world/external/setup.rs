//! A world opening a real DC: the session and its census, a check that the DC serves the
//! world's forest, the AD DS connector account with the wizard's rights (ACEs), the
//! minimum password age that makes freshly set fixture passwords behave as a month-old
//! ones do on the embedded AD.

use super::{key, AdRefusal, DirectoryTarget, ExternalDc, ExternalError};

/// A world's real DC: the session (one operation at a time), whom it was opened as, and
/// the connector account the world made there.
pub(crate) struct External {
    pub(crate) dc: tokio::sync::Mutex<ExternalDc>,
    pub(crate) target: DirectoryTarget,
    pub(crate) connector_dn: String,
}

/// What the rest of the world needs to reach the DC: its URL, the connector account, how to
/// trust its certificate.
pub(crate) struct Access {
    pub(crate) url: String,
    pub(crate) connector_dn: String,
    pub(crate) connector_password: String,
    pub(crate) insecure: bool,
    pub(crate) ca_pem: Option<String>,
}

/// Open the world's session to `target` (after its census), check it is the forest the
/// world expects, and make the AD DS connector account there with the rights the wizard
/// gives it (as ACEs on the domain), as Entra Connect's express setup does.
pub(crate) async fn open(
    target: &DirectoryTarget,
    forest: &str,
    rng: &mut impl rand::RngCore,
) -> Result<(External, Access), ExternalError> {
    let mut dc = ExternalDc::connect(target).await?;
    let want = crate::directory::domain::DomainInfo::new(forest)
        .dn
        .to_string();
    if key(dc.domain()) != key(&want) {
        return Err(ExternalError::Ldap {
            what: format!("the directory at {}", target.url),
            why: format!(
                "its domain is {}, the world's forest is {forest} ({want}): give the scenario `world.directory.forest` of that domain, or point at a DC of {forest}",
                dc.domain()
            ),
        });
    }
    let mut b = [0u8; 6];
    rng.fill_bytes(&mut b);
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    let mut p = [0u8; 18];
    rng.fill_bytes(&mut p);
    use base64::Engine as _;
    let password = format!(
        "Msol#{}9a",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(p)
    );
    let name = format!("MSOL_{hex}");
    let connector_dn = format!("CN={name},CN=Users,{}", dc.domain());
    let made = |what: &str, r: AdRefusal| ExternalError::Ldap {
        what: format!("{what} {connector_dn}"),
        why: r.to_string(),
    };
    dc.add(crate::world::ad::NewEntry {
        dn: connector_dn.clone(),
        attrs: vec![
            ("objectClass".into(), vec!["user".into()]),
            ("sAMAccountName".into(), vec![name.clone()]),
            ("userAccountControl".into(), vec!["66048".into()]),
            (
                "description".into(),
                vec!["Account created by writeback-sim (the AD DS connector account)".into()],
            ),
        ],
        password: Some(password.clone()),
    })
    .await
    .map_err(|r| made("creating the connector account", r))?;
    let domain = dc.domain().to_string();
    for right in crate::directory::forest::CONNECTOR_RIGHTS {
        dc.grant(*right, &domain, &connector_dn, false)
            .await
            .map_err(|r| made(&format!("granting {right} on {domain} to"), r))?;
    }
    // The fixture accounts' passwords are set now on a real DC; on the embedded AD they
    // are a month old. So that a change right after setup is judged alike (the domain's
    // one-day minimum age would refuse it here only), the minimum age starts at 0; a
    // scenario's own password policy sets it again. Restored afterwards with the rest.
    dc.set_password_policy(&crate::world::ad::PasswordPolicy {
        min_age: Some(std::time::Duration::ZERO),
        ..crate::world::ad::PasswordPolicy::default()
    })
    .await
    .map_err(|r| ExternalError::Ldap {
        what: format!("setting minPwdAge on {domain}"),
        why: r.to_string(),
    })?;
    let access = Access {
        url: target.url.clone(),
        connector_dn: connector_dn.clone(),
        connector_password: password,
        insecure: target.insecure,
        ca_pem: target.ca_pem.clone(),
    };
    Ok((
        External {
            dc: tokio::sync::Mutex::new(dc),
            target: target.clone(),
            connector_dn,
        },
        access,
    ))
}
