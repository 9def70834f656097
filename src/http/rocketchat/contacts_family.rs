//! Rocket.Chat's newer contacts family, `omnichannel/contacts.*`: create, update, read,
//! search and check contacts, and read their channels and closed conversations.
//!
//! A contact is a visitor here too (see `contacts.rs` and `store::contacts`): its id is
//! the visitor's id, its one email address and one phone number are Rocket.Chat's
//! `emails` and `phones` lists of at most one entry, and both stay unique keys, so a
//! visitor registering with a contact's address or number joins that contact. Its
//! `channels` (one per source type, with its latest room as `lastChat`) and `lastChat`
//! are read from its rooms; none is ever verified, and a channel is blocked through
//! `contact_moderation.rs`, which also resolves the conflicting fields shown here.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use super::wire::RoomView;
use crate::domain::ids::meteor_id;
use crate::domain::page::parse_sort;
use crate::domain::permissions::{
    CREATE_LIVECHAT_CONTACT, ROLE_AGENT, UPDATE_LIVECHAT_CONTACT, VIEW_LIVECHAT_CONTACT, VIEW_LIVECHAT_CONTACT_HISTORY,
};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, KeyText, PageParams, Paged, Query, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcNotFound, RcPermitted};
use crate::http::shapes::{Success, Timestamp, rc_page};
use crate::store::{
    Contact, ContactChanges, ContactRoom, NewContact, StoreError, VisitorRoomFilter, VisitorRoomSort, VisitorSort,
    conflicting_fields,
};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create))
        .routes(routes!(update))
        .routes(routes!(get_one))
        .routes(routes!(search))
        .routes(routes!(check_existence))
        .routes(routes!(history))
        .routes(routes!(channels))
}

permission_set!(CreateContacts = [CREATE_LIVECHAT_CONTACT]);
permission_set!(UpdateContacts = [UPDATE_LIVECHAT_CONTACT]);
permission_set!(ViewContacts = [VIEW_LIVECHAT_CONTACT]);
permission_set!(ViewContactHistory = [VIEW_LIVECHAT_CONTACT_HISTORY]);

/// The longest custom field value kept.
const MAX_CUSTOM_FIELD_CHARS: usize = 256;

const CONTACT_SORT_FIELDS: [(&str, VisitorSort); 4] = [
    ("name", VisitorSort::Name),
    ("createdAt", VisitorSort::Ts),
    ("_updatedAt", VisitorSort::UpdatedAt),
    ("_id", VisitorSort::Id),
];

const HISTORY_SORT_FIELDS: [(&str, VisitorRoomSort); 5] = [
    ("closedAt", VisitorRoomSort::ClosedAt),
    ("ts", VisitorRoomSort::Ts),
    ("_updatedAt", VisitorRoomSort::UpdatedAt),
    ("fname", VisitorRoomSort::Fname),
    ("_id", VisitorRoomSort::Id),
];

/// POST omnichannel/contacts.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct NewContactBody {
    #[schema(max_length = 256)]
    name: String,
    /// At most one address: a contact here has one.
    #[schema(value_type = Vec<KeyText>, max_items = 1)]
    emails: Vec<String>,
    /// At most one number: a contact here has one.
    #[schema(value_type = Vec<KeyText>, max_items = 1)]
    phones: Vec<String>,
    /// Values of the visitor-scoped custom fields, by id.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<Map<String, Value>>,
    /// The user id of an agent.
    #[schema(max_length = 256)]
    contact_manager: Option<String>,
}

/// POST omnichannel/contacts.update: absent, null and empty fields are not changed; an
/// empty list removes the address or number.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactUpdateBody {
    #[schema(max_length = 256)]
    contact_id: String,
    #[schema(max_length = 256)]
    name: Option<String>,
    #[schema(value_type = Option<Vec<KeyText>>, max_items = 1)]
    emails: Option<Vec<String>>,
    #[schema(value_type = Option<Vec<KeyText>>, max_items = 1)]
    phones: Option<Vec<String>>,
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<Map<String, Value>>,
    #[schema(max_length = 256)]
    contact_manager: Option<String>,
    /// true: the contact's conflicting fields are dropped.
    wipe_conflicts: Option<bool>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ContactIdQuery {
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    contact_id: String,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ContactSearchFilter {
    /// Part of the name, email address or phone number, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    search_text: Option<String>,
    /// true: the unknown contacts (visitors only the widget registered) instead of the known
    unknown: Option<bool>,
}

/// Exactly one of the three.
#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ExistenceQuery {
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    contact_id: Option<String>,
    /// Matched in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    email: Option<String>,
    /// Spaces, dashes, dots and brackets do not matter
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    phone: Option<String>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct HistoryFilter {
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    contact_id: String,
    /// Only rooms whose source type holds this text, in any case
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    source: Option<String>,
}

/// A contact as the family shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(super) struct ContactView {
    #[serde(rename = "_id")]
    id: String,
    /// The visitor's name, or its username when it gave none.
    name: String,
    #[schema(max_items = 1)]
    emails: Vec<ContactEmail>,
    #[schema(max_items = 1)]
    phones: Vec<ContactPhone>,
    /// The manager's user id; in contacts.search, the manager itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    contact_manager: Option<ManagerView>,
    /// Whether only the widget registered it, never created or updated as a contact.
    unknown: bool,
    #[schema(value_type = Object)]
    custom_fields: Value,
    channels: Vec<ChannelView>,
    created_at: Timestamp,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    /// The contact's latest room; present once it has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    last_chat: Option<LastChat>,
    /// Values a visitor registering brought that the contact kept its own of (only a
    /// name, here); present while there is one.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    conflicting_fields: Vec<ConflictView>,
}

/// One of the contact's conflicting fields.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConflictView {
    /// `name`, `manager` or `customFields.<id>`.
    field: String,
    value: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactEmail {
    address: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactPhone {
    phone_number: String,
}

/// The manager: its user id, or (in contacts.search) the user.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum ManagerView {
    Id(String),
    User(ManagerUser),
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ManagerUser {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    username: String,
}

/// A source the contact chatted through, with its latest room there.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChannelView {
    /// The source type (`widget`, `api`).
    name: String,
    /// Always false.
    verified: bool,
    visitor: ChannelVisitor,
    /// Whether omnichannel/contacts.block blocked it: it opens no room.
    blocked: bool,
    details: ChannelSource,
    last_chat: LastChat,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ChannelVisitor {
    visitor_id: String,
    source: ChannelSource,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ChannelSource {
    #[serde(rename = "type")]
    kind: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct LastChat {
    #[serde(rename = "_id")]
    id: String,
    ts: Timestamp,
}

impl LastChat {
    fn of(room: &ContactRoom) -> Self {
        Self { id: room.room_id.clone(), ts: Timestamp(room.ts) }
    }
}

fn channel_view(room: &ContactRoom) -> ChannelView {
    let source = || ChannelSource { kind: room.source_type.clone() };
    ChannelView {
        name: room.source_type.clone(),
        verified: false,
        visitor: ChannelVisitor { visitor_id: room.visitor_id.clone(), source: source() },
        blocked: room.blocked,
        details: source(),
        last_chat: LastChat::of(room),
    }
}

/// How a view names the manager.
#[derive(Clone, Copy)]
enum ManagerShape {
    Id,
    User,
}

/// The views of `contacts`, with their channels read in one query.
async fn contact_views(state: &AppState, contacts: Vec<Contact>, shape: ManagerShape) -> ApiResult<Vec<ContactView>> {
    let ids: Vec<String> = contacts.iter().map(|contact| contact.visitor.id.clone()).collect();
    let mut rooms: HashMap<String, Vec<ContactRoom>> = HashMap::new();
    for room in state.store.contact_rooms(&ids).await? {
        rooms.entry(room.visitor_id.clone()).or_default().push(room);
    }
    Ok(contacts
        .into_iter()
        .map(|contact| {
            // Newest first: the first is the last chat.
            let rooms = rooms.remove(&contact.visitor.id).unwrap_or_default();
            let manager = match (shape, contact.manager_id, contact.visitor.contact_manager.clone()) {
                (ManagerShape::Id, Some(id), _) => Some(ManagerView::Id(id)),
                (ManagerShape::User, Some(id), Some(username)) => Some(ManagerView::User(ManagerUser {
                    id,
                    name: contact.manager_name.unwrap_or_default(),
                    username,
                })),
                _ => None,
            };
            let visitor = &contact.visitor;
            ContactView {
                id: visitor.id.clone(),
                name: visitor.display_name(),
                emails: visitor.email.iter().map(|address| ContactEmail { address: address.clone() }).collect(),
                phones: visitor.phone.iter().map(|phone| ContactPhone { phone_number: phone.clone() }).collect(),
                contact_manager: manager,
                unknown: !contact.known,
                custom_fields: visitor
                    .livechat_data
                    .as_deref()
                    .and_then(|data| serde_json::from_str(data).ok())
                    .unwrap_or_else(|| Value::Object(Map::new())),
                last_chat: rooms.first().map(LastChat::of),
                channels: rooms.iter().map(channel_view).collect(),
                created_at: Timestamp(visitor.created_at),
                updated_at: Timestamp(visitor.updated_at),
                conflicting_fields: conflicting_fields(contact.conflicting_fields.as_deref())
                    .into_iter()
                    .map(|conflict| ConflictView { field: conflict.field, value: conflict.value })
                    .collect(),
            }
        })
        .collect())
}

pub(super) async fn contact_view(state: &AppState, contact: Contact) -> ApiResult<ContactView> {
    let views = contact_views(state, vec![contact], ManagerShape::Id).await?;
    Ok(views.into_iter().next().expect("one contact, one view"))
}

/// The username of the manager a user id names: the user must be a livechat agent.
pub(super) async fn manager_username(state: &AppState, user_id: &str) -> ApiResult<String> {
    let not_found = || ApiError::bad_request("error-contact-manager-not-found");
    let user = state.store.user_by_id(user_id).await?.ok_or_else(not_found)?;
    if !state.store.user_has_role(&user.id, ROLE_AGENT).await? {
        return Err(not_found());
    }
    Ok(user.username)
}

/// The given custom field values, checked as Rocket.Chat checks a contact's: every key
/// must name a visitor-scoped field, a required field needs a value, and a value must
/// match the field's pattern; values are trimmed and empty ones left out. Answers the
/// JSON object to keep.
async fn checked_custom_fields(state: &AppState, given: &Map<String, Value>) -> ApiResult<String> {
    if let Some(key) = given.iter().find_map(|(key, value)| {
        value.as_str().is_some_and(|value| value.chars().count() > MAX_CUSTOM_FIELD_CHARS).then_some(key)
    }) {
        return Err(ApiError::invalid_params(format!(
            "/customFields/{key} must NOT have more than {MAX_CUSTOM_FIELD_CHARS} characters"
        )));
    }
    let fields = state.store.custom_fields_of_scope("visitor").await?;
    let mut kept = Map::new();
    for field in &fields {
        let invalid = || ApiError::bad_request(format!("Invalid value for {} field", field.label));
        let value = given.get(&field.id).and_then(Value::as_str).map(str::trim).unwrap_or_default();
        if value.is_empty() {
            if field.required == Some(true) {
                return Err(invalid());
            }
            continue;
        }
        if let Some(pattern) = field.regexp.as_deref().filter(|pattern| !pattern.is_empty())
            && !regex::Regex::new(pattern).is_ok_and(|pattern| pattern.is_match(value))
        {
            return Err(invalid());
        }
        kept.insert(field.id.clone(), Value::String(value.to_owned()));
    }
    if let Some(key) = given.keys().find(|key| !fields.iter().any(|field| &field.id == *key)) {
        return Err(ApiError::bad_request(format!("Custom field {key} is not allowed")));
    }
    Ok(Value::Object(kept).to_string())
}

/// A unique key refused the address or number: another contact has it.
fn taken(error: StoreError) -> ApiError {
    if error.is_conflict_on("email_key") || error.is_conflict_on("phone_key") {
        ApiError::bad_request("error-contact-already-exists")
    } else {
        error.into()
    }
}

/// The one entry of a list, when it has a non-blank one.
fn only(list: &[String]) -> Option<&str> {
    list.first().map(String::as_str).filter(|text| !text.trim().is_empty())
}

/// `{contactId, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CreatedContact {
    contact_id: String,
    success: Success,
}

/// Creates a known contact.
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = NewContactBody,
    responses((status = 200, description = "The new contact's id", body = CreatedContact), RcPermitted, RcJsonBody))]
async fn create(
    State(state): State<AppState>,
    _: Caller<CreateContacts>,
    Body(body): Body<NewContactBody>,
) -> ApiResult<Json<CreatedContact>> {
    let manager = match body.contact_manager.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => Some(manager_username(&state, id).await?),
        None => None,
    };
    let custom_fields = checked_custom_fields(&state, &body.custom_fields.unwrap_or_default()).await?;
    let id = meteor_id();
    state
        .store
        .create_contact(NewContact {
            id: &id,
            // No widget holds this token; a visitor joins the contact by its address or number.
            token: &format!("contact-{}", meteor_id()),
            name: &body.name,
            email: only(&body.emails),
            phone: only(&body.phones),
            livechat_data: &custom_fields,
            contact_manager: manager.as_deref(),
            now: state.now(),
        })
        .await
        .map_err(taken)?;
    Ok(Json(CreatedContact { contact_id: id, success: Success }))
}

/// `{contact, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneContact {
    contact: ContactView,
    success: Success,
}

/// Changes a contact, which becomes known.
#[utoipa::path(post, path = "/api/v1/omnichannel/contacts.update", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = ContactUpdateBody,
    responses((status = 200, description = "The contact as changed", body = OneContact), RcPermitted, RcJsonBody))]
async fn update(
    State(state): State<AppState>,
    _: Caller<UpdateContacts>,
    Body(body): Body<ContactUpdateBody>,
) -> ApiResult<Json<OneContact>> {
    let not_found = || ApiError::bad_request("error-contact-not-found");
    let manager = match body.contact_manager.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => Some(manager_username(&state, id).await?),
        None => None,
    };
    let custom_fields = match &body.custom_fields {
        Some(given) => Some(checked_custom_fields(&state, given).await?),
        None => None,
    };
    let changed = state
        .store
        .update_contact(ContactChanges {
            id: &body.contact_id,
            name: body.name.as_deref().filter(|name| !name.is_empty()),
            email: body.emails.as_deref().map(only),
            phone: body.phones.as_deref().map(only),
            livechat_data: custom_fields.as_deref(),
            contact_manager: manager.as_deref(),
            wipe_conflicts: body.wipe_conflicts.unwrap_or(false),
            now: state.now(),
        })
        .await
        .map_err(taken)?;
    if !changed {
        return Err(not_found());
    }
    let contact = state.store.contact_by_id(&body.contact_id).await?.ok_or_else(not_found)?;
    Ok(Json(OneContact { contact: contact_view(&state, contact).await?, success: Success }))
}

/// One contact; 404 when there is none.
#[utoipa::path(get, path = "/api/v1/omnichannel/contacts.get", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ContactIdQuery),
    responses((status = 200, description = "The contact", body = OneContact), RcPermitted, (status = 400, response = RcBadRequest),
        (status = 404, response = RcNotFound)))]
async fn get_one(
    State(state): State<AppState>,
    _: Caller<ViewContacts>,
    Query(query): Query<ContactIdQuery>,
) -> ApiResult<Json<OneContact>> {
    let contact =
        state.store.contact_by_id(&query.contact_id).await?.ok_or_else(|| ApiError::not_found("Resource not found"))?;
    Ok(Json(OneContact { contact: contact_view(&state, contact).await?, success: Success }))
}

rc_page!(ContactPage { contacts: ContactView });

/// The known contacts (or, with `unknown=true`, the unknown ones) whose name, email
/// address or phone number holds the search text. Sort fields: name, createdAt,
/// _updatedAt, _id (default `{"name":1}`).
#[utoipa::path(get, path = "/api/v1/omnichannel/contacts.search", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ContactSearchFilter, PageParams),
    responses((status = 200, description = "A page of contacts", body = ContactPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn search(
    State(state): State<AppState>,
    _: Caller<ViewContacts>,
    query: Paged<ContactSearchFilter>,
) -> ApiResult<Json<ContactPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"name":1}"#), &CONTACT_SORT_FIELDS)?;
    let text = query.filter.search_text.as_deref().filter(|text| !text.is_empty());
    let unknown = query.filter.unknown.unwrap_or(false);
    let (contacts, total) = state.store.search_contacts(text, unknown, &sort, query.page).await?;
    let contacts = contact_views(&state, contacts, ManagerShape::User).await?;
    Ok(Json(ContactPage::new(contacts, query.page, total)))
}

/// `{exists, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Existence {
    exists: bool,
    success: Success,
}

/// Whether a contact has the id, the email address or the phone number given (exactly
/// one of them).
#[utoipa::path(get, path = "/api/v1/omnichannel/contacts.checkExistence", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ExistenceQuery),
    responses((status = 200, description = "Whether the contact exists", body = Existence), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn check_existence(
    State(state): State<AppState>,
    _: Caller<ViewContacts>,
    Query(query): Query<ExistenceQuery>,
) -> ApiResult<Json<Existence>> {
    let given = [("contactId", &query.contact_id), ("email", &query.email), ("phone", &query.phone)];
    let count = given.iter().filter(|(_, value)| value.is_some()).count();
    if count != 1 {
        // ajv's report of the failed `oneOf`: each branch's first failure, then its own.
        let mut lines: Vec<String> = given
            .iter()
            .map(|(name, value)| match value {
                None => format!("must have required property '{name}'"),
                Some(_) => "must NOT have additional properties".to_owned(),
            })
            .collect();
        lines.push("must match exactly one schema in oneOf".to_owned());
        return Err(ApiError::invalid_params(lines.join("\n")));
    }
    let exists =
        state.store.contact_exists(query.contact_id.as_deref(), query.email.as_deref(), query.phone.as_deref()).await?;
    Ok(Json(Existence { exists, success: Success }))
}

rc_page!(ContactHistory { history: RoomView });

/// The contact's closed rooms the caller may see. Sort fields: closedAt, ts,
/// _updatedAt, fname, _id (default `{"closedAt":-1}`).
#[utoipa::path(get, path = "/api/v1/omnichannel/contacts.history", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(HistoryFilter, PageParams),
    responses((status = 200, description = "A page of closed rooms", body = ContactHistory), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn history(
    State(state): State<AppState>,
    caller: Caller<ViewContactHistory>,
    query: Paged<HistoryFilter>,
) -> ApiResult<Json<ContactHistory>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"closedAt":-1}"#), &HISTORY_SORT_FIELDS)?;
    let contact_id = &query.filter.contact_id;
    if state.store.contact_by_id(contact_id).await?.is_none() {
        return Err(ApiError::bad_request("error-contact-not-found"));
    }
    let source = query.filter.source.as_deref().filter(|source| !source.is_empty());
    let filter = VisitorRoomFilter { closed_only: true, source, ..VisitorRoomFilter::default() };
    let (rooms, total) = state.store.visitor_rooms(contact_id, room_access(&caller), filter, &sort, query.page).await?;
    Ok(Json(ContactHistory::new(rooms.iter().map(RoomView::from).collect(), query.page, total)))
}

/// `{channels, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Channels {
    channels: Vec<ChannelView>,
    success: Success,
}

/// The sources the contact chatted through, each with its latest room; none for an
/// unknown contact.
#[utoipa::path(get, path = "/api/v1/omnichannel/contacts.channels", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ContactIdQuery),
    responses((status = 200, description = "The contact's channels", body = Channels), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn channels(
    State(state): State<AppState>,
    _: Caller<ViewContacts>,
    Query(query): Query<ContactIdQuery>,
) -> ApiResult<Json<Channels>> {
    let rooms = state.store.contact_rooms(std::slice::from_ref(&query.contact_id)).await?;
    Ok(Json(Channels { channels: rooms.iter().map(channel_view).collect(), success: Success }))
}
