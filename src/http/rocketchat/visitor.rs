//! The visitor (widget) side: no user login; the visitor's own token is the credential,
//! and a token never reads or changes another visitor's rooms.

use axum::Json;
use axum::extract::{Path, State};
use serde_json::{Map, Value, json};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::wire::{message_json, message_schema, room_json, room_schema, visitor_json, visitor_schema};
use crate::domain::ids::{meteor_id, object_id};
use crate::domain::page::Page;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{JsonBody, QueryParams};
use crate::http::openapi::{
    RcBadRequest, RcForbidden, RcJsonBody, RcUnavailable, closed_object, closed_object_with_optional, ignored,
    rc_wrapped, schema_component,
};
use crate::http::validate::Fields;
use crate::store::{Closer, NewMessage, NewRoom, Room, StoreError, Visitor, VisitorDetails};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(register_visitor))
        .routes(routes!(visitor_by_token))
        .routes(routes!(open_room))
        .routes(routes!(send_message))
        .routes(routes!(message_history))
        .routes(routes!(close_room))
}

schema_component!(VisitorBody => closed_object(json!({
    "visitor": {
        "type": "object",
        "required": ["token"],
        "properties": {
            "token": {"type": "string", "minLength": 1},
            "name": {"type": ["string", "null"]},
            "email": {"type": ["string", "null"]},
            "phone": {"type": ["string", "null"]},
            "username": {"type": ["string", "null"]},
            "department": {"type": ["string", "null"], "description": "A department's id or name"},
        },
    },
})));
schema_component!(OneVisitor => rc_wrapped("visitor", visitor_schema()));
schema_component!(OpenedRoom => closed_object(json!({
    "room": room_schema(),
    "newRoom": {"type": "boolean"},
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(VisitorMessageBody => closed_object_with_optional(
    json!({
        "token": {"type": "string"},
        "rid": {"type": "string"},
        "msg": {"type": "string", "minLength": 1},
        "_id": {"type": ["string", "null"]},
        "agent": ignored(),
    }),
    &["_id", "agent"],
));
schema_component!(SentMessage => rc_wrapped("message", message_schema()));
schema_component!(MessageHistory => closed_object(json!({
    "messages": {"type": "array", "items": message_schema()},
    "unreadNotLoaded": {"type": "integer"},
    "offset": {"type": "integer", "minimum": 0},
    "count": {"type": "integer", "minimum": 0},
    "total": {"type": "integer", "minimum": 0},
    "success": {"type": "boolean", "enum": [true]},
})));
schema_component!(VisitorCloseBody => closed_object(json!({
    "rid": {"type": "string"},
    "token": {"type": "string"},
})));
schema_component!(VisitorClosedRoom => closed_object(json!({
    "rid": {"type": "string"},
    "comment": {"type": "string"},
    "success": {"type": "boolean", "enum": [true]},
})));

/// Rocket.Chat's visitor routes still answer with Meteor `check()` messages.
fn match_error(message: String) -> ApiError {
    ApiError::bad_request(format!("Match error: {message}"))
}

fn invalid_token() -> ApiError {
    ApiError::bad_request("invalid-token")
}

fn invalid_department() -> ApiError {
    ApiError::coded("error-invalid-department", "The provided department is invalid")
}

/// An optional string of the visitor object, checked the way Meteor's `check` words it.
fn visitor_field<'a>(visitor: &'a Map<String, Value>, name: &str) -> ApiResult<Option<&'a str>> {
    match visitor.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(value)) => Ok(Some(value)),
        Some(other) => {
            Err(match_error(format!("Expected string, got {} in field visitor.{name}", json_type_name(other))))
        }
    }
}

fn json_type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Registers the visitor of a token, or updates it.
#[utoipa::path(post, path = "/api/v1/livechat/visitor", tag = "visitor",
    request_body = VisitorBody,
    responses(
        (status = 200, description = "The visitor", body = OneVisitor),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn register_visitor(State(state): State<AppState>, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let visitor = match body.get("visitor") {
        None => return Err(match_error("Missing key 'visitor'".into())),
        Some(Value::Object(visitor)) => visitor,
        Some(other) => return Err(match_error(format!("Expected object, got {}", json_type_name(other)))),
    };
    let token =
        visitor_field(visitor, "token")?.ok_or_else(|| match_error("Missing key 'token' in field visitor".into()))?;
    if token.is_empty() {
        return Err(match_error("Missing key 'token' in field visitor".into()));
    }
    let name = visitor_field(visitor, "name")?;
    let email = visitor_field(visitor, "email")?;
    let phone = visitor_field(visitor, "phone")?;
    visitor_field(visitor, "username")?;
    let department_id = match visitor_field(visitor, "department")? {
        Some(department) => Some(
            state
                .store
                .department_by_id_or_name(department)
                .await?
                .map(|department| department.id)
                .ok_or_else(invalid_department)?,
        ),
        None => None,
    };
    let id = meteor_id();
    let visitor = state
        .store
        .upsert_visitor(VisitorDetails {
            id: &id,
            token,
            name,
            email,
            phone,
            department_id: department_id.as_deref(),
            now: state.now(),
        })
        .await?;
    Ok(Json(json!({"visitor": visitor_json(&visitor), "success": true})))
}

/// The visitor of a token.
#[utoipa::path(get, path = "/api/v1/livechat/visitor/{token}", tag = "visitor",
    params(("token" = String, Path, description = "The visitor's token")),
    responses(
        (status = 200, description = "The visitor", body = OneVisitor),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn visitor_by_token(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<Value>> {
    let visitor = state.store.visitor_by_token(&token).await?.ok_or_else(invalid_token)?;
    Ok(Json(json!({"visitor": visitor_json(&visitor), "success": true})))
}

async fn known_visitor(state: &AppState, token: &str) -> ApiResult<Visitor> {
    state.store.visitor_by_token(token).await?.ok_or_else(invalid_token)
}

/// A room the visitor owns, or the error that says why not.
async fn own_room(state: &AppState, visitor: &Visitor, room_id: &str) -> ApiResult<Room> {
    let room = state.store.room_by_id(room_id).await?.ok_or_else(|| ApiError::bad_request("invalid-room"))?;
    if room.visitor_id != visitor.id {
        return Err(ApiError::unauthorized_object());
    }
    Ok(room)
}

/// The visitor's open room with that id, or a new room (queued as an inquiry).
#[utoipa::path(get, path = "/api/v1/livechat/room", tag = "visitor",
    params(
        ("token" = String, Query, description = "The visitor's token"),
        ("rid" = Option<String>, Query, description = "The room's id, chosen by the widget"),
        ("department" = Option<String>, Query, description = "A department's id or name"),
        ("agentId" = Option<String>, Query, description = "Accepted and ignored"),
    ),
    responses(
        (status = 200, description = "The room, and whether it was opened now", body = OpenedRoom),
        (status = 400, response = RcBadRequest),
        (status = 403, response = RcForbidden),
        (status = 503, response = RcUnavailable),
    ))]
async fn open_room(State(state): State<AppState>, query: QueryParams) -> ApiResult<Json<Value>> {
    query.deny_unknown(&["token", "rid", "department", "agentId"])?;
    let token = query.get("token").ok_or_else(|| match_error("Missing key 'token'".into()))?;
    let visitor = known_visitor(&state, token).await?;
    let department_id = match query.get("department").filter(|department| !department.is_empty()) {
        Some(department) => Some(
            state
                .store
                .department_by_id_or_name(department)
                .await?
                .map(|department| department.id)
                .ok_or_else(invalid_department)?,
        ),
        None => visitor.department_id.clone(),
    };
    let requested_id = query.get("rid").filter(|rid| !rid.is_empty());
    if let Some(rid) = requested_id
        && let Some(room) = state.store.room_by_id(rid).await?
    {
        if room.visitor_id != visitor.id {
            return Err(ApiError::unauthorized_object());
        }
        if !room.open {
            return Err(ApiError::bad_request("room-closed"));
        }
        return Ok(Json(json!({"room": room_json(&room), "newRoom": false, "success": true})));
    }
    let room_id = requested_id.map(str::to_owned).unwrap_or_else(meteor_id);
    let inquiry_id = object_id();
    let opened = state
        .store
        .open_room(NewRoom {
            id: &room_id,
            inquiry_id: &inquiry_id,
            visitor: &visitor,
            department_id: department_id.as_deref(),
            source_type: "api",
            now: state.now(),
        })
        .await;
    let (room, created) = match opened {
        Ok(opened) => opened,
        Err(StoreError::Conflict(_)) => return Err(ApiError::unauthorized_object()),
        Err(error) => return Err(error.into()),
    };
    Ok(Json(json!({"room": room_json(&room), "newRoom": created, "success": true})))
}

/// A visitor's message in its open room.
#[utoipa::path(post, path = "/api/v1/livechat/message", tag = "visitor",
    request_body = VisitorMessageBody,
    responses(
        (status = 200, description = "The stored message", body = SentMessage),
        RcJsonBody,
        (status = 403, response = RcForbidden),
        (status = 503, response = RcUnavailable),
    ))]
async fn send_message(State(state): State<AppState>, body: JsonBody) -> ApiResult<Json<Value>> {
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["token", "rid", "msg", "_id", "agent"])?;
    let token = fields.required_str("token")?;
    let room_id = fields.required_str("rid")?;
    let text = fields.required_str("msg")?;
    let message_id = fields.optional_str("_id")?.map(str::to_owned).unwrap_or_else(meteor_id);
    if text.is_empty() {
        return Err(ApiError::invalid_params("/msg must NOT have fewer than 1 characters"));
    }
    let visitor = known_visitor(&state, token).await?;
    let name = visitor.display_name();
    let username = visitor.username();
    let message = NewMessage {
        id: &message_id,
        room_id,
        msg: text,
        kind: None,
        author_id: &visitor.id,
        author_username: &username,
        author_name: Some(&name),
        extra: None,
        now: state.now(),
    };
    match state.store.add_visitor_message(&visitor.id, message).await {
        Ok(stored) => Ok(Json(json!({"message": message_json(&stored, Some(&visitor.token)), "success": true}))),
        Err(StoreError::NotFound) => {
            let room = own_room(&state, &visitor, room_id).await?;
            Err(if room.open { ApiError::internal("open room refused a message") } else { room_closed() })
        }
        Err(StoreError::Conflict(_)) => {
            Err(ApiError::coded("error-duplicated-message-id", "A message with this _id already exists"))
        }
        Err(error) => Err(error.into()),
    }
}

fn room_closed() -> ApiError {
    ApiError::bad_request("room-closed")
}

/// A page of a visitor's room's messages, newest first.
#[utoipa::path(get, path = "/api/v1/livechat/messages.history/{rid}", tag = "visitor",
    params(
        ("rid" = String, Path, description = "The room's id"),
        ("token" = String, Query, description = "The visitor's token"),
        ("offset" = Option<u32>, Query),
        ("count" = Option<u32>, Query),
        ("limit" = Option<u32>, Query, description = "Another name of count"),
    ),
    responses(
        (status = 200, description = "A page of messages", body = MessageHistory),
        (status = 400, response = RcBadRequest),
        (status = 403, response = RcForbidden),
        (status = 503, response = RcUnavailable),
    ))]
async fn message_history(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    query: QueryParams,
) -> ApiResult<Json<Value>> {
    query.deny_unknown(&["token", "offset", "count", "limit"])?;
    let token = query.required("token")?;
    let count = query.get("count").or(query.get("limit"));
    let page = Page::parse(query.get("offset"), count, state.page_limits())?;
    let visitor = known_visitor(&state, token).await?;
    own_room(&state, &visitor, &room_id).await?;
    let (messages, total) = state.store.room_messages(&room_id, page).await?;
    let messages: Vec<Value> = messages.iter().map(|message| message_json(message, Some(&visitor.token))).collect();
    Ok(Json(json!({
        "messages": messages,
        "unreadNotLoaded": 0,
        "offset": page.offset,
        "count": messages.len(),
        "total": total,
        "success": true,
    })))
}

/// The visitor closes its room.
#[utoipa::path(post, path = "/api/v1/livechat/room.close", tag = "visitor",
    request_body = VisitorCloseBody,
    responses(
        (status = 200, description = "Closed", body = VisitorClosedRoom),
        RcJsonBody,
        (status = 403, response = RcForbidden),
        (status = 503, response = RcUnavailable),
    ))]
async fn close_room(State(state): State<AppState>, body: JsonBody) -> ApiResult<Json<Value>> {
    const COMMENT: &str = "Closed by visitor";
    let body = body.object()?;
    let fields = Fields::new(&body);
    fields.deny_unknown(&["rid", "token"])?;
    let room_id = fields.required_str("rid")?;
    let token = fields.required_str("token")?;
    let visitor = known_visitor(&state, token).await?;
    let username = visitor.username();
    let name = visitor.display_name();
    let closer = Closer::Visitor { visitor_id: &visitor.id, username: &username, name: &name };
    match state.store.close_room(room_id, closer, Some(COMMENT), &meteor_id(), state.now()).await {
        Ok(()) => Ok(Json(json!({"rid": room_id, "comment": COMMENT, "success": true}))),
        Err(StoreError::NotFound) => {
            own_room(&state, &visitor, room_id).await?;
            Err(room_closed())
        }
        Err(error) => Err(error.into()),
    }
}
