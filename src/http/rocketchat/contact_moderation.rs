//! The last routes of Rocket.Chat's contacts family: `omnichannel/contacts.delete`,
//! `.block`, `.unblock` and `.conflicts`, over the visitors as the rest of the family
//! (see `contacts_family.rs` and `store::contact_moderation`).
//!
//! Deleting a contact erases its visitor as `DELETE livechat/visitor/{token}` does
//! (Rocket.Chat removes the rooms of each of the contact's visitors and disables the
//! contact: either way it is gone from the family). Blocking marks one channel (the
//! contact's rooms of one source type) and closes its open room; the channel opens no
//! room until it is unblocked. Conflicts arise where a visitor registering gives a known
//! contact another name: the contact keeps its own, and the other waits for
//! contacts.conflicts.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use serde_json::{Map, Value};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::contacts_family::{ContactView, contact_view, manager_username};
use crate::domain::ids::meteor_id;
use crate::domain::permissions::{
    BLOCK_LIVECHAT_CONTACT, DELETE_LIVECHAT_CONTACT, UNBLOCK_LIVECHAT_CONTACT, UPDATE_LIVECHAT_CONTACT,
};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, permission_set};
use crate::http::openapi::{RcJsonBody, RcNotFound, RcPermitted};
use crate::http::shapes::{Done, Success};
use crate::store::{CloseRoom, Closer, ConflictResolution, Erasure, Resolution, RoomGuard, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(delete))
        .routes(routes!(block))
        .routes(routes!(unblock))
        .routes(routes!(conflicts))
}

permission_set!(DeleteContacts = [DELETE_LIVECHAT_CONTACT]);
permission_set!(BlockContacts = [BLOCK_LIVECHAT_CONTACT]);
permission_set!(UnblockContacts = [UNBLOCK_LIVECHAT_CONTACT]);
permission_set!(UpdateContacts = [UPDATE_LIVECHAT_CONTACT]);

/// The closing comment of a room whose channel is blocked (Rocket.Chat's
/// `close-blocked-room-comment`).
const BLOCKED_ROOM_COMMENT: &str = "This channel has been blocked";

/// POST omnichannel/contacts.delete.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactIdBody {
    #[schema(max_length = 256)]
    contact_id: String,
}

/// Erases a contact with its rooms, their messages and files; refused while it has an
/// open room.
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts.delete", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = ContactIdBody,
    responses((status = 200, description = "The contact is gone", body = Done), RcPermitted, RcJsonBody,
        (status = 404, response = RcNotFound)))]
async fn delete(
    State(state): State<AppState>,
    _: Caller<DeleteContacts>,
    Body(body): Body<ContactIdBody>,
) -> ApiResult<Json<Done>> {
    // A token no widget holds: the visitor is unreachable while the erasure runs.
    let detached_token = format!("erased-{}", meteor_id());
    match state.store.erase_contact(&body.contact_id, &detached_token, state.now()).await? {
        // The rows of its files went with its rooms; the file sweep deletes their objects.
        Erasure::Erased { .. } => Ok(Done::ANSWER),
        Erasure::UnknownToken => Err(ApiError::not_found("error-contact-not-found")),
        Erasure::OpenRoom => Err(ApiError::bad_request("error-invalid-contact")),
    }
}

/// Rocket.Chat's ContactVisitorAssociation: a visitor and the source of a channel.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct VisitorAssociation {
    /// The contact's id (its visitor's, here).
    #[schema(max_length = 256)]
    visitor_id: String,
    source: AssociationSource,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AssociationSource {
    /// The source type of the channel's rooms (`widget`, `api`).
    #[serde(rename = "type")]
    #[schema(max_length = 256)]
    kind: String,
    /// A source id: rooms here carry none, so a channel named with one is not found.
    #[schema(max_length = 256)]
    id: Option<String>,
}

/// POST omnichannel/contacts.block and .unblock.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct BlockBody {
    visitor: VisitorAssociation,
}

/// The channel's visitor and source type; none when the association names a source id.
fn channel(body: &BlockBody) -> ApiResult<(&str, &str)> {
    match &body.visitor.source.id {
        Some(_) => Err(contact_not_found()),
        None => Ok((&body.visitor.visitor_id, &body.visitor.source.kind)),
    }
}

fn contact_not_found() -> ApiError {
    ApiError::bad_request("error-contact-not-found")
}

fn no_conflicts() -> ApiError {
    ApiError::bad_request("error-contact-has-no-conflicts")
}

/// Blocks a contact's channel: its open room there is closed by the caller with the
/// comment "This channel has been blocked", and it opens no room until unblocked.
/// Blocking a blocked channel closes its open room, if any, again.
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts.block", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = BlockBody,
    responses((status = 200, description = "The channel is blocked", body = Done), RcPermitted, RcJsonBody))]
async fn block(
    State(state): State<AppState>,
    caller: Caller<BlockContacts>,
    Body(body): Body<BlockBody>,
) -> ApiResult<Json<Done>> {
    let (visitor_id, source_type) = channel(&body)?;
    if !state.store.block_contact_channel(visitor_id, source_type, &caller.id, state.now()).await? {
        return Err(contact_not_found());
    }
    // Opened before the block, the channel's room is closed now; none opens after it.
    if let Some(room) = state.store.open_room_of_channel(visitor_id, source_type).await? {
        let closed = state
            .store
            .close_room(CloseRoom {
                room_id: &room.id,
                closer: Closer::Agent { user_id: &caller.id, username: &caller.username, name: &caller.name },
                guard: RoomGuard::ANYONE,
                comment: Some(BLOCKED_ROOM_COMMENT),
                tags: &[],
                client_action: false,
                message_id: &meteor_id(),
                now: state.now(),
            })
            .await;
        match closed {
            // The agent it frees may be given a queued chat.
            Ok(()) => state.route_queue().await,
            // Closed meanwhile by someone else.
            Err(StoreError::NotFound) => {}
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Done::ANSWER)
}

/// Unblocks a contact's channel (blocked or not).
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts.unblock", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = BlockBody,
    responses((status = 200, description = "The channel is not blocked", body = Done), RcPermitted, RcJsonBody))]
async fn unblock(
    State(state): State<AppState>,
    _: Caller<UnblockContacts>,
    Body(body): Body<BlockBody>,
) -> ApiResult<Json<Done>> {
    let (visitor_id, source_type) = channel(&body)?;
    if !state.store.unblock_contact_channel(visitor_id, source_type).await? {
        return Err(contact_not_found());
    }
    Ok(Done::ANSWER)
}

/// POST omnichannel/contacts.conflicts: the values chosen for conflicting fields.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ConflictsBody {
    #[schema(max_length = 256)]
    contact_id: String,
    /// The name to keep; settles a `name` conflict.
    #[schema(max_length = 256)]
    name: Option<String>,
    /// Values laid over the contact's custom fields; each settles its
    /// `customFields.<id>` conflict.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<Map<String, Value>>,
    /// The user id of an agent; settles a `manager` conflict.
    #[schema(max_length = 256)]
    contact_manager: Option<String>,
    /// true: every conflict is dropped, whatever was given.
    wipe_conflicts: Option<bool>,
}

/// `{result, success}`.
#[derive(serde::Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Resolved {
    result: ContactView,
    success: Success,
}

/// The longest custom field value kept, as contacts.update keeps.
const MAX_CUSTOM_FIELD_CHARS: usize = 256;

/// Refuses a value for no visitor custom field, or one its pattern does not match, in
/// the words of contacts.update.
async fn defined_custom_fields(state: &AppState, given: &Map<String, Value>) -> ApiResult<()> {
    let defined = state.store.custom_fields_of_scope("visitor").await?;
    for (key, value) in given {
        let Some(field) = defined.iter().find(|field| &field.id == key) else {
            return Err(ApiError::bad_request(format!("Custom field {key} is not allowed")));
        };
        let value = value.as_str().unwrap_or_default();
        if let Some(pattern) = field.regexp.as_deref().filter(|pattern| !pattern.is_empty())
            && !regex::Regex::new(pattern).is_ok_and(|pattern| pattern.is_match(value))
        {
            return Err(ApiError::bad_request(format!("Invalid value for {} field", field.label)));
        }
    }
    Ok(())
}

/// Resolves a contact's conflicting fields: writes the values given and drops the
/// conflicts they settle (or every one with `wipeConflicts`). Empty values are not
/// written.
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts.conflicts", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = ConflictsBody,
    responses((status = 200, description = "The contact as resolved", body = Resolved), RcPermitted, RcJsonBody))]
async fn conflicts(
    State(state): State<AppState>,
    _: Caller<UpdateContacts>,
    Body(body): Body<ConflictsBody>,
) -> ApiResult<Json<Resolved>> {
    let custom_fields = body.custom_fields.filter(|fields| !fields.is_empty());
    if let Some(fields) = &custom_fields {
        for (key, value) in fields {
            match value.as_str() {
                None => return Err(ApiError::invalid_params(format!("/customFields/{key} must be string"))),
                Some(value) if value.chars().count() > MAX_CUSTOM_FIELD_CHARS => {
                    return Err(ApiError::invalid_params(format!(
                        "/customFields/{key} must NOT have more than {MAX_CUSTOM_FIELD_CHARS} characters"
                    )));
                }
                Some(_) => {}
            }
        }
    }
    // Rocket.Chat's order of refusals: the contact, its conflicts, then the manager
    // (the store checks the first two again as it writes).
    let stored = state.store.contact_by_id(&body.contact_id).await?.ok_or_else(contact_not_found)?;
    if stored.conflicting_fields.is_none() {
        return Err(no_conflicts());
    }
    let manager = match body.contact_manager.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => Some(manager_username(&state, id).await?),
        None => None,
    };
    if let Some(fields) = &custom_fields {
        defined_custom_fields(&state, fields).await?;
    }
    let resolution = state
        .store
        .resolve_contact_conflicts(ConflictResolution {
            id: &body.contact_id,
            name: body.name.as_deref().filter(|name| !name.is_empty()),
            contact_manager: manager.as_deref(),
            custom_fields: custom_fields.as_ref(),
            wipe: body.wipe_conflicts.unwrap_or(false),
            now: state.now(),
        })
        .await?;
    match resolution {
        Resolution::Resolved => {}
        Resolution::UnknownContact => return Err(contact_not_found()),
        Resolution::NoConflicts => return Err(no_conflicts()),
    }
    let contact = state.store.contact_by_id(&body.contact_id).await?.ok_or_else(contact_not_found)?;
    Ok(Json(Resolved { result: contact_view(&state, contact).await?, success: Success }))
}
