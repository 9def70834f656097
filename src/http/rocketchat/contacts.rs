//! Omnichannel contacts: /api/v1/omnichannel/contact and contact.search.
//!
//! A contact is a visitor, as in Rocket.Chat before its separate contacts collection:
//! registering a contact registers (or updates) the visitor of the token, or the
//! visitor who already has the email address or phone number (see
//! `Store::upsert_visitor`), and the contact's id is the visitor's id.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::visitor::{in_field, match_error};
use super::wire::VisitorView;
use crate::domain::ids::meteor_id;
use crate::domain::permissions::{ROLE_AGENT, VIEW_L_ROOM};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, WordedBody, WordedQuery, Wording, ajv_refusal, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::schema_check::Violation;
use crate::http::shapes::Success;
use crate::store::{Visitor, VisitorDetails};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(register_contact, contact_by_id)).routes(routes!(search_contact))
}

permission_set!(ViewRooms = [VIEW_L_ROOM]);

/// A contact's registration: the visitor of `token` is created or updated.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ContactBody {
    /// Accepted and not used: the token decides which contact is registered.
    #[allow(dead_code)]
    #[serde(rename = "_id")]
    #[schema(max_length = 256)]
    id: Option<String>,
    #[schema(max_length = 256)]
    token: String,
    #[schema(max_length = 256)]
    name: String,
    #[schema(max_length = 256)]
    email: Option<String>,
    #[schema(max_length = 256)]
    phone: Option<String>,
    /// Accepted and not used: the server names visitors `guest-<n>`.
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    username: Option<String>,
    /// Values of visitor-scoped custom fields by id; other keys and empty values are
    /// left out.
    #[schema(value_type = Option<Object>)]
    custom_fields: Option<Map<String, Value>>,
    contact_manager: Option<ContactManagerBody>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ContactManagerBody {
    /// The username of an agent.
    #[schema(max_length = 256)]
    username: String,
}

/// Rocket.Chat checks these with Meteor's `check()`; the lengths are this server's.
fn meteor_check_refusal(violation: &Violation) -> ApiError {
    match violation {
        Violation::Missing { at, name } => match_error(format!("Missing key '{name}'{}", in_field(at))),
        Violation::Unknown { at, name } => match_error(format!("Unknown key '{name}'{}", in_field(at))),
        Violation::WrongType { at, expected, found } => {
            match_error(format!("Expected {expected}, got {found}{}", in_field(at)))
        }
        other => ajv_refusal(other),
    }
}

impl Wording for ContactBody {
    fn refusal(violation: &Violation) -> ApiError {
        meteor_check_refusal(violation)
    }
}

/// `{contact: <id>, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RegisteredContact {
    /// The contact's (visitor's) id.
    contact: String,
    success: Success,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ContactQuery {
    /// The contact's id
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    contact_id: String,
}

impl Wording for ContactQuery {
    fn refusal(violation: &Violation) -> ApiError {
        meteor_check_refusal(violation)
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ContactSearchQuery {
    /// The contact's email address (case does not matter)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    email: Option<String>,
    /// The contact's phone number (spaces, dashes, dots and brackets do not matter)
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    phone: Option<String>,
    /// A JSON object of custom field values: checked, not matched (see README)
    #[schema(max_length = 1024)]
    #[param(max_length = 1024)]
    custom: Option<String>,
}

impl Wording for ContactSearchQuery {
    fn refusal(violation: &Violation) -> ApiError {
        meteor_check_refusal(violation)
    }
}

/// `{contact, success}`: the contact, or null when there is none.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FoundContact {
    contact: Option<VisitorView>,
    success: Success,
}

impl FoundContact {
    fn of(contact: Option<Visitor>) -> Json<Self> {
        Json(Self { contact: contact.as_ref().map(VisitorView::from), success: Success })
    }
}

/// The username of a contact manager, when it names an agent.
async fn checked_contact_manager(state: &AppState, username: &str) -> ApiResult<()> {
    let user = state.store.user_by_username(username).await?.ok_or_else(|| {
        ApiError::coded("error-contact-manager-not-found", format!("No user found with username {username}"))
    })?;
    if !state.store.user_has_role(&user.id, ROLE_AGENT).await? {
        return Err(ApiError::coded(
            "error-invalid-contact-manager",
            "The contact manager must have the role \"livechat-agent\"",
        ));
    }
    Ok(())
}

/// The values of `fields` that name visitor-scoped custom fields and are not empty,
/// as the JSON object a contact keeps.
async fn contact_custom_fields(state: &AppState, fields: Option<Map<String, Value>>) -> ApiResult<String> {
    let known = state.store.visitor_custom_field_ids().await?;
    let kept: Map<String, Value> = fields
        .unwrap_or_default()
        .into_iter()
        .filter(|(id, value)| known.contains(id) && *value != Value::String(String::new()) && !value.is_null())
        .collect();
    Ok(Value::Object(kept).to_string())
}

/// Registers a contact: the visitor of the token, or else the one with the email
/// address or phone number, is updated; failing both, one is created.
#[utoipa::path(post, path = "/api/v1/omnichannel/contact", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    request_body = ContactBody,
    responses((status = 200, description = "The contact's id", body = RegisteredContact), RcPermitted, RcJsonBody))]
async fn register_contact(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    WordedBody(body): WordedBody<ContactBody>,
) -> ApiResult<Json<RegisteredContact>> {
    if body.token.trim().is_empty() {
        return Err(ApiError::coded("error-invalid-contact-data", "Invalid visitor token"));
    }
    let manager = body.contact_manager.map(|manager| manager.username).filter(|username| !username.is_empty());
    if let Some(username) = &manager {
        checked_contact_manager(&state, username).await?;
    }
    let livechat_data = contact_custom_fields(&state, body.custom_fields).await?;
    // Rocket.Chat keeps a contact's address trimmed and lowercased.
    let email = body.email.map(|email| email.trim().to_lowercase()).filter(|email| !email.is_empty());
    let phone = body.phone.filter(|phone| !phone.is_empty());
    let visitor = state
        .store
        .upsert_visitor(VisitorDetails {
            id: &meteor_id(),
            token: &body.token,
            name: Some(&body.name),
            email: email.as_deref(),
            phone: phone.as_deref(),
            department_id: None,
            headers: None,
            livechat_data: Some(&livechat_data),
            contact_manager: manager.as_deref(),
            name_conflicts: false,
            now: state.now(),
        })
        .await?;
    Ok(Json(RegisteredContact { contact: visitor.id, success: Success }))
}

/// One contact by id; `contact` is null when there is none.
#[utoipa::path(get, path = "/api/v1/omnichannel/contact", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ContactQuery),
    responses((status = 200, description = "The contact", body = FoundContact), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn contact_by_id(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    WordedQuery(query): WordedQuery<ContactQuery>,
) -> ApiResult<Json<FoundContact>> {
    Ok(FoundContact::of(state.store.visitor_by_id(&query.contact_id).await?))
}

/// The first registered contact with the email address and the phone number given.
#[utoipa::path(get, path = "/api/v1/omnichannel/contact.search", tag = "contacts",
    security(("userId" = [], "authToken" = [])),
    params(ContactSearchQuery),
    responses((status = 200, description = "The contact", body = FoundContact), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn search_contact(
    State(state): State<AppState>,
    _: Caller<ViewRooms>,
    WordedQuery(query): WordedQuery<ContactSearchQuery>,
) -> ApiResult<Json<FoundContact>> {
    if let Some(custom) = query.custom.as_deref().filter(|custom| !custom.is_empty()) {
        serde_json::from_str::<Value>(custom).map_err(|_| ApiError::code_only("error-invalid-params-custom"))?;
    }
    let email = query.email.as_deref().filter(|email| !email.is_empty());
    let phone = query.phone.as_deref().filter(|phone| !phone.is_empty());
    if email.is_none() && phone.is_none() {
        return Err(ApiError::code_only("error-invalid-params"));
    }
    Ok(FoundContact::of(state.store.visitor_by_email_and_phone(email, phone).await?))
}
