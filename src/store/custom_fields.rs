//! Livechat custom field definitions (Rocket.Chat's `livechat_custom_field`): the
//! management routes write them, the widget's custom.field routes and livechat/config
//! read them. `id` is the key clients send.

use sqlx::FromRow;

use super::{SortColumn, Store, StoreResult, contains_pattern, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::time::Millis;

/// The columns of a `CustomField`, unqualified.
macro_rules! custom_field_columns {
    () => {
        "id, label, scope, visibility, field_type, regexp, searchable, required, default_value, options, public, \
         updated_at"
    };
}

/// Fields whose id or label holds `$1` (a lower-cased `LIKE` pattern; NULL: all).
macro_rules! custom_fields_where {
    () => {
        " WHERE ($1 IS NULL OR LOWER(label) LIKE $1 ESCAPE '\\' OR LOWER(id) LIKE $1 ESCAPE '\\')"
    };
}

/// A definition; the optional attributes are `None` when they were never given.
#[derive(Clone, Debug, FromRow)]
pub struct CustomField {
    pub id: String,
    pub label: String,
    /// `visitor` or `room`.
    pub scope: String,
    pub visibility: String,
    pub field_type: Option<String>,
    pub regexp: Option<String>,
    pub searchable: Option<bool>,
    pub required: Option<bool>,
    pub default_value: Option<String>,
    /// Comma-separated choices.
    pub options: Option<String>,
    pub public: Option<bool>,
    pub updated_at: Millis,
}

/// What custom-fields.save sets. On an update, attributes given as `None` keep their
/// stored values, as Rocket.Chat's `$set` of the given keys does.
pub struct CustomFieldDefinition<'a> {
    pub label: &'a str,
    pub scope: &'a str,
    pub visibility: &'a str,
    pub field_type: Option<&'a str>,
    pub regexp: Option<&'a str>,
    pub searchable: Option<bool>,
    pub required: Option<bool>,
    pub default_value: Option<&'a str>,
    pub options: Option<&'a str>,
    pub public: Option<bool>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomFieldSort {
    Id,
    Label,
    Scope,
}

impl SortColumn for CustomFieldSort {
    fn column(self) -> &'static str {
        match self {
            Self::Id => r#"id COLLATE "BINARY""#,
            Self::Label => r#"label COLLATE "BINARY""#,
            Self::Scope => "scope",
        }
    }
}

/// Binds `$1` id, `$2`..`$11` the definition's fields and `$12` now, the parameters the
/// insert and the update of a definition share.
macro_rules! bind_definition {
    ($query:expr, $id:expr, $definition:expr, $now:expr) => {
        $query
            .bind($id)
            .bind($definition.label)
            .bind($definition.scope)
            .bind($definition.visibility)
            .bind($definition.field_type)
            .bind($definition.regexp)
            .bind($definition.searchable)
            .bind($definition.required)
            .bind($definition.default_value)
            .bind($definition.options)
            .bind($definition.public)
            .bind($now)
    };
}

impl Store {
    /// One page of the definitions whose id or label contains `text` (any case).
    pub async fn custom_fields(
        &self,
        text: Option<&str>,
        sort: &[SortKey<CustomFieldSort>],
        page: Page,
    ) -> StoreResult<(Vec<CustomField>, i64)> {
        let pattern = text.map(contains_pattern);
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let select = format!(
            "SELECT {} FROM livechat_custom_fields{}{} LIMIT $2 OFFSET $3",
            custom_field_columns!(),
            custom_fields_where!(),
            order_by(sort, r#"id COLLATE "BINARY""#)
        );
        const COUNT: &str = concat!("SELECT COUNT(*) FROM livechat_custom_fields", custom_fields_where!());
        on_pool!(self, |pool| {
            let fields = sqlx::query_as(sqlx::AssertSqlSafe(select.clone()))
                .bind(&pattern)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(&pattern).fetch_one(pool).await?;
            Ok((fields, total))
        })
    }

    pub async fn custom_field_by_id(&self, id: &str) -> StoreResult<Option<CustomField>> {
        const SQL: &str = concat!("SELECT ", custom_field_columns!(), " FROM livechat_custom_fields WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// The visible, public, visitor-scoped definitions the widget's registration form
    /// shows, by label.
    pub async fn public_visitor_custom_fields(&self) -> StoreResult<Vec<CustomField>> {
        const SQL: &str = concat!(
            "SELECT ",
            custom_field_columns!(),
            " FROM livechat_custom_fields WHERE scope = 'visitor' AND visibility = 'visible' AND public \
             ORDER BY label COLLATE \"BINARY\", id COLLATE \"BINARY\""
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?)
    }

    /// The definitions of one scope (`visitor` or `room`), by id.
    pub async fn custom_fields_of_scope(&self, scope: &str) -> StoreResult<Vec<CustomField>> {
        const SQL: &str = concat!(
            "SELECT ",
            custom_field_columns!(),
            " FROM livechat_custom_fields WHERE scope = $1 ORDER BY id COLLATE \"BINARY\""
        );
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(scope).fetch_all(pool).await)?)
    }

    /// The ids of the visitor-scoped definitions: the custom fields a contact keeps.
    pub async fn visitor_custom_field_ids(&self) -> StoreResult<Vec<String>> {
        const SQL: &str = "SELECT id FROM livechat_custom_fields WHERE scope = 'visitor'";
        let rows: Vec<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL).fetch_all(pool).await)?;
        Ok(rows.into_iter().map(|(id,)| id).collect())
    }

    /// Creates a definition; `Conflict` when the id is taken (the primary key decides,
    /// so of two concurrent creations one wins).
    pub async fn create_custom_field(
        &self,
        id: &str,
        definition: &CustomFieldDefinition<'_>,
        now: Millis,
    ) -> StoreResult<CustomField> {
        const SQL: &str = concat!(
            "INSERT INTO livechat_custom_fields (id, label, scope, visibility, field_type, regexp, searchable, \
               required, default_value, options, public, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12) RETURNING ",
            custom_field_columns!()
        );
        Ok(on_pool!(self, |pool| bind_definition!(sqlx::query_as(SQL), id, definition, now).fetch_one(pool).await)?)
    }

    /// Changes a definition; `None` when there is none with this id.
    pub async fn update_custom_field(
        &self,
        id: &str,
        definition: &CustomFieldDefinition<'_>,
        now: Millis,
    ) -> StoreResult<Option<CustomField>> {
        const SQL: &str = concat!(
            "UPDATE livechat_custom_fields SET label = $2, scope = $3, visibility = $4, \
               field_type = COALESCE($5, field_type), regexp = COALESCE($6, regexp), \
               searchable = COALESCE($7, searchable), required = COALESCE($8, required), \
               default_value = COALESCE($9, default_value), options = COALESCE($10, options), \
               public = COALESCE($11, public), updated_at = $12 \
             WHERE id = $1 RETURNING ",
            custom_field_columns!()
        );
        Ok(on_pool!(self, |pool| bind_definition!(sqlx::query_as(SQL), id, definition, now)
            .fetch_optional(pool)
            .await)?)
    }

    /// Deletes a definition and, in the same statement (the foreign key cascades), every
    /// value visitors gave it. False when there was none.
    pub async fn delete_custom_field(&self, id: &str) -> StoreResult<bool> {
        const SQL: &str = "DELETE FROM livechat_custom_fields WHERE id = $1";
        let deleted =
            on_pool!(self, |pool| sqlx::query(SQL).bind(id).execute(pool).await.map(|done| done.rows_affected()))?;
        Ok(deleted == 1)
    }
}
