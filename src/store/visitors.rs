//! Visitors: the customers of the livechat, known by the token their widget keeps.

use sqlx::FromRow;

use super::sql::{json_strings, visitor_columns};
use super::{
    Backend, SortColumn, Store, StoreError, StoreResult, begin_write, contains_pattern, on_pool, order_by,
    prefix_pattern,
};
use crate::domain::page::{Page, SortKey};
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
    /// The contact's custom fields: a JSON object, Rocket.Chat's `livechatData`.
    pub livechat_data: Option<String>,
    /// The username of the agent who manages the contact.
    pub contact_manager: Option<String>,
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
    /// The contact's custom fields, a JSON object replacing the stored one.
    pub livechat_data: Option<&'a str>,
    /// The username of the contact's manager.
    pub contact_manager: Option<&'a str>,
    /// A visitor registering itself: a known contact keeps its name, and another name
    /// given becomes its conflicting name. False: the name given is written (an agent
    /// registering the contact).
    pub name_conflicts: bool,
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

/// An email address as contacts are matched by it: trimmed and lowercased; `None`
/// when nothing is left.
pub(super) fn email_key(email: &str) -> Option<String> {
    let key = email.trim().to_lowercase();
    (!key.is_empty()).then_some(key)
}

impl Store {
    /// Registers a visitor (a contact) as Rocket.Chat does: the visitor of `token` is
    /// updated with the fields given; failing that, the visitor who has the phone
    /// number or the email address is (and keeps its own token); failing that, a
    /// visitor is created. Phone and email keys are unique, so concurrent
    /// registrations with one number or address reach one visitor. A visitor whose new
    /// number or address another visitor has keeps its own number and address. With
    /// `name_conflicts`, a known contact (see `contacts`) keeps its name: another name
    /// given becomes its one conflicting field, for omnichannel/contacts.conflicts.
    pub async fn upsert_visitor(&self, details: VisitorDetails<'_>) -> StoreResult<Visitor> {
        const INSERT: &str = concat!(
            "INSERT INTO visitors (id, token, name, email, phone, phone_key, department_id, ip, user_agent, host, \
               created_at, updated_at, email_key, livechat_data, contact_manager) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $12, $13, $14) \
             ON CONFLICT (token) DO UPDATE SET \
               name = CASE WHEN visitors.contact_known AND $15 IS NOT NULL AND excluded.name <> visitors.name THEN visitors.name \
                 ELSE COALESCE(excluded.name, visitors.name) END, \
               conflicting_fields = CASE WHEN visitors.contact_known AND $15 IS NOT NULL AND excluded.name <> visitors.name THEN $15 \
                 ELSE visitors.conflicting_fields END, \
               email = COALESCE(excluded.email, visitors.email), \
               email_key = COALESCE(excluded.email_key, visitors.email_key), \
               phone = COALESCE(excluded.phone, visitors.phone), \
               phone_key = COALESCE(excluded.phone_key, visitors.phone_key), \
               department_id = COALESCE(excluded.department_id, visitors.department_id), \
               livechat_data = COALESCE(excluded.livechat_data, visitors.livechat_data), \
               contact_manager = COALESCE(excluded.contact_manager, visitors.contact_manager), \
               updated_at = excluded.updated_at \
             RETURNING ",
            visitor_columns!()
        );
        // The fields a registration changes on a visitor found by `$key` = `$1`, with
        // `$field` (the one it was found by) as given in `$7`, when there is one. A
        // contact created through omnichannel/contacts holds a token no widget knows
        // until the first visitor with its number or address takes it over (`$8`). A
        // known contact keeps its name: another one given is its conflicting name (`$9`).
        macro_rules! update_found_by {
            ($key:literal, $field:literal) => {
                concat!(
                    "UPDATE visitors SET \
                       name = CASE WHEN contact_known AND $9 IS NOT NULL AND $2 <> name THEN name ELSE COALESCE($2, name) END, \
                       conflicting_fields = CASE WHEN contact_known AND $9 IS NOT NULL AND $2 <> name THEN $9 \
                         ELSE conflicting_fields END, \
                       department_id = COALESCE($3, department_id), \
                       updated_at = $4, livechat_data = COALESCE($5, livechat_data), \
                       contact_manager = COALESCE($6, contact_manager), \
                       token = CASE WHEN contact_pre_registered THEN $8 ELSE token END, \
                       contact_pre_registered = FALSE, ",
                    $field,
                    " = COALESCE($7, ",
                    $field,
                    ") WHERE ",
                    $key,
                    " = $1 RETURNING ",
                    visitor_columns!()
                )
            };
        }
        const BY_TOKEN: &str = update_found_by!("token", "phone");
        const BY_PHONE: &str = update_found_by!("phone_key", "phone");
        const BY_EMAIL: &str = update_found_by!("email_key", "email");
        let phone = details.phone.and_then(phone_key);
        let email = details.email.and_then(email_key);
        let headers = details.headers;
        // What a known contact keeps of a name it is not given.
        let conflict = details
            .name
            .filter(|_| details.name_conflicts)
            .map(|name| serde_json::json!([{"field": "name", "value": name}]).to_string());
        let inserted = on_pool!(self, |pool| sqlx::query_as(INSERT)
            .bind(details.id)
            .bind(details.token)
            .bind(details.name)
            .bind(details.email)
            .bind(details.phone)
            .bind(&phone)
            .bind(details.department_id)
            .bind(headers.and_then(|headers| headers.ip))
            .bind(headers.and_then(|headers| headers.user_agent))
            .bind(headers.and_then(|headers| headers.host))
            .bind(details.now)
            .bind(&email)
            .bind(details.livechat_data)
            .bind(details.contact_manager)
            .bind(&conflict)
            .fetch_one(pool)
            .await);
        // A change writes `visitor.changed` events by trigger: wake the readers.
        self.write_ended();
        let (by_key, key, value) = match inserted.map_err(StoreError::from) {
            Err(error) if error.is_conflict_on("phone_key") => (BY_PHONE, phone, details.phone),
            Err(error) if error.is_conflict_on("email_key") => (BY_EMAIL, email, details.email),
            other => return other,
        };
        // Another visitor has the number or address: the token's own visitor keeps
        // its own; a new token reaches the visitor of the key, which takes the number
        // or address as now written (the key stays the same).
        let key = key.unwrap_or_default();
        for (sql, found_by, value) in [(BY_TOKEN, details.token, None), (by_key, key.as_str(), value)] {
            let updated: Option<Visitor> = on_pool!(self, |pool| sqlx::query_as(sql)
                .bind(found_by)
                .bind(details.name)
                .bind(details.department_id)
                .bind(details.now)
                .bind(details.livechat_data)
                .bind(details.contact_manager)
                .bind(value)
                .bind(details.token)
                .bind(&conflict)
                .fetch_optional(pool)
                .await)?;
            if let Some(visitor) = updated {
                self.write_ended();
                return Ok(visitor);
            }
        }
        Err(StoreError::Contention)
    }

    /// The visitor of an id.
    pub async fn visitor_by_id(&self, id: &str) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// The first registered visitor with both this email address and this phone
    /// number, each matched by its key; a field not given matches any visitor, and
    /// none is found when neither is given.
    pub async fn visitor_by_email_and_phone(
        &self,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!(
            "SELECT ",
            visitor_columns!(),
            " FROM visitors WHERE ($1 IS NULL OR email_key = $1) AND ($2 IS NULL OR phone_key = $2) \
             ORDER BY num_id LIMIT 1"
        );
        // A field given with nothing left of it matches no visitor.
        let (Some(email), Some(phone)) =
            (email.map(email_key).unwrap_or(Some(String::new())), phone.map(phone_key).unwrap_or(Some(String::new())))
        else {
            return Ok(None);
        };
        let email = (!email.is_empty()).then_some(email);
        let phone = (!phone.is_empty()).then_some(phone);
        if email.is_none() && phone.is_none() {
            return Ok(None);
        }
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(&email).bind(&phone).fetch_optional(pool).await)?)
    }

    pub async fn visitor_by_token(&self, token: &str) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE token = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(token).fetch_optional(pool).await)?)
    }
}

/// What an erasure did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Erasure {
    /// The visitor of this id is gone, with its rooms, their messages, their files
    /// (whose objects the file sweep deletes) and its custom field values.
    Erased {
        visitor_id: String,
    },
    UnknownToken,
    /// The visitor has an open room; nothing was changed.
    OpenRoom,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitorSort {
    Ts,
    UpdatedAt,
    Id,
    Name,
    Username,
}

impl SortColumn for VisitorSort {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "created_at",
            Self::UpdatedAt => "updated_at",
            Self::Id => r#"id COLLATE "BINARY""#,
            Self::Name => r#"name COLLATE "BINARY""#,
            Self::Username => "num_id",
        }
    }
}

/// Visitors that `$1` (a term, NULL: every visitor) finds: by email address (`$2`, the
/// term as a key) or phone number exactly, by a part of the name or username (`$3`, a
/// contains-pattern), or by a part of a value of a searchable visitor custom field.
const SEARCH_WHERE: &str = " WHERE $1 IS NULL OR email_key = $2 OR phone = $1 \
       OR LOWER(name) LIKE $3 ESCAPE '\\' OR 'guest-' || CAST(num_id AS TEXT) LIKE $3 ESCAPE '\\' \
       OR EXISTS (SELECT 1 FROM visitor_custom_fields vcf \
         JOIN livechat_custom_fields f ON f.id = vcf.field_id AND f.scope = 'visitor' AND f.searchable \
         WHERE vcf.visitor_id = visitors.id AND LOWER(vcf.value) LIKE $3 ESCAPE '\\')";

impl Store {
    /// Erases the visitor of `token` unless it has an open room: its rooms (with their
    /// messages, files, members and deletion records) and its custom field values go with it.
    ///
    /// The first statement gives the visitor another token (`detached_token`): changing a
    /// key column takes PostgreSQL's strongest row lock, which a concurrent room insert's
    /// foreign key check waits for (and then fails, the visitor being gone), and which
    /// itself waits for a room insert under way; the open-room check that follows sees
    /// that room. SQLite's writer lock orders them alike. Refusing rolls everything back.
    pub async fn erase_visitor(&self, token: &str, detached_token: &str, now: Millis) -> StoreResult<Erasure> {
        const DETACH: &str = "UPDATE visitors SET token = $2, updated_at = $3 WHERE token = $1 RETURNING id";
        self.erase_detached(DETACH, token, detached_token, now).await
    }

    /// `erase_visitor` of the visitor that `detach` (`$1` the key given, `$2` the
    /// detached token, `$3` the time, returning the id) gives another token.
    pub(super) async fn erase_detached(
        &self,
        detach: &'static str,
        key: &str,
        detached_token: &str,
        now: Millis,
    ) -> StoreResult<Erasure> {
        const HAS_OPEN_ROOM: &str = "SELECT EXISTS (SELECT 1 FROM rooms WHERE visitor_id = $1 AND open)";
        const DELETE_ROOMS: &str = "DELETE FROM rooms WHERE visitor_id = $1";
        const DELETE_VISITOR: &str = "DELETE FROM visitors WHERE id = $1";
        begin_write!(self, |tx| {
            let detached: Option<(String,)> =
                sqlx::query_as(detach).bind(key).bind(detached_token).bind(now).fetch_optional(&mut *tx).await?;
            let Some((visitor_id,)) = detached else {
                return Ok(Erasure::UnknownToken);
            };
            let (has_open_room,): (bool,) = sqlx::query_as(HAS_OPEN_ROOM).bind(&visitor_id).fetch_one(&mut *tx).await?;
            if has_open_room {
                return Ok(Erasure::OpenRoom);
            }
            sqlx::query(DELETE_ROOMS).bind(&visitor_id).execute(&mut *tx).await?;
            sqlx::query(DELETE_VISITOR).bind(&visitor_id).execute(&mut *tx).await?;
            tx.commit().await?;
            Ok(Erasure::Erased { visitor_id })
        })
    }

    /// A page of the visitors `term` finds (all of them without one), with the total.
    pub async fn search_visitors(
        &self,
        term: Option<&str>,
        sort: &[SortKey<VisitorSort>],
        page: Page,
    ) -> StoreResult<(Vec<Visitor>, i64)> {
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let list = format!(
            "SELECT {} FROM visitors{SEARCH_WHERE}{} LIMIT $4 OFFSET $5",
            visitor_columns!(),
            order_by(sort, "num_id DESC")
        );
        let count = format!("SELECT COUNT(*) FROM visitors{SEARCH_WHERE}");
        let key = term.and_then(email_key);
        let pattern = term.map(contains_pattern);
        on_pool!(self, |pool| {
            let visitors = sqlx::query_as(sqlx::AssertSqlSafe(list))
                .bind(term)
                .bind(&key)
                .bind(&pattern)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(count)).bind(term).bind(&key).bind(&pattern).fetch_one(pool).await?;
            Ok((visitors, total))
        })
    }

    /// The first ten visitors, by name, whose name starts with `term` in any case,
    /// leaving out the ids of `exceptions`.
    pub async fn visitors_named_like(&self, term: &str, exceptions: &[String]) -> StoreResult<Vec<Visitor>> {
        macro_rules! named_like {
            ($backend:ident) => {
                concat!(
                    "SELECT ",
                    visitor_columns!(),
                    " FROM visitors WHERE LOWER(name) LIKE $1 ESCAPE '\\' AND id NOT IN (",
                    json_strings!($backend, "$2"),
                    ") ORDER BY name COLLATE \"BINARY\", num_id LIMIT 10"
                )
            };
        }
        const POSTGRES: &str = named_like!(postgres);
        const SQLITE: &str = named_like!(sqlite);
        let sql = match self.backend {
            Backend::Postgres(_) => POSTGRES,
            Backend::Sqlite(_) => SQLITE,
        };
        let exceptions = serde_json::to_string(exceptions).expect("strings serialize");
        Ok(on_pool!(self, |pool| sqlx::query_as(sql)
            .bind(prefix_pattern(term))
            .bind(&exceptions)
            .fetch_all(pool)
            .await)?)
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
