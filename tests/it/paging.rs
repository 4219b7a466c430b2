//! Paged searches as AD keeps them (MS-ADTS 3.1.1.3.4.6): a search resumes after the
//! last entry it sent (so changes between pages neither repeat nor skip what is left),
//! sorted or not; what the DC keeps for them is bounded by MaxResultSetsPerConn per
//! connection and MaxResultSetSize for the whole DC, past which the oldest cookie is
//! answered as unknown.

use crate::support::*;
use ldap3::controls::{ControlType, PagedResults, RawControl};
use ldap3::{Ldap, LdapResult, Scope, SearchEntry};
use writeback_sim::directory::result_sets::MAX_RESULT_SET_SIZE;

const PAGED: &str = "OU=Paged,DC=gntech,DC=me";

/// OU=Paged with three OUs of `per` users each (u-A-00 …), as LDIF.
fn ldif(per: usize) -> String {
    let mut s = format!("dn: {PAGED}\nobjectClass: organizationalUnit\n\n");
    for ou in ["A", "B", "C"] {
        s += &format!("dn: OU={ou},{PAGED}\nobjectClass: organizationalUnit\n\n");
        for i in 0..per {
            s += &format!(
                "dn: CN=u-{ou}-{i:04},OU={ou},{PAGED}\nobjectClass: user\nsAMAccountName: u-{ou}-{i:04}\n\n"
            );
        }
    }
    s
}

async fn paged_dc(per: usize) -> Dc {
    let dc = Dc::start().await;
    dc.dir
        .import_ldif(&ldif(per), "paged.ldif")
        .expect("import");
    dc
}

/// One page: the entries' DNs, the result, and the cookie for the next page.
async fn page(
    l: &mut Ldap,
    scope: Scope,
    size: i32,
    cookie: Vec<u8>,
    sort: Option<&RawControl>,
) -> (Vec<String>, LdapResult, Vec<u8>) {
    let paged = PagedResults { size, cookie }.into();
    let controls: Vec<RawControl> = std::iter::once(paged).chain(sort.cloned()).collect();
    let ldap3::SearchResult(entries, res) = l
        .with_controls(controls)
        .search(PAGED, scope, "(objectClass=*)", vec!["cn"])
        .await
        .expect("search round trip");
    let cookie = (res.ctrls.iter())
        .find(|c| matches!(c.0, Some(ControlType::PagedResults)))
        .map(|c| c.1.parse::<PagedResults>().cookie)
        .unwrap_or_default();
    let dns = entries
        .into_iter()
        .filter(|e| !e.is_ref())
        .map(|e| SearchEntry::construct(e).dn)
        .collect();
    (dns, res, cookie)
}

/// Every page of a search, `size` at a time.
async fn all_pages(
    l: &mut Ldap,
    scope: Scope,
    size: i32,
    sort: Option<&RawControl>,
) -> Vec<String> {
    let (mut all, mut cookie) = (Vec::new(), Vec::new());
    // Bounded, so a search that never ends fails the test instead of hanging it.
    while all.len() <= 20_000 {
        let (dns, res, next) = page(l, scope, size, cookie, sort).await;
        assert_eq!(res.rc, 0, "{}", res.text);
        all.extend(dns);
        if next.is_empty() {
            return all;
        }
        cookie = next;
    }
    panic!(
        "a paged search that never ends: {} entries so far",
        all.len()
    );
}

/// The server-side sort control on cn, reversed: SEQUENCE { SEQUENCE { "cn", [1] TRUE } }.
fn sort_by_cn_reversed() -> RawControl {
    RawControl {
        ctype: "1.2.840.113556.1.4.473".into(),
        crit: true,
        val: Some(vec![
            0x30, 0x09, 0x30, 0x07, 0x04, 0x02, b'c', b'n', 0x81, 0x01, 0xff,
        ]),
    }
}

/// What an unpaged search of the same request returns, in its order.
async fn unpaged(l: &mut Ldap, scope: Scope, sort: Option<&RawControl>) -> Vec<String> {
    let ldap3::SearchResult(entries, res) = l
        .with_controls(sort.cloned().into_iter().collect::<Vec<_>>())
        .search(PAGED, scope, "(objectClass=*)", vec!["cn"])
        .await
        .expect("search round trip");
    assert_eq!(res.rc, 0, "{}", res.text);
    let refs = |e: &ldap3::ResultEntry| !e.is_ref();
    let dns = entries.into_iter().filter(refs);
    dns.map(|e| SearchEntry::construct(e).dn).collect()
}

#[tokio::test]
async fn pages_add_up_to_the_unpaged_search_in_every_scope_and_sorted() {
    let dc = paged_dc(7).await;
    let mut l = dc.admin().await;
    let sort = sort_by_cn_reversed();
    for (scope, sort) in [
        (Scope::Subtree, None),
        (Scope::OneLevel, None),
        (Scope::Subtree, Some(&sort)),
    ] {
        let whole = unpaged(&mut l, scope, sort).await;
        for size in [1, 4, 7, 100] {
            let pages = all_pages(&mut l, scope, size, sort).await;
            assert_eq!(
                pages,
                whole,
                "{scope:?}, sorted {}, {size} a page",
                sort.is_some()
            );
        }
    }
    let whole = unpaged(&mut l, Scope::Subtree, Some(&sort)).await;
    assert_eq!(whole.len(), 25);
    assert_eq!(whole[0], "CN=u-C-0006,OU=C,OU=Paged,DC=gntech,DC=me");
}

/// A page resumes after the last entry sent, even when that entry is gone: what is left
/// comes once, what was sent does not come again, an entry added ahead of where the
/// search stands does not come, one added after it does.
#[tokio::test]
async fn a_paged_search_resumes_after_its_last_entry_even_when_that_is_deleted() {
    let dc = paged_dc(5).await;
    let (mut l, mut writer) = (dc.admin().await, dc.admin().await);
    let sort = sort_by_cn_reversed();
    for sort in [None, Some(&sort)] {
        let (first, res, mut cookie) = page(&mut l, Scope::Subtree, 6, Vec::new(), sort).await;
        assert_eq!((res.rc, first.len()), (0, 6), "{}", res.text);
        let last = first.last().expect("six entries").clone();
        assert!(
            last.starts_with("CN=u-"),
            "a user ends the first page: {last}"
        );
        writer.delete(&last).await.unwrap().success().unwrap();
        let added = format!("CN=zz-new,OU=C,{PAGED}");
        let user = attrs(&[("objectClass", &["user"]), ("sAMAccountName", &["zz-new"])]);
        writer.add(&added, user).await.unwrap().success().unwrap();
        let mut rest = Vec::new();
        while !cookie.is_empty() && rest.len() < 100 {
            let (dns, res, next) = page(&mut l, Scope::Subtree, 6, cookie, sort).await;
            assert_eq!(res.rc, 0, "{}", res.text);
            rest.extend(dns);
            cookie = next;
        }
        let now = unpaged(&mut l, Scope::Subtree, sort).await;
        let expected: Vec<String> = (now.iter())
            .filter(|d| !first.contains(d))
            // Sorted by cn reversed, zz-new is first: ahead of where the search stood.
            // In walk order it is the last entry of OU=C: after it.
            .filter(|d| sort.is_none() || **d != added)
            .cloned()
            .collect();
        assert_eq!(rest, expected, "sorted {}", sort.is_some());
        assert!(
            !rest.contains(&last),
            "the deleted entry does not come back"
        );
        writer.delete(&added).await.unwrap().success().unwrap();
    }
}

/// What the DC keeps for a paged search is where it stands, not what is left: a search
/// over 3,000 users costs the same few hundred bytes after its first page as one over a
/// dozen, sorted or not.
#[tokio::test]
async fn a_paged_search_keeps_a_few_hundred_bytes_however_many_entries_are_left() {
    let dc = paged_dc(1000).await;
    let mut l = dc.admin().await;
    let sort = sort_by_cn_reversed();
    for sort in [None, Some(&sort)] {
        let (dns, res, cookie) = page(&mut l, Scope::Subtree, 10, Vec::new(), sort).await;
        assert_eq!((res.rc, dns.len()), (0, 10));
        assert!(!cookie.is_empty());
        let kept = dc.dir.result_sets().bytes();
        assert!(
            (1..1024).contains(&kept),
            "{kept} bytes kept for 2,994 entries left"
        );
        // Abandon it (page size 0): nothing is kept.
        let (_, res, _) = page(&mut l, Scope::Subtree, 0, cookie, sort).await;
        assert_eq!(res.rc, 0);
        assert_eq!(dc.dir.result_sets().bytes(), 0);
    }
    let all = all_pages(&mut l, Scope::Subtree, 1000, None).await;
    assert_eq!(all.len(), 3004);
}

/// MaxResultSetSize bounds what all connections keep together: once it is full, each new
/// paged search discards the oldest, whose cookie is then unknown (53, 00002024); a cookie
/// works only on the connection it was issued to; a closed connection's go with it.
#[tokio::test]
async fn max_result_set_size_discards_the_oldest_paged_search_of_any_connection() {
    let dc = paged_dc(2).await;
    let mut conns: Vec<(Ldap, Vec<Vec<u8>>)> = Vec::new();
    let mut per_search = 0;
    while conns.len() < 2 || dc.dir.result_sets().len() == conns.len() * 10 {
        let mut l = dc.admin().await;
        let mut cookies = Vec::new();
        for _ in 0..10 {
            let (_, res, cookie) = page(&mut l, Scope::Subtree, 1, Vec::new(), None).await;
            assert_eq!(res.rc, 0, "{}", res.text);
            cookies.push(cookie);
        }
        per_search = per_search.max(dc.dir.result_sets().bytes() / dc.dir.result_sets().len());
        conns.push((l, cookies));
        assert!(dc.dir.result_sets().bytes() <= MAX_RESULT_SET_SIZE);
        assert!(conns.len() < 1000, "the bound never applied");
    }
    assert!(per_search < 1024, "{per_search} bytes a search");
    let unknown = |r: &LdapResult| r.rc == 53 && r.text.starts_with("00002024:");
    // The first connection's first search was discarded; the newest still pages.
    let (first, rest) = conns.split_first_mut().expect("connections");
    let (_, res, _) = page(&mut first.0, Scope::Subtree, 1, first.1[0].clone(), None).await;
    assert!(unknown(&res), "{res:?}");
    let newest = rest.last_mut().expect("two or more");
    let cookie = newest.1[9].clone();
    // On another connection the cookie is unknown; on its own it gives the next entry.
    let (_, res, _) = page(&mut first.0, Scope::Subtree, 1, cookie.clone(), None).await;
    assert!(unknown(&res), "{res:?}");
    let (dns, res, _) = page(&mut newest.0, Scope::Subtree, 1, cookie, None).await;
    assert_eq!((res.rc, dns.len()), (0, 1), "{}", res.text);
    // Closing connections frees what they kept.
    let before = dc.dir.result_sets().len();
    for (mut l, _) in conns.drain(..) {
        l.unbind().await.unwrap();
    }
    let mut waited = 0;
    while !dc.dir.result_sets().is_empty() && waited < 200 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        waited += 1;
    }
    assert!(before > 0);
    assert_eq!(dc.dir.result_sets().len(), 0);
}
