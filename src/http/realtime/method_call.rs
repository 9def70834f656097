//! The DDP methods over REST, as Rocket.Chat serves them to clients without a socket:
//! `POST /api/v1/method.call/{method}` (logged in) and `/api/v1/method.callAnon/{method}`
//! with `{"message": "<EJSON of the DDP method frame>"}`, answered
//! `{"message": "<EJSON of the DDP result frame>", "success": true}`. The path's method
//! name is only checked for length (Rocket.Chat uses it for rate limiting): the frame's
//! method is called.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::frames::{self, ClientFrame};
use super::session::Identity;
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, LoggedIn, Path};
use crate::http::openapi::{RcJsonBody, RcSignedIn};
use crate::store::AuthUser;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(call)).routes(routes!(call_anonymously))
}

/// A DDP method frame as EJSON text.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MethodCallBody {
    /// `{"msg":"method","id":"<id>","method":"<name>","params":[...]}` as text.
    #[schema(max_length = 5000)]
    message: String,
}

/// The DDP result frame as EJSON text.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MethodCallAnswer {
    /// `{"msg":"result","id":"<id>","result":...}`, or with `error` (a Meteor error)
    /// when the method refused.
    message: String,
    success: bool,
}

/// Calls the method of `body`'s frame as `user` (none: anonymously).
async fn answer(state: AppState, user: Option<AuthUser>, body: MethodCallBody) -> ApiResult<Json<MethodCallAnswer>> {
    let Ok(ClientFrame::Method { id, method, params }) = ClientFrame::parse(&body.message) else {
        return Err(ApiError::bad_request("Invalid method call"));
    };
    let outcome = Identity::new(state, user).call(&method, params).await;
    Ok(Json(MethodCallAnswer { message: frames::result(&id, outcome).text(), success: true }))
}

/// Calls a DDP method as the logged-in user (`login`, `livechat:setUpConnection`,
/// `stream-notify-room`, `sendMessage`, `UserPresence:*`, `livechat:registerGuest`,
/// `livechat:sendMessageLivechat`, `livechat:saveDepartment`, `livechat:returnAsInquiry`,
/// `livechat:removeRoom`; see the README's realtime API). A method that refuses still
/// answers 200, its error in the result frame; a message that is no method frame is
/// 400 `Invalid method call`.
#[utoipa::path(post, path = "/api/v1/method.call/{method}", tag = "realtime",
    security(("userId" = [], "authToken" = [])),
    params(("method" = String, Path, description = "The method's name (the frame's is called)", max_length = 256)),
    request_body = MethodCallBody,
    responses((status = 200, description = "The method's result frame", body = MethodCallAnswer), RcSignedIn, RcJsonBody))]
async fn call(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Path(_named): Path<String>,
    Body(body): Body<MethodCallBody>,
) -> ApiResult<Json<MethodCallAnswer>> {
    answer(state, Some(caller.user), body).await
}

/// Calls a DDP method without a login, as `method.call` does.
#[utoipa::path(post, path = "/api/v1/method.callAnon/{method}", tag = "realtime",
    params(("method" = String, Path, description = "The method's name (the frame's is called)", max_length = 256)),
    request_body = MethodCallBody,
    responses((status = 200, description = "The method's result frame", body = MethodCallAnswer), RcJsonBody))]
async fn call_anonymously(
    State(state): State<AppState>,
    Path(_named): Path<String>,
    Body(body): Body<MethodCallBody>,
) -> ApiResult<Json<MethodCallAnswer>> {
    answer(state, None, body).await
}
