//! Rocket.Chat's settings, one row each, values as JSON text.
//!
//! Nothing is cached: a behaviour reads its setting's row by primary key when it needs
//! it, so a change made through any instance sharing the database applies on the very
//! next request everywhere.

use std::collections::HashMap;

use serde_json::Value;
use sqlx::FromRow;

use super::{SortColumn, Store, StoreResult, on_pool, order_by};
use crate::domain::page::{Page, SortKey};
use crate::domain::settings::{SettingDefault, TypedSetting};
use crate::domain::time::Millis;

/// The columns of a `Setting`, unqualified.
macro_rules! setting_columns {
    () => {
        "id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, \
         group_id, section, updated_at"
    };
}

/// Settings visible to the caller (`$1`: public ones only, never secret ones) among
/// the ids `$2` (comma-separated; NULL: all). Ids hold no comma; `_` in an id is
/// escaped so that it matches only itself.
macro_rules! settings_where {
    () => {
        "WHERE (NOT $1 OR (public AND NOT secret)) \
           AND ($2 IS NULL OR (',' || $2 || ',') LIKE ('%,' || REPLACE(id, '_', '\\_') || ',%') ESCAPE '\\') "
    };
}

#[derive(Clone, Debug, PartialEq, Eq, FromRow)]
pub struct Setting {
    pub id: String,
    pub kind: String,
    /// JSON.
    pub value: String,
    /// JSON: the default.
    pub package_value: String,
    /// JSON array of the keys a select accepts.
    pub allowed_values: Option<String>,
    pub public: bool,
    pub secret: bool,
    pub enterprise: bool,
    /// JSON.
    pub invalid_value: Option<String>,
    /// JSON array.
    pub modules: Option<String>,
    pub group_id: String,
    pub section: Option<String>,
    pub updated_at: Millis,
}

/// Values of several settings read at once, by id; each accessor takes the value to
/// use when the setting is missing or of another type.
#[derive(Clone, Debug, Default)]
pub struct SettingValues(HashMap<String, Value>);

impl SettingValues {
    pub fn value(&self, id: &str) -> Option<&Value> {
        self.0.get(id)
    }

    pub fn bool(&self, id: &str, fallback: bool) -> bool {
        self.value(id).and_then(Value::as_bool).unwrap_or(fallback)
    }

    pub fn int(&self, id: &str, fallback: i64) -> i64 {
        self.value(id).and_then(Value::as_i64).unwrap_or(fallback)
    }

    pub fn string(&self, id: &str, fallback: &str) -> String {
        self.value(id).and_then(Value::as_str).unwrap_or(fallback).to_owned()
    }
}

/// Which settings a list shows.
#[derive(Clone, Debug, Default)]
pub struct SettingFilter {
    /// Public settings only (secret ones are never among them).
    pub public_only: bool,
    /// Only these ids; `None`: all.
    pub ids: Option<Vec<String>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingSortField {
    Id,
    UpdatedAt,
}

impl SortColumn for SettingSortField {
    fn column(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::UpdatedAt => "updated_at",
        }
    }
}

impl Store {
    /// A page of the settings `filter` selects, with their total.
    pub async fn list_settings(
        &self,
        filter: &SettingFilter,
        sort: &[SortKey<SettingSortField>],
        page: Page,
    ) -> StoreResult<(Vec<Setting>, i64)> {
        let ids = filter.ids.as_ref().map(|ids| ids.join(","));
        // Built from static fragments and whitelisted sort columns only.
        let list = format!(
            "SELECT {} FROM settings {}{} LIMIT $3 OFFSET $4",
            setting_columns!(),
            settings_where!(),
            order_by(sort, "id")
        );
        const COUNT: &str = concat!("SELECT COUNT(*) FROM settings ", settings_where!());
        on_pool!(self, |pool| {
            let settings = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()))
                .bind(filter.public_only)
                .bind(&ids)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(filter.public_only).bind(&ids).fetch_one(pool).await?;
            Ok((settings, total))
        })
    }

    pub async fn setting_by_id(&self, id: &str) -> StoreResult<Option<Setting>> {
        const SQL: &str = concat!("SELECT ", setting_columns!(), " FROM settings WHERE id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(id).fetch_optional(pool).await)?)
    }

    /// The current value of `S`; its fallback when the row is missing or its value does
    /// not decode.
    pub async fn setting<S: TypedSetting>(&self) -> StoreResult<S::Value> {
        const SQL: &str = "SELECT value FROM settings WHERE id = $1";
        let row: Option<(String,)> = on_pool!(self, |pool| sqlx::query_as(SQL).bind(S::ID).fetch_optional(pool).await)?;
        Ok(row.and_then(|(json,)| serde_json::from_str(&json).ok()).unwrap_or_else(S::fallback))
    }

    /// The current values of the settings `ids` (ids hold no comma), read in one
    /// statement; an id without a row, or whose value is not JSON, is left out.
    pub async fn setting_values(&self, ids: &[&str]) -> StoreResult<SettingValues> {
        const SQL: &str = concat!("SELECT id, value FROM settings ", settings_where!());
        let ids = ids.join(",");
        let rows: Vec<(String, String)> =
            on_pool!(self, |pool| sqlx::query_as(SQL).bind(false).bind(&ids).fetch_all(pool).await)?;
        let values = rows.into_iter().filter_map(|(id, json)| Some((id, serde_json::from_str(&json).ok()?))).collect();
        Ok(SettingValues(values))
    }

    /// Sets a setting's value (JSON, already checked against `kind`) and marks it
    /// changed, so environment defaults no longer replace it. False when no setting has
    /// this id and kind: the check was made against the kind the row still has.
    pub async fn update_setting_value(&self, id: &str, kind: &str, value: &str, now: Millis) -> StoreResult<bool> {
        const SQL: &str = "UPDATE settings SET value = $3, changed = TRUE, updated_at = $4 WHERE id = $1 AND kind = $2";
        let updated = on_pool!(self, |pool| sqlx::query(SQL)
            .bind(id)
            .bind(kind)
            .bind(value)
            .bind(now)
            .execute(pool)
            .await
            .map(|done| done.rows_affected()))?;
        Ok(updated == 1)
    }

    /// Makes each value the default of its setting, and its value while the setting
    /// was never changed through the API; a changed setting keeps its value.
    pub async fn apply_setting_defaults(&self, defaults: &[SettingDefault], now: Millis) -> StoreResult<()> {
        const SQL: &str = "UPDATE settings SET value = CASE WHEN changed THEN value ELSE $2 END, \
               package_value = $2, updated_at = $3 \
             WHERE id = $1 AND (package_value <> $2 OR (NOT changed AND value <> $2))";
        for default in defaults {
            let value = default.value.to_string();
            on_pool!(self, |pool| sqlx::query(SQL)
                .bind(default.id)
                .bind(&value)
                .bind(now)
                .execute(pool)
                .await
                .map(|_| ()))?;
        }
        Ok(())
    }
}
