//! `world.tenant.generate: { users, devices, groups }`: seeded fake data (the `fake`
//! crate), for scenarios that rehearse a tenant bigger than anyone wants to list. The same
//! seed gives the same names, ids and memberships on every run.
//!
//! Users are synced: each gets an AD account in `OU=Generated Users,<domain>` (password
//! [`GENERATED_PASSWORD`], which no generated name can make too simple) and a tenant user
//! anchored to it. Devices are
//! hybrid-joined Windows machines owned by generated users; groups alternate Microsoft 365
//! and security, with a few generated members each. What it leaves out: cloud-only users
//! and nested groups (list those explicitly).

use super::model::{AttrValue, DeviceSpec, GenerateSpec, GroupSpec, UserSpec};
use fake::faker::job::en::Field;
use fake::faker::name::en::{FirstName, LastName};
use fake::Fake;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};

/// The OU generated accounts live in, under the domain.
pub const GENERATED_OU: &str = "OU=Generated Users";

/// The password of every generated AD account. Of every category AD counts, and with no
/// three letters or digits in a row, so that no token of a generated name (AD's
/// complexity rule refuses a password holding a 3+ character token of the account's
/// displayName or its sAMAccountName) can be in it, whatever the seed.
pub const GENERATED_PASSWORD: &str = "W9#b7$G5!n3%P2&k";

/// What `generate` adds to the world.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Generated {
    /// AD entries, in the order they must be added (the OU first).
    pub entries: Vec<BTreeMap<String, AttrValue>>,
    pub users: Vec<UserSpec>,
    pub devices: Vec<DeviceSpec>,
    pub groups: Vec<GroupSpec>,
}

/// Letters only, lower case, for sAMAccountName and UPN parts.
fn slug(s: &str) -> String {
    s.chars()
        .filter(char::is_ascii_alphabetic)
        .map(|c| c.to_ascii_lowercase())
        .collect()
}

fn text(s: impl Into<String>) -> AttrValue {
    AttrValue::Text(s.into())
}

/// Expand `spec` for a world whose domain is `domain` (gntech.me) with base DN `base_dn`.
/// `taken` are user principal names and group names the scenario lists itself.
pub fn expand(
    spec: &GenerateSpec,
    seed: u64,
    domain: &str,
    base_dn: &str,
    taken: &BTreeSet<String>,
) -> Generated {
    // Its own stream, so adding generated data does not move the world's GUIDs and SIDs.
    let mut rng = StdRng::seed_from_u64(seed ^ 0x9e4e_7a7e_da7a);
    let mut out = Generated::default();
    let ou = format!("{GENERATED_OU},{base_dn}");
    if spec.users > 0 {
        out.entries.push(BTreeMap::from([
            ("dn".to_string(), text(ou.clone())),
            ("objectClass".to_string(), text("organizationalUnit")),
        ]));
    }
    let mut used: BTreeSet<String> = taken.clone();
    for _ in 0..spec.users {
        let first: String = FirstName().fake_with_rng(&mut rng);
        let last: String = LastName().fake_with_rng(&mut rng);
        let stem = format!("{}.{}", slug(&first), slug(&last));
        let mut sam = stem.chars().take(20).collect::<String>();
        let mut n = 1;
        while used.contains(&format!("{sam}@{domain}")) {
            n += 1;
            let suffix = n.to_string();
            sam = format!(
                "{}{suffix}",
                stem.chars().take(20 - suffix.len()).collect::<String>()
            );
        }
        let upn = format!("{sam}@{domain}");
        used.insert(upn.clone());
        // The CN carries the number too, so two people with one name are two entries.
        let cn = if n > 1 {
            format!("{first} {last} {n}")
        } else {
            format!("{first} {last}")
        };
        let dn = format!("CN={},{ou}", cn.replace(',', "\\,"));
        out.entries.push(BTreeMap::from([
            ("dn".to_string(), text(dn.clone())),
            ("objectClass".to_string(), text("user")),
            ("sAMAccountName".to_string(), text(sam.clone())),
            ("userPrincipalName".to_string(), text(upn.clone())),
            ("givenName".to_string(), text(first)),
            ("sn".to_string(), text(last)),
            ("displayName".to_string(), text(cn)),
            ("mail".to_string(), text(upn.clone())),
            ("password".to_string(), text(GENERATED_PASSWORD)),
        ]));
        out.users.push(UserSpec {
            upn,
            synced_from: Some(dn),
            sspr_registered: true,
            groups: Vec::new(),
        });
    }
    let owners: Vec<String> = out.users.iter().map(|u| u.upn.clone()).collect();
    let mut names = BTreeSet::new();
    for _ in 0..spec.devices {
        let mut name;
        loop {
            let suffix: String = (0..7)
                .map(|_| {
                    let i = rng.gen_range(0..36u8);
                    char::from(if i < 10 { b'0' + i } else { b'A' + i - 10 })
                })
                .collect();
            name = format!("DESKTOP-{suffix}");
            if names.insert(name.clone()) {
                break;
            }
        }
        let owner = (!owners.is_empty()).then(|| owners[rng.gen_range(0..owners.len())].clone());
        out.devices.push(DeviceSpec {
            name,
            owner,
            os: Some("Windows".into()),
            os_version: Some("10.0.26100".into()),
            trust_type: Some("ServerAd".into()),
            enabled: None,
            whfb: None,
        });
    }
    let mut group_names: BTreeSet<String> = taken.clone();
    for i in 0..spec.groups {
        let field: String = Field().fake_with_rng(&mut rng);
        let mut name = field.clone();
        let mut n = 1;
        while group_names.contains(&name) {
            n += 1;
            name = format!("{field} {n}");
        }
        group_names.insert(name.clone());
        let size = if owners.is_empty() {
            0
        } else {
            rng.gen_range(1..=owners.len().min(5))
        };
        let mut members = BTreeSet::new();
        while members.len() < size {
            members.insert(owners[rng.gen_range(0..owners.len())].clone());
        }
        out.groups.push(GroupSpec {
            name,
            kind: Some(if i % 2 == 0 { "m365" } else { "security" }.into()),
            members: members.into_iter().collect(),
            writeback: None,
            on_prem_group_type: None,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec() -> GenerateSpec {
        GenerateSpec {
            users: 40,
            devices: 20,
            groups: 6,
        }
    }

    #[test]
    fn the_same_seed_gives_the_same_tenant_and_another_seed_another() {
        let taken = BTreeSet::new();
        let a = expand(&spec(), 7, "gntech.me", "DC=gntech,DC=me", &taken);
        let b = expand(&spec(), 7, "gntech.me", "DC=gntech,DC=me", &taken);
        let c = expand(&spec(), 8, "gntech.me", "DC=gntech,DC=me", &taken);
        assert_eq!(a, b);
        assert_ne!(a.users, c.users);
        assert_eq!(a.users.len(), 40);
        assert_eq!(a.devices.len(), 20);
        assert_eq!(a.groups.len(), 6);
        assert_eq!(a.entries.len(), 41, "the OU and one account per user");
    }

    #[test]
    fn names_are_unique_and_references_resolve() {
        let taken = BTreeSet::from(["Marketing".to_string()]);
        let g = expand(&spec(), 3, "gntech.me", "DC=gntech,DC=me", &taken);
        let upns: BTreeSet<&str> = g.users.iter().map(|u| u.upn.as_str()).collect();
        assert_eq!(upns.len(), g.users.len());
        assert!(upns.iter().all(|u| u.ends_with("@gntech.me")));
        let devices: BTreeSet<&str> = g.devices.iter().map(|d| d.name.as_str()).collect();
        assert_eq!(devices.len(), g.devices.len());
        let groups: BTreeSet<&str> = g.groups.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(groups.len(), g.groups.len());
        assert!(!groups.contains("Marketing"));
        for d in &g.devices {
            assert!(upns.contains(d.owner.as_deref().unwrap()));
        }
        for x in &g.groups {
            assert!(!x.members.is_empty());
            assert!(x.members.iter().all(|m| upns.contains(m.as_str())));
        }
        for u in &g.users {
            let dn = u.synced_from.as_deref().unwrap();
            assert!(dn.ends_with(",OU=Generated Users,DC=gntech,DC=me"), "{dn}");
            assert!(crate::world::ad::parse_dn(dn).is_ok(), "{dn}");
        }
    }
    /// Every generated account's password passes the domain's complexity rule against its
    /// own names, whatever the seed and size (a name that is a token of the password would
    /// make the whole tenant fail to load).
    #[test]
    fn every_generated_password_passes_the_domains_policy_for_its_account() {
        use crate::directory::dn::Dn;
        use crate::directory::password_policy::{check, Candidate, PasswordPolicy};
        use crate::directory::store::Entry;
        let policy =
            PasswordPolicy::from_domain(&Entry::new(Dn::parse("DC=gntech,DC=me").unwrap()));
        let taken = BTreeSet::new();
        for (seed, users) in [(0, 5000), (1, 5000), (2, 1000), (3, 1000), (4, 1000)]
            .into_iter()
            .chain((5..40).map(|s| (s, 200)))
        {
            let spec = GenerateSpec {
                users,
                devices: 0,
                groups: 0,
            };
            let g = expand(&spec, seed, "gntech.me", "DC=gntech,DC=me", &taken);
            for e in g.entries.iter().skip(1) {
                let mut account = Entry::new(Dn::parse(&e["dn"].texts()[0]).unwrap());
                for attr in ["sAMAccountName", "displayName"] {
                    account.set_str(attr, &e[attr].texts()[0]);
                }
                let password = e["password"].texts()[0].clone();
                let c = Candidate {
                    password: &password,
                    account: &account,
                    enforce_history: false,
                    enforce_min_age: false,
                    now: chrono::Utc::now(),
                };
                assert!(
                    check(&policy, &c).is_ok(),
                    "seed {seed}, {} users: {} ({}) is refused its password",
                    users,
                    e["displayName"].texts()[0],
                    e["sAMAccountName"].texts()[0],
                );
            }
        }
    }
}
