//! SLA policies: /api/v1/livechat/sla and /api/v1/livechat/sla/{slaId}.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::object_id;
use crate::domain::page::{Direction, Page, SortKey, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_SLA, VIEW_L_ROOM};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcNotFound, RcPermitted, RcSuccess, closed_object, closed_object_with_optional, rc_page,
    rc_wrapped, schema_component,
};
use crate::http::validate::{Fields, wrong_type};
use crate::store::{SlaPolicy, SlaSortField, StoreError};

const SLA_SORT_FIELDS: [(&str, SlaSortField); 4] = [
    ("name", SlaSortField::Name),
    ("description", SlaSortField::Description),
    ("dueTimeInMinutes", SlaSortField::DueTimeInMinutes),
    ("_id", SlaSortField::Id),
];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, create)).routes(routes!(get_one, update, remove))
}

/// The properties of [`sla_json`].
fn sla_properties() -> Value {
    json!({
        "name": {"type": "string"},
        "description": {"type": "string"},
        "dueTimeInMinutes": {"type": "integer", "minimum": 1},
        "_id": {"type": "string"},
    })
}

schema_component!(SlaBody => closed_object_with_optional(
    json!({
        "name": {"type": "string", "minLength": 1},
        "description": {"type": ["string", "null"]},
        "dueTimeInMinutes": {"type": "integer", "minimum": 1},
    }),
    &["description"],
));
schema_component!(OneSlaWrapped => rc_wrapped("sla", closed_object(sla_properties())));
schema_component!(SlaPage => rc_page("sla", closed_object(sla_properties())));
schema_component!(OneSla => {
    let mut properties = sla_properties();
    properties["success"] = json!({"type": "boolean", "enum": [true]});
    closed_object(properties)
});

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

/// Creates an SLA policy.
#[utoipa::path(post, path = "/api/v1/livechat/sla", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    request_body = SlaBody,
    responses((status = 200, description = "The policy", body = OneSlaWrapped), RcPermitted, RcJsonBody))]
async fn create(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    let policy = parse_policy(&body.object()?, object_id())?;
    match state.store.create_sla(&policy, state.now()).await {
        Ok(()) => Ok(Json(json!({"sla": sla_json(&policy), "success": true}))),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

/// The SLA policies, by name unless sorted otherwise.
#[utoipa::path(get, path = "/api/v1/livechat/sla", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(
        ("text" = Option<String>, Query, description = "Part of the name"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"name":1}`; fields: name, description, dueTimeInMinutes, _id"#),
    ),
    responses((status = 200, description = "A page of policies", body = SlaPage), RcPermitted, (status = 400, response = RcBadRequest)))]
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

/// One SLA policy.
#[utoipa::path(get, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id")),
    responses(
        (status = 200, description = "The policy", body = OneSla),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
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

/// Replaces an SLA policy.
#[utoipa::path(put, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id")),
    request_body = SlaBody,
    responses(
        (status = 200, description = "The policy", body = OneSlaWrapped),
        RcPermitted,
        RcJsonBody,
        (status = 404, response = RcNotFound),
    ))]
async fn update(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(sla_id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    let policy = parse_policy(&body.object()?, sla_id)?;
    match state.store.update_sla(&policy, state.now()).await {
        Ok(()) => Ok(Json(json!({"sla": sla_json(&policy), "success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::not_found(sla_not_found(&policy.id))),
        Err(StoreError::Conflict(_)) => Err(duplicated()),
        Err(error) => Err(error.into()),
    }
}

/// Deletes an SLA policy.
#[utoipa::path(delete, path = "/api/v1/livechat/sla/{sla_id}", tag = "sla",
    security(("userId" = [], "authToken" = [])),
    params(("sla_id" = String, Path, description = "The policy's id")),
    responses((status = 200, description = "Deleted", body = RcSuccess), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn remove(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(sla_id): Path<String>,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_SLA]).await?;
    match state.store.delete_sla(&sla_id, state.now()).await {
        Ok(()) => Ok(Json(json!({"success": true}))),
        Err(StoreError::NotFound) => Err(ApiError::bad_request(sla_not_found(&sla_id))),
        Err(error) => Err(error.into()),
    }
}
