//! /api/v1/livechat/department: departments and their agents.
//!
//! Deviations from Rocket.Chat: `onlyMyDepartments` is accepted and changes nothing
//! (no units); callers reading through view-l-room alone see only the departments they
//! serve in, in every list here (autocomplete, listByIds and an agent's departments
//! too); `archived` is shown only while true.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::visitors::{Selector, parse_selector};
use crate::domain::ids::meteor_id;
use crate::domain::page::parse_sort;
use crate::domain::permissions::{MANAGE_LIVECHAT_DEPARTMENTS, VIEW_L_ROOM, VIEW_LIVECHAT_DEPARTMENTS};
use crate::domain::settings::DepartmentRemoval;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{
    Body, Caller, KeyText, NoFilter, PageParams, Paged, Path, Query, WordedQuery, Wording, ajv_refusal, permission_set,
};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Done, Success, Timestamp, rc_page};
use crate::store::{
    AgentDepartment, AuthUser, Department, DepartmentAgent, DepartmentAgentSort, DepartmentChanges, DepartmentFilter,
    DepartmentName, DepartmentSort, NewDepartmentAgent, StoreError,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list, create))
        .routes(routes!(one, update, remove))
        .routes(routes!(agents, change_agents))
        .routes(routes!(archived_list))
        .routes(routes!(archive))
        .routes(routes!(unarchive))
        .routes(routes!(autocomplete))
        .routes(routes!(list_by_ids))
        .routes(routes!(agent_departments))
}

permission_set!(ReadDepartments = [VIEW_LIVECHAT_DEPARTMENTS, VIEW_L_ROOM]);
permission_set!(ManageDepartments = [MANAGE_LIVECHAT_DEPARTMENTS]);
permission_set!(ViewRooms = [VIEW_L_ROOM]);

/// A department as Rocket.Chat shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DepartmentView {
    #[serde(rename = "_id")]
    id: String,
    enabled: bool,
    name: String,
    description: String,
    email: String,
    show_on_registration: bool,
    show_on_offline_form: bool,
    #[schema(minimum = 0)]
    num_agents: i64,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    #[serde(rename = "type")]
    kind: DepartmentKind,
    /// The most chats an agent serves at once in this department; absent: no limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false, minimum = 1)]
    max_number_simultaneous_chat: Option<i64>,
    /// As last given; absent while never given.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    request_tag_before_closing_chat: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    chat_closing_tags: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    fallback_forward_department: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    departments_allowed_to_forward: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    allow_receive_forward_offline: Option<bool>,
    /// Present, and true, while the department is archived.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    archived: bool,
}

#[derive(Serialize, ToSchema)]
enum DepartmentKind {
    #[serde(rename = "d")]
    Department,
}

impl From<Department> for DepartmentView {
    fn from(department: Department) -> Self {
        Self {
            id: department.id,
            enabled: department.enabled,
            name: department.name,
            description: department.description,
            email: department.email,
            show_on_registration: department.show_on_registration,
            show_on_offline_form: department.show_on_offline_form,
            num_agents: department.num_agents,
            updated_at: Timestamp(department.updated_at),
            kind: DepartmentKind::Department,
            max_number_simultaneous_chat: (department.max_chats > 0).then_some(department.max_chats),
            request_tag_before_closing_chat: department.request_tag_before_closing_chat,
            // Written by this server from a list of strings only.
            chat_closing_tags: department.chat_closing_tags.as_deref().and_then(string_list),
            fallback_forward_department: department.fallback_forward_department,
            departments_allowed_to_forward: department.departments_allowed_to_forward.as_deref().and_then(string_list),
            allow_receive_forward_offline: department.allow_receive_forward_offline,
            archived: department.archived,
        }
    }
}

/// A list of strings kept as JSON; only this server writes it, from such a list.
fn string_list(json: &str) -> Option<Vec<String>> {
    serde_json::from_str(json).ok()
}

/// A list of strings as it is kept.
fn string_list_json(list: &[String]) -> String {
    Value::from(list.to_vec()).to_string()
}

/// An agent's entry in a department.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DepartmentAgentView {
    #[serde(rename = "_id")]
    id: String,
    agent_id: String,
    department_id: String,
    username: String,
    count: i64,
    order: i64,
    department_enabled: bool,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

impl From<DepartmentAgent> for DepartmentAgentView {
    fn from(agent: DepartmentAgent) -> Self {
        Self {
            id: agent.agent_id.clone(),
            agent_id: agent.agent_id,
            department_id: agent.department_id,
            username: agent.username,
            count: agent.chat_count,
            order: agent.sort_order,
            department_enabled: agent.department_enabled,
            updated_at: Timestamp(agent.updated_at),
        }
    }
}

fn agent_views(agents: Vec<DepartmentAgent>) -> Vec<DepartmentAgentView> {
    agents.into_iter().map(DepartmentAgentView::from).collect()
}

/// The body of POST and PUT. `departmentUnit` (units are an Enterprise feature) is
/// accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct DepartmentBody {
    department: DepartmentFields,
    agents: Option<Vec<AgentEntry>>,
    /// Accepted and ignored.
    #[allow(dead_code)]
    department_unit: Option<Value>,
}

/// A department's own fields; the department settings this server does not keep are
/// accepted and ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct DepartmentFields {
    enabled: bool,
    show_on_registration: bool,
    #[schema(min_length = 1, max_length = 256)]
    name: String,
    #[schema(max_length = 256)]
    email: String,
    show_on_offline_form: bool,
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// The most chats an agent serves at once in this department; 0: no limit.
    #[schema(minimum = 0)]
    max_number_simultaneous_chat: Option<i64>,
    /// Whether closing a chat of the department asks for a tag; true needs `chatClosingTags`.
    request_tag_before_closing_chat: Option<bool>,
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    chat_closing_tags: Option<Vec<String>>,
    /// Another department's id, whose agents serve when none of this one's is available.
    #[schema(max_length = 256)]
    fallback_forward_department: Option<String>,
    /// When set, the only departments `room.forward` may send this department's chats to.
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    departments_allowed_to_forward: Option<Vec<String>>,
    /// Whether `room.forward` may send chats here while none of its agents is available.
    allow_receive_forward_offline: Option<bool>,
}

/// An agent of a department body; `username` is accepted and not used.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgentEntry {
    #[schema(max_length = 256)]
    agent_id: String,
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    username: Option<String>,
    count: Option<i64>,
    order: Option<i64>,
}

impl AgentEntry {
    fn as_new(&self) -> NewDepartmentAgent<'_> {
        NewDepartmentAgent { agent_id: &self.agent_id, chat_count: self.count, sort_order: self.order }
    }
}

impl DepartmentBody {
    /// The changes of the department `id` (`None` when it is being created), refused
    /// in Rocket.Chat's order and words.
    fn changes(&self, id: Option<&str>) -> ApiResult<DepartmentChanges<'_>> {
        let fields = &self.department;
        if fields.name.trim().is_empty() {
            return Err(ApiError::invalid_params("/department/name must NOT have fewer than 1 characters"));
        }
        let no_tags = fields.chat_closing_tags.as_ref().is_none_or(Vec::is_empty);
        if fields.request_tag_before_closing_chat == Some(true) && no_tags {
            return Err(ApiError::coded(
                "error-validating-department-chat-closing-tags",
                "At least one closing tag is required when the department requires tag(s) on closing conversations.",
            ));
        }
        if id.is_some() && fields.fallback_forward_department.as_deref() == id {
            return Err(ApiError::coded(
                "error-fallback-department-circular",
                "Cannot save department. Circular reference between fallback department and department",
            ));
        }
        Ok(DepartmentChanges {
            enabled: fields.enabled,
            show_on_registration: fields.show_on_registration,
            name: &fields.name,
            email: &fields.email,
            show_on_offline_form: fields.show_on_offline_form,
            description: fields.description.as_deref(),
            max_chats: fields.max_number_simultaneous_chat,
            request_tag_before_closing_chat: fields.request_tag_before_closing_chat,
            chat_closing_tags: fields.chat_closing_tags.as_deref().map(string_list_json),
            fallback_forward_department: fields.fallback_forward_department.as_deref().filter(|id| !id.is_empty()),
            departments_allowed_to_forward: fields.departments_allowed_to_forward.as_deref().map(string_list_json),
            allow_receive_forward_offline: fields.allow_receive_forward_offline,
        })
    }

    fn new_agents(&self) -> Option<Vec<NewDepartmentAgent<'_>>> {
        self.agents.as_ref().map(|agents| agents.iter().map(AgentEntry::as_new).collect())
    }
}

/// The body of POST .../agents: `username` of an upserted agent is required and not used.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DepartmentAgentChanges {
    upsert: Vec<UpsertedAgent>,
    remove: Vec<RemovedAgent>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct UpsertedAgent {
    #[schema(max_length = 256)]
    agent_id: String,
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    username: String,
    count: Option<i64>,
    order: Option<i64>,
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct RemovedAgent {
    #[schema(max_length = 256)]
    agent_id: String,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct DepartmentListFilter {
    /// Part of the name.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    text: Option<String>,
    enabled: Option<bool>,
    /// Leave out this department.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    exclude_department_id: Option<String>,
    /// Whether archived departments are listed too (the archived list ignores it).
    show_archived: Option<bool>,
    /// Accepted; it narrows to a monitor's units, which this server does not have.
    #[allow(dead_code)]
    only_my_departments: Option<bool>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct OneDepartmentQuery {
    /// Whether to list the department's agents (default true).
    include_agents: Option<bool>,
}

rc_page!(DepartmentPage { departments: DepartmentView });

/// A created department with the agents it was created with.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CreatedDepartment {
    department: DepartmentView,
    agents: Vec<CreatedAgent>,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreatedAgent {
    agent_id: String,
    username: String,
    count: i64,
    order: i64,
}

/// One department, with its agents unless they were not asked for; `department` is
/// null for an unknown id.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneDepartment {
    #[schema(required = true)]
    department: Option<DepartmentView>,
    #[serde(skip_serializing_if = "Option::is_none")]
    agents: Option<Vec<DepartmentAgentView>>,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UpdatedDepartment {
    department: DepartmentView,
    agents: Vec<DepartmentAgentView>,
    success: Success,
}

rc_page!(DepartmentAgentPage { agents: DepartmentAgentView });

const SORT_FIELDS: [(&str, DepartmentSort); 4] = [
    ("_id", DepartmentSort::Id),
    ("name", DepartmentSort::Name),
    ("_updatedAt", DepartmentSort::UpdatedAt),
    ("numAgents", DepartmentSort::NumAgents),
];

const AGENT_SORT_FIELDS: [(&str, DepartmentAgentSort); 2] =
    [("username", DepartmentAgentSort::Username), ("order", DepartmentAgentSort::Order)];

/// Maps what a department change can refuse to Rocket.Chat's errors.
fn change_refused(error: StoreError) -> ApiError {
    match error {
        StoreError::NotFound => ApiError::coded("error-department-not-found", "Department not found"),
        // The only reference a department change writes is its fallback department.
        StoreError::Database(sqlx::Error::Database(error)) if error.is_foreign_key_violation() => {
            ApiError::coded("error-fallback-department-not-found", "Fallback department not found")
        }
        error if error.is_conflict_on("agent") => ApiError::coded("error-invalid-agent", "Invalid agent"),
        error if error.is_conflict_on("name") => {
            ApiError::coded("error-duplicated-department-name", "Department name already exists")
        }
        other => other.into(),
    }
}

/// The agent whose departments bound what the caller may read: callers without
/// view-livechat-departments (reading through view-l-room) and confined monitors see
/// only their own.
fn reader_scope(caller: &Caller<ReadDepartments>) -> Option<&str> {
    if caller.holds(VIEW_LIVECHAT_DEPARTMENTS) && !caller.is_confined_monitor() { None } else { Some(&caller.id) }
}

/// A confined monitor changes only departments it belongs to (403 otherwise, 400 when
/// unknown), checked inside the change's transaction; other managers change any.
fn confined_to(caller: &Caller<ManageDepartments>) -> Option<&str> {
    caller.is_confined_monitor().then_some(caller.id.as_str())
}

/// A department the caller may read, `None` when unknown; 403 when outside its scope.
async fn readable_department(state: &AppState, scope: Option<&str>, id: &str) -> ApiResult<Option<Department>> {
    let Some(department) = state.store.department_by_id(id).await? else {
        return Ok(None);
    };
    if let Some(agent_id) = scope
        && !state.store.is_department_agent(id, agent_id).await?
    {
        return Err(ApiError::unauthorized_object());
    }
    Ok(Some(department))
}

/// The departments; a reader with view-l-room alone sees only its own. Sort fields:
/// _id, name, _updatedAt, numAgents (default `{"name":1}`, in byte order as Rocket.Chat's).
#[utoipa::path(get, path = "/api/v1/livechat/department", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(DepartmentListFilter, PageParams),
    responses((status = 200, description = "A page of departments", body = DepartmentPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    query: Paged<DepartmentListFilter>,
) -> ApiResult<Json<DepartmentPage>> {
    let archived = (query.filter.show_archived != Some(true)).then_some(false);
    department_page(&state, &caller, query, archived).await
}

/// The page of departments `query` asks for, archived ones as `archived` says.
async fn department_page(
    state: &AppState,
    caller: &Caller<ReadDepartments>,
    query: Paged<DepartmentListFilter>,
    archived: Option<bool>,
) -> ApiResult<Json<DepartmentPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"name":1}"#), &SORT_FIELDS)?;
    let filter = DepartmentFilter {
        text: query.filter.text.as_deref().filter(|text| !text.is_empty()),
        enabled: query.filter.enabled,
        agent_id: reader_scope(caller),
        exclude_id: query.filter.exclude_department_id.as_deref().filter(|id| !id.is_empty()),
        archived,
    };
    let (departments, total) = state.store.departments(filter, query.page, &sort).await?;
    Ok(Json(DepartmentPage::new(departments.into_iter().map(DepartmentView::from).collect(), query.page, total)))
}

/// Creates a department, with its agents if given.
#[utoipa::path(post, path = "/api/v1/livechat/department", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    request_body = DepartmentBody,
    responses((status = 200, description = "The department and its agents", body = CreatedDepartment), RcPermitted, RcJsonBody))]
async fn create(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Body(body): Body<DepartmentBody>,
) -> ApiResult<Json<CreatedDepartment>> {
    let department = save_department(&state, &caller, None, &body).await?;
    let agents = state.store.department_agents(&department.id).await?;
    let agents = agents
        .into_iter()
        .map(|agent| CreatedAgent {
            agent_id: agent.agent_id,
            username: agent.username,
            count: agent.chat_count,
            order: agent.sort_order,
        })
        .collect();
    Ok(Json(CreatedDepartment { department: department.into(), agents, success: Success }))
}

/// Creates the department (`id` none) or replaces its fields, and its agents if given:
/// POST and PUT `livechat/department` and the DDP method `livechat:saveDepartment`. The
/// caller holds manage-livechat-departments; a confined monitor changes only its own.
pub(crate) async fn save_department(
    state: &AppState,
    caller: &AuthUser,
    id: Option<&str>,
    body: &DepartmentBody,
) -> ApiResult<Department> {
    let changes = body.changes(id)?;
    let Some(id) = id else {
        let new_agents = body.new_agents().unwrap_or_default();
        return state
            .store
            .create_department(&meteor_id(), &changes, &new_agents, state.now())
            .await
            .map_err(change_refused);
    };
    let confined_to = caller.is_confined_monitor().then_some(caller.id.as_str());
    let department = state
        .store
        .update_department(id, &changes, body.new_agents().as_deref(), confined_to, state.now())
        .await
        .map_err(change_refused)?;
    // New agents or a higher limit may let queued inquiries through.
    state.route_queue().await;
    Ok(department)
}

/// One department, with its agents unless `includeAgents=false`; for an unknown id,
/// `{"department": null}` with no agents.
#[utoipa::path(get, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256), OneDepartmentQuery),
    responses(
        (status = 200, description = "The department or null", body = OneDepartment),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn one(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    Path(id): Path<String>,
    Query(query): Query<OneDepartmentQuery>,
) -> ApiResult<Json<OneDepartment>> {
    let department = readable_department(&state, reader_scope(&caller), &id).await?;
    let agents = match query.include_agents.unwrap_or(true) {
        true => Some(agent_views(state.store.department_agents(&id).await?)),
        false => None,
    };
    Ok(Json(OneDepartment { department: department.map(DepartmentView::from), agents, success: Success }))
}

/// Replaces a department's fields, and its agents if given.
#[utoipa::path(put, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256)),
    request_body = DepartmentBody,
    responses(
        (status = 200, description = "The department and its agents", body = UpdatedDepartment),
        RcPermitted,
        RcJsonBody,
    ))]
async fn update(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Path(id): Path<String>,
    Body(body): Body<DepartmentBody>,
) -> ApiResult<Json<UpdatedDepartment>> {
    let department = save_department(&state, &caller, Some(&id), &body).await?;
    let agents = agent_views(state.store.department_agents(&id).await?);
    Ok(Json(UpdatedDepartment { department: department.into(), agents, success: Success }))
}

/// Deletes a department, when the setting `Omnichannel_enable_department_removal`
/// allows; an unknown id is 400 `error-department-not-found`.
#[utoipa::path(delete, path = "/api/v1/livechat/department/{id}", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256)),
    responses(
        (status = 200, description = "Deleted", body = Done),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn remove(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    if !state.store.setting::<DepartmentRemoval>().await? {
        return Err(ApiError::bad_request("error-department-removal-disabled"));
    }
    match state.store.delete_department(&id, confined_to(&caller)).await {
        Ok(()) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => Err(ApiError::bad_request("error-department-not-found")),
        Err(error) => Err(error.into()),
    }
}

/// A page of a department's agents (none for an unknown id). Sort fields: username,
/// order (default `{"order":1,"username":1}`).
#[utoipa::path(get, path = "/api/v1/livechat/department/{id}/agents", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256), PageParams),
    responses(
        (status = 200, description = "A page of agents", body = DepartmentAgentPage),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn agents(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    Path(id): Path<String>,
    query: Paged<NoFilter>,
) -> ApiResult<Json<DepartmentAgentPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"order":1,"username":1}"#), &AGENT_SORT_FIELDS)?;
    readable_department(&state, reader_scope(&caller), &id).await?;
    let (agents, total) = state.store.department_agents_page(&id, query.page, &sort).await?;
    Ok(Json(DepartmentAgentPage::new(agent_views(agents), query.page, total)))
}

/// Adds, changes and removes a department's agents.
#[utoipa::path(post, path = "/api/v1/livechat/department/{id}/agents", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256)),
    request_body = DepartmentAgentChanges,
    responses(
        (status = 200, description = "Changed", body = Done),
        RcPermitted,
        RcJsonBody,
    ))]
async fn change_agents(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Path(id): Path<String>,
    Body(body): Body<DepartmentAgentChanges>,
) -> ApiResult<Json<Done>> {
    let upsert: Vec<NewDepartmentAgent> = body
        .upsert
        .iter()
        .map(|agent| NewDepartmentAgent { agent_id: &agent.agent_id, chat_count: agent.count, sort_order: agent.order })
        .collect();
    let remove: Vec<&str> = body.remove.iter().map(|agent| agent.agent_id.as_str()).collect();
    state
        .store
        .change_department_agents(&id, &upsert, &remove, confined_to(&caller), state.now())
        .await
        .map_err(change_refused)?;
    state.route_queue().await;
    Ok(Done::ANSWER)
}

/// The archived departments, with the filters of the department list. Sort fields as
/// there (default `{"name":1}`).
#[utoipa::path(get, path = "/api/v1/livechat/departments/archived", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(DepartmentListFilter, PageParams),
    responses((status = 200, description = "A page of archived departments", body = DepartmentPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn archived_list(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    query: Paged<DepartmentListFilter>,
) -> ApiResult<Json<DepartmentPage>> {
    department_page(&state, &caller, query, Some(true)).await
}

/// Archives a department: it is disabled, leaves the department list and autocomplete
/// and no longer routes chats to its agents. Archiving an archived one changes nothing.
#[utoipa::path(post, path = "/api/v1/livechat/department/{id}/archive", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256)),
    responses((status = 200, description = "Archived", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn archive(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    match state.store.set_department_archived(&id, true, confined_to(&caller), state.now()).await {
        Ok(()) => Ok(Done::ANSWER),
        // Rocket.Chat throws a plain error here and a Meteor error on unarchive.
        Err(StoreError::NotFound) => Err(ApiError::bad_request("department-not-found")),
        Err(error) => Err(error.into()),
    }
}

/// Unarchives a department; it stays disabled until it is saved enabled.
#[utoipa::path(post, path = "/api/v1/livechat/department/{id}/unarchive", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("id" = String, Path, description = "The department's id", max_length = 256)),
    responses((status = 200, description = "Unarchived", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn unarchive(
    State(state): State<AppState>,
    caller: Caller<ManageDepartments>,
    Path(id): Path<String>,
) -> ApiResult<Json<Done>> {
    match state.store.set_department_archived(&id, false, confined_to(&caller), state.now()).await {
        Ok(()) => Ok(Done::ANSWER),
        Err(StoreError::NotFound) => Err(ApiError::meteor("department-not-found")),
        Err(error) => Err(error.into()),
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct DepartmentAutocompleteQuery {
    /// JSON `{"term": <start of the name>, "exceptions": [<ids to leave out>]}`;
    /// `conditions` is accepted and ignored
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    selector: String,
    /// Accepted; it narrows to a monitor's units, which this server does not have
    #[allow(dead_code)]
    only_my_departments: Option<bool>,
    /// true: only archived departments (as Rocket.Chat); otherwise only the others
    show_archived: Option<bool>,
}

/// Rocket.Chat words a missing selector itself.
impl Wording for DepartmentAutocompleteQuery {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::Missing { name, .. } if name == "selector" => selector_required(),
            other => ajv_refusal(other),
        }
    }
}

fn selector_required() -> ApiError {
    ApiError::bad_request("The 'selector' param is required")
}

/// `{items: [{_id, name}], success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DepartmentItems {
    items: Vec<DepartmentItem>,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DepartmentItem {
    #[serde(rename = "_id")]
    id: String,
    name: String,
}

impl From<DepartmentName> for DepartmentItem {
    fn from(department: DepartmentName) -> Self {
        Self { id: department.id, name: department.name }
    }
}

/// Departments whose name starts with the selector's term, in any case, by name.
#[utoipa::path(get, path = "/api/v1/livechat/department.autocomplete", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(DepartmentAutocompleteQuery),
    responses((status = 200, description = "The matching departments", body = DepartmentItems), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn autocomplete(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    WordedQuery(query): WordedQuery<DepartmentAutocompleteQuery>,
) -> ApiResult<Json<DepartmentItems>> {
    if query.selector.is_empty() {
        return Err(selector_required());
    }
    let Selector { term, exceptions } = parse_selector(&query.selector)?;
    let archived = query.show_archived == Some(true);
    let found = state.store.departments_named_like(term.trim(), &exceptions, archived, reader_scope(&caller)).await?;
    Ok(Json(DepartmentItems { items: found.into_iter().map(DepartmentItem::from).collect(), success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListByIdsQuery {
    /// The departments' ids; also sent as ids[]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(value_type = Option<Vec<KeyText>>, inline)]
    ids: Option<Vec<String>>,
    #[serde(rename = "ids[]")]
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    #[param(ignore)]
    bracketed_ids: Option<Vec<String>>,
}

/// `{departments, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DepartmentList {
    departments: Vec<DepartmentView>,
    success: Success,
}

/// The departments of these ids that exist, in creation order.
#[utoipa::path(get, path = "/api/v1/livechat/department.listByIds", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(ListByIdsQuery),
    responses((status = 200, description = "The departments found", body = DepartmentList), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list_by_ids(
    State(state): State<AppState>,
    caller: Caller<ReadDepartments>,
    Query(query): Query<ListByIdsQuery>,
) -> ApiResult<Json<DepartmentList>> {
    if query.ids.is_none() && query.bracketed_ids.is_none() {
        return Err(ApiError::bad_request("The 'ids' param is required"));
    }
    let ids: Vec<String> = query.ids.into_iter().flatten().chain(query.bracketed_ids.into_iter().flatten()).collect();
    let departments = state.store.departments_by_ids(&ids, reader_scope(&caller)).await?;
    Ok(Json(DepartmentList {
        departments: departments.into_iter().map(DepartmentView::from).collect(),
        success: Success,
    }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct AgentDepartmentsQuery {
    /// true: only the enabled departments
    enabled_departments_only: Option<bool>,
}

/// An agent's entry in a department, with the department's name.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgentDepartmentView {
    #[serde(rename = "_id")]
    id: String,
    agent_id: String,
    department_id: String,
    department_name: String,
    username: String,
    count: i64,
    order: i64,
    department_enabled: bool,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

impl From<AgentDepartment> for AgentDepartmentView {
    fn from(department: AgentDepartment) -> Self {
        let entry = department.entry;
        Self {
            id: format!("{}-{}", entry.department_id, entry.agent_id),
            agent_id: entry.agent_id,
            department_id: entry.department_id,
            department_name: department.department_name,
            username: entry.username,
            count: entry.chat_count,
            order: entry.sort_order,
            department_enabled: entry.department_enabled,
            updated_at: Timestamp(entry.updated_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentDepartments {
    departments: Vec<AgentDepartmentView>,
    success: Success,
}

/// The departments an agent serves in (none for an unknown agent), by name.
#[utoipa::path(get, path = "/api/v1/livechat/agents/{agentId}/departments", tag = "departments",
    security(("userId" = [], "authToken" = [])),
    params(("agentId" = String, Path, description = "The agent's id", max_length = 256), AgentDepartmentsQuery),
    responses((status = 200, description = "The agent's departments", body = AgentDepartments), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn agent_departments(
    State(state): State<AppState>,
    caller: Caller<ViewRooms>,
    Path(agent_id): Path<String>,
    Query(query): Query<AgentDepartmentsQuery>,
) -> ApiResult<Json<AgentDepartments>> {
    let enabled_only = query.enabled_departments_only == Some(true);
    // As the department list: a caller without view-livechat-departments, or a
    // confined monitor, sees only departments it serves in too.
    let member = if caller.holds(VIEW_LIVECHAT_DEPARTMENTS) && !caller.is_confined_monitor() {
        None
    } else {
        Some(caller.id.as_str())
    };
    let departments = state.store.departments_of_agent(&agent_id, enabled_only, member).await?;
    Ok(Json(AgentDepartments {
        departments: departments.into_iter().map(AgentDepartmentView::from).collect(),
        success: Success,
    }))
}
