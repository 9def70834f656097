//! Visitors: the customers of the livechat, known by the token their widget keeps.

use sqlx::FromRow;

use super::sql::visitor_columns;
use super::{Store, StoreResult, on_pool};
use crate::domain::time::Millis;

#[derive(Clone, Debug, FromRow)]
pub struct Visitor {
    pub id: String,
    pub num_id: i64,
    pub token: String,
    pub name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub department_id: Option<String>,
    pub status: String,
    pub created_at: Millis,
    pub updated_at: Millis,
}

impl Visitor {
    /// Rocket.Chat's guest username, derived from the integer id.
    pub fn username(&self) -> String {
        format!("guest-{}", self.num_id)
    }

    /// The name shown for the visitor: its name, or its username when it gave none.
    pub fn display_name(&self) -> String {
        self.name.clone().filter(|name| !name.is_empty()).unwrap_or_else(|| self.username())
    }
}

/// What a visitor registration sets; absent fields keep their stored values.
pub struct VisitorDetails<'a> {
    pub id: &'a str,
    pub token: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub department_id: Option<&'a str>,
    pub now: Millis,
}

impl Store {
    /// Creates the visitor of `token`, or updates the fields given for an existing one.
    pub async fn upsert_visitor(&self, details: VisitorDetails<'_>) -> StoreResult<Visitor> {
        const SQL: &str = concat!(
            "INSERT INTO visitors (id, token, name, email, phone, department_id, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $7) \
             ON CONFLICT (token) DO UPDATE SET \
               name = COALESCE(excluded.name, visitors.name), \
               email = COALESCE(excluded.email, visitors.email), \
               phone = COALESCE(excluded.phone, visitors.phone), \
               department_id = COALESCE(excluded.department_id, visitors.department_id), \
               updated_at = excluded.updated_at \
             RETURNING ",
            visitor_columns!()
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL)
            .bind(details.id)
            .bind(details.token)
            .bind(details.name)
            .bind(details.email)
            .bind(details.phone)
            .bind(details.department_id)
            .bind(details.now)
            .fetch_one(pool)
            .await)?)
    }

    pub async fn visitor_by_token(&self, token: &str) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE token = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(token).fetch_optional(pool).await)?)
    }
}
