//! Visitors: the customers of the livechat, known by the token their widget keeps.

use sqlx::FromRow;

use super::sql::visitor_columns;
use super::{Store, StoreError, StoreResult, on_pool};
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
    /// The registration's HTTP headers, when they were collected.
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    pub host: Option<String>,
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
    /// The registration's HTTP headers, stored only for a new visitor.
    pub headers: Option<HttpHeaderInfo<'a>>,
    pub now: Millis,
}

/// What Rocket.Chat keeps of a new visitor's request when it collects headers.
#[derive(Clone, Copy)]
pub struct HttpHeaderInfo<'a> {
    pub ip: Option<&'a str>,
    pub user_agent: Option<&'a str>,
    pub host: Option<&'a str>,
}

/// A phone number as visitors are matched by it: without spaces, dashes, dots and
/// brackets (the same text migration 0011 derived); `None` when nothing is left.
pub(super) fn phone_key(phone: &str) -> Option<String> {
    let key: String = phone.chars().filter(|character| !matches!(character, ' ' | '-' | '.' | '(' | ')')).collect();
    (!key.is_empty()).then_some(key)
}

impl Store {
    /// Registers a visitor as Rocket.Chat does: the visitor of `token` is updated with
    /// the fields given; failing that, the visitor who has the phone number is (and
    /// keeps its own token); failing that, a visitor is created. The phone key is
    /// unique, so concurrent registrations with one number reach one visitor. A
    /// visitor whose new number another visitor has keeps its own number.
    pub async fn upsert_visitor(&self, details: VisitorDetails<'_>) -> StoreResult<Visitor> {
        const INSERT: &str = concat!(
            "INSERT INTO visitors (id, token, name, email, phone, phone_key, department_id, ip, user_agent, host, \
               created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11) \
             ON CONFLICT (token) DO UPDATE SET \
               name = COALESCE(excluded.name, visitors.name), \
               email = COALESCE(excluded.email, visitors.email), \
               phone = COALESCE(excluded.phone, visitors.phone), \
               phone_key = COALESCE(excluded.phone_key, visitors.phone_key), \
               department_id = COALESCE(excluded.department_id, visitors.department_id), \
               updated_at = excluded.updated_at \
             RETURNING ",
            visitor_columns!()
        );
        // The fields a registration changes on a visitor found by `$key` = `$1`; the
        // number `$6` as given, when there is one.
        macro_rules! update_found_by {
            ($key:literal) => {
                concat!(
                    "UPDATE visitors SET name = COALESCE($2, name), email = COALESCE($3, email), \
                       department_id = COALESCE($4, department_id), updated_at = $5, phone = COALESCE($6, phone) \
                     WHERE ",
                    $key,
                    " = $1 RETURNING ",
                    visitor_columns!()
                )
            };
        }
        const BY_TOKEN: &str = update_found_by!("token");
        const BY_PHONE: &str = update_found_by!("phone_key");
        let key = details.phone.and_then(phone_key);
        let headers = details.headers;
        let inserted = on_pool!(self, |pool| sqlx::query_as(INSERT)
            .bind(details.id)
            .bind(details.token)
            .bind(details.name)
            .bind(details.email)
            .bind(details.phone)
            .bind(&key)
            .bind(details.department_id)
            .bind(headers.and_then(|headers| headers.ip))
            .bind(headers.and_then(|headers| headers.user_agent))
            .bind(headers.and_then(|headers| headers.host))
            .bind(details.now)
            .fetch_one(pool)
            .await);
        match inserted.map_err(StoreError::from) {
            Err(error) if error.is_conflict_on("phone_key") => {
                // Another visitor has the number: the token's own visitor keeps its
                // number; a new token reaches the visitor of the number, which takes
                // the number as now written (the key stays the same).
                let by_phone = key.as_deref().unwrap_or_default();
                for (sql, found_by, phone) in [(BY_TOKEN, details.token, None), (BY_PHONE, by_phone, details.phone)] {
                    let updated: Option<Visitor> = on_pool!(self, |pool| sqlx::query_as(sql)
                        .bind(found_by)
                        .bind(details.name)
                        .bind(details.email)
                        .bind(details.department_id)
                        .bind(details.now)
                        .bind(phone)
                        .fetch_optional(pool)
                        .await)?;
                    if let Some(visitor) = updated {
                        return Ok(visitor);
                    }
                }
                Err(StoreError::Contention)
            }
            other => other,
        }
    }

    pub async fn visitor_by_token(&self, token: &str) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE token = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(token).fetch_optional(pool).await)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn phone_keys_leave_out_spaces_dashes_dots_and_brackets() {
        assert_eq!(phone_key("+55 (51) 5555-12.34"), Some("+555155551234".to_owned()));
        assert_eq!(phone_key(" - "), None);
    }
}
