//! Groups: `GET /v1.0/groups` (with `$filter=groupTypes/any(c:c eq 'Unified')`),
//! `/groups/{id}`, `/groups/{id}/members`, `/groups/delta` with `members@delta` and
//! `@removed` (also under `/beta`), and under `/beta` the `writebackConfiguration` (isEnabled,
//! onPremisesGroupType), readable and PATCHable (groupwritebackconfiguration.md).

use super::devices::{page_body, page_size, start_round, Round, RoundQuery};
use super::{not_found, select, skip_of, Graph, GraphError, Need};
use crate::cloud::change_log::Delta;
use crate::cloud::tenant::{CloudGroup, GroupFlags, ON_PREMISES_GROUP_TYPES};
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Map, Value};

pub fn group_json(g: &CloudGroup, beta: bool) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("id".into(), json!(g.id));
    m.insert("displayName".into(), json!(g.display_name));
    m.insert("description".into(), json!(g.description));
    m.insert("mailNickname".into(), json!(g.mail_nickname));
    m.insert("mail".into(), json!(g.mail));
    m.insert("mailEnabled".into(), json!(g.mail_enabled));
    m.insert("securityEnabled".into(), json!(g.security_enabled));
    m.insert("groupTypes".into(), json!(g.group_types));
    m.insert("proxyAddresses".into(), json!(g.proxy_addresses));
    m.insert(
        "onPremisesSyncEnabled".into(),
        if g.on_premises_sync_enabled {
            json!(true)
        } else {
            Value::Null
        },
    );
    if beta {
        m.insert(
            "writebackConfiguration".into(),
            json!({
                "@odata.type": "#microsoft.graph.groupWritebackConfiguration",
                "isEnabled": g.writeback_enabled(),
                "onPremisesGroupType": g.on_premises_group_type(),
            }),
        );
    }
    m
}

fn member_ref(id: &str) -> Value {
    json!({ "@odata.type": "#microsoft.graph.user", "id": id })
}

#[derive(Debug, Deserialize)]
pub struct GroupQuery {
    #[serde(rename = "$top")]
    top: Option<String>,
    #[serde(rename = "$select")]
    select: Option<String>,
    #[serde(rename = "$filter")]
    filter: Option<String>,
    #[serde(rename = "$skiptoken")]
    skiptoken: Option<String>,
    #[serde(rename = "$deltatoken")]
    deltatoken: Option<String>,
}

/// The one `$filter` writeback needs: Microsoft 365 groups.
fn unified_only(filter: Option<&str>) -> Result<bool, GraphError> {
    match filter.map(|f| f.split_whitespace().collect::<String>()) {
        None => Ok(false),
        Some(f) if f.eq_ignore_ascii_case("groupTypes/any(c:ceq'Unified')") => Ok(true),
        Some(_) => Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_UnsupportedQuery",
            "This fake serves only $filter=groupTypes/any(c:c eq 'Unified').",
        )),
    }
}

/// `GET /v1.0/groups` and (`BETA`) `/beta/groups`.
pub async fn list<const BETA: bool>(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<GroupQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadGroups)?;
    let top = page_size(&headers, q.top.as_deref())?;
    let skip = skip_of(q.skiptoken.as_deref())?;
    let unified = unified_only(q.filter.as_deref())?;
    let groups: Vec<CloudGroup> = g
        .tenant
        .groups()
        .into_iter()
        .filter(|x| !unified || x.is_unified())
        .collect();
    let page: Vec<Value> = groups
        .iter()
        .skip(skip)
        .take(top)
        .map(|x| Value::Object(select(group_json(x, BETA), q.select.as_deref())))
        .collect();
    let version = if BETA { "beta" } else { "v1.0" };
    let mut body = json!({ "@odata.context": format!("{}/{version}/$metadata#groups", g.base()), "value": page });
    if skip + top < groups.len() {
        let mut link = format!(
            "{}/{version}/groups?$top={top}&$skiptoken={}",
            g.base(),
            skip + top
        );
        if unified {
            link.push_str("&$filter=groupTypes/any(c:c%20eq%20'Unified')");
        }
        body["@odata.nextLink"] = json!(link);
    }
    Ok(Json(body))
}

/// `GET /v1.0/groups/{id}` and (`BETA`) `/beta/groups/{id}`.
pub async fn one<const BETA: bool>(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Query<GroupQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadGroups)?;
    let x = g.tenant.group_by_id(&id).ok_or_else(|| not_found(&id))?;
    Ok(Json(Value::Object(select(
        group_json(&x, BETA),
        q.select.as_deref(),
    ))))
}

pub async fn members(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadGroups)?;
    let x = g.tenant.group_by_id(&id).ok_or_else(|| not_found(&id))?;
    let value: Vec<Value> = x
        .members
        .iter()
        .filter_map(|m| g.tenant.user(m))
        .map(|u| json!({"@odata.type": "#microsoft.graph.user", "id": u.id, "userPrincipalName": u.user_principal_name, "displayName": u.display_name}))
        .collect();
    Ok(Json(
        json!({ "@odata.context": format!("{}/v1.0/$metadata#directoryObjects", g.base()), "value": value }),
    ))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct WritebackPatch {
    is_enabled: Option<bool>,
    on_premises_group_type: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GroupPatch {
    writeback_configuration: Option<WritebackPatch>,
}

pub async fn patch_beta(
    State(g): State<Graph>,
    headers: HeaderMap,
    Path(id): Path<String>,
    body: Result<Json<GroupPatch>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteGroups)?;
    let Json(body) = body?;
    let Some(w) = body.writeback_configuration else {
        return Ok(StatusCode::NO_CONTENT.into_response());
    };
    if let Some(t) = &w.on_premises_group_type {
        if !ON_PREMISES_GROUP_TYPES.contains(&t.as_str()) {
            return Err(GraphError::new(
                StatusCode::BAD_REQUEST,
                "Request_BadRequest",
                format!(
                    "Invalid value '{t}' for onPremisesGroupType; use one of {}.",
                    ON_PREMISES_GROUP_TYPES.join(", ")
                ),
            ));
        }
    }
    // Graph addresses a group by its id only (the tenant's own lookup also takes a name).
    if g.tenant.group_by_id(&id).is_none() {
        return Err(not_found(&id));
    }
    let found = g.tenant.update_group(&id, |x| {
        if let Some(e) = w.is_enabled {
            x.writeback.is_enabled = Some(e);
        }
        if let Some(t) = w.on_premises_group_type.clone() {
            x.writeback.on_premises_group_type = Some(t);
        }
    });
    if !found {
        return Err(not_found(&id));
    }
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// `POST /v1.0/groups` (group-post-groups.md): the four required properties, optional
/// `groupTypes` (`Unified` for a Microsoft 365 group), `description` and
/// `members@odata.bind` (`…/users/{id}` links). 201 with the group.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewGroup {
    display_name: Option<String>,
    description: Option<String>,
    mail_enabled: Option<bool>,
    mail_nickname: Option<String>,
    security_enabled: Option<bool>,
    #[serde(default)]
    group_types: Vec<String>,
    #[serde(rename = "members@odata.bind", default)]
    members: Vec<String>,
}

pub async fn create(
    State(g): State<Graph>,
    headers: HeaderMap,
    body: Result<Json<NewGroup>, JsonRejection>,
) -> Result<Response, GraphError> {
    g.authorize(&headers, Need::WriteGroups)?;
    let Json(body) = body?;
    let missing = |p: &str| {
        GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            format!("Invalid value specified for property '{p}' of resource 'Group'."),
        )
    };
    let name = body
        .display_name
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| missing("displayName"))?;
    let nickname = body
        .mail_nickname
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| missing("mailNickname"))?;
    let mail_enabled = body.mail_enabled.ok_or_else(|| missing("mailEnabled"))?;
    let security_enabled = body
        .security_enabled
        .ok_or_else(|| missing("securityEnabled"))?;
    let unified = body
        .group_types
        .iter()
        .any(|t| t.eq_ignore_ascii_case("Unified"));
    if mail_enabled && !unified {
        return Err(GraphError::new(
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            "Mail-enabled security and distribution groups cannot be created through Microsoft Graph: create a Microsoft 365 group (groupTypes: [\"Unified\"]) or a security group.",
        ));
    }
    let mut members = Vec::new();
    for link in &body.members {
        let id = link.rsplit('/').next().unwrap_or_default();
        let user = g.tenant.user(id).ok_or_else(|| not_found(id))?;
        members.push(user.id);
    }
    let group = CloudGroup {
        description: body.description,
        ..CloudGroup::created(
            uuid::Uuid::new_v4().hyphenated().to_string(),
            name,
            nickname,
            GroupFlags {
                unified,
                mail_enabled,
                security_enabled,
            },
            &g.tenant.settings().domain,
            members,
        )
    };
    g.tenant.put_group(group.clone());
    let created = g.tenant.group_by_id(&group.id).unwrap_or(group);
    let mut m = group_json(&created, false);
    m.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#groups/$entity", g.base())),
    );
    Ok((StatusCode::CREATED, Json(Value::Object(m))).into_response())
}

/// `GET /v1.0/groups/delta` and (`BETA`, which also carries `writebackConfiguration`)
/// `/beta/groups/delta`.
pub async fn delta<const BETA: bool>(
    State(g): State<Graph>,
    headers: HeaderMap,
    Query(q): Query<GroupQuery>,
) -> Result<Json<Value>, GraphError> {
    g.authorize(&headers, Need::ReadGroups)?;
    let size = page_size(&headers, None)?;
    let now = g.clock.now().timestamp();
    let latest = g.tenant.group_seq();
    let version = if BETA { "beta" } else { "v1.0" };
    let base = format!("{}/{version}/groups/delta", g.base());
    let context = format!("{}/{version}/$metadata#groups", g.base());
    let query = RoundQuery {
        kind: 'g',
        skiptoken: q.skiptoken.as_deref(),
        deltatoken: q.deltatoken.as_deref(),
        select: q.select.as_deref(),
        expand_owners: false,
    };
    let cursor = match start_round(&query, latest, now)? {
        Round::Page(c) => c,
        Round::Latest(token) => {
            return Ok(Json(
                json!({ "@odata.context": context, "value": [], "@odata.deltaLink": format!("{base}?$deltatoken={token}") }),
            ));
        }
    };
    let item = |x: &CloudGroup, members: Vec<Value>| {
        let mut m = select(group_json(x, BETA), cursor.select.as_deref());
        m.insert("members@delta".into(), Value::Array(members));
        Value::Object(m)
    };
    if cursor.initial {
        let (groups, total) = g.tenant.groups_page(cursor.offset, size);
        let page = groups
            .iter()
            .map(|x| item(x, x.members.iter().map(|m| member_ref(m)).collect()))
            .collect();
        return Ok(Json(page_body(&g, cursor, page, total, &base, &context)));
    }
    let items: Vec<Value> = g
        .tenant
        .group_changes(cursor.from, cursor.until)
        .into_iter()
        .map(|c| match c {
            Delta::Present(x) => {
                let members = g
                    .tenant
                    .membership_changes(&x.id, cursor.from, cursor.until)
                    .into_iter()
                    .map(|(m, added)| {
                        if added {
                            member_ref(&m)
                        } else {
                            json!({ "@odata.type": "#microsoft.graph.user", "id": m, "@removed": { "reason": "deleted" } })
                        }
                    })
                    .collect();
                item(&x, members)
            }
            Delta::Removed(id) => json!({ "id": id, "@removed": { "reason": "deleted" } }),
        })
        .collect();
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(cursor.offset).take(size).collect();
    Ok(Json(page_body(&g, cursor, page, total, &base, &context)))
}
