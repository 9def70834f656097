//! SLA policies: /api/v1/livechat/sla and /api/v1/livechat/sla/{slaId}.

use axum::extract::{Path, State};
use axum::routing::get;
use axum::{Json, Router};
use serde_json::{Map, Value, json};

use crate::domain::ids::object_id;
use crate::domain::page::{Direction, Page, SortKey, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_SLA, VIEW_L_ROOM};
use crate::domain::time::now_millis;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::validate::{Fields, wrong_type};
use crate::store::{SlaPolicy, SlaSortField, StoreError};

const SLA_SORT_FIELDS: [(&str, SlaSortField); 4] = [
    ("name", SlaSortField::Name),
    ("description", SlaSortField::Description),
    ("dueTimeInMinutes", SlaSortField::DueTimeInMinutes),
    ("_id", SlaSortField::Id),
];

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/livechat/sla", get(list).post(create))
        .route("/api/v1/livechat/sla/{sla_id}", get(get_one).put(update).delete(remove))
}

fn sla_json(policy: &SlaPolicy) -> Value {
    json!({
        "name": policy.name,
        "description": policy.description,
        "dueTimeInMinutes": policy.due_time_in_minutes,
        "_id": policy.id,
    })
}

fn sla_not_found(id: &str) -> String {
    format!("SLA with id {id} not found")
}

fn duplicated() -> ApiError {
    ApiError::bad_request("error-duplicated-sla")
}

/// The body of create and update: `{name, description?, dueTimeInMinutes}`.
fn parse_policy(body: &Map<String, Value>, id: String) -> ApiResult<SlaPolicy> {
    let fields = Fields::new(body);
    fields.deny_unknown(&["name", "description", "dueTimeInMinutes"])?;
    let name = fields.required_str("name")?;
    let description = fields.optional_str("description")?.unwrap_or_default();
    let due = fields.required_value("dueTimeInMinutes")?;
    let due_time_in_minutes = due.as_i64().ok_or_else(|| wrong_type("dueTimeInMinutes", "integer"))?;
    if name.trim().is_empty() {
        return Err(ApiError::invalid_params("/name must NOT have fewer than 1 characters"));
    }
    if due_time_in_minutes < 1 {
        return Err(ApiError::invalid_params("/dueTimeInMinutes must be >= 1"));
    }
    Ok(SlaPolicy { id, name: name.to_owned(), description: description.to_owned(), due_time_in_minutes })
}

async fn create(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    let policy = parse_policy(&body.object()?, object_id())?;
    match state.store.create_sla(&policy, now_millis()).await {
        Ok(()) => Ok(Json(json!({"sla": sla_json(&policy), "success": true}))),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

async fn list(State(state): State<AppState>, credentials: Credentials, query: QueryParams) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA, VIEW_L_ROOM]).await?;
    query.deny_unknown(&["text", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = match query.get("sort") {
        Some(raw) => parse_sort(raw, &SLA_SORT_FIELDS)?,
        None => vec![SortKey { field: SlaSortField::Name, direction: Direction::Asc }],
    };
    let text = query.get("text").filter(|text| !text.is_empty());
    let (policies, total) = state.store.list_slas(text, &sort, page).await?;
    let policies: Vec<Value> = policies.iter().map(sla_json).collect();
    Ok(Json(json!({"sla": policies, "count": policies.len(), "offset": page.offset, "total": total, "success": true})))
}

async fn get_one(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(sla_id): Path<String>,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA, VIEW_L_ROOM]).await?;
    let policy = state.store.sla_by_id(&sla_id).await?.ok_or_else(|| ApiError::not_found(sla_not_found(&sla_id)))?;
    let mut body = sla_json(&policy);
    body["success"] = json!(true);
    Ok(Json(body))
}

async fn update(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(sla_id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    let policy = parse_policy(&body.object()?, sla_id)?;
    match state.store.update_sla(&policy, now_millis()).await {
        Ok(()) => Ok(Json(json!({"sla": sla_json(&policy), "success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::not_found(sla_not_found(&policy.id))),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

async fn remove(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(sla_id): Path<String>,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    match state.store.delete_sla(&sla_id, now_millis()).await {
        Ok(()) => Ok(Json(json!({"success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::bad_request(sla_not_found(&sla_id))),
        Err(error) => Err(error.into()),
    }
}
