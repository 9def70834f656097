//! /v1/chats: read, list and search chats; change their status, assignee and department.
//!
//! Where HelpCrunch's documentation is silent, this face decides:
//! - Assigning an agent to a chat without an assignee takes it (inquiry taken, chat
//!   "opened"); of concurrent assignments exactly one wins. A chat another agent
//!   already has is not taken over silently: 400 `{"code":"assignee","message":"Chat is
//!   already assigned"}`; unassign it first (`"assignee": null`) to hand it over.
//!   Assigning its own assignee again is 200 and changes nothing.
//! - A closed chat keeps its assignee; assigning or unassigning it is 400
//!   `{"code":"id","message":"Chat is closed"}`; reopen it through /v1/chats/status.
//! - The agent need not be available: the API key acts as a manager.
//! - A chat closed through this face is closed by "agent", and its closing message is
//!   authored by the API key (`api-key-<id>`, the key's name).
//! - Moving a chat to another department is Rocket.Chat's forward to a department: the
//!   chat loses its assignee and waits in that department's queue (routing may assign
//!   it at once), with a `livechat_transfer_history` message by the API key. A closed
//!   chat is not moved (400 `id` "Chat is closed").
//! - Ids may be sent as integers or numeric strings.
//! - A change that keeps losing to concurrent changes of the same chat is given up:
//!   409 `{"code":"conflict","message":"The chat changed while it was being updated, try again"}`.

use axum::Json;
use axum::extract::{Path, State};
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{HelpCrunchError, HelpCrunchResult};
use super::extract::{AuthenticatedApiKey, HcBody, HcQuery, HcRequest, Problem, filter_conditions};
use super::fields::{
    BLANK, ChatId, ChatLimit, ChatOffset, ComparisonName, FieldName, NOT_NUMERIC, NOT_VALID, NumericId, OperatorName,
    OrderName, Seconds, SortName, StatusName,
};
use super::wire::{Chat, ChatPage};
use crate::domain::chat_search::{
    ChatCondition, ChatField, ChatOperator, ChatSearch, ChatSortField, ChatValue, Comparison, MAX_CHATS_PER_PAGE,
};
use crate::domain::ids::{meteor_id, object_id};
use crate::domain::page::Direction;
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::openapi::{HcBadRequest, HcConflict, HcJsonBody, HcKeyed, HcNotFound, HcSmallJsonBody};
use crate::store::{
    AssigneeOutcome, Closer, DepartmentRef, Forward, ForwardOutcome, ForwardTarget, Party, RoomGuard, StatusChange,
    StatusOutcome,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(search))
        .routes(routes!(set_status))
        .routes(routes!(set_assignee))
        .routes(routes!(set_department))
        .routes(routes!(get_one))
}

/// The query of GET /v1/chats.
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct ChatListQuery {
    /// chats.createdAt (the default), chats.lastCustomerMessageAt, chats.lastMessageAt or chats.closedAt
    sort: Option<SortName>,
    /// asc or desc (the default)
    order: Option<OrderName>,
    /// Chats to skip
    offset: Option<ChatOffset>,
    /// Chats per page, at most 100
    limit: Option<ChatLimit>,
}

impl HcRequest for ChatListQuery {}

/// POST /v1/chats/search: conditions on chats, and the page of them to answer with.
/// Unknown properties are ignored.
#[derive(Deserialize, ToSchema)]
struct ChatSearchRequest {
    /// How the conditions combine (default AND).
    comparison: Option<ComparisonName>,
    #[schema(max_items = 50)]
    filter: Option<Vec<SearchCondition>>,
    sort: Option<SortName>,
    order: Option<OrderName>,
    offset: Option<ChatOffset>,
    limit: Option<ChatLimit>,
}

/// A search condition: `field operator value`.
// Field and operator are required by the schema but read as `Option`, so that a
// condition whose field or operator was refused is still read, and judged whole by
// `SearchCondition::condition`.
#[derive(Deserialize, ToSchema)]
struct SearchCondition {
    #[schema(value_type = FieldName, required = true)]
    field: Option<FieldName>,
    /// Statuses and ids compare with = and != only.
    #[schema(value_type = OperatorName, required = true)]
    operator: Option<OperatorName>,
    /// What the field is compared with: a status name, an integer id (or numeric
    /// string), or UNIX seconds (a number or numeric string); `null` with = or != finds
    /// chats without an assignee, department, SLA due time or SLA breach.
    /// `chats.slaDueAt` and `chats.slaBreachedAt` are additions of this server.
    #[serde(default, deserialize_with = "present")]
    value: Option<Value>,
}

/// A property that may be `null`: absent is `None`, `null` is `Some(Value::Null)`.
fn present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

impl SearchCondition {
    /// The condition, or the problems of its parts (`field`, `operator`, `value`), in
    /// that order; the value is judged only when the field is known.
    fn condition(&self) -> Result<ChatCondition, Vec<(&'static str, String)>> {
        let mut problems = Vec::new();
        let field = self.field.map(|FieldName(field)| field);
        if field.is_none() {
            problems.push(("field", BLANK.to_owned()));
        }
        let operator = match (self.operator, field) {
            (None, _) => {
                problems.push(("operator", BLANK.to_owned()));
                None
            }
            (Some(OperatorName(operator)), Some(field)) if !operator.is_equality() && !field.is_ordered() => {
                problems.push(("operator", NOT_VALID.to_owned()));
                None
            }
            (Some(OperatorName(operator)), _) => Some(operator),
        };
        let value = field
            .and_then(|field| self.value(field, operator).map_err(|message| problems.push(("value", message))).ok());
        match (field, operator, value) {
            (Some(field), Some(operator), Some(value)) => Ok(ChatCondition { field, operator, value }),
            _ => Err(problems),
        }
    }

    fn value(&self, field: ChatField, operator: Option<ChatOperator>) -> Result<ChatValue, String> {
        let value = match &self.value {
            None => return Err(BLANK.to_owned()),
            Some(Value::Null) if field.may_be_empty() && operator.is_none_or(ChatOperator::is_equality) => {
                return Ok(ChatValue::Empty);
            }
            Some(Value::Null) => return Err(BLANK.to_owned()),
            Some(value) => value,
        };
        let value = match field {
            ChatField::Status => StatusName::deserialize(value).map(|StatusName(status)| ChatValue::Status(status)),
            ChatField::Assignee | ChatField::Department | ChatField::Customer => {
                NumericId::deserialize(value).map(|NumericId(id)| ChatValue::Id(id))
            }
            ChatField::CreatedAt | ChatField::ClosedAt | ChatField::SlaDueAt | ChatField::SlaBreachedAt => {
                Seconds::deserialize(value).map(|Seconds(seconds)| ChatValue::Seconds(seconds))
            }
        };
        value.map_err(|error| error.to_string())
    }
}

impl ChatSearchRequest {
    /// Every condition, or the problems of the bad ones, at `filter[N].<part>`.
    fn conditions(&self) -> Result<Vec<ChatCondition>, Vec<Problem>> {
        filter_conditions(self.filter.iter().flatten(), SearchCondition::condition)
    }
}

impl HcRequest for ChatSearchRequest {
    fn problems(&self) -> Vec<Problem> {
        self.conditions().err().unwrap_or_default()
    }
}

/// A chat search from its parts; absent ones take their defaults.
fn chat_search(
    comparison: Option<ComparisonName>,
    conditions: Vec<ChatCondition>,
    sort: Option<SortName>,
    order: Option<OrderName>,
    offset: Option<ChatOffset>,
    limit: Option<ChatLimit>,
) -> ChatSearch {
    ChatSearch {
        comparison: comparison.map_or(Comparison::And, |ComparisonName(comparison)| comparison),
        conditions,
        sort: sort.map_or(ChatSortField::CreatedAt, |SortName(sort)| sort),
        direction: order.map_or(Direction::Desc, |OrderName(order)| order),
        offset: offset.map_or(0, |ChatOffset(offset)| offset),
        limit: limit.map_or(MAX_CHATS_PER_PAGE, |ChatLimit(limit)| limit),
    }
}

/// PUT /v1/chats/status.
#[derive(Deserialize, ToSchema)]
struct ChatStatusChange {
    id: ChatId,
    status: StatusName,
}

impl HcRequest for ChatStatusChange {}

/// PUT /v1/chats/assignee: an agent's integer id, or `null` to unassign.
#[derive(Deserialize, ToSchema)]
struct ChatAssigneeChange {
    id: ChatId,
    #[schema(required = true)]
    assignee: Option<NumericId>,
}

impl HcRequest for ChatAssigneeChange {}

/// PUT /v1/chats/department: a department's integer id, or `null` for none.
#[derive(Deserialize, ToSchema)]
struct ChatDepartmentChange {
    id: ChatId,
    #[schema(required = true)]
    department: Option<NumericId>,
}

impl HcRequest for ChatDepartmentChange {}

async fn chat_answer(state: &AppState, chat: i64) -> HelpCrunchResult<Json<Chat>> {
    let room = state.store.room_by_num_id(chat).await?.ok_or_else(HelpCrunchError::chat_not_found)?;
    Ok(Json(Chat::from(&room)))
}

async fn page_answer(state: &AppState, search: &ChatSearch) -> HelpCrunchResult<Json<ChatPage>> {
    let (rooms, total) = state.store.search_chats(search).await?;
    Ok(Json(ChatPage::new(&rooms, total)))
}

/// One chat.
#[utoipa::path(get, path = "/v1/chats/{id}", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(("id" = i64, Path, description = "The chat's integer id")),
    responses(
        (status = 200, description = "The chat", body = Chat),
        (status = 400, response = HcBadRequest),
        (status = 404, response = HcNotFound),
        HcKeyed,
    ))]
async fn get_one(State(state): State<AppState>, Path(raw_id): Path<String>) -> HelpCrunchResult<Json<Chat>> {
    let chat = raw_id.parse::<i64>().map_err(|_| HelpCrunchError::invalid_field("id", NOT_NUMERIC))?;
    chat_answer(&state, chat).await
}

/// Every chat, one page in the requested order.
#[utoipa::path(get, path = "/v1/chats", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(ChatListQuery),
    responses(
        (status = 200, description = "A page of chats", body = ChatPage),
        (status = 400, response = HcBadRequest),
        HcKeyed,
    ))]
async fn list(
    State(state): State<AppState>,
    HcQuery(query): HcQuery<ChatListQuery>,
) -> HelpCrunchResult<Json<ChatPage>> {
    let search = chat_search(None, Vec::new(), query.sort, query.order, query.offset, query.limit);
    page_answer(&state, &search).await
}

/// Chats matching filter conditions.
#[utoipa::path(post, path = "/v1/chats/search", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatSearchRequest,
    responses((status = 200, description = "A page of matching chats", body = ChatPage), HcJsonBody, HcKeyed))]
async fn search(
    State(state): State<AppState>,
    HcBody(body): HcBody<ChatSearchRequest>,
) -> HelpCrunchResult<Json<ChatPage>> {
    let conditions =
        body.conditions().map_err(|_| HelpCrunchError::internal("search conditions refused after being checked"))?;
    let search = chat_search(body.comparison, conditions, body.sort, body.order, body.offset, body.limit);
    page_answer(&state, &search).await
}

/// Changes a chat's status.
#[utoipa::path(put, path = "/v1/chats/status", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatStatusChange,
    responses(
        (status = 200, description = "The updated chat", body = Chat),
        (status = 404, response = HcNotFound),
        (status = 409, response = HcConflict),
        HcSmallJsonBody,
        HcKeyed,
    ))]
async fn set_status(
    State(state): State<AppState>,
    AuthenticatedApiKey(key): AuthenticatedApiKey,
    HcBody(ChatStatusChange { id: ChatId(chat), status: StatusName(status) }): HcBody<
        ChatStatusChange,
        SMALL_BODY_BYTES,
    >,
) -> HelpCrunchResult<Json<Chat>> {
    let closer_id = format!("api-key-{}", key.num_id);
    let change = StatusChange {
        chat,
        status,
        closer: Closer::Agent { user_id: &closer_id, username: &key.name, name: &key.name },
        close_message_id: &meteor_id(),
        inquiry_id: &object_id(),
        now: state.now(),
    };
    match state.store.set_chat_status(change).await? {
        StatusOutcome::Changed => {
            // A closed chat frees its agent; a reopened one may be queued.
            state.route_queue().await;
            chat_answer(&state, chat).await
        }
        StatusOutcome::Unchanged => chat_answer(&state, chat).await,
        StatusOutcome::NotFound => Err(HelpCrunchError::chat_not_found()),
        StatusOutcome::NoAssignee => Err(HelpCrunchError::invalid_field("status", "Chat has no assignee")),
        StatusOutcome::CustomerHasOpenChat => {
            Err(HelpCrunchError::invalid_field("status", "Customer already has an open chat"))
        }
    }
}

/// Assigns a chat to an agent, or unassigns it (`null`).
#[utoipa::path(put, path = "/v1/chats/assignee", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatAssigneeChange,
    responses(
        (status = 200, description = "The updated chat", body = Chat),
        (status = 404, response = HcNotFound),
        (status = 409, response = HcConflict),
        HcSmallJsonBody,
        HcKeyed,
    ))]
async fn set_assignee(
    State(state): State<AppState>,
    HcBody(ChatAssigneeChange { id: ChatId(chat), assignee }): HcBody<ChatAssigneeChange, SMALL_BODY_BYTES>,
) -> HelpCrunchResult<Json<Chat>> {
    let now = state.now();
    let outcome = match assignee {
        Some(NumericId(agent)) => {
            let agent_id = state
                .store
                .agent_id_by_num_id(agent)
                .await?
                .ok_or_else(|| HelpCrunchError::entity_not_found("Agent not found"))?;
            state.store.assign_chat(chat, &agent_id, now).await?
        }
        None => {
            let outcome = state.store.unassign_chat(chat, now).await?;
            if outcome == AssigneeOutcome::Changed {
                state.route_queue().await;
            }
            outcome
        }
    };
    match outcome {
        AssigneeOutcome::Changed | AssigneeOutcome::Unchanged => chat_answer(&state, chat).await,
        AssigneeOutcome::NotFound => Err(HelpCrunchError::chat_not_found()),
        AssigneeOutcome::Closed => Err(HelpCrunchError::invalid_field("id", "Chat is closed")),
        AssigneeOutcome::AlreadyAssigned => Err(HelpCrunchError::invalid_field("assignee", "Chat is already assigned")),
        AssigneeOutcome::OverLimit => Err(HelpCrunchError::invalid_field(
            "assignee",
            "Agent has reached the maximum number of simultaneous chats",
        )),
    }
}

/// Moves a chat to a department, or out of any (`null`), as Rocket.Chat forwards a room
/// to a department: it goes back to that department's queue without an assignee, with a
/// transfer history message authored by the API key. Moving it to the department it is
/// in changes nothing.
#[utoipa::path(put, path = "/v1/chats/department", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatDepartmentChange,
    responses(
        (status = 200, description = "The updated chat", body = Chat),
        (status = 404, response = HcNotFound),
        (status = 409, response = HcConflict),
        HcSmallJsonBody,
        HcKeyed,
    ))]
async fn set_department(
    State(state): State<AppState>,
    AuthenticatedApiKey(key): AuthenticatedApiKey,
    HcBody(ChatDepartmentChange { id: ChatId(chat), department }): HcBody<ChatDepartmentChange, SMALL_BODY_BYTES>,
) -> HelpCrunchResult<Json<Chat>> {
    let department_not_found = || HelpCrunchError::entity_not_found("Department not found");
    let department = match department {
        Some(NumericId(department)) => {
            let id = state.store.department_id_by_num_id(department).await?.ok_or_else(department_not_found)?;
            Some(state.store.department_by_id(&id).await?.ok_or_else(department_not_found)?)
        }
        None => None,
    };
    let room = state.store.room_by_num_id(chat).await?.ok_or_else(HelpCrunchError::chat_not_found)?;
    if !room.open {
        return Err(HelpCrunchError::invalid_field("id", "Chat is closed"));
    }
    let target_id = department.as_ref().map(|department| department.id.as_str());
    if room.department_id.as_deref() == target_id {
        return chat_answer(&state, chat).await;
    }
    let by_id = format!("api-key-{}", key.num_id);
    let message_id = meteor_id();
    let forward = Forward {
        room_id: &room.id,
        seen_served_by: room.served_by.as_deref(),
        seen_department: room.department_id.as_deref(),
        target: ForwardTarget::Department(
            department.as_ref().map(|department| DepartmentRef { id: &department.id, name: &department.name }),
        ),
        by: Party { id: &by_id, username: &key.name, name: Some(&key.name) },
        guard: RoomGuard::ANYONE,
        comment: None,
        message_id: &message_id,
        now: state.now(),
    };
    match state.store.forward_room(&forward).await? {
        ForwardOutcome::Forwarded => {
            // Back in a queue: that department's agents may be given it now.
            state.route_queue().await;
            chat_answer(&state, chat).await
        }
        // Only agent forwards hold an agent; a department forward loses only to a
        // concurrent change of the same chat.
        ForwardOutcome::RoomChanged | ForwardOutcome::AgentUnavailable | ForwardOutcome::OverLimit => {
            Err(HelpCrunchError::conflict())
        }
    }
}
