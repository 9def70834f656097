//! Rocket.Chat's settings: /api/v1/settings, /api/v1/settings/{_id} and
//! /api/v1/settings.public.
//!
//! Of Rocket.Chat's deprecated MongoDB `query` parameter, the forms clients send are
//! read: `{"_id": "<id>"}` and `{"_id": {"$in": [...]}}`. `fields` adds the setting
//! fields this server keeps (`type`, `public`, `secret`, `packageValue`, `group`,
//! `section`, `_updatedAt`) to Rocket.Chat's default projection.

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::page::{Direction, SortKey, parse_sort};
use crate::domain::permissions::{EDIT_PRIVILEGED_SETTING, VIEW_PRIVILEGED_SETTING};
use crate::domain::settings::{SettingKind, ValueError, check_value};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{
    Caller, LoggedIn, PageParams, Paged, Path, WordedBody, Wording, ajv_refusal, permission_set,
};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted, RcSignedIn, RcUnavailable};
use crate::http::schema_check::Violation;
use crate::http::shapes::{Done, Success, Timestamp, rc_page};
use crate::store::{Setting, SettingFilter, SettingSortField};

const SORT_FIELDS: [(&str, SettingSortField); 2] =
    [("_id", SettingSortField::Id), ("_updatedAt", SettingSortField::UpdatedAt)];

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_public)).routes(routes!(list)).routes(routes!(get_one, update))
}

permission_set!(ViewSettings = [VIEW_PRIVILEGED_SETTING]);
permission_set!(EditSettings = [EDIT_PRIVILEGED_SETTING]);

/// A setting as Rocket.Chat's lists show it: `_id` and `value`, the enterprise marks of
/// an enterprise setting, and what `fields` or `includeDefaults` asked for.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SettingView {
    #[serde(rename = "_id")]
    id: String,
    value: Value,
    #[serde(skip_serializing_if = "Option::is_none")]
    enterprise: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    invalid_value: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    modules: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    package_value: Option<Value>,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    kind: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    public: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    secret: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    group: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    section: Option<String>,
    #[serde(rename = "_updatedAt", skip_serializing_if = "Option::is_none")]
    updated_at: Option<Timestamp>,
}

/// The optional fields a list shows besides `_id`, `value` and the enterprise marks.
#[derive(Default)]
struct Projection {
    package_value: bool,
    kind: bool,
    public: bool,
    secret: bool,
    group: bool,
    section: bool,
    updated_at: bool,
}

impl Projection {
    /// Reads `fields`, a JSON object of field name to 1 (shown) or 0; fields this
    /// server does not keep are not shown, as MongoDB shows no missing field.
    fn parse(raw: Option<&str>) -> ApiResult<Self> {
        let mut projection = Self::default();
        let Some(raw) = raw else { return Ok(projection) };
        let invalid =
            || ApiError::coded("error-invalid-fields", format!("Invalid fields parameter provided: \"{raw}\""));
        let fields: Map<String, Value> = serde_json::from_str(raw).map_err(|_| invalid())?;
        for (name, shown) in &fields {
            match shown.as_i64() {
                Some(1) => projection.show(name),
                Some(0) => {}
                _ => return Err(invalid()),
            }
        }
        Ok(projection)
    }

    fn show(&mut self, name: &str) {
        match name {
            "packageValue" => self.package_value = true,
            "type" => self.kind = true,
            "public" => self.public = true,
            "secret" => self.secret = true,
            "group" => self.group = true,
            "section" => self.section = true,
            "_updatedAt" => self.updated_at = true,
            _ => {}
        }
    }

    fn view(&self, setting: Setting) -> SettingView {
        let json = |text: &str| serde_json::from_str(text).unwrap_or(Value::Null);
        let enterprise = setting.enterprise;
        SettingView {
            value: json(&setting.value),
            enterprise: enterprise.then_some(true),
            invalid_value: setting.invalid_value.as_deref().filter(|_| enterprise).map(json),
            modules: setting.modules.as_deref().filter(|_| enterprise).and_then(|text| serde_json::from_str(text).ok()),
            package_value: self.package_value.then(|| json(&setting.package_value)),
            kind: self.kind.then_some(setting.kind),
            public: self.public.then_some(setting.public),
            secret: self.secret.then_some(setting.secret),
            group: self.group.then_some(setting.group_id),
            section: setting.section.filter(|_| self.section),
            updated_at: self.updated_at.then_some(Timestamp(setting.updated_at)),
            id: setting.id,
        }
    }
}

/// The ids a `query` of the forms `{"_id": "<id>"}` or `{"_id": {"$in": [...]}}`
/// names; an empty query names all. Any other query is refused.
fn query_ids(raw: Option<&str>) -> ApiResult<Option<Vec<String>>> {
    let Some(raw) = raw else { return Ok(None) };
    let invalid = || ApiError::coded("error-invalid-query", format!("Invalid query parameter provided: \"{raw}\""));
    let query: Map<String, Value> = serde_json::from_str(raw).map_err(|_| invalid())?;
    let Some(id) = query.get("_id") else {
        return if query.is_empty() { Ok(None) } else { Err(invalid()) };
    };
    if query.len() > 1 {
        return Err(invalid());
    }
    let ids = match id {
        Value::String(id) => vec![id.clone()],
        Value::Object(operator) => match (operator.len(), operator.get("$in").and_then(Value::as_array)) {
            (1, Some(ids)) => {
                ids.iter().map(|id| id.as_str().map(str::to_owned)).collect::<Option<_>>().ok_or_else(invalid)?
            }
            _ => return Err(invalid()),
        },
        _ => return Err(invalid()),
    };
    Ok(Some(ids))
}

/// Both id filters, when both are given: the ids in each.
fn both(first: Option<Vec<String>>, second: Option<Vec<String>>) -> Option<Vec<String>> {
    match (first, second) {
        (Some(first), Some(second)) => Some(first.into_iter().filter(|id| second.contains(id)).collect()),
        (first, second) => first.or(second),
    }
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct PublicSettingsFilter {
    /// Setting ids, separated by commas
    #[serde(rename = "_id")]
    #[param(rename = "_id")]
    #[schema(max_length = 5000)]
    #[param(max_length = 5000)]
    id: Option<String>,
    /// Deprecated by Rocket.Chat: `{"_id": "<id>"}` or `{"_id": {"$in": [...]}}`
    #[schema(max_length = 5000)]
    #[param(max_length = 5000)]
    query: Option<String>,
    /// Deprecated by Rocket.Chat: JSON of field to 1, e.g. `{"type": 1}`
    #[schema(max_length = 5000)]
    #[param(max_length = 5000)]
    fields: Option<String>,
}

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query, rename_all = "camelCase")]
struct SettingsFilter {
    /// Adds each setting's default as `packageValue`
    include_defaults: Option<bool>,
    /// Deprecated by Rocket.Chat: `{"_id": "<id>"}` or `{"_id": {"$in": [...]}}`
    #[schema(max_length = 5000)]
    #[param(max_length = 5000)]
    query: Option<String>,
    /// Deprecated by Rocket.Chat: JSON of field to 1, e.g. `{"type": 1}`
    #[schema(max_length = 5000)]
    #[param(max_length = 5000)]
    fields: Option<String>,
}

rc_page!(SettingsPage { settings: SettingView });

async fn page_of(
    state: &AppState,
    filter: SettingFilter,
    projection: &Projection,
    sort: Option<&str>,
    page: crate::domain::page::Page,
) -> ApiResult<Json<SettingsPage>> {
    let sort = match sort {
        Some(raw) => parse_sort(raw, &SORT_FIELDS)?,
        None => vec![SortKey { field: SettingSortField::Id, direction: Direction::Asc }],
    };
    let (settings, total) = state.store.list_settings(&filter, &sort, page).await?;
    let views = settings.into_iter().map(|setting| projection.view(setting)).collect();
    Ok(Json(SettingsPage::new(views, page, total)))
}

/// The public settings, for anyone. Secret settings are never among them.
///
/// Sort fields: _id (the default), _updatedAt.
#[utoipa::path(get, path = "/api/v1/settings.public", tag = "settings",
    params(PublicSettingsFilter, PageParams),
    responses(
        (status = 200, description = "A page of public settings", body = SettingsPage),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn list_public(
    State(state): State<AppState>,
    query: Paged<PublicSettingsFilter>,
) -> ApiResult<Json<SettingsPage>> {
    let listed = query.filter.id.as_deref().filter(|ids| !ids.is_empty());
    let listed = listed.map(|ids| ids.split(',').map(|id| id.trim().to_owned()).collect());
    let ids = both(listed, query_ids(query.filter.query.as_deref())?);
    let projection = Projection::parse(query.filter.fields.as_deref())?;
    let filter = SettingFilter { public_only: true, ids };
    page_of(&state, filter, &projection, query.sort.as_deref(), query.page).await
}

/// The settings: all of them for a holder of view-privileged-setting (secret values
/// included), the public ones for anyone else logged in.
///
/// Sort fields: _id (the default), _updatedAt.
#[utoipa::path(get, path = "/api/v1/settings", tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(SettingsFilter, PageParams),
    responses(
        (status = 200, description = "A page of settings", body = SettingsPage),
        RcSignedIn,
        (status = 400, response = RcBadRequest),
    ))]
async fn list(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    query: Paged<SettingsFilter>,
) -> ApiResult<Json<SettingsPage>> {
    let mut projection = Projection::parse(query.filter.fields.as_deref())?;
    projection.package_value |= query.filter.include_defaults == Some(true);
    let ids = query_ids(query.filter.query.as_deref())?;
    let filter = SettingFilter { public_only: !caller.holds(VIEW_PRIVILEGED_SETTING), ids };
    page_of(&state, filter, &projection, query.sort.as_deref(), query.page).await
}

/// `{_id, value, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OneSetting {
    #[serde(rename = "_id")]
    id: String,
    value: Value,
    success: Success,
}

/// One setting's value; an unknown id is `{"success": false}`, as in Rocket.Chat.
#[utoipa::path(get, path = "/api/v1/settings/{_id}", tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(("_id" = String, Path, description = "The setting's id", max_length = 256)),
    responses(
        (status = 200, description = "The setting", body = OneSetting),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn get_one(
    State(state): State<AppState>,
    _: Caller<ViewSettings>,
    Path(id): Path<String>,
) -> ApiResult<Json<OneSetting>> {
    let setting = state.store.setting_by_id(&id).await?.ok_or_else(ApiError::bare_failure)?;
    let value = serde_json::from_str(&setting.value).map_err(ApiError::internal)?;
    Ok(Json(OneSetting { id: setting.id, value, success: Success }))
}

/// The new value of a setting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct SettingValueBody {
    /// A boolean, string, integer or array, as the setting's type asks
    value: Value,
}

/// Rocket.Chat answers a body without `value` with a bare failure.
impl Wording for SettingValueBody {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::Missing { .. } => ApiError::bare_failure(),
            other => ajv_refusal(other),
        }
    }
}

/// Changes a setting's value; it applies on the next request, on every instance. An
/// unknown id is `{"success": false}`, as in Rocket.Chat; a value of the wrong type is
/// refused with Meteor's `Match error`.
#[utoipa::path(post, path = "/api/v1/settings/{_id}", tag = "settings",
    security(("userId" = [], "authToken" = [])),
    params(("_id" = String, Path, description = "The setting's id", max_length = 256)),
    request_body = SettingValueBody,
    responses((status = 200, description = "Changed", body = Done), RcPermitted, RcJsonBody))]
async fn update(
    State(state): State<AppState>,
    _: Caller<EditSettings>,
    Path(id): Path<String>,
    WordedBody(body): WordedBody<SettingValueBody>,
) -> ApiResult<Json<Done>> {
    let setting = state.store.setting_by_id(&id).await?.ok_or_else(ApiError::bare_failure)?;
    let kind = SettingKind::parse(&setting.kind)
        .ok_or_else(|| ApiError::internal(format!("setting {id} has the unknown type {}", setting.kind)))?;
    let allowed: Vec<String> =
        setting.allowed_values.as_deref().and_then(|keys| serde_json::from_str(keys).ok()).unwrap_or_default();
    match check_value(kind, &allowed, &body.value) {
        Ok(()) => {}
        Err(ValueError::WrongType(message)) => return Err(ApiError::bad_request(format!("Match error: {message}"))),
        Err(ValueError::NotAllowed) => {
            return Err(ApiError::coded(
                "error-invalid-setting-value",
                format!("Invalid value for {id}: one of {} expected", allowed.join(", ")),
            ));
        }
    }
    let changed = state.store.update_setting_value(&id, &setting.kind, &body.value.to_string(), state.now()).await?;
    if !changed {
        return Err(ApiError::bare_failure());
    }
    // Turning automatic routing on, or raising the chat limit, lets queued inquiries go.
    state.route_queue().await;
    Ok(Done::ANSWER)
}
