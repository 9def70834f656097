//! /api/v1/livechat/department: departments and their agents.
//!
//! Deviations from Rocket.Chat: an unknown department id is 404 `Department not found`
//! on every route (Rocket.Chat answers `{"department":null}` to GET); list routes
//! reject query keys they do not implement (`showArchived`, `onlyMyDepartments`,
//! `excludeDepartmentId`) instead of ignoring them; callers reading through
//! view-l-room alone see only the departments they serve in.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::ids::meteor_id;
use crate::domain::page::{Page, parse_sort};
use crate::domain::permissions::{MANAGE_LIVECHAT_DEPARTMENTS, VIEW_L_ROOM, VIEW_LIVECHAT_DEPARTMENTS};
use crate::domain::time::iso;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Credentials, JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcJsonBody, RcNotFound, RcPermitted, RcSuccess, closed_object, closed_object_with_optional, ignored,
    rc_page, schema_component, timestamp,
};
use crate::http::validate::{Fields, missing, wrong_type};
use crate::store::{
    Department, DepartmentAgent, DepartmentAgentSort, DepartmentChanges, DepartmentFilter, DepartmentSort,
    NewDepartmentAgent, StoreError,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, update, remove))
        .routes(routes!(agents, change_agents))
}

/// The schema of [`department_json`].
fn department_schema() -> Value {
    closed_object(json!({
        "_id": {"type": "string"},
        "enabled": {"type": "boolean"},
        "name": {"type": "string"},
        "description": {"type": "string"},
        "email": {"type": "string"},
        "showOnRegistration": {"type": "boolean"},
        "showOnOfflineForm": {"type": "boolean"},
        "numAgents": {"type": "integer", "minimum": 0},
        "_updatedAt": timestamp(),
        "type": {"type": "string", "enum": ["d"]},
    }))
}

/// The schema of one entry of [`agents_json`].
fn department_agent_schema() -> Value {
    closed_object(json!({
        "_id": {"type": "string"},
        "agentId": {"type": "string"},
        "departmentId": {"type": "string"},
        "username": {"type": "string"},
        "count": {"type": "integer"},
        "order": {"type": "integer"},
        "departmentEnabled": {"type": "boolean"},
        "_updatedAt": timestamp(),
    }))
}

fn department_agents_schema() -> Value {
    json!({"type": "array", "items": department_agent_schema()})
}

schema_component!(DepartmentPage => rc_page("departments", department_schema()));
schema_component!(
    /// `departmentUnit` is accepted and ignored.
    DepartmentBody => closed_object_with_optional(
        json!({
            "department": {
                "type": "object",
                "required": REQUIRED_DEPARTMENT_FIELDS,
                "properties": {
                    "enabled": {"type": "boolean"},
                    "showOnRegistration": {"type": "boolean"},
                    "name": {"type": "string", "minLength": 1},
                    "email": {"type": "string"},
                    "showOnOfflineForm": {"type": "boolean"},
                    "description": {"type": ["string", "null"]},
                },
            },
            "agents": {"type": "array", "items": closed_object_with_optional(
                json!({
                    "agentId": {"type": "string"},
                    "username": {"type": ["string", "null"]},
                    "count": {"type": ["integer", "null"]},
                    "order": {"type": ["integer", "null"]},
                }),
                &["username", "count", "order"],
            )},
            "departmentUnit": ignored(),
        }),
        &["agents", "departmentUnit"],
    )
);
schema_component!(CreatedDepartment => closed_object(json!({
    "department": department_schema(),
    "agents": {"type": "array", "items": closed_object(json!({
        "agentId": {"type": "string"},
        "username": {"type": "string"},
        "count": {"type": "integer"},
        "order": {"type": "integer"},
    }))},
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(
    /// `agents` only when `includeAgents` is not `false`.
    OneDepartment => closed_object_with_optional(
        json!({
            "department": department_schema(),
            "agents": department_agents_schema(),
            "success": {"type": "boolean", "enum": [true]},
        }),
        &["agents"],
    )
);
schema_component!(UpdatedDepartment => closed_object(json!({
    "department": department_schema(),
    "agents": department_agents_schema(),
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(DepartmentAgentPage => rc_page("agents", department_agent_schema()));
schema_component!(DepartmentAgentChanges => closed_object(json!({
    "upsert": {"type": "array", "items": {
        "type": "object",
        "required": ["agentId", "username"],
        "properties": {
            "agentId": {"type": "string"},
            "username": {"type": "string"},
            "count": {"type": ["integer", "null"]},
            "order": {"type": ["integer", "null"]},
        },
    }},
    "remove": {"type": "array", "items": {
        "type": "object",
        "required": ["agentId"],
        "properties": {"agentId": {"type": "string"}},
    }},
})));

const READ_PERMISSIONS: [&str; 2] = [VIEW_LIVECHAT_DEPARTMENTS, VIEW_L_ROOM];

const SORT_FIELDS: [(&str, DepartmentSort); 3] = [
    ("name", DepartmentSort::Name),
    ("_updatedAt", DepartmentSort::UpdatedAt),
    ("numAgents", DepartmentSort::NumAgents),
];

const AGENT_SORT_FIELDS: [(&str, DepartmentAgentSort); 2] =
    [("username", DepartmentAgentSort::Username), ("order", DepartmentAgentSort::Order)];

/// The fields a department body must have, in Rocket.Chat's schema order.
const REQUIRED_DEPARTMENT_FIELDS: [&str; 5] = ["enabled", "showOnRegistration", "name", "email", "showOnOfflineForm"];

fn department_not_found() -> ApiError {
    ApiError::not_found("Department not found")
}

/// Maps what a department change can refuse to Rocket.Chat's errors.
fn change_refused(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => department_not_found(),
        error if error.is_conflict_on("agent") => ApiError::coded("error-invalid-agent", "Invalid agent"),
        error if error.is_conflict_on("name") => {
            ApiError::coded("error-duplicated-department-name", "Department name already exists")
        }
        other => other.into(),
    }
}

/// The agent whose departments bound what the caller may read: callers without
/// view-livechat-departments (reading through view-l-room) see only their own.
async fn reader_scope(state: &AppState, credentials: &Credentials) -> ApiResult<Option<String>> {
    let caller = credentials.authorize(state, &READ_PERMISSIONS).await?;
    if caller.holds(VIEW_LIVECHAT_DEPARTMENTS) { Ok(None) } else { Ok(Some(caller.id)) }
}

/// A department the caller may read: 404 when unknown, 403 when outside its scope.
async fn readable_department(state: &AppState, scope: Option<&str>, id: &str) -> ApiResult<Department> {
    let department = state.store.department_by_id(id).await?.ok_or_else(department_not_found)?;
    if let Some(agent_id) = scope
        && !state.store.is_department_agent(id, agent_id).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    Ok(department)
}

/// The departments; a reader with view-l-room alone sees only its own.
#[utoipa::path(get, path = "/api/v1/livechat/department", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(
        ("text" = Option<String>, Query, description = "Part of the name"),
        ("enabled" = Option<bool>, Query),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"name":1}`; fields: name, _updatedAt, numAgents"#),
    ),
    responses((status = 200, description = "A page of departments", body = DepartmentPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(State(state): State<AppState>, credentials: Credentials, query: QueryParams) -> ApiResult<Json<Value>> {
    let scope = reader_scope(&state, &credentials).await?;
    query.deny_unknown(&["text", "enabled", "offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = parse_sort(query.get("sort").unwrap_or(r#"{"name":1}"#), &SORT_FIELDS)?;
    let filter = DepartmentFilter {
        text: query.get("text").filter(|text| !text.is_empty()),
        enabled: query.get("enabled").map(|raw| parse_bool_param("enabled", raw)).transpose()?,
        agent_id: scope.as_deref(),
    };
    let (departments, total) = state.store.departments(filter, page, &sort).await?;
    Ok(Json(json!({
        "departments": departments.iter().map(department_json).collect::<Vec<_>>(),
        "count": departments.len(),
        "offset": page.offset,
        "total": total,
        "success": true,
    })))
}

/// Creates a department, with its agents if given.
#[utoipa::path(post, path = "/api/v1/livechat/department", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    request_body = DepartmentBody,
    responses((status = 200, description = "The department and its agents", body = CreatedDepartment), RcPermitted, RcJsonBody))]
async fn create(State(state): State<AppState>, credentials: Credentials, body: JsonBody) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_DEPARTMENTS]).await?;
    let body = body.object()?;
    let (changes, new_agents) = parse_department_body(&body)?;
    let id = meteor_id();
    let department = state
        .store
        .create_department(&id, &changes, new_agents.as_deref().unwrap_or_default(), state.now())
        .await
        .map_err(change_refused)?;
    let agents = state.store.department_agents(&department.id).await?;
    let agents: Vec<Value> = agents
        .iter()
        .map(|agent| {
            json!({"agentId": agent.agent_id, "username": agent.username, "count": agent.chat_count, "order": agent.sort_order})
        })
        .collect();
    Ok(Json(json!({"department": department_json(&department), "agents": agents, "success": true})))
}

/// One department, with its agents unless `includeAgents=false`.
#[utoipa::path(get, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id"), ("includeAgents" = Option<bool>, Query)),
    responses(
        (status = 200, description = "The department", body = OneDepartment),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn one(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(id): Path<String>,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let scope = reader_scope(&state, &credentials).await?;
    query.deny_unknown(&["includeAgents"])?;
    let include_agents =
        query.get("includeAgents").map(|raw| parse_bool_param("includeAgents", raw)).transpose()?.unwrap_or(true);
    let department = readable_department(&state, scope.as_deref(), &id).await?;
    let mut answer = json!({"department": department_json(&department), "success": true});
    if include_agents {
        answer["agents"] = agents_json(&state.store.department_agents(&id).await?);
    }
    Ok(Json(answer))
}

/// Replaces a department's fields, and its agents if given.
#[utoipa::path(put, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id")),
    request_body = DepartmentBody,
    responses(
        (status = 200, description = "The department and its agents", body = UpdatedDepartment),
        RcPermitted,
        RcJsonBody,
        (status = 404, response = RcNotFound),
    ))]
async fn update(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_DEPARTMENTS]).await?;
    let body = body.object()?;
    let (changes, new_agents) = parse_department_body(&body)?;
    let department = state
        .store
        .update_department(&id, &changes, new_agents.as_deref(), state.now())
        .await
        .map_err(change_refused)?;
    let agents = state.store.department_agents(&id).await?;
    Ok(Json(json!({"department": department_json(&department), "agents": agents_json(&agents), "success": true})))
}

/// Deletes a department.
#[utoipa::path(delete, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id")),
    responses(
        (status = 200, description = "Deleted", body = RcSuccess),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn remove(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_DEPARTMENTS]).await?;
    state.store.delete_department(&id).await.map_err(change_refused)?;
    Ok(Json(json!({"success": true})))
}

/// A page of a department's agents.
#[utoipa::path(get, path = "/api/v1/livechat/department/{id}/agents", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(
        ("id" = String, Path, description = "The department's id"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("sort" = Option<String>, Query, description = r#"JSON, e.g. `{"order":1}`; fields: username, order"#),
    ),
    responses(
        (status = 200, description = "A page of agents", body = DepartmentAgentPage),
        RcPermitted,
        (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound),
    ))]
async fn agents(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(id): Path<String>,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    let scope = reader_scope(&state, &credentials).await?;
    query.deny_unknown(&["offset", "count", "sort"])?;
    let page = Page::parse(query.get("offset"), query.get("count"), state.page_limits())?;
    let sort = parse_sort(query.get("sort").unwrap_or(r#"{"order":1,"username":1}"#), &AGENT_SORT_FIELDS)?;
    readable_department(&state, scope.as_deref(), &id).await?;
    let (agents, total) = state.store.department_agents_page(&id, page, &sort).await?;
    Ok(Json(json!({
        "agents": agents_json(&agents),
        "count": agents.len(),
        "offset": page.offset,
        "total": total,
        "success": true,
    })))
}

/// Adds, changes and removes a department's agents.
#[utoipa::path(post, path = "/api/v1/livechat/department/{id}/agents", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id")),
    request_body = DepartmentAgentChanges,
    responses(
        (status = 200, description = "Changed", body = RcSuccess),
        RcPermitted,
        RcJsonBody,
        (status = 404, response = RcNotFound),
    ))]
async fn change_agents(
    State(state): State<AppState>,
    credentials: Credentials,
    Path(id): Path<String>,
    body: JsonBody,
) -> ApiResult<Json<Value>> {
    credentials.authorize(&state, &[MANAGE_LIVECHAT_DEPARTMENTS]).await?;
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["upsert", "remove"])?;
    let upsert = fields.required_array("upsert")?;
    let remove = fields.required_array("remove")?;
    let upsert = upsert
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("upsert/{index}");
            let item = Fields::nested(item.as_object().ok_or_else(|| wrong_type(&path, "object"))?, &path);
            let agent_id = item.required_str("agentId")?;
            item.required_str("username")?;
            Ok(NewDepartmentAgent {
                agent_id,
                chat_count: item.optional_i64("count")?,
                sort_order: item.optional_i64("order")?,
            })
        })
        .collect::<ApiResult<Vec<_>>>()?;
    let remove = remove
        .iter()
        .enumerate()
        .map(|(index, item)| {
            let path = format!("remove/{index}");
            Fields::nested(item.as_object().ok_or_else(|| wrong_type(&path, "object"))?, &path).required_str("agentId")
        })
        .collect::<ApiResult<Vec<_>>>()?;
    state.store.change_department_agents(&id, &upsert, &remove, state.now()).await.map_err(change_refused)?;
    Ok(Json(json!({"success": true})))
}

/// The body of POST and PUT: `{department:{...}, agents?:[...]}`. `departmentUnit`
/// (units are an Enterprise feature) is accepted and ignored, and so are the
/// department settings this server does not keep.
fn parse_department_body(
    body: &Map<String, Value>,
) -> ApiResult<(DepartmentChanges<'_>, Option<Vec<NewDepartmentAgent<'_>>>)> {
    let fields = Fields::new(body);
    fields.deny_unknown(&["department", "agents", "departmentUnit"])?;
    let department = Fields::nested(fields.required_object("department")?, "department");
    if let Some(absent) = REQUIRED_DEPARTMENT_FIELDS.iter().find(|name| !department.has(name)) {
        return Err(missing(absent));
    }
    let changes = DepartmentChanges {
        enabled: department.required_bool("enabled")?,
        show_on_registration: department.required_bool("showOnRegistration")?,
        name: department.required_str("name")?,
        email: department.required_str("email")?,
        show_on_offline_form: department.required_bool("showOnOfflineForm")?,
        description: department.optional_str("description")?,
    };
    if changes.name.trim().is_empty() {
        return Err(ApiError::invalid_params("/department/name must NOT have fewer than 1 characters"));
    }
    let agents = match fields.optional_array("agents")? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(index, item)| {
                    let path = format!("agents/{index}");
                    let item = Fields::nested(item.as_object().ok_or_else(|| wrong_type(&path, "object"))?, &path);
                    item.optional_str("username")?;
                    Ok(NewDepartmentAgent {
                        agent_id: item.required_str("agentId")?,
                        chat_count: item.optional_i64("count")?,
                        sort_order: item.optional_i64("order")?,
                    })
                })
                .collect::<ApiResult<Vec<_>>>()?,
        ),
    };
    Ok((changes, agents))
}

/// `true` or `false` in a query string.
fn parse_bool_param(name: &str, raw: &str) -> ApiResult<bool> {
    match raw {
        "true" => Ok(true),
        "false" => Ok(false),
        _ => Err(wrong_type(name, "boolean")),
    }
}

fn department_json(department: &Department) -> Value {
    json!({
        "_id": department.id,
        "enabled": department.enabled,
        "name": department.name,
        "description": department.description,
        "email": department.email,
        "showOnRegistration": department.show_on_registration,
        "showOnOfflineForm": department.show_on_offline_form,
        "numAgents": department.num_agents,
        "_updatedAt": iso(department.updated_at),
        "type": "d",
    })
}

fn agents_json(agents: &[DepartmentAgent]) -> Value {
    agents
        .iter()
        .map(|agent| {
            json!({
                "_id": agent.agent_id,
                "agentId": agent.agent_id,
                "departmentId": agent.department_id,
                "username": agent.username,
                "count": agent.chat_count,
                "order": agent.sort_order,
                "departmentEnabled": agent.department_enabled,
                "_updatedAt": iso(agent.updated_at),
            })
        })
        .collect()
}
