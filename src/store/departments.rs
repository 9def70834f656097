//! Livechat departments.

use sqlx::FromRow;

use super::{Store, StoreResult, on_pool};

/// A department's numeric id and name: all a chat shows of its department.
#[derive(Clone, Debug, FromRow)]
pub struct DepartmentSummary {
    pub num_id: i64,
    pub name: String,
}

impl Store {
    /// Every department, in creation order.
    pub async fn department_summaries(&self) -> StoreResult<Vec<DepartmentSummary>> {
        const SQL: &str = "SELECT num_id, name FROM departments ORDER BY num_id";
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }
}
