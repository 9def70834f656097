//! Managing livechat custom fields, as Rocket.Chat's omnichannel admin does: reading
//! them takes `view-l-room`, saving and deleting `view-livechat-manager` (Rocket.Chat's
//! choices). Visitors give values to them with custom.field (widget.rs).

use axum::Json;
use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::domain::page::parse_sort;
use crate::domain::permissions::{VIEW_L_ROOM, VIEW_LIVECHAT_MANAGER};
use crate::http::AppState;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, PageParams, Paged, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted};
use crate::http::shapes::{Done, Success, Timestamp, rc_page};
use crate::store::{CustomField, CustomFieldDefinition, CustomFieldSort, StoreError};

permission_set!(ReadCustomFields = [VIEW_L_ROOM]);
permission_set!(ManageCustomFields = [VIEW_LIVECHAT_MANAGER]);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list)).routes(routes!(by_id)).routes(routes!(save)).routes(routes!(delete))
}

/// A definition as Rocket.Chat returns it; attributes never given are left out.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomFieldView {
    #[serde(rename = "_id")]
    id: String,
    label: String,
    scope: FieldScope,
    visibility: String,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    regexp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    searchable: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    required: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    default_value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    options: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    public: Option<bool>,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
}

impl From<CustomField> for CustomFieldView {
    fn from(field: CustomField) -> Self {
        Self {
            id: field.id,
            label: field.label,
            scope: if field.scope == "room" { FieldScope::Room } else { FieldScope::Visitor },
            visibility: field.visibility,
            field_type: field.field_type,
            regexp: field.regexp,
            searchable: field.searchable,
            required: field.required,
            default_value: field.default_value,
            options: field.options,
            public: field.public,
            updated_at: Timestamp(field.updated_at),
        }
    }
}

/// Whose data the field holds.
#[derive(Deserialize, Serialize, ToSchema, Clone, Copy)]
#[serde(rename_all = "lowercase")]
enum FieldScope {
    Visitor,
    Room,
}

impl FieldScope {
    fn as_str(self) -> &'static str {
        match self {
            Self::Visitor => "visitor",
            Self::Room => "room",
        }
    }
}

rc_page!(
    /// A page of custom fields.
    CustomFieldPage { custom_fields: CustomFieldView }
);

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct CustomFieldListFilter {
    /// Part of the id or the label, in any case.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    text: Option<String>,
}

const SORT_FIELDS: [(&str, CustomFieldSort); 3] =
    [("_id", CustomFieldSort::Id), ("label", CustomFieldSort::Label), ("scope", CustomFieldSort::Scope)];

/// The custom fields whose id or label contains `text`. Sort fields: `_id`, `label`,
/// `scope` (default `{"label":1}`, in byte order as Rocket.Chat's).
#[utoipa::path(get, path = "/api/v1/livechat/custom-fields", tag = "custom fields",
    security(("userId" = [], "authToken" = [])),
    params(CustomFieldListFilter, PageParams),
    responses(
        (status = 200, description = "A page of custom fields", body = CustomFieldPage),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn list(
    State(state): State<AppState>,
    _: Caller<ReadCustomFields>,
    query: Paged<CustomFieldListFilter>,
) -> ApiResult<Json<CustomFieldPage>> {
    let sort = parse_sort(query.sort.as_deref().unwrap_or(r#"{"label":1}"#), &SORT_FIELDS)?;
    let text = query.filter.text.as_deref().filter(|text| !text.is_empty());
    let (fields, total) = state.store.custom_fields(text, &sort, query.page).await?;
    Ok(Json(CustomFieldPage::new(fields.into_iter().map(CustomFieldView::from).collect(), query.page, total)))
}

/// `customField` is null for an unknown id, as Rocket.Chat answers.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct OneCustomField {
    custom_field: Option<CustomFieldView>,
    success: Success,
}

/// One custom field.
#[utoipa::path(get, path = "/api/v1/livechat/custom-fields/{_id}", tag = "custom fields",
    security(("userId" = [], "authToken" = [])),
    params(("_id" = String, Path, description = "The custom field's id", max_length = 256)),
    responses(
        (status = 200, description = "The custom field, or null", body = OneCustomField),
        RcPermitted,
        (status = 400, response = RcBadRequest),
    ))]
async fn by_id(
    State(state): State<AppState>,
    _: Caller<ReadCustomFields>,
    Path(id): Path<String>,
) -> ApiResult<Json<OneCustomField>> {
    let custom_field = state.store.custom_field_by_id(&id).await?.map(CustomFieldView::from);
    Ok(Json(OneCustomField { custom_field, success: Success }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SaveBody {
    /// The field to change; absent, null or empty: create `customFieldData.field`.
    #[schema(max_length = 256)]
    custom_field_id: Option<String>,
    custom_field_data: CustomFieldData,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct CustomFieldData {
    /// The new field's id (letters, digits, `-` and `_`); not changed by an update.
    #[schema(max_length = 256)]
    field: String,
    #[schema(max_length = 256)]
    label: String,
    scope: FieldScope,
    /// `visible` or `hidden` in Rocket.Chat's admin; stored as given.
    #[schema(max_length = 256)]
    visibility: String,
    /// `input` or `select` in Rocket.Chat's admin.
    #[serde(rename = "type")]
    #[schema(max_length = 256)]
    field_type: Option<String>,
    #[schema(max_length = 1024)]
    regexp: Option<String>,
    searchable: Option<bool>,
    required: Option<bool>,
    #[schema(max_length = 1024)]
    default_value: Option<String>,
    /// Comma-separated choices of a `select`.
    #[schema(max_length = 1024)]
    options: Option<String>,
    /// Whether the widget's registration form shows it.
    public: Option<bool>,
}

impl CustomFieldData {
    fn definition(&self) -> CustomFieldDefinition<'_> {
        CustomFieldDefinition {
            label: &self.label,
            scope: self.scope.as_str(),
            visibility: &self.visibility,
            field_type: self.field_type.as_deref(),
            regexp: self.regexp.as_deref(),
            searchable: self.searchable,
            required: self.required,
            default_value: self.default_value.as_deref(),
            options: self.options.as_deref(),
            public: self.public,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct SavedCustomField {
    custom_field: CustomFieldView,
    success: Success,
}

/// Whether `name` may be a custom field's id: letters, digits, `-` and `_`.
fn is_field_name(name: &str) -> bool {
    !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

/// Creates a custom field (`customFieldId` absent or null) or changes one.
#[utoipa::path(post, path = "/api/v1/livechat/custom-fields.save", tag = "custom fields",
    security(("userId" = [], "authToken" = [])),
    request_body = SaveBody,
    responses(
        (status = 200, description = "The custom field as stored", body = SavedCustomField),
        RcPermitted,
        RcJsonBody,
    ))]
async fn save(
    State(state): State<AppState>,
    _: Caller<ManageCustomFields>,
    Body(body): Body<SaveBody>,
) -> ApiResult<Json<SavedCustomField>> {
    let definition = body.custom_field_data.definition();
    let saved = match body.custom_field_id.as_deref().filter(|id| !id.is_empty()) {
        Some(id) => state
            .store
            .update_custom_field(id, &definition, state.now())
            .await?
            .ok_or_else(|| ApiError::bad_request("Custom Field Not found"))?,
        None => {
            let field = &body.custom_field_data.field;
            if !is_field_name(field) {
                return Err(ApiError::coded(
                    "error-invalid-custom-field-name",
                    "Invalid custom field name. Use only letters, numbers, hyphens and underscores.",
                ));
            }
            // The primary key decides between concurrent creations of one id.
            match state.store.create_custom_field(field, &definition, state.now()).await {
                Ok(created) => created,
                Err(StoreError::Conflict(_)) => return Err(ApiError::bad_request("Custom Field already exists")),
                Err(error) => return Err(error.into()),
            }
        }
    };
    Ok(Json(SavedCustomField { custom_field: saved.into(), success: Success }))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DeleteBody {
    #[schema(max_length = 256)]
    custom_field_id: String,
}

/// Deletes a custom field and every value visitors gave it, in one statement.
#[utoipa::path(post, path = "/api/v1/livechat/custom-fields.delete", tag = "custom fields",
    security(("userId" = [], "authToken" = [])),
    request_body = DeleteBody,
    responses(
        (status = 200, description = "Deleted", body = Done),
        RcPermitted,
        RcJsonBody,
    ))]
async fn delete(
    State(state): State<AppState>,
    _: Caller<ManageCustomFields>,
    Body(body): Body<DeleteBody>,
) -> ApiResult<Json<Done>> {
    if !state.store.delete_custom_field(&body.custom_field_id).await? {
        return Err(ApiError::bad_request("Custom field not found"));
    }
    Ok(Done::ANSWER)
}
