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
//! - Ids may be sent as integers or numeric strings.
//! - A change that keeps losing to concurrent changes of the same chat is given up:
//!   409 `{"code":"conflict","message":"The chat changed while it was being updated, try again"}`.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::{ErrorEntry, HelpCrunchError, HelpCrunchResult};
use super::extract::{AuthenticatedApiKey, JsonObject};
use super::wire::{Chat, ChatPage, chat_json};
use crate::domain::chat::ChatStatus;
use crate::domain::chat_search::{
    ChatCondition, ChatField, ChatOperator, ChatSearch, ChatSortField, ChatValue, Comparison, MAX_CHATS_PER_PAGE,
    MAX_SEARCH_CONDITIONS, parse_direction,
};
use crate::domain::ids::{meteor_id, object_id};
use crate::domain::page::Direction;
use crate::http::AppState;
use crate::http::extract::QueryParams;
use crate::http::openapi::{
    HcBadRequest, HcConflict, HcJsonBody, HcKeyed, HcNotFound, closed_object, schema_component,
};
use crate::store::{AssigneeOutcome, Closer, StatusChange, StatusOutcome};

const BLANK: &str = "This value should not be blank.";
const MISSING: &str = "This field is missing.";
const NOT_NUMERIC: &str = "This value should be of type numeric.";
const NOT_VALID: &str = "This value is not valid.";
const NOT_STRING: &str = "This value should be of type string.";

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list))
        .routes(routes!(search))
        .routes(routes!(set_status))
        .routes(routes!(set_assignee))
        .routes(routes!(set_department))
        .routes(routes!(get_one))
}

/// A chat id: an integer, or a string of digits.
fn chat_id_schema() -> Value {
    json!({"type": ["integer", "string"]})
}

schema_component!(
    /// PUT /v1/chats/status.
    ChatStatusChange => closed_object(json!({
        "id": chat_id_schema(),
        "status": {"type": "string", "enum": ["new", "opened", "pending", "on hold", "on-hold", "onhold", "no communication", "closed"]},
    }))
);
schema_component!(
    /// PUT /v1/chats/assignee.
    ChatAssigneeChange => closed_object(json!({
        "id": chat_id_schema(),
        "assignee": {"type": ["integer", "string", "null"]},
    }))
);
schema_component!(
    /// PUT /v1/chats/department.
    ChatDepartmentChange => closed_object(json!({
        "id": chat_id_schema(),
        "department": {"type": ["integer", "string", "null"]},
    }))
);
schema_component!(
    /// POST /v1/chats/search.
    ChatSearchRequest => json!({
        "type": "object",
        "properties": {
            "comparison": {"type": "string", "enum": ["AND", "OR"]},
            "filter": {"type": "array", "maxItems": MAX_SEARCH_CONDITIONS, "items": closed_object(json!({
                "field": {"type": "string", "enum": [
                    "chats.status", "chats.assignee", "chats.department", "chats.createdAt", "chats.closedAt",
                    "chats.customer",
                ]},
                "operator": {"type": "string", "enum": ["=", "!=", ">", ">=", "<", "<="]},
                "value": {"type": ["string", "integer", "number", "null"]},
            }))},
            "sort": {"type": "string", "enum": SORT_FIELDS},
            "order": {"type": "string", "enum": ["asc", "desc"]},
            "offset": {"type": "integer", "minimum": 0},
            "limit": {"type": "integer", "minimum": 1, "maximum": MAX_CHATS_PER_PAGE},
        },
        "additionalProperties": false,
    })
);

const SORT_FIELDS: [&str; 4] =
    ["chats.createdAt", "chats.lastCustomerMessageAt", "chats.lastMessageAt", "chats.closedAt"];

/// The bad fields of one request, in the order they were checked.
#[derive(Default)]
struct Problems(Vec<ErrorEntry>);

impl Problems {
    fn add(&mut self, code: impl Into<String>, message: &str) {
        self.0.push(ErrorEntry::new(code, message));
    }

    /// The value when it was valid; otherwise records why under `code`.
    fn check<T>(&mut self, code: impl Into<String>, checked: Result<T, &'static str>) -> Option<T> {
        checked.map_err(|message| self.add(code, message)).ok()
    }

    /// The parsed request when nothing was wrong; otherwise 400 naming every bad field.
    fn finish<T>(self, parsed: Option<T>) -> HelpCrunchResult<T> {
        match parsed {
            Some(parsed) if self.0.is_empty() => Ok(parsed),
            _ => Err(HelpCrunchError::invalid_fields(self.0)),
        }
    }
}

/// An integer sent as a JSON number or a numeric string.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A required integer id.
fn required_id(value: Option<&Value>) -> Result<i64, &'static str> {
    match value {
        None | Some(Value::Null) => Err(BLANK),
        Some(Value::String(text)) if text.is_empty() => Err(BLANK),
        Some(value) => integer(value).ok_or(NOT_NUMERIC),
    }
}

/// An id that must be sent but may be `null` (no assignee, no department).
fn nullable_id(value: Option<&Value>) -> Result<Option<i64>, &'static str> {
    match value {
        None => Err(MISSING),
        Some(Value::Null) => Ok(None),
        Some(value) => integer(value).map(Some).ok_or(NOT_NUMERIC),
    }
}

/// UNIX seconds as an integer or a (fractional) numeric string; fractions are dropped.
fn seconds(value: &Value) -> Option<i64> {
    let number = match value {
        Value::Number(number) => number.as_f64()?,
        Value::String(text) => text.trim().parse::<f64>().ok()?,
        _ => return None,
    };
    number.is_finite().then(|| number.floor() as i64)
}

fn status(value: Option<&Value>) -> Result<ChatStatus, &'static str> {
    match value {
        None | Some(Value::Null) => Err(BLANK),
        Some(Value::String(text)) if text.is_empty() => Err(BLANK),
        Some(Value::String(text)) => ChatStatus::parse(text).ok_or(NOT_VALID),
        Some(_) => Err(NOT_STRING),
    }
}

/// Paging and order of a chat list; absent values take their defaults.
struct ListOptions {
    sort: ChatSortField,
    direction: Direction,
    offset: i64,
    limit: i64,
}

impl ListOptions {
    /// Reads `sort`, `order`, `offset` and `limit`, given as strings or JSON values.
    fn parse(problems: &mut Problems, get: impl Fn(&str) -> Option<Value>) -> Option<Self> {
        let sort = match get("sort") {
            None | Some(Value::Null) => Ok(ChatSortField::CreatedAt),
            Some(Value::String(raw)) => ChatSortField::parse(&raw).ok_or(NOT_VALID),
            Some(_) => Err(NOT_VALID),
        };
        let direction = match get("order") {
            None | Some(Value::Null) => Ok(Direction::Desc),
            Some(Value::String(raw)) => parse_direction(&raw).ok_or(NOT_VALID),
            Some(_) => Err(NOT_VALID),
        };
        let offset = match get("offset") {
            None | Some(Value::Null) => Ok(0),
            Some(value) => match integer(&value) {
                Some(offset) if offset >= 0 => Ok(offset),
                Some(_) => Err("This value should be greater than or equal to 0."),
                None => Err(NOT_NUMERIC),
            },
        };
        let limit = match get("limit") {
            None | Some(Value::Null) => Ok(MAX_CHATS_PER_PAGE),
            Some(value) => match integer(&value) {
                Some(limit) if (1..=MAX_CHATS_PER_PAGE).contains(&limit) => Ok(limit),
                Some(_) => Err("This value should be between 1 and 100."),
                None => Err(NOT_NUMERIC),
            },
        };
        let sort = problems.check("sort", sort);
        let direction = problems.check("order", direction);
        let offset = problems.check("offset", offset);
        let limit = problems.check("limit", limit);
        Some(Self { sort: sort?, direction: direction?, offset: offset?, limit: limit? })
    }

    fn search(self, comparison: Comparison, conditions: Vec<ChatCondition>) -> ChatSearch {
        ChatSearch {
            comparison,
            conditions,
            sort: self.sort,
            direction: self.direction,
            offset: self.offset,
            limit: self.limit,
        }
    }
}

async fn chat_answer(state: &AppState, chat: i64) -> HelpCrunchResult<Json<Value>> {
    let room = state.store.room_by_num_id(chat).await?.ok_or_else(HelpCrunchError::chat_not_found)?;
    Ok(Json(chat_json(&room)))
}

async fn page_answer(state: &AppState, search: &ChatSearch) -> HelpCrunchResult<Json<Value>> {
    let (rooms, total) = state.store.search_chats(search).await?;
    let data: Vec<Value> = rooms.iter().map(chat_json).collect();
    Ok(Json(json!({"data": data, "meta": {"total": total}})))
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
async fn get_one(State(state): State<AppState>, Path(raw_id): Path<String>) -> HelpCrunchResult<Json<Value>> {
    let chat = raw_id.parse::<i64>().map_err(|_| HelpCrunchError::invalid_field("id", NOT_NUMERIC))?;
    chat_answer(&state, chat).await
}

/// Every chat, one page in the requested order.
#[utoipa::path(get, path = "/v1/chats", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    params(
        ("offset" = Option<i64>, Query, description = "Chats to skip", minimum = 0),
        ("limit" = Option<i64>, Query, description = "Chats per page, at most 100", minimum = 1, maximum = 100),
        ("sort" = Option<String>, Query, description = "chats.createdAt, chats.lastCustomerMessageAt, chats.lastMessageAt or chats.closedAt"),
        ("order" = Option<String>, Query, description = "asc or desc"),
    ),
    responses(
        (status = 200, description = "A page of chats", body = ChatPage),
        (status = 400, response = HcBadRequest),
        HcKeyed,
    ))]
async fn list(State(state): State<AppState>, query: QueryParams) -> HelpCrunchResult<Json<Value>> {
    let mut problems = Problems::default();
    let options = ListOptions::parse(&mut problems, |name| query.get(name).map(|value| json!(value)));
    let search = problems.finish(options)?.search(Comparison::And, Vec::new());
    page_answer(&state, &search).await
}

/// Chats matching filter conditions.
#[utoipa::path(post, path = "/v1/chats/search", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatSearchRequest,
    responses((status = 200, description = "A page of matching chats", body = ChatPage), HcJsonBody, HcKeyed))]
async fn search(State(state): State<AppState>, JsonObject(body): JsonObject) -> HelpCrunchResult<Json<Value>> {
    let mut problems = Problems::default();
    let comparison = match body.get("comparison") {
        None | Some(Value::Null) => Ok(Comparison::And),
        Some(Value::String(raw)) => Comparison::parse(raw).ok_or(NOT_VALID),
        Some(_) => Err(NOT_VALID),
    };
    let comparison = problems.check("comparison", comparison);
    let conditions = match body.get("filter") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(entries)) if entries.len() > MAX_SEARCH_CONDITIONS => {
            problems
                .add("filter", &format!("This collection should contain {MAX_SEARCH_CONDITIONS} elements or less."));
            Vec::new()
        }
        Some(Value::Array(entries)) => {
            entries.iter().enumerate().filter_map(|(index, entry)| condition(&mut problems, index, entry)).collect()
        }
        Some(_) => {
            problems.add("filter", "This value should be of type array.");
            Vec::new()
        }
    };
    let options = ListOptions::parse(&mut problems, |name| body.get(name).cloned());
    let (comparison, options) = problems.finish(comparison.zip(options))?;
    let search = options.search(comparison, conditions);
    page_answer(&state, &search).await
}

/// One filter entry, or its problems named `filter[N].field`, `.operator`, `.value`.
fn condition(problems: &mut Problems, index: usize, entry: &Value) -> Option<ChatCondition> {
    let Value::Object(entry) = entry else {
        problems.add(format!("filter[{index}]"), "This value should be of type object.");
        return None;
    };
    let field = match entry.get("field") {
        None | Some(Value::Null) => Err(BLANK),
        Some(Value::String(raw)) if raw.is_empty() => Err(BLANK),
        Some(Value::String(raw)) => ChatField::parse(raw).ok_or(NOT_VALID),
        Some(_) => Err(NOT_VALID),
    };
    let field = problems.check(format!("filter[{index}].field"), field);
    let operator = match entry.get("operator") {
        None | Some(Value::Null) => Err(BLANK),
        Some(Value::String(raw)) if raw.is_empty() => Err(BLANK),
        Some(Value::String(raw)) => match (ChatOperator::parse(raw), field) {
            (Some(operator), Some(field)) if !operator.is_equality() && !field.is_ordered() => Err(NOT_VALID),
            (operator, _) => operator.ok_or(NOT_VALID),
        },
        Some(_) => Err(NOT_VALID),
    };
    let operator = problems.check(format!("filter[{index}].operator"), operator);
    let value = field.map(|field| condition_value(field, operator, entry));
    let value = value.and_then(|value| problems.check(format!("filter[{index}].value"), value));
    Some(ChatCondition { field: field?, operator: operator?, value: value? })
}

fn condition_value(
    field: ChatField,
    operator: Option<ChatOperator>,
    entry: &Map<String, Value>,
) -> Result<ChatValue, &'static str> {
    let value = match entry.get("value") {
        None => return Err(BLANK),
        Some(Value::Null) if field.may_be_empty() && operator.is_none_or(ChatOperator::is_equality) => {
            return Ok(ChatValue::Empty);
        }
        Some(Value::Null) => return Err(BLANK),
        Some(value) => value,
    };
    match field {
        ChatField::Status => status(Some(value)).map(ChatValue::Status),
        ChatField::Assignee | ChatField::Department | ChatField::Customer => {
            integer(value).map(ChatValue::Id).ok_or(NOT_NUMERIC)
        }
        ChatField::CreatedAt | ChatField::ClosedAt => seconds(value).map(ChatValue::Seconds).ok_or(NOT_NUMERIC),
    }
}

/// Changes a chat's status.
#[utoipa::path(put, path = "/v1/chats/status", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatStatusChange,
    responses(
        (status = 200, description = "The updated chat", body = Chat),
        (status = 404, response = HcNotFound),
        (status = 409, response = HcConflict),
        HcJsonBody,
        HcKeyed,
    ))]
async fn set_status(
    State(state): State<AppState>,
    AuthenticatedApiKey(key): AuthenticatedApiKey,
    JsonObject(body): JsonObject,
) -> HelpCrunchResult<Json<Value>> {
    let mut problems = Problems::default();
    let chat = problems.check("id", required_id(body.get("id")));
    let status = problems.check("status", status(body.get("status")));
    let (chat, status) = problems.finish(chat.zip(status))?;
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
        StatusOutcome::Changed | StatusOutcome::Unchanged => chat_answer(&state, chat).await,
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
        HcJsonBody,
        HcKeyed,
    ))]
async fn set_assignee(State(state): State<AppState>, JsonObject(body): JsonObject) -> HelpCrunchResult<Json<Value>> {
    let mut problems = Problems::default();
    let chat = problems.check("id", required_id(body.get("id")));
    let assignee = problems.check("assignee", nullable_id(body.get("assignee")));
    let (chat, assignee) = problems.finish(chat.zip(assignee))?;
    let now = state.now();
    let outcome = match assignee {
        Some(agent) => {
            let agent_id = state
                .store
                .agent_id_by_num_id(agent)
                .await?
                .ok_or_else(|| HelpCrunchError::entity_not_found("Agent not found"))?;
            state.store.assign_chat(chat, &agent_id, now).await?
        }
        None => state.store.unassign_chat(chat, now).await?,
    };
    match outcome {
        AssigneeOutcome::Changed | AssigneeOutcome::Unchanged => chat_answer(&state, chat).await,
        AssigneeOutcome::NotFound => Err(HelpCrunchError::chat_not_found()),
        AssigneeOutcome::Closed => Err(HelpCrunchError::invalid_field("id", "Chat is closed")),
        AssigneeOutcome::AlreadyAssigned => Err(HelpCrunchError::invalid_field("assignee", "Chat is already assigned")),
    }
}

/// Moves a chat to a department, or out of any (`null`).
#[utoipa::path(put, path = "/v1/chats/department", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    request_body = ChatDepartmentChange,
    responses(
        (status = 200, description = "The updated chat", body = Chat),
        (status = 404, response = HcNotFound),
        HcJsonBody,
        HcKeyed,
    ))]
async fn set_department(State(state): State<AppState>, JsonObject(body): JsonObject) -> HelpCrunchResult<Json<Value>> {
    let mut problems = Problems::default();
    let chat = problems.check("id", required_id(body.get("id")));
    let department = problems.check("department", nullable_id(body.get("department")));
    let (chat, department) = problems.finish(chat.zip(department))?;
    let department_id = match department {
        Some(department) => Some(
            state
                .store
                .department_id_by_num_id(department)
                .await?
                .ok_or_else(|| HelpCrunchError::entity_not_found("Department not found"))?,
        ),
        None => None,
    };
    if !state.store.move_chat_department(chat, department_id.as_deref(), state.now()).await? {
        return Err(HelpCrunchError::chat_not_found());
    }
    chat_answer(&state, chat).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_integers_or_numeric_strings() {
        assert_eq!(required_id(Some(&json!(542335))), Ok(542335));
        assert_eq!(required_id(Some(&json!("542335"))), Ok(542335));
        assert_eq!(required_id(Some(&json!("abc"))), Err(NOT_NUMERIC));
        assert_eq!(required_id(Some(&json!(1.5))), Err(NOT_NUMERIC));
        assert_eq!(required_id(None), Err(BLANK));
        assert_eq!(nullable_id(Some(&Value::Null)), Ok(None));
        assert_eq!(nullable_id(None), Err(MISSING));
    }

    #[test]
    fn seconds_accept_fractions_and_strings() {
        assert_eq!(seconds(&json!(1603885746)), Some(1603885746));
        assert_eq!(seconds(&json!("1603885746.9")), Some(1603885746));
        assert_eq!(seconds(&json!("NaN")), None);
        assert_eq!(seconds(&json!(true)), None);
    }
}
