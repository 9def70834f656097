//! Small types that answers of both faces are built from, each with its own schema, so
//! a response struct that derives `Serialize` and `ToSchema` documents itself.

use serde::{Serialize, Serializer};
use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, SchemaFormat, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::time::{Millis, iso};

/// An instant, sent as Rocket.Chat sends it: ISO 8601 UTC with milliseconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub Millis);

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&iso(self.0))
    }
}

impl PartialSchema for Timestamp {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new()
            .schema_type(Type::String)
            .format(Some(SchemaFormat::KnownFormat(KnownFormat::DateTime)))
            .into()
    }
}

impl ToSchema for Timestamp {}

/// Rocket.Chat's `"success": true`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Success;

impl Serialize for Success {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(true)
    }
}

impl PartialSchema for Success {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([true])).into()
    }
}

impl ToSchema for Success {}

/// Rocket.Chat's `"success": false`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Failure;

impl Serialize for Failure {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bool(false)
    }
}

impl PartialSchema for Failure {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::Boolean).enum_values(Some([false])).into()
    }
}

impl ToSchema for Failure {}

/// Rocket.Chat's answer that carries nothing but `success`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Done {
    pub success: Success,
}

impl Done {
    pub const ANSWER: axum::Json<Done> = axum::Json(Done { success: Success });
}

/// Declares Rocket.Chat's page of `$item`s, `{<items>: [...], count, offset, total,
/// success}`, with `new(items, page, total)`; the list is named `<items>` in camelCase
/// (`custom_fields` is `customFields`).
macro_rules! rc_page {
    ($(#[$doc:meta])* $name:ident { $items:ident: $item:ty }) => {
        $(#[$doc])*
        #[derive(serde::Serialize, utoipa::ToSchema)]
        #[serde(deny_unknown_fields, rename_all = "camelCase")]
        struct $name {
            $items: Vec<$item>,
            #[schema(minimum = 0)]
            count: usize,
            #[schema(minimum = 0)]
            offset: i64,
            #[schema(minimum = 0)]
            total: i64,
            success: $crate::http::shapes::Success,
        }

        impl $name {
            fn new($items: Vec<$item>, page: $crate::domain::page::Page, total: i64) -> Self {
                Self { count: $items.len(), $items, offset: page.offset, total, success: $crate::http::shapes::Success }
            }
        }
    };
}
pub(crate) use rc_page;
