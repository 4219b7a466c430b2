//! Users and licences: `GET /v1.0/users` (`$top`, `$select`, `@odata.nextLink` paging),
//! `GET /v1.0/users/{id | userPrincipalName}`, and `GET /v1.0/subscribedSkus` (what the
//! tenant's licence is: AAD_PREMIUM, AAD_PREMIUM_P2, or nothing).

use super::{not_found, select, skip_of, Graph, GraphError, Need, DEFAULT_PAGE, MAX_PAGE};
use crate::cloud::tenant::{CloudUser, License};
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

fn user_json(u: &CloudUser) -> Map<String, Value> {
    let onprem = u.on_premises.as_ref();
    let mut m = Map::new();
    m.insert("id".into(), json!(u.id));
    m.insert("userPrincipalName".into(), json!(u.user_principal_name));
    m.insert("displayName".into(), json!(u.display_name));
    m.insert("accountEnabled".into(), json!(true));
    m.insert(
        "onPremisesSyncEnabled".into(),
        if onprem.is_some() {
            json!(true)
        } else {
            Value::Null
        },
    );
    m.insert(
        "onPremisesImmutableId".into(),
        json!(onprem.map(|o| o.immutable_id.clone())),
    );
    m.insert(
        "onPremisesDistinguishedName".into(),
        json!(onprem.map(|o| o.distinguished_name.clone())),
    );
    m
}

#[derive(Debug, Deserialize)]
pub struct ListQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
}

pub async fn list(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadUsers)?;
    let top = match &q.top {
        None => DEFAULT_PAGE,
        Some(t) => match t.parse::<usize>() {
            Ok(n) if (1..=MAX_PAGE).contains(&n) => n,
            _ => return Err(GraphError::new(StatusCode::BAD_REQUEST, "Request_UnsupportedQuery", format!("Invalid page size specified: '{t}'. Must be between 1 and {MAX_PAGE} inclusive."))),
        },
    };
    let skip = skip_of(q.skiptoken.as_deref())?;
    let users = g.tenant.users();
    let page: Vec<Value> = users
        .iter()
        .skip(skip)
        .take(top)
        .map(|u| Value::Object(select(user_json(u), q.select.as_deref())))
        .collect();
    let mut body = json!({
        "@odata.context": format!("{}/v1.0/$metadata#users", g.base()),
        "value": page,
    });
    if skip + top < users.len() {
        let mut link = format!(
            "{}/v1.0/users?$top={top}&$skiptoken={}",
            g.base(),
            skip + top
        );
        if let Some(s) = &q.select {
            link.push_str(&format!("&$select={s}"));
        }
        body["@odata.nextLink"] = json!(link);
    }
    Ok(Json(body))
}

pub async fn one(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<ListQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadUsers)?;
    let u = g.tenant.user(&id).ok_or_else(|| not_found(&id))?;
    let mut m = select(user_json(&u), q.select.as_deref());
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#users/$entity", g.base())),
    );
    Ok(Json(Value::Object(m)))
}

pub async fn subscribed_skus(
    State(g): State<Graph>,
    headers: HeaderMap,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadOrganization)?;
    let users = g.tenant.users().len();
    let sku = |part: &str, id: &str| {
        json!({
            "capabilityStatus": "Enabled",
            "consumedUnits": users,
            "id": format!("{}_{id}", "00000000-0000-0000-0000-000000000000"),
            "prepaidUnits": { "enabled": 25, "suspended": 0, "warning": 0 },
            "skuId": id,
            "skuPartNumber": part,
            "appliesTo": "User",
            "servicePlans": [],
        })
    };
    let value = match g.tenant.settings().license {
        License::None => vec![],
        License::P1 => vec![sku("AAD_PREMIUM", "078d2b04-f1bd-4111-bbd4-b4b1b354cef4")],
        License::P2 => vec![sku(
            "AAD_PREMIUM_P2",
            "84a661c4-e949-4bd2-a560-ed7766fcaf2b",
        )],
    };
    Ok(Json(
        json!({ "@odata.context": format!("{}/v1.0/$metadata#subscribedSkus", g.base()), "value": value }),
    ))
}
