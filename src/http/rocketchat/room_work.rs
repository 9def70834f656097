//! The room routes agents use while serving (Rocket.Chat's room.join, room.saveInfo,
//! room.onHold, room.resumeOnHold). Each change is one transaction whose statements hold
//! the preconditions; a refusal is worded from the room as it then is, in Rocket.Chat's
//! order of checks.

use axum::Json;
use axum::extract::State;
use std::collections::BTreeMap;

use serde::Deserialize;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, Type};
use utoipa::{IntoParams, PartialSchema, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use crate::domain::custom_fields::{FieldRule, InvalidValue, checked_values};
use crate::domain::ids::meteor_id;
use crate::domain::permissions::{
    ON_HOLD_LIVECHAT_ROOM, ON_HOLD_OTHERS_LIVECHAT_ROOM, SAVE_OTHERS_LIVECHAT_ROOM_INFO, VIEW_L_ROOM,
};
use crate::domain::settings::AllowManualOnHold;
use crate::domain::time::Millis;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, Query, permission_set};
use crate::http::openapi::{RcJsonBody, RcPermitted};
use crate::http::shapes::Done;
use crate::store::{
    AuthUser, HistoryActor, ResumeOutcome, RoomGuard, RoomInfo, RoomWorkState, SaveInfoOutcome, StoreError, SystemNote,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(join_room))
        .routes(routes!(save_info))
        .routes(routes!(place_on_hold))
        .routes(routes!(resume_on_hold))
}

permission_set!(ServeRooms = [VIEW_L_ROOM]);
permission_set!(HoldRooms = [ON_HOLD_LIVECHAT_ROOM]);

/// How often a change refused although the room allowed it when read is tried again
/// (the room changed in between) before giving up.
const ATTEMPTS: usize = 3;

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct JoinQuery {
    /// The room's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    room_id: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SaveInfoBody {
    guest_data: GuestData,
    room_data: RoomData,
}

/// The visitor's details; empty ones leave the stored value as it is.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct GuestData {
    /// The room's visitor's id.
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    #[schema(max_length = 256)]
    name: Option<String>,
    #[schema(max_length = 256)]
    email: Option<String>,
    /// Unique among visitors once spaces, dashes, dots and brackets are left out.
    #[schema(max_length = 256)]
    phone: Option<String>,
    /// Values of visitor-scoped custom fields by id (see `livechatData` of roomData).
    #[schema(value_type = Option<BTreeMap<String, CustomFieldText>>, inline)]
    livechat_data: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RoomData {
    /// The room's id.
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: String,
    /// Blank removes the topic; absent keeps it.
    #[schema(max_length = 1024)]
    topic: Option<String>,
    /// The room's tags from now on: absent or empty removes them, as in Rocket.Chat.
    #[schema(value_type = Option<Vec<KeyText>>, inline)]
    tags: Option<Vec<String>>,
    /// Values of room-scoped custom fields by id: trimmed, checked against the field's
    /// regexp; a blank value removes the field, keys naming no field are ignored.
    #[schema(value_type = Option<BTreeMap<String, CustomFieldText>>, inline)]
    livechat_data: Option<BTreeMap<String, String>>,
    /// The room's priority level from now on (see `livechat/priorities`); empty removes
    /// it. A change leaves an `omnichannel_priority_change_history` message.
    #[schema(max_length = 256)]
    priority_id: Option<String>,
    /// The room's SLA policy from now on (see `livechat/sla`); empty removes it. A change
    /// leaves an `omnichannel_sla_change_history` message.
    #[schema(max_length = 256)]
    sla_id: Option<String>,
}

/// The schema of one custom field's value, where no field attribute reaches.
struct CustomFieldText;

impl PartialSchema for CustomFieldText {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).max_length(Some(MAX_CUSTOM_FIELD_CHARS)).into()
    }
}

impl ToSchema for CustomFieldText {}

/// The longest custom field value taken, as livechat/custom.field takes.
const MAX_CUSTOM_FIELD_CHARS: usize = 5000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RoomIdBody {
    #[schema(max_length = 256)]
    room_id: String,
}

/// The system message of a change by `caller`, with `comment`.
fn note<'a>(caller: &'a AuthUser, message_id: &'a str, comment: Option<&'a str>, now: Millis) -> SystemNote<'a> {
    SystemNote { message_id, user_id: &caller.id, username: &caller.username, name: &caller.name, comment, now }
}

/// How Rocket.Chat names the user in on-hold comments: its name, else `@username`.
fn display_name(caller: &AuthUser) -> String {
    if caller.name.is_empty() { format!("@{}", caller.username) } else { caller.name.clone() }
}

/// A trimmed value, `None` when blank.
fn given(value: Option<&str>) -> Option<&str> {
    value.map(str::trim).filter(|value| !value.is_empty())
}

/// The caller joins the room (Rocket.Chat's subscription): from then on it sees and
/// writes into the room as its serving agent does. Joining again, or joining a room
/// one serves, changes nothing.
#[utoipa::path(get, path = "/api/v1/livechat/room.join", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(JoinQuery),
    responses((status = 200, description = "Joined", body = Done), RcPermitted, RcJsonBody))]
async fn join_room(
    State(state): State<AppState>,
    caller: Caller<ServeRooms>,
    Query(query): Query<JoinQuery>,
) -> ApiResult<Json<Done>> {
    let access = room_access(&caller);
    let message_id = meteor_id();
    if state.store.join_room(&query.room_id, access, note(&caller, &message_id, None, state.now())).await? {
        return Ok(Done::ANSWER);
    }
    match state.store.room_state(&query.room_id, access).await? {
        None => Err(ApiError::bad_request("error-invalid-room")),
        Some(room) if !room.open => Err(ApiError::bad_request("room-closed")),
        Some(room) if !room.accessible => Err(ApiError::bad_request("error-not-allowed")),
        // Joined before, or serves the room.
        Some(_) => Ok(Done::ANSWER),
    }
}

/// Saves the room's topic, tags and custom fields and its visitor's name, email, phone
/// and custom fields, in one transaction. The room's serving agent (or a user who joined it) may, others with
/// save-others-livechat-room-info (a confined monitor within its departments). Closed
/// rooms may be edited, as in Rocket.Chat.
#[utoipa::path(post, path = "/api/v1/livechat/room.saveInfo", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = SaveInfoBody,
    responses((status = 200, description = "Saved", body = Done), RcPermitted, RcJsonBody))]
async fn save_info(
    State(state): State<AppState>,
    caller: Caller<ServeRooms>,
    Body(body): Body<SaveInfoBody>,
) -> ApiResult<Json<Done>> {
    let guard = RoomGuard {
        user_id: Some(&caller.id),
        others: caller.holds(SAVE_OTHERS_LIVECHAT_ROOM_INFO),
        bound: caller.department_bound(),
    };
    let (guest, room) = (&body.guest_data, &body.room_data);
    let checked = async {
        let visitor_fields = checked_fields(&state, "visitor", guest.livechat_data.as_ref()).await?;
        let room_fields = checked_fields(&state, "room", room.livechat_data.as_ref()).await?;
        Ok::<_, ApiError>((visitor_fields, room_fields))
    };
    let (visitor_fields, room_fields) = match checked.await {
        Ok(fields) => fields,
        // The room's errors come first, as in Rocket.Chat.
        Err(refusal) => {
            return Err(match state.store.room_work_state(&room.id, guard).await? {
                None => ApiError::bad_request("error-invalid-room"),
                Some(room) if !room.reachable => ApiError::unauthorized_object(),
                Some(_) => refusal,
            });
        }
    };
    let info = RoomInfo {
        room_id: &room.id,
        visitor_id: &guest.id,
        name: given(guest.name.as_deref()),
        email: given(guest.email.as_deref()),
        phone: given(guest.phone.as_deref()),
        topic: room.topic.as_deref().map(str::trim),
        tags: room.tags.as_deref().unwrap_or_default(),
        room_fields: &room_fields,
        visitor_fields: &visitor_fields,
        priority_id: room.priority_id.as_deref(),
        sla_id: room.sla_id.as_deref(),
        actor: HistoryActor { user_id: &caller.id, username: &caller.username, name: &caller.name },
        history_ids: [&meteor_id(), &meteor_id()],
        now: state.now(),
    };
    match state.store.save_room_info(info, guard).await {
        Ok(SaveInfoOutcome::Saved) => Ok(Done::ANSWER),
        Ok(SaveInfoOutcome::UnknownPriority) => Err(ApiError::bad_request("error-invalid-priority")),
        Ok(SaveInfoOutcome::UnknownSla) => {
            Err(ApiError::bad_request(format!("SLA not found with id: {}", room.sla_id.as_deref().unwrap_or_default())))
        }
        Err(StoreError::NotFound) => Err(match state.store.room_work_state(&room.id, guard).await? {
            None => ApiError::bad_request("error-invalid-room"),
            Some(room) if !room.reachable => ApiError::unauthorized_object(),
            Some(_) if !state.store.visitor_exists(&guest.id).await? => ApiError::bad_request("error-invalid-visitor"),
            Some(_) => ApiError::bad_request("invalid-room-visitor"),
        }),
        Err(error) if error.is_conflict_on("phone_key") => {
            Err(ApiError::coded("error-phone-already-in-use", "Another visitor has this phone number"))
        }
        Err(error) => Err(error.into()),
    }
}

/// The given values of the custom fields of `scope`, checked (see
/// [`checked_values`]); Rocket.Chat's `Invalid value for <label> field` when one does
/// not match its field's regexp.
async fn checked_fields(
    state: &AppState,
    scope: &str,
    given: Option<&BTreeMap<String, String>>,
) -> ApiResult<Vec<(String, String)>> {
    let Some(given) = given.filter(|given| !given.is_empty()) else { return Ok(Vec::new()) };
    let fields = state.store.custom_fields_of_scope(scope).await?;
    let rules: Vec<FieldRule<'_>> = fields
        .iter()
        .map(|field| FieldRule { id: &field.id, label: &field.label, regexp: field.regexp.as_deref() })
        .collect();
    checked_values(&rules, given)
        .map_err(|InvalidValue(label)| ApiError::bad_request(format!("Invalid value for {label} field")))
}

/// Puts an open room on hold: the agent serving or who joined it may, others with
/// on-hold-others-livechat-room; only while Livechat_allow_manual_on_hold is on, and
/// not while the visitor wrote the last message. A chat on hold does not count against
/// its agent's chat limit; the visitor's next message resumes it.
#[utoipa::path(post, path = "/api/v1/livechat/room.onHold", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomIdBody,
    responses((status = 200, description = "On hold", body = Done), RcPermitted, RcJsonBody))]
async fn place_on_hold(
    State(state): State<AppState>,
    caller: Caller<HoldRooms>,
    Body(body): Body<RoomIdBody>,
) -> ApiResult<Json<Done>> {
    if body.room_id.trim().is_empty() {
        return Err(ApiError::bad_request("error-invalid-room"));
    }
    if !state.store.setting::<AllowManualOnHold>().await? {
        return Err(ApiError::coded("error-not-allowed", "Placing chats on hold is disabled"));
    }
    let guard = on_hold_guard(&caller);
    let comment = format!("The chat was manually placed On Hold by {}", display_name(&caller));
    for _ in 0..ATTEMPTS {
        let message_id = meteor_id();
        let note = note(&caller, &message_id, Some(&comment), state.now());
        if state.store.place_on_hold(&body.room_id, guard, note).await? {
            return Ok(Done::ANSWER);
        }
        let room = room_within(&state, &body.room_id, guard).await?;
        if !room.open {
            return Err(ApiError::bad_request("error-room-already-closed"));
        }
        if room.on_hold {
            return Err(ApiError::bad_request("error-room-is-already-on-hold"));
        }
        if room.visitor_spoke_last {
            return Err(ApiError::bad_request("error-contact-sent-last-message-so-cannot-place-on-hold"));
        }
        if !room.served {
            return Err(ApiError::bad_request("error-unserved-rooms-cannot-be-placed-onhold"));
        }
    }
    Err(StoreError::Contention.into())
}

/// Resumes a room on hold when its serving agent is under its chat limit. Who may is
/// as for room.onHold; the route itself asks for view-l-room, as Rocket.Chat's does.
#[utoipa::path(post, path = "/api/v1/livechat/room.resumeOnHold", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    request_body = RoomIdBody,
    responses((status = 200, description = "Resumed", body = Done), RcPermitted, RcJsonBody))]
async fn resume_on_hold(
    State(state): State<AppState>,
    caller: Caller<ServeRooms>,
    Body(body): Body<RoomIdBody>,
) -> ApiResult<Json<Done>> {
    if body.room_id.trim().is_empty() {
        return Err(ApiError::bad_request("invalid-param"));
    }
    let guard = on_hold_guard(&caller);
    let comment = format!("The chat was manually resumed from On Hold by {}", display_name(&caller));
    for _ in 0..ATTEMPTS {
        let message_id = meteor_id();
        let note = note(&caller, &message_id, Some(&comment), state.now());
        match state.store.resume_on_hold(&body.room_id, guard, note).await? {
            ResumeOutcome::Resumed => return Ok(Done::ANSWER),
            ResumeOutcome::OverLimit => {
                return Err(ApiError::bad_request("error-max-number-simultaneous-chats-reached"));
            }
            ResumeOutcome::NotResumable => {}
        }
        let room = room_within(&state, &body.room_id, guard).await?;
        if !room.open {
            return Err(ApiError::bad_request("This_conversation_is_already_closed"));
        }
        if !room.on_hold {
            return Err(ApiError::bad_request("error-room-not-on-hold"));
        }
        if !room.served {
            return Err(ApiError::bad_request("error-room-not-served"));
        }
    }
    Err(StoreError::Contention.into())
}

/// Who may put rooms on hold and resume them: their serving agent or a user who
/// joined, others with on-hold-others-livechat-room.
fn on_hold_guard(caller: &AuthUser) -> RoomGuard<'_> {
    RoomGuard {
        user_id: Some(&caller.id),
        others: caller.holds(ON_HOLD_OTHERS_LIVECHAT_ROOM),
        bound: caller.department_bound(),
    }
}

/// The room as the guard sees it: `error-invalid-room` when there is none,
/// `Not_authorized` when the guard does not reach it.
async fn room_within(state: &AppState, room_id: &str, guard: RoomGuard<'_>) -> ApiResult<RoomWorkState> {
    match state.store.room_work_state(room_id, guard).await? {
        None => Err(ApiError::bad_request("error-invalid-room")),
        Some(room) if !room.reachable => Err(ApiError::bad_request("Not_authorized")),
        Some(room) => Ok(room),
    }
}
