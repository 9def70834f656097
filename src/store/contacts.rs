//! Contacts as Rocket.Chat's newer contacts family (`omnichannel/contacts.*`) shows
//! them, served over the visitors: a contact is a visitor, with at most one email
//! address and one phone number (both unique keys, see migration 0017), its custom
//! fields (`livechat_data`) and its manager. Its channels and last chat are read from
//! its rooms.

use sqlx::FromRow;

use super::sql::{json_strings, visitor_columns};
use super::visitors::{email_key, phone_key};
use super::{Backend, Store, StoreResult, Visitor, VisitorSort, contains_pattern, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::time::Millis;

/// A contact: its visitor, whether it was created or updated as a contact, and its
/// manager's user id and name (the visitor keeps the manager's username).
#[derive(Clone, Debug, FromRow)]
pub struct Contact {
    #[sqlx(flatten)]
    pub visitor: Visitor,
    pub known: bool,
    pub manager_id: Option<String>,
    pub manager_name: Option<String>,
    /// Rocket.Chat's `conflictingFields`: a JSON array of `{field, value}`, NULL when
    /// there is none (see `upsert_visitor` and `resolve_contact_conflicts`).
    pub conflicting_fields: Option<String>,
}

/// A contact's latest room of one source type.
#[derive(Clone, Debug, FromRow)]
pub struct ContactRoom {
    pub visitor_id: String,
    pub source_type: String,
    pub room_id: String,
    pub ts: Millis,
    /// Whether the channel is blocked (see `block_contact_channel`).
    pub blocked: bool,
}

/// A contact to create: a visitor whose token no widget holds.
pub struct NewContact<'a> {
    pub id: &'a str,
    pub token: &'a str,
    pub name: &'a str,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    /// The custom fields, a JSON object.
    pub livechat_data: &'a str,
    /// The manager's username.
    pub contact_manager: Option<&'a str>,
    pub now: Millis,
}

/// What contacts.update changes; `None` keeps the stored value. `email` and `phone`
/// given as `Some(None)` remove the address or number.
pub struct ContactChanges<'a> {
    pub id: &'a str,
    pub name: Option<&'a str>,
    pub email: Option<Option<&'a str>>,
    pub phone: Option<Option<&'a str>>,
    pub livechat_data: Option<&'a str>,
    pub contact_manager: Option<&'a str>,
    /// Drop the contact's conflicting fields.
    pub wipe_conflicts: bool,
    pub now: Millis,
}

/// The columns of a `Contact` read from `visitors`.
macro_rules! contact_select {
    () => {
        concat!(
            "SELECT ",
            visitor_columns!(),
            ", contact_known AS known, \
             (SELECT u.id FROM users u WHERE u.username = visitors.contact_manager) AS manager_id, \
             (SELECT u.name FROM users u WHERE u.username = visitors.contact_manager) AS manager_name, \
             conflicting_fields FROM visitors"
        )
    };
}

/// Contacts known (`$1`) or not, whose name, email address or phone number holds `$2`
/// (a contains-pattern; NULL: every one).
const SEARCH_WHERE: &str = " WHERE contact_known = $1 AND ($2 IS NULL OR LOWER(name) LIKE $2 ESCAPE '\\' \
       OR LOWER(email) LIKE $2 ESCAPE '\\' OR LOWER(phone) LIKE $2 ESCAPE '\\')";

impl Store {
    /// Creates a known contact. An email address or phone number another visitor has
    /// is a conflict on `email_key` or `phone_key`.
    pub async fn create_contact(&self, contact: NewContact<'_>) -> StoreResult<()> {
        const SQL: &str = "INSERT INTO visitors (id, token, name, email, email_key, phone, phone_key, livechat_data, \
               contact_manager, contact_known, contact_pre_registered, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, TRUE, TRUE, $10, $10)";
        let email = contact.email.and_then(email_key);
        let phone = contact.phone.and_then(phone_key);
        on_pool!(self, |pool| sqlx::query(SQL)
            .bind(contact.id)
            .bind(contact.token)
            .bind(contact.name)
            .bind(contact.email.filter(|_| email.is_some()))
            .bind(&email)
            .bind(contact.phone.filter(|_| phone.is_some()))
            .bind(&phone)
            .bind(contact.livechat_data)
            .bind(contact.contact_manager)
            .bind(contact.now)
            .execute(pool)
            .await
            .map(|_| ()))?;
        Ok(())
    }

    /// Changes a contact, which becomes known; false when there is none. An email
    /// address or phone number another visitor has is a conflict, as on creation.
    pub async fn update_contact(&self, changes: ContactChanges<'_>) -> StoreResult<bool> {
        const SQL: &str = "UPDATE visitors SET name = COALESCE($2, name), \
               email = CASE WHEN $3 THEN $4 ELSE email END, email_key = CASE WHEN $3 THEN $5 ELSE email_key END, \
               phone = CASE WHEN $6 THEN $7 ELSE phone END, phone_key = CASE WHEN $6 THEN $8 ELSE phone_key END, \
               livechat_data = COALESCE($9, livechat_data), contact_manager = COALESCE($10, contact_manager), \
               contact_known = TRUE, updated_at = $11, \
               conflicting_fields = CASE WHEN $12 THEN NULL ELSE conflicting_fields END \
             WHERE id = $1";
        let email = changes.email.map(|email| email.and_then(|email| email_key(email).map(|key| (email, key))));
        let phone = changes.phone.map(|phone| phone.and_then(|phone| phone_key(phone).map(|key| (phone, key))));
        let email_given = email.is_some();
        let (email, email_key) = email.flatten().unzip();
        let phone_given = phone.is_some();
        let (phone, phone_key) = phone.flatten().unzip();
        let changed = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(changes.id)
            .bind(changes.name)
            .bind(email_given)
            .bind(email)
            .bind(&email_key)
            .bind(phone_given)
            .bind(phone)
            .bind(&phone_key)
            .bind(changes.livechat_data)
            .bind(changes.contact_manager)
            .bind(changes.now)
            .bind(changes.wipe_conflicts)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(changed == 1)
    }

    pub async fn contact_by_id(&self, id: &str) -> StoreResult<Option<Contact>> {
        const SQL: &str = concat!(contact_select!(), " WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// Whether a contact has this id, or this email address, or this phone number
    /// (each matched by its key); the first given is the one asked.
    pub async fn contact_exists(
        &self,
        id: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> StoreResult<bool> {
        const BY_ID: &str = "SELECT EXISTS (SELECT 1 FROM visitors WHERE id = $1)";
        const BY_EMAIL: &str = "SELECT EXISTS (SELECT 1 FROM visitors WHERE email_key = $1)";
        const BY_PHONE: &str = "SELECT EXISTS (SELECT 1 FROM visitors WHERE phone_key = $1)";
        let (sql, key) = match (id, email, phone) {
            (Some(id), _, _) => (BY_ID, Some(id.to_owned())),
            (None, Some(email), _) => (BY_EMAIL, email_key(email)),
            (None, None, Some(phone)) => (BY_PHONE, phone_key(phone)),
            (None, None, None) => return Ok(false),
        };
        let Some(key) = key else { return Ok(false) };
        let (exists,): (bool,) = on_pool!(self, |pool| sqlx::query_as(sql).bind(&key).fetch_one(pool).await)?;
        Ok(exists)
    }

    /// A page of the known (or, with `unknown`, the unknown) contacts whose name,
    /// email address or phone number holds `text` in any case, with their total.
    pub async fn search_contacts(
        &self,
        text: Option<&str>,
        unknown: bool,
        sort: &[SortKey<VisitorSort>],
        page: Page,
    ) -> StoreResult<(Vec<Contact>, i64)> {
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let list = format!("{}{SEARCH_WHERE}{} LIMIT $3 OFFSET $4", contact_select!(), order_by(sort, "num_id"));
        let count = format!("SELECT COUNT(*) FROM visitors{SEARCH_WHERE}");
        let pattern = text.map(contains_pattern);
        on_pool!(self, |pool| {
            let contacts = sqlx::query_as(sqlx::AssertSqlSafe(list))
                .bind(!unknown)
                .bind(&pattern)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                sqlx::query_as(sqlx::AssertSqlSafe(count)).bind(!unknown).bind(&pattern).fetch_one(pool).await?;
            Ok((contacts, total))
        })
    }

    /// The latest room of each source type of each of these contacts, newest first.
    pub async fn contact_rooms(&self, visitor_ids: &[String]) -> StoreResult<Vec<ContactRoom>> {
        macro_rules! latest_rooms {
            ($backend:ident) => {
                concat!(
                    "SELECT visitor_id, source_type, id AS room_id, ts, EXISTS (SELECT 1 FROM contact_channel_blocks b \
                       WHERE b.visitor_id = r.visitor_id AND b.source_type = r.source_type) AS blocked \
                     FROM rooms r WHERE visitor_id IN (",
                    json_strings!($backend, "$1"),
                    ") AND NOT EXISTS (SELECT 1 FROM rooms later WHERE later.visitor_id = r.visitor_id \
                       AND later.source_type = r.source_type \
                       AND (later.ts > r.ts OR (later.ts = r.ts AND later.num_id > r.num_id))) \
                     ORDER BY ts DESC, num_id DESC"
                )
            };
        }
        const POSTGRES: &str = latest_rooms!(postgres);
        const SQLITE: &str = latest_rooms!(sqlite);
        let sql = match self.backend {
            Backend::Postgres(_) => POSTGRES,
            Backend::Sqlite(_) => SQLITE,
        };
        let ids = serde_json::to_string(visitor_ids).expect("strings serialize");
        Ok(on_pool!(self, |pool| sqlx::query_as(sql).bind(&ids).fetch_all(pool).await)?)
    }
}
