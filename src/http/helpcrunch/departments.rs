//! GET /v1/departments.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::error::HelpCrunchResult;
use super::wire::PageMeta;
use crate::http::AppState;
use crate::http::openapi::HcKeyed;
use crate::store::DepartmentSummary;

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list))
}

/// Every department.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HelpCrunchDepartments {
    data: Vec<HelpCrunchDepartment>,
    meta: PageMeta,
}

/// A department: its integer id and its name.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct HelpCrunchDepartment {
    id: i64,
    name: String,
}

impl From<DepartmentSummary> for HelpCrunchDepartment {
    fn from(department: DepartmentSummary) -> Self {
        Self { id: department.num_id, name: department.name }
    }
}

/// Every department.
#[utoipa::path(get, path = "/v1/departments", tag = "helpcrunch",
    security(("bearerApiKey" = [])),
    responses(
        (status = 200, description = "The departments", body = HelpCrunchDepartments, headers(
            ("X-RateLimit-Limit" = u32, description = "Requests allowed per minute"),
            ("X-RateLimit-Remaining" = u32, description = "Requests left this minute"),
            ("X-RateLimit-Reset" = u64, description = "When the minute ends, in UNIX seconds"),
        )),
        HcKeyed,
    ))]
async fn list(State(state): State<AppState>) -> HelpCrunchResult<Json<HelpCrunchDepartments>> {
    let departments = state.store.department_summaries().await?;
    let total = departments.len() as i64;
    let data = departments.into_iter().map(HelpCrunchDepartment::from).collect();
    Ok(Json(HelpCrunchDepartments { data, meta: PageMeta { total } }))
}
