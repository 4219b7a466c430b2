//! Searches (`ad-behaviour.md` §11): matching rules, substrings, ordering, categories,
//! paging, size limits, scopes.

use crate::support::*;
use ldap3::adapters::{Adapter, EntriesOnly, PagedResults};
use ldap3::controls::{ControlType, PagedResults as PagedControl};
use ldap3::{Ldap, Scope, SearchEntry};

/// OU=Probe with 12 users p00..p11; p00, p03, p06, p09 disabled.
async fn twelve(dc: &Dc) -> Ldap {
    let mut l = dc.admin().await;
    l.add(
        "OU=Twelve,DC=gntech,DC=me",
        attrs(&[("objectClass", &["organizationalUnit"])]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    for i in 0..12 {
        let uac = if i % 3 == 0 { "514" } else { "512" };
        let name = format!("p{i:02}");
        l.add(
            &format!("CN={name},OU=Twelve,DC=gntech,DC=me"),
            attrs(&[
                ("objectClass", &["user"]),
                ("sAMAccountName", &[&name]),
                ("userAccountControl", &[uac]),
            ]),
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    }
    l
}

async fn count(l: &mut Ldap, base: &str, filter: &str) -> usize {
    let (e, r) = search(l, base, filter, &["cn"]).await;
    assert_eq!(r.rc, 0, "{filter}: {}", r.text);
    e.len()
}

const TWELVE: &str = "OU=Twelve,DC=gntech,DC=me";

#[tokio::test]
async fn bit_and_and_bit_or_matching_rules() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            "(userAccountControl:1.2.840.113556.1.4.803:=2)"
        )
        .await,
        4
    );
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            "(userAccountControl:1.2.840.113556.1.4.804:=514)"
        )
        .await,
        12
    );
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            "(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"
        )
        .await,
        8
    );
    // An absent attribute makes the negation true: the OU itself matches too.
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            "(!(userAccountControl:1.2.840.113556.1.4.803:=2))"
        )
        .await,
        9
    );
}

#[tokio::test]
async fn substrings_ordering_and_boolean_filters() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    assert_eq!(count(&mut l, DOMAIN, "(cn=*lice*)").await, 1);
    assert_eq!(count(&mut l, TWELVE, "(sAMAccountName=p1*)").await, 2);
    assert_eq!(count(&mut l, TWELVE, "(cn=*0)").await, 2);
    let usn = dc.int("CN=p06,OU=Twelve,DC=gntech,DC=me", "uSNChanged");
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            &format!("(&(objectClass=user)(uSNChanged>={usn}))")
        )
        .await,
        6
    );
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            &format!("(&(objectClass=user)(uSNChanged<={usn}))")
        )
        .await,
        7
    );
    assert_eq!(
        count(&mut l, TWELVE, "(|(cn=p01)(cn=p02)(cn=nobody))").await,
        2
    );
    l.add(
        "CN=PC01,OU=Twelve,DC=gntech,DC=me",
        attrs(&[
            ("objectClass", &["computer"]),
            ("sAMAccountName", &["PC01$"]),
        ]),
    )
    .await
    .unwrap()
    .success()
    .unwrap();
    assert_eq!(
        count(
            &mut l,
            TWELVE,
            "(&(objectClass=user)(!(objectClass=computer)))"
        )
        .await,
        12
    );
    assert_eq!(count(&mut l, TWELVE, "(objectCategory=person)").await, 12);
    assert_eq!(count(&mut l, TWELVE, "(objectCategory=computer)").await, 1);
    assert_eq!(count(&mut l, TWELVE, "(objectClass=user)").await, 13);
    assert_eq!(count(&mut l, TWELVE, "(description=*)").await, 0);
    assert_eq!(count(&mut l, DOMAIN, "(anr=Alice)").await, 1);
}

#[tokio::test]
async fn scopes_base_one_and_subtree() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    let n = |r: (Vec<ldap3::ResultEntry>, ldap3::LdapResult)| r.0.len();
    assert_eq!(
        n(l.search(TWELVE, Scope::Base, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap()
            .success()
            .unwrap()),
        1
    );
    assert_eq!(
        n(
            l.search(TWELVE, Scope::OneLevel, "(objectClass=*)", vec!["cn"])
                .await
                .unwrap()
                .success()
                .unwrap()
        ),
        12
    );
    assert_eq!(
        n(
            l.search(TWELVE, Scope::Subtree, "(objectClass=*)", vec!["cn"])
                .await
                .unwrap()
                .success()
                .unwrap()
        ),
        13
    );
    // The Configuration partition is not part of a domain subtree search: a reference instead.
    let r = l
        .search(
            DOMAIN,
            Scope::Subtree,
            "(objectClass=configuration)",
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(r.0.iter().all(|e| e.is_ref()), "only references");
    let r = l
        .search(
            "CN=Configuration,DC=gntech,DC=me",
            Scope::Base,
            "(objectClass=*)",
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(r.0.len(), 1);
    let r = l
        .search(
            "OU=Nope,DC=gntech,DC=me",
            Scope::Subtree,
            "(objectClass=*)",
            vec!["cn"],
        )
        .await
        .unwrap();
    assert_eq!((r.1.rc, r.1.matched.as_str()), (32, DOMAIN));
}

/// RFC 2696's size is `INTEGER (0..maxInt)`: a negative one is a protocol error, not a
/// page of 255 (ldap3_proto reads -1 as 255).
#[tokio::test]
async fn a_negative_page_size_is_a_protocol_error() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    let r = l
        .with_controls(PagedControl {
            size: -1,
            cookie: Vec::new(),
        })
        .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await;
    match r {
        Ok(res) => {
            assert!(res.0.is_empty(), "no entries for a bad request");
            assert_eq!(res.1.rc, 2, "{:?}", res.1);
        }
        Err(e) => assert!(!e.to_string().is_empty()),
    }
}

/// AD's MaxResultSetsPerConn (10): an eleventh open paged search makes the oldest
/// cookie unknown; a connection cannot pile up result sets without end.
#[tokio::test]
async fn at_most_ten_paged_searches_stay_open_per_connection() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    let mut cookies = Vec::new();
    for _ in 0..11 {
        let (_, res) = l
            .with_controls(PagedControl {
                size: 1,
                cookie: Vec::new(),
            })
            .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
            .await
            .unwrap()
            .success()
            .unwrap();
        let ctrl = res
            .ctrls
            .iter()
            .find(|c| matches!(c.0, Some(ControlType::PagedResults)))
            .unwrap();
        cookies.push(ctrl.1.parse::<PagedControl>().cookie);
    }
    let next = |cookie: Vec<u8>| PagedControl { size: 1, cookie };
    let oldest = l
        .with_controls(next(cookies[0].clone()))
        .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!(oldest.1.rc, 53, "{:?}", oldest.1);
    assert!(oldest.1.text.contains("unknown paged-results cookie"));
    let newest = l
        .with_controls(next(cookies[10].clone()))
        .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!((newest.1.rc, newest.0.len()), (0, 1));
}

#[tokio::test]
async fn paged_results_five_at_a_time_over_twelve() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    let mut cookie = Vec::new();
    let mut pages = Vec::new();
    loop {
        let (entries, res) = l
            .with_controls(PagedControl {
                size: 5,
                cookie: cookie.clone(),
            })
            .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
            .await
            .unwrap()
            .success()
            .unwrap();
        pages.push(entries.len());
        let ctrl = res
            .ctrls
            .iter()
            .find(|c| matches!(c.0, Some(ControlType::PagedResults)))
            .expect("paged control in the answer");
        cookie = ctrl.1.parse::<PagedControl>().cookie;
        if cookie.is_empty() {
            break;
        }
    }
    assert_eq!(pages, vec![5, 5, 2]);

    // The ldap3 adapter agrees.
    let adapters: Vec<Box<dyn Adapter<_, _>>> =
        vec![Box::new(EntriesOnly::new()), Box::new(PagedResults::new(5))];
    let mut stream = l
        .streaming_search_with(
            adapters,
            TWELVE,
            Scope::OneLevel,
            "(objectClass=user)",
            vec!["cn"],
        )
        .await
        .unwrap();
    let mut n = 0;
    while let Some(e) = stream.next().await.unwrap() {
        let _ = SearchEntry::construct(e);
        n += 1;
    }
    assert_eq!(stream.finish().await.rc, 0);
    assert_eq!(n, 12);
}

#[tokio::test]
async fn size_limit_returns_that_many_then_size_limit_exceeded() {
    let dc = Dc::start().await;
    let mut l = twelve(&dc).await;
    use ldap3::SearchOptions;
    let r = l
        .with_search_options(SearchOptions::new().sizelimit(5))
        .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!((r.0.len(), r.1.rc), (5, 4));
}

#[tokio::test]
async fn max_page_size_caps_an_unpaged_search() {
    let dc = Dc::start_with(writeback_sim::directory::DirectoryConfig {
        max_page_size: 10,
        ..Default::default()
    })
    .await;
    let mut l = twelve(&dc).await;
    let r = l
        .search(TWELVE, Scope::OneLevel, "(objectClass=user)", vec!["cn"])
        .await
        .unwrap();
    assert_eq!((r.0.len(), r.1.rc), (10, 4));
}

fn raw(oid: &str, crit: bool, val: Option<Vec<u8>>) -> ldap3::controls::RawControl {
    ldap3::controls::RawControl {
        ctype: oid.into(),
        crit,
        val,
    }
}

#[tokio::test]
async fn extended_dn_prefixes_guid_and_sid() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    // LDAP_SERVER_EXTENDED_DN with SEQUENCE { INTEGER 1 }: string form.
    let r = l
        .with_controls(vec![raw(
            "1.2.840.113556.1.4.529",
            true,
            Some(vec![0x30, 0x03, 0x02, 0x01, 0x01]),
        )])
        .search(ALICE, Scope::Base, "(objectClass=*)", vec!["cn"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let dn = SearchEntry::construct(r.0.into_iter().next().unwrap()).dn;
    let e = dc.dir.entry(ALICE).unwrap();
    let guid = writeback_sim::directory::ids::guid_text(e.guid().unwrap()).unwrap();
    let sid = writeback_sim::directory::ids::sid_text(&e.values("objectSid")[0]).unwrap();
    assert_eq!(dn, format!("<GUID={guid}>;<SID={sid}>;{ALICE}"));
}

#[tokio::test]
async fn domain_scope_drops_references_and_phantom_root_searches_everything() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let r = l
        .with_controls(vec![raw("1.2.840.113556.1.4.1339", false, None)])
        .search(
            DOMAIN,
            Scope::Subtree,
            "(objectClass=configuration)",
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert!(r.0.is_empty(), "no entries and no references");
    // Search options, flags 2 (phantom root): base "" covers the Configuration partition too.
    let r = l
        .with_controls(vec![raw(
            "1.2.840.113556.1.4.1340",
            true,
            Some(vec![0x30, 0x03, 0x02, 0x01, 0x02]),
        )])
        .search(
            "",
            Scope::Subtree,
            "(|(objectClass=configuration)(sAMAccountName=alice.p))",
            vec!["cn"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    assert_eq!(r.0.len(), 2);
}

#[tokio::test]
async fn advertised_controls_this_dc_does_not_serve_are_refused_when_critical() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    for oid in ["2.16.840.1.113730.3.4.9", "1.2.840.113556.1.4.528"] {
        let r = l
            .with_controls(vec![raw(oid, true, None)])
            .search(DOMAIN, Scope::Base, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap();
        assert_eq!(r.1.rc, 12, "{oid}: {}", r.1.text);
        let r = l
            .with_controls(vec![raw(oid, false, None)])
            .search(DOMAIN, Scope::Base, "(objectClass=*)", vec!["cn"])
            .await
            .unwrap();
        assert_eq!(r.1.rc, 0, "{oid} non-critical is ignored");
    }
}

/// RootDSE's subschemaSubentry names an entry that exists and publishes the schema the
/// way a DC does: `attributeTypes` and `objectClasses` in RFC 4512 form, only when asked
/// for by name (a Samba DC answers the same way), so LDAP browsers and schema-checking
/// clients can read it.
#[tokio::test]
async fn the_subschema_entry_publishes_attribute_types_and_object_classes() {
    let dc = Dc::start().await;
    let mut l = dc.admin().await;
    let (root, _) = l
        .search(
            "",
            Scope::Base,
            "(objectClass=*)",
            vec!["subschemaSubentry"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let root = SearchEntry::construct(root[0].clone());
    let subschema = root.attrs["subschemaSubentry"][0].clone();
    assert_eq!(
        subschema,
        "CN=Aggregate,CN=Schema,CN=Configuration,DC=gntech,DC=me"
    );

    let base = |attrs: Vec<&'static str>| {
        let subschema = subschema.clone();
        let mut l = l.clone();
        async move {
            let (e, _) = l
                .search(&subschema, Scope::Base, "(objectClass=subSchema)", attrs)
                .await
                .unwrap()
                .success()
                .unwrap();
            SearchEntry::construct(e[0].clone())
        }
    };
    let all = base(vec!["*"]).await;
    assert_eq!(all.attrs["objectClass"], ["top", "subSchema"]);
    assert!(!all.attrs.contains_key("attributeTypes"), "{:?}", all.attrs);

    let schema = base(vec!["attributeTypes", "objectClasses"]).await;
    let types = &schema.attrs["attributeTypes"];
    assert!(types.contains(
        &"( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' SYNTAX '1.3.6.1.4.1.1466.115.121.1.15' SINGLE-VALUE )".to_string()
    ));
    assert!(types
        .iter()
        .any(|t| t.contains("NAME 'msDS-ExternalDirectoryObjectId'")));
    let classes = &schema.attrs["objectClasses"];
    for class in [
        "'user'",
        "'computer'",
        "'group'",
        "'msDS-Device'",
        "'subSchema'",
    ] {
        assert!(
            classes.iter().any(|c| c.contains(&format!("NAME {class}"))),
            "{class} missing"
        );
    }
    // Every definition is an RFC 4512 description with an OID and a NAME.
    for d in types.iter().chain(classes) {
        assert!(
            d.starts_with("( ") && d.ends_with(" )") && d.contains(" NAME '"),
            "{d}"
        );
    }
}
