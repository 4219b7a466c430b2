//! Provisioning of a new forest, as `samba-tool domain provision` or dcpromo leaves it:
//! the domain object with AD's default password and lockout policy, CN=Users,
//! CN=Computers, OU=Domain Controllers with the DC's computer account, CN=Configuration
//! (a separate naming context) with CN=Schema and CN=Services, the built-in accounts and
//! groups with their well-known RIDs, and — unless turned off — the Entra Connect AD DS
//! connector account (MSOL_…) with the rights the wizard grants when run with Enterprise
//! Admin credentials (`reference/entra-writeback.md` §1 "AD permissions").

use super::access::Right;
use super::ad_error::AdError;
use super::add::AddRequest;
use super::password_policy::encode_unicode_pwd;
use super::{ids, rid, Directory, OpContext, Principal, State};
use chrono::{DateTime, Utc};

#[derive(Debug, thiserror::Error)]
pub enum ProvisionError {
    #[error("forest name `{0}` is not a DNS name such as gntech.me")]
    BadForest(String),
    #[error("connector account DN `{0}` is not a DN under an existing container")]
    BadConnector(String),
    #[error("provisioning {dn} failed: {source}")]
    Entry { dn: String, source: AdError },
}

/// The rights the Entra Connect wizard grants the connector account for password writeback.
pub const CONNECTOR_RIGHTS: &[Right] = &[
    Right::ResetPassword,
    Right::ChangePassword,
    Right::WritePwdLastSet,
    Right::WriteLockoutTime,
    Right::UnexpirePassword,
];

type Attrs<'a> = &'a [(&'a str, &'a [&'a str])];

fn sys_add(
    st: &mut State,
    now: DateTime<Utc>,
    dn: &str,
    attrs: Attrs<'_>,
    password: Option<&str>,
) -> Result<(), ProvisionError> {
    let mut req = AddRequest {
        dn: dn.to_string(),
        attrs: attrs
            .iter()
            .map(|(n, vs)| {
                (
                    n.to_string(),
                    vs.iter().map(|v| v.as_bytes().to_vec()).collect(),
                )
            })
            .collect(),
    };
    if let Some(pw) = password {
        req.attrs
            .push(("unicodePwd".into(), vec![encode_unicode_pwd(pw)]));
    }
    sys_add_request(st, now, req)
}

/// Add as the system over TLS (what provisioning writes), values given as bytes.
fn sys_add_request(
    st: &mut State,
    now: DateTime<Utc>,
    req: AddRequest,
) -> Result<(), ProvisionError> {
    let dn = req.dn.clone();
    let ctx = OpContext {
        tls: true,
        ..OpContext::default()
    };
    st.add(&Principal::System, &ctx, now, req)
        .map(|_| ())
        .map_err(|source| ProvisionError::Entry { dn, source })
}

pub fn provision(dir: &Directory) -> Result<(), ProvisionError> {
    let cfg = dir.config().clone();
    let now = dir.now();
    let mut st = dir.write();
    let d = st.domain.clone();
    let valid = |l: &str| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-');
    if !d.dns_name.contains('.') || !d.dns_name.split('.').all(valid) {
        return Err(ProvisionError::BadForest(cfg.forest.clone()));
    }
    let domain = d.dn.to_string();
    let config = d.config_dn.to_string();
    let sid = |r: u32| ids::sid_text(&d.sid(r)).unwrap_or_default();
    let domain_sid = ids::sid_text(&ids::sid_bytes(5, &d.sid_prefix)).unwrap_or_default();

    // The default containers as clients find them, `<WKGUID=…,DC=…>` (MS-ADTS 6.1.1.4),
    // for those this domain has; the GUIDs as a Samba or Windows DC lists them.
    let well_known = [
        ("A9D1CA15768811D1ADED00C04FD8D5CD", "CN=Users"),
        ("AA312825768811D1ADED00C04FD8D5CD", "CN=Computers"),
        ("A361B2FFFFD211D1AA4B00C04FD7D83A", "OU=Domain Controllers"),
    ]
    .map(|(guid, rdn)| format!("B:32:{guid}:{rdn},{domain}"));
    sys_add(
        &mut st,
        now,
        &domain,
        &[
            ("objectClass", &["top", "domain", "domainDNS"]),
            ("objectSid", &[&domain_sid]),
            ("instanceType", &["5"]),
            ("minPwdLength", &["7"]),
            ("pwdProperties", &["1"]),
            ("pwdHistoryLength", &["24"]),
            ("minPwdAge", &["-864000000000"]),
            ("maxPwdAge", &["-36288000000000"]),
            ("lockoutThreshold", &["0"]),
            ("lockoutDuration", &["-18000000000"]),
            ("lockOutObservationWindow", &["-18000000000"]),
            ("msDS-Behavior-Version", &["7"]),
            ("isCriticalSystemObject", &["TRUE"]),
            (
                "wellKnownObjects",
                &well_known.each_ref().map(String::as_str),
            ),
        ],
        None,
    )?;
    let users = format!("CN=Users,{domain}");
    let containers: [(&str, Attrs<'_>); 5] = [
        (
            &users,
            &[
                ("objectClass", &["container"]),
                (
                    "description",
                    &["Default container for upgraded user accounts"],
                ),
                ("showInAdvancedViewOnly", &["FALSE"]),
                ("isCriticalSystemObject", &["TRUE"]),
            ],
        ),
        (
            &format!("CN=Computers,{domain}"),
            &[
                ("objectClass", &["container"]),
                (
                    "description",
                    &["Default container for upgraded computer accounts"],
                ),
                ("showInAdvancedViewOnly", &["FALSE"]),
                ("isCriticalSystemObject", &["TRUE"]),
            ],
        ),
        (
            &format!("OU=Domain Controllers,{domain}"),
            &[
                ("objectClass", &["organizationalUnit"]),
                ("description", &["Default container for domain controllers"]),
                ("showInAdvancedViewOnly", &["FALSE"]),
                ("isCriticalSystemObject", &["TRUE"]),
            ],
        ),
        (
            &config,
            &[
                ("objectClass", &["configuration"]),
                ("instanceType", &["5"]),
            ],
        ),
        (
            &format!("CN=Schema,{config}"),
            &[("objectClass", &["dMD"]), ("instanceType", &["5"])],
        ),
    ];
    for (dn, attrs) in containers {
        sys_add(&mut st, now, dn, attrs, None)?;
    }
    sys_add(
        &mut st,
        now,
        &format!("CN=Services,{config}"),
        &[("objectClass", &["container"])],
        None,
    )?;
    // The subschema entry RootDSE's subschemaSubentry names. Its objectGUID comes from the
    // seed, not the directory's RNG, so it does not move the GUIDs of later objects.
    let aggregate = format!("CN=Aggregate,CN=Schema,{config}");
    let guid = {
        use sha2::Digest;
        let h = sha2::Sha256::digest(format!("{aggregate}#{}", cfg.seed));
        h[..16].to_vec()
    };
    sys_add_request(
        &mut st,
        now,
        AddRequest {
            dn: aggregate,
            attrs: vec![
                ("objectClass".into(), vec![b"subSchema".to_vec()]),
                ("objectGUID".into(), vec![guid]),
                // as measured on the Samba DC
                ("systemFlags".into(), vec![b"134217728".to_vec()]),
                ("showInAdvancedViewOnly".into(), vec![b"FALSE".to_vec()]),
            ],
        },
    )?;

    let account = |name: &str| format!("CN={name},{users}");
    sys_add(
        &mut st,
        now,
        &account("Administrator"),
        &[
            ("objectClass", &["user"]),
            ("sAMAccountName", &["Administrator"]),
            ("objectSid", &[&sid(rid::ADMINISTRATOR)]),
            ("userAccountControl", &["66048"]),
            (
                "description",
                &["Built-in account for administering the computer/domain"],
            ),
            ("adminCount", &["1"]),
        ],
        Some(&cfg.admin_password),
    )?;
    sys_add(
        &mut st,
        now,
        &account("Guest"),
        &[
            ("objectClass", &["user"]),
            ("sAMAccountName", &["Guest"]),
            ("objectSid", &[&sid(rid::GUEST)]),
            ("userAccountControl", &["66082"]),
            (
                "description",
                &["Built-in account for guest access to the computer/domain"],
            ),
        ],
        None,
    )?;
    sys_add(
        &mut st,
        now,
        &account("krbtgt"),
        &[
            ("objectClass", &["user"]),
            ("sAMAccountName", &["krbtgt"]),
            ("objectSid", &[&sid(rid::KRBTGT)]),
            ("userAccountControl", &["514"]),
            ("description", &["Key Distribution Center Service Account"]),
        ],
        None,
    )?;
    let admin_dn = account("Administrator");
    let groups: [(&str, u32, &str, bool); 7] = [
        ("Domain Admins", rid::DOMAIN_ADMINS, "-2147483646", true),
        ("Domain Users", rid::DOMAIN_USERS, "-2147483646", false),
        ("Domain Guests", rid::DOMAIN_GUESTS, "-2147483646", false),
        (
            "Domain Computers",
            rid::DOMAIN_COMPUTERS,
            "-2147483646",
            false,
        ),
        (
            "Domain Controllers",
            rid::DOMAIN_CONTROLLERS,
            "-2147483646",
            false,
        ),
        ("Schema Admins", rid::SCHEMA_ADMINS, "-2147483640", true),
        (
            "Enterprise Admins",
            rid::ENTERPRISE_ADMINS,
            "-2147483640",
            true,
        ),
    ];
    for (name, r, gt, admin_member) in groups {
        let s = sid(r);
        let s = [s.as_str()];
        let names = [name];
        let gts = [gt];
        let members: &[&str] = if admin_member { &[&admin_dn] } else { &[] };
        let mut attrs: Vec<(&str, &[&str])> = vec![
            ("objectClass", &["group"]),
            ("sAMAccountName", &names),
            ("objectSid", &s),
            ("groupType", &gts),
        ];
        if !members.is_empty() {
            attrs.push(("member", members));
        }
        sys_add(&mut st, now, &account(name), &attrs, None)?;
    }
    let host = d
        .dc_host
        .split('.')
        .next()
        .unwrap_or("dc1")
        .to_ascii_uppercase();
    sys_add(
        &mut st,
        now,
        &format!("CN={host},OU=Domain Controllers,{domain}"),
        &[
            ("objectClass", &["computer"]),
            ("sAMAccountName", &[&format!("{host}$")]),
            ("objectSid", &[&sid(1000)]),
            ("userAccountControl", &["532480"]),
            ("primaryGroupID", &["516"]),
            ("dNSHostName", &[&d.dc_host]),
            ("operatingSystem", &["Windows Server 2022 Datacenter"]),
            ("operatingSystemVersion", &["10.0 (20348)"]),
        ],
        None,
    )?;

    if cfg.connector {
        let hex = st.random_hex(12).to_ascii_lowercase();
        let (sam, dn) = match &cfg.connector_dn {
            Some(dn) => {
                let parsed = super::dn::Dn::parse(dn)
                    .map_err(|_| ProvisionError::BadConnector(dn.clone()))?;
                let cn = parsed
                    .rdn()
                    .map(|r| r.value.clone())
                    .ok_or_else(|| ProvisionError::BadConnector(dn.clone()))?;
                (cn.chars().take(20).collect::<String>(), parsed.to_string())
            }
            None => (format!("MSOL_{hex}"), account(&format!("MSOL_{hex}"))),
        };
        let password = match &cfg.connector_password {
            Some(p) => p.clone(),
            None => generated_password(&mut st),
        };
        let description = format!(
            "Account created by Microsoft Azure Active Directory Connect with installation identifier {hex} running on computer AADCONNECT configured to synchronize to tenant {}. This account must have directory replication permissions in the local Active Directory and write permission on certain attributes to enable Hybrid Deployment.",
            d.dns_name
        );
        sys_add(
            &mut st,
            now,
            &dn,
            &[
                ("objectClass", &["user"]),
                ("sAMAccountName", &[&sam]),
                ("userAccountControl", &["66048"]),
                ("description", &[&description]),
            ],
            Some(&password),
        )?;
        st.connector = Some(dn);
        st.connector_password = Some(password);
    }
    drop(st);
    if let Some(dn) = dir.connector_dn() {
        for r in CONNECTOR_RIGHTS {
            dir.grant(&dn, *r, &domain)
                .map_err(|source| ProvisionError::Entry {
                    dn: dn.clone(),
                    source,
                })?;
        }
    }
    Ok(())
}

/// A password that meets the default policy, from the seeded RNG.
fn generated_password(st: &mut State) -> String {
    format!(
        "Aa1!{}x{}",
        st.random_hex(12),
        st.random_hex(8).to_ascii_lowercase()
    )
}
