//! Routes the livechat widget calls besides registering, opening a room and writing
//! (visitor.rs): page visits, the serving agent, the visitor's status and custom
//! fields. The visitor's token is the credential, as in visitor.rs.

use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserEmail;
use super::visitor::{invalid_room, invalid_token, known_visitor};
use crate::domain::ids::meteor_id;
use crate::domain::settings::{HistoryMonitorType, ShowAgentEmail, ShowAgentInfo};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Path, WordedBody, Wording, ajv_refusal};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcUnavailable};
use crate::http::schema_check::Violation;
use crate::http::shapes::Success;
use crate::store::{CustomFieldValue, NewMessage, StoreError, User};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(page_visited))
        .routes(routes!(agent_info))
        .routes(routes!(visitor_status))
        .routes(routes!(custom_field))
        .routes(routes!(custom_fields))
}

/// The source of a room the request opens: `widget` when the widget's cookies
/// (`rc_room_type=l`, `rc_is_widget=t`) came with it, as Rocket.Chat decides; `api`
/// otherwise.
pub fn room_source(headers: &HeaderMap) -> &'static str {
    let cookies: Vec<(&str, &str)> = headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .collect();
    let has = |name: &str, value: &str| cookies.iter().any(|&(n, v)| n == name && v == value);
    if has("rc_room_type", "l") && has("rc_is_widget", "t") { "widget" } else { "api" }
}

/// The page the widget's visitor moved to.
#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
struct PageInfo {
    /// `url` for a new address, `title` for a new title; only the kind
    /// `Livechat_history_monitor_type` names is recorded.
    #[schema(max_length = 256)]
    change: String,
    #[schema(max_length = 5000)]
    title: String,
    location: PageLocation,
}

#[derive(Deserialize, Serialize, ToSchema, Clone)]
#[serde(deny_unknown_fields)]
struct PageLocation {
    #[schema(max_length = 5000)]
    href: String,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct PageVisitedBody {
    #[schema(max_length = 256)]
    token: String,
    /// The visitor's room; without it the visit is answered but not stored.
    #[schema(max_length = 256)]
    rid: Option<String>,
    page_info: PageInfo,
}

/// `{page?, success}`: `page` when the change was recorded.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct PageVisited {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    page: Option<VisitedPage>,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitedPage {
    /// `<title> - <href>`.
    msg: String,
    navigation: Navigation,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Navigation {
    page: PageInfo,
    token: String,
}

/// The message type of a page visit.
const NAVIGATION_HISTORY: &str = "livechat_navigation_history";

/// Records a page the visitor visited, as a hidden message of its room.
#[utoipa::path(post, path = "/api/v1/livechat/page.visited", tag = "visitor",
    request_body = PageVisitedBody,
    responses(
        (status = 200, description = "The recorded visit, or only success when the change is not a new address", body = PageVisited),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn page_visited(
    State(state): State<AppState>,
    Body(body): Body<PageVisitedBody>,
) -> ApiResult<Json<PageVisited>> {
    let visitor = known_visitor(&state, &body.token).await?;
    if body.page_info.change != state.store.setting::<HistoryMonitorType>().await? {
        return Ok(Json(PageVisited { page: None, success: Success }));
    }
    let page = VisitedPage {
        msg: format!("{} - {}", body.page_info.title, body.page_info.location.href),
        navigation: Navigation { page: body.page_info, token: body.token },
    };
    if let Some(rid) = body.rid.as_deref().filter(|rid| !rid.is_empty()) {
        let extra = serde_json::json!({ "navigation": &page.navigation }).to_string();
        let message = NewMessage {
            id: &meteor_id(),
            room_id: rid,
            msg: &page.msg,
            kind: Some(NAVIGATION_HISTORY),
            // Rocket.Chat writes these in the name of its bot.
            author_id: "rocket.cat",
            author_username: "rocket.cat",
            author_name: Some("Rocket.Cat"),
            extra: Some(&extra),
            now: state.now(),
        };
        match state.store.add_navigation(&visitor.id, message).await {
            Ok(()) => {}
            Err(StoreError::NotFound) => return Err(invalid_room()),
            Err(error) => return Err(error.into()),
        }
    }
    Ok(Json(PageVisited { page: Some(page), success: Success }))
}

/// The agent serving a room, as the visitor sees it: only `{"hiddenInfo": true}` when
/// `Livechat_show_agent_info` is false.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
pub(crate) enum ServingAgent {
    Hidden(HiddenAgent),
    Shown(AgentView),
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub(crate) struct HiddenAgent {
    /// Always `true`.
    hidden_info: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct AgentView {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    name: String,
    status: String,
    /// Absent when the agent has no address or `Livechat_show_agent_email` is false.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    emails: Vec<UserEmail>,
}

impl ServingAgent {
    /// `agent` as the visitor is shown it under `Livechat_show_agent_info` and
    /// `Livechat_show_agent_email`.
    pub(crate) fn new(agent: User, show_info: bool, show_email: bool) -> Self {
        if !show_info {
            return Self::Hidden(HiddenAgent { hidden_info: Success });
        }
        Self::Shown(AgentView {
            emails: if show_email { UserEmail::of(&agent) } else { Vec::new() },
            id: agent.id,
            username: agent.username,
            name: agent.name,
            status: agent.status,
        })
    }

    /// `agent` as the current settings show it to visitors.
    pub(super) async fn shown_to_visitors(state: &AppState, agent: User) -> ApiResult<Self> {
        let (show_info, show_email) =
            (state.store.setting::<ShowAgentInfo>().await?, state.store.setting::<ShowAgentEmail>().await?);
        Ok(Self::new(agent, show_info, show_email))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentInfo {
    agent: ServingAgent,
    success: Success,
}

/// The agent serving the visitor's room.
#[utoipa::path(get, path = "/api/v1/livechat/agent.info/{rid}/{token}", tag = "visitor",
    params(("rid" = String, Path, description = "The room's id", max_length = 256), ("token" = String, Path, description = "The visitor's token", max_length = 256)),
    responses(
        (status = 200, description = "The serving agent", body = AgentInfo),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn agent_info(
    State(state): State<AppState>,
    Path((rid, token)): Path<(String, String)>,
) -> ApiResult<Json<AgentInfo>> {
    let visitor = known_visitor(&state, &token).await?;
    let room = state.store.room_by_id(&rid).await?.filter(|room| room.visitor_id == visitor.id);
    let room = room.ok_or_else(invalid_room)?;
    let invalid_agent = || ApiError::bad_request("invalid-agent");
    let agent_id = room.served_by.ok_or_else(invalid_agent)?;
    let agent = state.store.user_by_id(&agent_id).await?.ok_or_else(invalid_agent)?;
    Ok(Json(AgentInfo { agent: ServingAgent::shown_to_visitors(&state, agent).await?, success: Success }))
}

#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum VisitorStatus {
    Online,
    Away,
    Offline,
    Busy,
}

impl VisitorStatus {
    fn as_str(self) -> &'static str {
        match self {
            Self::Online => "online",
            Self::Away => "away",
            Self::Offline => "offline",
            Self::Busy => "busy",
        }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorStatusBody {
    #[schema(max_length = 256)]
    token: String,
    status: VisitorStatus,
}

/// Rocket.Chat checks this body with Meteor's `check()` and words it so.
impl Wording for VisitorStatusBody {
    fn refusal(violation: &Violation) -> ApiError {
        let field = |at: &str| at.trim_start_matches('/').replace('/', ".");
        let message = match violation {
            Violation::Missing { name, .. } => format!("Missing key '{name}'"),
            Violation::Unknown { name, .. } => format!("Unknown key '{name}'"),
            Violation::WrongType { at, expected, found } => {
                format!("Expected {expected}, got {found} in field {}", field(at))
            }
            other => return ajv_refusal(other),
        };
        ApiError::bad_request(format!("Match error: {message}"))
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisitorStatusChanged {
    token: String,
    status: VisitorStatus,
    success: Success,
}

/// Sets the visitor's status; its rooms show it at once.
#[utoipa::path(post, path = "/api/v1/livechat/visitor.status", tag = "visitor",
    request_body = VisitorStatusBody,
    responses(
        (status = 200, description = "The status set", body = VisitorStatusChanged),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn visitor_status(
    State(state): State<AppState>,
    WordedBody(body): WordedBody<VisitorStatusBody>,
) -> ApiResult<Json<VisitorStatusChanged>> {
    if !state.store.set_visitor_status(&body.token, body.status.as_str(), state.now()).await? {
        return Err(invalid_token());
    }
    Ok(Json(VisitorStatusChanged { token: body.token, status: body.status, success: Success }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomFieldBody {
    #[schema(max_length = 256)]
    token: String,
    /// The custom field's id.
    #[schema(max_length = 256)]
    key: String,
    #[schema(max_length = 5000)]
    value: String,
    /// Whether to replace a value the visitor already has.
    overwrite: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomFieldSet {
    field: FieldEcho,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FieldEcho {
    key: String,
    value: String,
    overwrite: bool,
}

/// A field of `custom.fields`.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomFieldEntry {
    #[schema(max_length = 256)]
    key: String,
    #[schema(max_length = 5000)]
    value: String,
    overwrite: bool,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomFieldsBody {
    #[schema(max_length = 256)]
    token: String,
    custom_fields: Vec<CustomFieldEntry>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct CustomFieldsSet {
    fields: Vec<FieldsEcho>,
    success: Success,
}

/// Rocket.Chat answers `custom.fields` with `Key`, capitalised.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct FieldsEcho {
    #[serde(rename = "Key")]
    key: String,
    value: String,
    overwrite: bool,
}

async fn set_custom_fields(state: &AppState, token: &str, values: &[CustomFieldValue<'_>]) -> ApiResult<()> {
    let visitor = known_visitor(state, token).await?;
    match state.store.set_visitor_custom_fields(&visitor.id, values, state.now()).await {
        Ok(()) => Ok(()),
        Err(StoreError::NotFound) => Err(ApiError::bad_request("invalid-custom-field")),
        Err(error) => Err(error.into()),
    }
}

/// Sets one of the visitor's custom fields.
#[utoipa::path(post, path = "/api/v1/livechat/custom.field", tag = "visitor",
    request_body = CustomFieldBody,
    responses(
        (status = 200, description = "The field as given", body = CustomFieldSet),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn custom_field(
    State(state): State<AppState>,
    Body(body): Body<CustomFieldBody>,
) -> ApiResult<Json<CustomFieldSet>> {
    let value = CustomFieldValue { key: &body.key, value: &body.value, overwrite: body.overwrite };
    set_custom_fields(&state, &body.token, &[value]).await?;
    let field = FieldEcho { key: body.key, value: body.value, overwrite: body.overwrite };
    Ok(Json(CustomFieldSet { field, success: Success }))
}

/// Sets several of the visitor's custom fields, all or none.
#[utoipa::path(post, path = "/api/v1/livechat/custom.fields", tag = "visitor",
    request_body = CustomFieldsBody,
    responses(
        (status = 200, description = "The fields as given", body = CustomFieldsSet),
        RcJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn custom_fields(
    State(state): State<AppState>,
    Body(body): Body<CustomFieldsBody>,
) -> ApiResult<Json<CustomFieldsSet>> {
    let values: Vec<CustomFieldValue<'_>> = body
        .custom_fields
        .iter()
        .map(|field| CustomFieldValue { key: &field.key, value: &field.value, overwrite: field.overwrite })
        .collect();
    set_custom_fields(&state, &body.token, &values).await?;
    let fields = body
        .custom_fields
        .into_iter()
        .map(|field| FieldsEcho { key: field.key, value: field.value, overwrite: field.overwrite })
        .collect();
    Ok(Json(CustomFieldsSet { fields, success: Success }))
}
