//! GET /api/v1/roles.list and GET /api/v1/users.info: what clients read of roles and
//! of other users.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::UserEmail;
use crate::domain::permissions::VIEW_FULL_OTHER_USER_INFO;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Caller, LoggedIn, Query};
use crate::http::openapi::{RcBadRequest, RcSignedIn};
use crate::http::shapes::Success;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(roles_list)).routes(routes!(users_info))
}

/// Rocket.Chat's scope of roles held by users (as opposed to room roles).
#[derive(Serialize, ToSchema)]
enum RoleScope {
    Users,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleView {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    description: String,
    /// Always true: every role is built in and cannot be removed.
    protected: bool,
    scope: RoleScope,
    /// Always false: there is no second factor.
    mandatory2fa: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleList {
    roles: Vec<RoleView>,
    success: Success,
}

/// Every role.
#[utoipa::path(get, path = "/api/v1/roles.list", tag = "users",
    security(("userId" = [], "authToken" = [])),
    responses((status = 200, description = "The roles", body = RoleList), RcSignedIn))]
async fn roles_list(State(state): State<AppState>, _: Caller<LoggedIn>) -> ApiResult<Json<RoleList>> {
    let roles = state.store.roles().await?;
    let roles = roles
        .into_iter()
        .map(|role| RoleView {
            name: role.id.clone(),
            id: role.id,
            description: role.description,
            protected: true,
            scope: RoleScope::Users,
            mandatory2fa: false,
        })
        .collect();
    Ok(Json(RoleList { roles, success: Success }))
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct UserInfoQuery {
    /// The user's id; this or `username`
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    user_id: Option<String>,
    /// The user's username
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    username: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct UserInfoView {
    #[serde(rename = "_id")]
    id: String,
    #[serde(rename = "type")]
    kind: String,
    username: String,
    name: String,
    status: String,
    status_livechat: String,
    active: bool,
    roles: Vec<String>,
    utc_offset: i64,
    /// Only for the caller itself, or a caller holding `view-full-other-user-info`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    emails: Option<Vec<UserEmail>>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct UserInfo {
    user: UserInfoView,
    success: Success,
}

/// A user, by id or username.
#[utoipa::path(get, path = "/api/v1/users.info", tag = "users",
    security(("userId" = [], "authToken" = [])),
    params(UserInfoQuery),
    responses(
        (status = 200, description = "The user", body = UserInfo),
        (status = 400, response = RcBadRequest),
        RcSignedIn,
    ))]
async fn users_info(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Query(query): Query<UserInfoQuery>,
) -> ApiResult<Json<UserInfo>> {
    let user = match (&query.user_id, &query.username) {
        (Some(id), _) => state.store.user_by_id(id).await?,
        (None, Some(username)) => state.store.user_by_username(username).await?,
        (None, None) => return Err(ApiError::invalid_params("must have required property 'userId'")),
    };
    let user = user.ok_or_else(|| ApiError::bad_request("User not found."))?;
    let full = user.id == caller.id || caller.holds_any(&[VIEW_FULL_OTHER_USER_INFO]);
    let roles = state.store.user_roles(&user.id).await?;
    Ok(Json(UserInfo {
        user: UserInfoView {
            emails: full.then(|| UserEmail::of(&user)),
            id: user.id,
            kind: "user".to_owned(),
            username: user.username,
            name: user.name,
            status: user.status,
            status_livechat: user.livechat_status,
            active: user.active,
            roles,
            utc_offset: 0,
        },
        success: Success,
    }))
}
