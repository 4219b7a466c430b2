//! `/v1.0/devices`, `/devices/{id}`, `/devices/{id}/registeredOwners` and `/devices/delta`
//! (delta-query-overview.md, device-delta.md): a first round returns every device, page by
//! page (`@odata.nextLink` with `$skiptoken`), and ends with `@odata.deltaLink`
//! (`$deltatoken`); later rounds return what changed since, once each, deleted devices as
//! `{"id", "@removed": {"reason": "deleted"}}`. `$deltatoken=latest` starts from now with no
//! data. Tokens are opaque positions in the tenant's change log: malformed ones answer 400
//! `syncStateNotFound`, ones older than seven days 410 `resyncRequired` (the status is a GAP
//! in the docs; 410 is what Graph's other delta APIs use).

use super::{not_found, select, Graph, GraphError, Need, DEFAULT_PAGE, MAX_PAGE};
use crate::cloud::tenant::{CloudDevice, DeviceDelta};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::Engine;
use serde::Deserialize;
use serde_json::{json, Map, Value};

/// How long a delta token stays valid (business time).
const TOKEN_LIFETIME_SECS: i64 = 7 * 24 * 3600;

pub fn device_json(d: &CloudDevice) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(d.id));
    m.insert("deviceId".into(), json!(d.device_id));
    m.insert("displayName".into(), json!(d.display_name));
    m.insert("operatingSystem".into(), json!(d.operating_system));
    m.insert(
        "operatingSystemVersion".into(),
        json!(d.operating_system_version),
    );
    m.insert("trustType".into(), json!(d.trust_type));
    m.insert("accountEnabled".into(), json!(d.account_enabled));
    m.insert(
        "alternativeSecurityIds".into(),
        Value::Array(
            d.alternative_security_ids
                .iter()
                .map(|a| json!({"type": a.kind, "identityProvider": null, "key": a.key}))
                .collect(),
        ),
    );
    m.insert("isCompliant".into(), json!(d.is_compliant));
    m.insert("isManaged".into(), json!(d.is_managed));
    m.insert("physicalIds".into(), json!(d.physical_ids));
    m.insert(
        "registrationDateTime".into(),
        json!(d
            .registration_date_time
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string()),
    );
    m.insert("onPremisesSyncEnabled".into(), Value::Null);
    m
}

fn with_owners(
    g: &Graph,
    d: &CloudDevice,
    mut m: Map<String, Value>,
    expand: Option<&str>,
) -> Map<String, Value> {
    if expand.is_some_and(|e| {
        e.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("registeredOwners"))
    }) {
        m.insert("registeredOwners".into(), owners_json(g, d));
    }
    m
}

fn owners_json(g: &Graph, d: &CloudDevice) -> Value {
    Value::Array(
        d.registered_owners
            .iter()
            .filter_map(|id| g.tenant.user(id))
            .map(|u| json!({"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.user_principal_name}))
            .collect(),
    )
}

#[derive(Debug, Deserialize)]
pub struct DeviceQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$expand")]
    expand: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    #[serde(rename = "$deltatoken")]
    deltatoken: Option<String>,
}

pub(super) fn page_size(headers: &HeaderMap, top: Option<&str>) -> Result<usize, GraphError> {
    if let Some(t) = top {
        return match t.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => Ok(n),
            _ => Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                format!("Invalid page size specified: '{t}'."),
            )),
        };
    }
    // Prefer: odata.maxpagesize=N
    let prefer = headers
        .get("prefer")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    Ok(prefer
        .split(',')
        .filter_map(|p| p.trim().strip_prefix("odata.maxpagesize="))
        .find_map(|n| n.parse::<usize>().ok())
        .map(|n| n.clamp(1, MAX_PAGE))
        .unwrap_or(DEFAULT_PAGE))
}

pub async fn list(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadDevices)?;
    let top = page_size(&headers, q.top.as_deref())?;
    let skip = super::skip_of(q.skiptoken.as_deref())?;
    let devices = g.tenant.devices();
    let page: Vec<Value> = devices
        .iter()
        .skip(skip)
        .take(top)
        .map(|d| {
            Value::Object(with_owners(
                &g,
                d,
                select(device_json(d), q.select.as_deref()),
                q.expand.as_deref(),
            ))
        })
        .collect();
    let mut body =
        json!({ "@odata.context": format!("{}/v1.0/$metadata#devices", g.base()), "value": page });
    if skip + top < devices.len() {
        body["@odata.nextLink"] = json!(format!(
            "{}/v1.0/devices?$top={top}&$skiptoken={}",
            g.base(),
            skip + top
        ));
    }
    Ok(Json(body))
}

pub async fn one(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadDevices)?;
    let d = g.tenant.device_by_id(&id).ok_or_else(|| not_found(&id))?;
    let mut m = with_owners(
        &g,
        &d,
        select(device_json(&d), q.select.as_deref()),
        q.expand.as_deref(),
    );
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#devices/$entity", g.base())),
    );
    Ok(Json(Value::Object(m)))
}

pub async fn owners(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadDevices)?;
    let d = g.tenant.device_by_id(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(
        json!({ "@odata.context": format!("{}/v1.0/$metadata#directoryObjects", g.base()), "value": owners_json(&g, &d) }),
    ))
}

/// Where a delta round stands: changes after `from` up to `until`, from `offset` on.
/// `initial` rounds list every device present instead of changes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Cursor {
    /// `d` devices, `g` groups: a token of one list is no token of another.
    pub(super) kind: char,
    pub(super) initial: bool,
    pub(super) from: u64,
    pub(super) until: u64,
    pub(super) offset: usize,
    /// The empty page of the `empty_pages` fault was already served for this offset.
    pub(super) padded: bool,
    /// `$expand=registeredOwners` (kept by nextLink and deltaLink, like `$select`).
    pub(super) expand_owners: bool,
    pub(super) select: Option<String>,
}

impl Cursor {
    pub(super) fn encode(&self) -> String {
        let text = format!(
            "s1|{}|{}|{}|{}|{}|{}|{}|{}",
            self.kind,
            u8::from(self.initial),
            self.from,
            self.until,
            self.offset,
            u8::from(self.padded),
            u8::from(self.expand_owners),
            self.select.clone().unwrap_or_default()
        );
        B64.encode(text)
    }

    pub(super) fn decode(token: &str, kind: char) -> Option<Self> {
        let text = String::from_utf8(B64.decode(token).ok()?).ok()?;
        let mut p = text.splitn(9, '|');
        if p.next()? != "s1" || p.next()? != kind.to_string() {
            return None;
        }
        let initial = p.next()? == "1";
        let from = p.next()?.parse().ok()?;
        let until = p.next()?.parse().ok()?;
        let offset = p.next()?.parse().ok()?;
        let padded = p.next()? == "1";
        let expand_owners = p.next()? == "1";
        let select = Some(p.next()?.to_string()).filter(|s| !s.is_empty());
        Some(Self {
            kind,
            initial,
            from,
            until,
            offset,
            padded,
            expand_owners,
            select,
        })
    }
}

/// A delta token: the change number it stands at, when it was issued, and the query.
pub(super) fn delta_token(
    kind: char,
    seq: u64,
    issued: i64,
    expand_owners: bool,
    select: Option<&str>,
) -> String {
    B64.encode(format!(
        "d1|{kind}|{seq}|{issued}|{}|{}",
        u8::from(expand_owners),
        select.unwrap_or_default()
    ))
}

/// (change number, issued at, expand owners, select)
pub(super) type TokenParts = (u64, i64, bool, Option<String>);

pub(super) fn read_delta_token(token: &str, kind: char) -> Option<TokenParts> {
    let text = String::from_utf8(B64.decode(token).ok()?).ok()?;
    let mut p = text.splitn(6, '|');
    if p.next()? != "d1" || p.next()? != kind.to_string() {
        return None;
    }
    let seq = p.next()?.parse().ok()?;
    let issued = p.next()?.parse().ok()?;
    let expand = p.next()? == "1";
    let select = Some(p.next()?.to_string()).filter(|s| !s.is_empty());
    Some((seq, issued, expand, select))
}

fn wants_owners(expand: Option<&str>) -> bool {
    expand.is_some_and(|e| {
        e.split(',')
            .any(|x| x.trim().eq_ignore_ascii_case("registeredOwners"))
    })
}

/// A delta item: the device (with its owners when asked for).
fn delta_item(g: &Graph, d: &CloudDevice, cursor: &Cursor) -> Value {
    let mut m = select(device_json(d), cursor.select.as_deref());
    if cursor.expand_owners {
        m.insert("registeredOwners".into(), owners_json(g, d));
    }
    Value::Object(m)
}

/// The delta parameters of one request.
pub(super) struct RoundQuery<'a> {
    pub(super) kind: char,
    pub(super) skiptoken: Option<&'a str>,
    pub(super) deltatoken: Option<&'a str>,
    pub(super) select: Option<&'a str>,
    pub(super) expand_owners: bool,
}

/// Where a request stands in its round.
pub(super) enum Round {
    Page(Cursor),
    /// `$deltatoken=latest`: no data, only this delta token.
    Latest(String),
}

/// Read the request's skiptoken / deltatoken (or their absence) into a cursor: 400
/// `syncStateNotFound` for tokens that are not ours, 410 `resyncRequired` for old ones.
pub(super) fn start_round(q: &RoundQuery<'_>, latest: u64, now: i64) -> Result<Round, GraphError> {
    let invalid = |what: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "syncStateNotFound",
            format!("The {what} is not valid. Start a new round without a token."),
        )
    };
    Ok(Round::Page(match (q.skiptoken, q.deltatoken) {
        (Some(skip), _) => Cursor::decode(skip, q.kind).ok_or_else(|| invalid("$skiptoken"))?,
        (None, Some("latest")) => {
            return Ok(Round::Latest(delta_token(
                q.kind,
                latest,
                now,
                q.expand_owners,
                q.select,
            )))
        }
        (None, Some(t)) => {
            let (seq, issued, expand_owners, select) =
                read_delta_token(t, q.kind).ok_or_else(|| invalid("delta token"))?;
            if now - issued > TOKEN_LIFETIME_SECS || seq > latest {
                return Err(GraphError::new(
                    StatusCode::GONE,
                    "resyncRequired",
                    "The delta token is no longer valid; the application must resync with a new round.",
                ));
            }
            Cursor {
                kind: q.kind,
                initial: false,
                from: seq,
                until: latest,
                offset: 0,
                padded: false,
                expand_owners: expand_owners || q.expand_owners,
                select: select.or(q.select.map(str::to_string)),
            }
        }
        (None, None) => Cursor {
            kind: q.kind,
            initial: true,
            from: 0,
            until: latest,
            offset: 0,
            padded: false,
            expand_owners: q.expand_owners,
            select: q.select.map(str::to_string),
        },
    }))
}

pub async fn delta(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<DeviceQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadDevices)?;
    let size = page_size(&headers, None)?;
    let now = g.clock.now().timestamp();
    let latest = g.tenant.device_seq();
    let base = format!("{}/v1.0/devices/delta", g.base());
    let context = format!("{}/v1.0/$metadata#devices", g.base());
    let query = RoundQuery {
        kind: 'd',
        skiptoken: q.skiptoken.as_deref(),
        deltatoken: q.deltatoken.as_deref(),
        select: q.select.as_deref(),
        expand_owners: wants_owners(q.expand.as_deref()),
    };
    let cursor = match start_round(&query, latest, now)? {
        Round::Page(c) => c,
        Round::Latest(token) => {
            let link = format!("{base}?$deltatoken={token}");
            return Ok(Json(
                json!({ "@odata.context": context, "value": [], "@odata.deltaLink": link }),
            ));
        }
    };
    if cursor.initial {
        return Ok(Json(initial_page(&g, cursor, size, &base, &context)));
    }
    let items: Vec<Value> = {
        g.tenant
            .device_changes(cursor.from, cursor.until)
            .into_iter()
            .map(|c| match c {
                DeviceDelta::Present(d) => delta_item(&g, &d, &cursor),
                DeviceDelta::Removed(id) => {
                    json!({ "id": id, "@removed": { "reason": "deleted" } })
                }
            })
            .collect()
    };
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(cursor.offset).take(size).collect();
    Ok(Json(page_body(&g, cursor, page, total, &base, &context)))
}

/// A page of the first round: the devices present now, from the cursor's offset.
fn initial_page(g: &Graph, cursor: Cursor, size: usize, base: &str, context: &str) -> Value {
    let (devices, total) = g.tenant.devices_page(cursor.offset, size);
    let page = devices.iter().map(|d| delta_item(g, d, &cursor)).collect();
    page_body(g, cursor, page, total, base, context)
}

/// One page of a round: `page` holds the items from the cursor's offset on, of `total`.
/// More to come → nextLink; the end → deltaLink. With the `empty_pages` fault, an empty
/// page with a nextLink comes first.
pub(super) fn page_body(
    g: &Graph,
    cursor: Cursor,
    page: Vec<Value>,
    total: usize,
    base: &str,
    context: &str,
) -> Value {
    if total > cursor.offset && g.faults().empty_pages && !cursor.padded {
        let next = Cursor {
            padded: true,
            ..cursor
        };
        return json!({ "@odata.context": context, "value": [], "@odata.nextLink": format!("{base}?$skiptoken={}", next.encode()) });
    }
    let consumed = cursor.offset + page.len();
    let mut body = json!({ "@odata.context": context, "value": page });
    if consumed < total {
        let next = Cursor {
            offset: consumed,
            padded: false,
            ..cursor
        };
        body["@odata.nextLink"] = json!(format!("{base}?$skiptoken={}", next.encode()));
    } else {
        let token = delta_token(
            cursor.kind,
            cursor.until,
            g.clock.now().timestamp(),
            cursor.expand_owners,
            cursor.select.as_deref(),
        );
        body["@odata.deltaLink"] = json!(format!("{base}?$deltatoken={token}"));
    }
    body
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_and_tokens_round_trip_and_reject_garbage() {
        let c = Cursor {
            kind: 'd',
            initial: false,
            from: 3,
            until: 9,
            offset: 100,
            padded: true,
            expand_owners: true,
            select: Some("displayName,deviceId".into()),
        };
        assert_eq!(Cursor::decode(&c.encode(), 'd'), Some(c.clone()));
        assert_eq!(
            Cursor::decode(&c.encode(), 'g'),
            None,
            "a device cursor is no group cursor"
        );
        assert_eq!(Cursor::decode("nonsense", 'd'), None);
        assert_eq!(
            read_delta_token(&delta_token('d', 7, 1000, true, None), 'd'),
            Some((7, 1000, true, None))
        );
        assert_eq!(read_delta_token("x", 'd'), None);
    }
}
