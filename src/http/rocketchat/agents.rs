//! Omnichannel agents and managers: /api/v1/livechat/users/{type} and
//! POST /api/v1/livechat/agent.status.
//!
//! Deviations from Rocket.Chat: adding an agent leaves its `statusLivechat` as it was.

use std::marker::PhantomData;

use axum::Json;
use axum::extract::{FromRequestParts, RawPathParams, State};
use axum::http::request::Parts;
use serde::de::IntoDeserializer;
use serde::de::value::StrDeserializer;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserEmail;
use crate::domain::agents::{LivechatRole, LivechatStatus};
use crate::domain::page::parse_sort;
use crate::domain::permissions::{
    MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_MANAGERS, VIEW_L_ROOM, VIEW_LIVECHAT_MANAGER,
};
use crate::http::AppState;
use crate::http::SMALL_BODY_BYTES;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, LoggedIn, PageParams, Paged, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcNotFound, RcPermitted, RcSmallJsonBody};
use crate::http::shapes::{Done, Success, rc_page};
use crate::store::{LivechatUser, LivechatUserSort, User, UserListFilter};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list, add)).routes(routes!(one, remove)).routes(routes!(set_status))
}

permission_set!(ServeChats = [VIEW_L_ROOM]);

/// Which users: the agents or the managers.
#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
enum LivechatKind {
    Agent,
    Manager,
}

impl LivechatKind {
    /// The kind a path names, by the names the document lists.
    fn parse(raw: &str) -> Option<Self> {
        let raw: StrDeserializer<'_, serde::de::value::Error> = raw.into_deserializer();
        Self::deserialize(raw).ok()
    }

    fn role(self) -> LivechatRole {
        match self {
            Self::Agent => LivechatRole::Agent,
            Self::Manager => LivechatRole::Manager,
        }
    }

    /// The permission to add and remove users of this kind.
    fn manage_permission(self) -> &'static str {
        match self {
            Self::Agent => MANAGE_LIVECHAT_AGENTS,
            Self::Manager => MANAGE_LIVECHAT_MANAGERS,
        }
    }
}

/// What a route of /livechat/users/{kind} does to users of the kind.
trait KindAccess {
    /// A permission that admits the caller besides the one to manage the kind.
    const ALSO: Option<&'static str>;
}

/// Adding and removing: only the permission to manage the kind.
enum Change {}

impl KindAccess for Change {
    const ALSO: Option<&'static str> = None;
}

/// Listing and reading: view-livechat-manager admits too.
enum Read {}

impl KindAccess for Read {
    const ALSO: Option<&'static str> = Some(VIEW_LIVECHAT_MANAGER);
}

/// The `{kind}` of the path, taken by a logged-in caller permitted to `A` users of that
/// kind: 401, then 403, before the query or body is read. An unknown kind asks for
/// either manage permission and then is 400 `Invalid type`.
struct PermittedKind<A> {
    role: LivechatRole,
    access: PhantomData<A>,
}

impl<A: KindAccess> FromRequestParts<AppState> for PermittedKind<A> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<Self> {
        let caller = Caller::<LoggedIn>::from_request_parts(parts, state).await?;
        let params = RawPathParams::from_request_parts(parts, state)
            .await
            .map_err(|rejection| ApiError::invalid_params(rejection.body_text()))?;
        let raw = params.iter().find(|(name, _)| *name == "kind").map_or("", |(_, value)| value);
        let kind = LivechatKind::parse(raw);
        let permitted = match kind {
            Some(kind) => caller.holds(kind.manage_permission()) || A::ALSO.is_some_and(|also| caller.holds(also)),
            None => caller.holds_any(&[MANAGE_LIVECHAT_AGENTS, MANAGE_LIVECHAT_MANAGERS]),
        };
        if !permitted {
            return Err(ApiError::no_permission());
        }
        let kind = kind.ok_or_else(|| ApiError::bad_request("Invalid type"))?;
        Ok(Self { role: kind.role(), access: PhantomData })
    }
}

/// An agent or manager. The add route's answer has no `departments`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct LivechatUserView {
    #[serde(rename = "_id")]
    id: String,
    username: String,
    name: String,
    status: String,
    status_livechat: String,
    emails: Vec<UserEmail>,
    /// The departments the user serves in as an agent.
    #[serde(skip_serializing_if = "Option::is_none")]
    departments: Option<Vec<String>>,
}

impl From<&User> for LivechatUserView {
    fn from(user: &User) -> Self {
        Self {
            id: user.id.clone(),
            username: user.username.clone(),
            name: user.name.clone(),
            status: user.status.clone(),
            status_livechat: user.livechat_status.clone(),
            emails: UserEmail::of(user),
            departments: None,
        }
    }
}

impl From<LivechatUser> for LivechatUserView {
    fn from(livechat_user: LivechatUser) -> Self {
        Self { departments: Some(livechat_user.department_ids), ..Self::from(&livechat_user.user) }
    }
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UsernameBody {
    #[schema(max_length = 256)]
    username: String,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AddedLivechatUser {
    user: LivechatUserView,
    success: Success,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
#[serde(rename_all = "camelCase")]
struct LivechatUserFilter {
    /// Part of the username or name.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    text: Option<String>,
    /// Agents only: only those whose statusLivechat is available.
    only_available: Option<bool>,
    /// Agents only: leave out this user.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    exclude_id: Option<String>,
    /// Agents only: false leaves out offline agents (default true).
    show_idle_agents: Option<bool>,
}

rc_page!(LivechatUserPage { users: LivechatUserView });

/// The user, `null` when it does not have the role.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneLivechatUser {
    #[schema(required = true)]
    user: Option<LivechatUserView>,
    success: Success,
}

/// Sets the status given, or toggles it; of the caller unless `agentId` names another agent.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct AgentStatusBody {
    status: Option<RequestedStatus>,
    #[schema(max_length = 256)]
    agent_id: Option<String>,
}

#[derive(Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "kebab-case")]
enum RequestedStatus {
    Available,
    NotAvailable,
}

impl From<RequestedStatus> for LivechatStatus {
    fn from(status: RequestedStatus) -> Self {
        match status {
            RequestedStatus::Available => Self::Available,
            RequestedStatus::NotAvailable => Self::NotAvailable,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AgentStatus {
    status: String,
    success: Success,
}

const SORT_FIELDS: [(&str, LivechatUserSort); 5] = [
    ("_id", LivechatUserSort::Id),
    ("username", LivechatUserSort::Username),
    ("name", LivechatUserSort::Name),
    ("status", LivechatUserSort::Status),
    ("statusLivechat", LivechatUserSort::LivechatStatus),
];

/// Gives a user the livechat-agent or livechat-manager role.
#[utoipa::path(post, path = "/api/v1/livechat/users/{kind}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path)),
    request_body = UsernameBody,
    responses((status = 200, description = "The user", body = AddedLivechatUser), RcPermitted, RcSmallJsonBody))]
async fn add(
    State(state): State<AppState>,
    kind: PermittedKind<Change>,
    Body(body): Body<UsernameBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<AddedLivechatUser>> {
    let user = state
        .store
        .add_role_by_username(&body.username, kind.role.role(), state.now())
        .await?
        .ok_or_else(|| ApiError::coded("error-invalid-user", "User not found"))?;
    Ok(Json(AddedLivechatUser { user: LivechatUserView::from(&user), success: Success }))
}

/// The agents or the managers.
///
/// Sort fields: _id, username, name, status, statusLivechat (default `{"username":1}`).
/// `onlyAvailable`, `excludeId` and `showIdleAgents` narrow the agents, as Rocket.Chat's.
#[utoipa::path(get, path = "/api/v1/livechat/users/{kind}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path), LivechatUserFilter, PageParams),
    responses((status = 200, description = "A page of users", body = LivechatUserPage), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn list(
    State(state): State<AppState>,
    kind: PermittedKind<Read>,
    query: Paged<LivechatUserFilter>,
) -> ApiResult<Json<LivechatUserPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"username":1}"#), &SORT_FIELDS)?;
    let filter = &query.filter;
    // As Rocket.Chat, the availability filters narrow agents only.
    let agents = matches!(kind.role, LivechatRole::Agent);
    let filter = UserListFilter {
        text: filter.text.as_deref().filter(|text| !text.is_empty()),
        only_available: agents && filter.only_available == Some(true),
        exclude_id: filter.exclude_id.as_deref().filter(|id| agents && !id.is_empty()),
        show_idle: !agents || filter.show_idle_agents != Some(false),
    };
    let (users, total) = state.store.livechat_users(kind.role.role(), filter, query.page, &sort).await?;
    Ok(Json(LivechatUserPage::new(users.into_iter().map(LivechatUserView::from).collect(), query.page, total)))
}

/// One agent or manager; `null` when the user does not have the role.
#[utoipa::path(get, path = "/api/v1/livechat/users/{kind}/{id}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path), ("id" = String, Path, description = "The user's id", max_length = 256)),
    responses((status = 200, description = "The user or null", body = OneLivechatUser), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn one(
    State(state): State<AppState>,
    kind: PermittedKind<Read>,
    Path((_kind, id)): Path<(String, String)>,
) -> ApiResult<Json<OneLivechatUser>> {
    let user = state.store.livechat_user(kind.role.role(), &id).await?;
    Ok(Json(OneLivechatUser { user: user.map(LivechatUserView::from), success: Success }))
}

/// Takes the livechat-agent or livechat-manager role away.
#[utoipa::path(delete, path = "/api/v1/livechat/users/{kind}/{id}", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    params(("kind" = inline(LivechatKind), Path), ("id" = String, Path, description = "The user's id", max_length = 256)),
    responses((status = 200, description = "Removed", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn remove(
    State(state): State<AppState>,
    kind: PermittedKind<Change>,
    Path((_kind, id)): Path<(String, String)>,
) -> ApiResult<Json<Done>> {
    if state.store.remove_role(&id, kind.role.role()).await? {
        Ok(Done::ANSWER)
    } else {
        Err(ApiError::bad_request(match kind.role {
            LivechatRole::Agent => "error-removing-agent",
            LivechatRole::Manager => "error-removing-manager",
        }))
    }
}

fn agent_not_found() -> ApiError {
    ApiError::not_found("Agent not found")
}

/// Sets an agent's livechat status, or toggles it when no status is given.
#[utoipa::path(post, path = "/api/v1/livechat/agent.status", tag = "agents and managers",
    security(("userId" = [], "authToken" = [])),
    request_body = AgentStatusBody,
    responses(
        (status = 200, description = "The new status", body = AgentStatus),
        RcPermitted,
        RcSmallJsonBody,
        (status = 404, response = RcNotFound),
    ))]
async fn set_status(
    State(state): State<AppState>,
    caller: Caller<ServeChats>,
    Body(body): Body<AgentStatusBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<AgentStatus>> {
    let agent_id = body.agent_id.as_deref().unwrap_or(&caller.id);
    let status = body.status.map(LivechatStatus::from);
    // As Rocket.Chat: an unknown agent is 404, a deactivated one 400, and a status the
    // agent already has is answered, all before another agent's status is refused.
    let agent = state.store.livechat_user(LivechatRole::Agent.role(), agent_id).await?.ok_or_else(agent_not_found)?;
    if !agent.user.active {
        return Err(ApiError::bad_request("error-user-deactivated"));
    }
    if let Some(status) = status.filter(|status| status.as_str() == agent.user.livechat_status) {
        return Ok(Json(AgentStatus { status: status.as_str().to_owned(), success: Success }));
    }
    if agent_id != caller.id && !caller.holds(MANAGE_LIVECHAT_AGENTS) {
        return Err(ApiError::unauthorized_object());
    }
    let status = state.store.set_livechat_status(agent_id, status, state.now()).await?.ok_or_else(agent_not_found)?;
    if status == LivechatStatus::Available.as_str() {
        state.route_queue().await;
    }
    Ok(Json(AgentStatus { status, success: Success }))
}
