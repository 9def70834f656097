//! The Rocket.Chat REST API (/api/v1).

mod agents;
mod api_keys;
mod auth;
mod departments;
mod inquiries;
mod permissions;
mod rooms;
mod sla;
mod users;
mod visitor;
mod wire;

use serde::Serialize;
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::openapi::{closed_object, timestamp};
use crate::domain::time::iso;
use crate::store::User;

pub fn router() -> OpenApiRouter<AppState> {
    [
        auth::router(),
        api_keys::router(),
        users::router(),
        permissions::router(),
        agents::router(),
        departments::router(),
        visitor::router(),
        inquiries::router(),
        rooms::router(),
        sla::router(),
    ]
    .into_iter()
    .fold(OpenApiRouter::new(), OpenApiRouter::merge)
}

/// A user as Rocket.Chat shows its own profile (`/me`, login's `me`).
pub fn profile_json(user: &User, roles: &[String]) -> Value {
    json!({
        "_id": user.id,
        "name": user.name,
        "emails": emails_json(user),
        "status": user.status,
        "statusConnection": user.status,
        "username": user.username,
        "utcOffset": 0,
        "active": user.active,
        "roles": roles,
        "settings": {"preferences": {}},
        "statusLivechat": user.livechat_status,
    })
}

/// A user as Rocket.Chat returns it from users.create and the livechat user routes.
pub fn user_json(user: &User, roles: &[String]) -> Value {
    json!({
        "_id": user.id,
        "createdAt": iso(user.created_at),
        "username": user.username,
        "emails": emails_json(user),
        "type": "user",
        "status": user.status,
        "active": user.active,
        "roles": roles,
        "name": user.name,
        "statusLivechat": user.livechat_status,
        "_updatedAt": iso(user.updated_at),
        "settings": {},
    })
}

/// The schema of [`profile_json`], plus any fields listed in `extra`.
pub fn profile_schema(extra: Value) -> Value {
    let mut properties = json!({
        "_id": {"type": "string"},
        "name": {"type": "string"},
        "emails": emails_schema(),
        "status": {"type": "string"},
        "statusConnection": {"type": "string"},
        "username": {"type": "string"},
        "utcOffset": {"type": "integer"},
        "active": {"type": "boolean"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "settings": closed_object(json!({"preferences": {"type": "object"}})),
        "statusLivechat": {"type": "string"},
    });
    properties.as_object_mut().expect("an object").extend(extra.as_object().cloned().unwrap_or_default());
    closed_object(properties)
}

/// The schema of [`user_json`].
pub fn user_schema() -> Value {
    closed_object(json!({
        "_id": {"type": "string"},
        "createdAt": timestamp(),
        "username": {"type": "string"},
        "emails": emails_schema(),
        "type": {"type": "string", "enum": ["user"]},
        "status": {"type": "string"},
        "active": {"type": "boolean"},
        "roles": {"type": "array", "items": {"type": "string"}},
        "name": {"type": "string"},
        "statusLivechat": {"type": "string"},
        "_updatedAt": timestamp(),
        "settings": {"type": "object"},
    }))
}

/// The schema of [`emails_json`].
pub fn emails_schema() -> Value {
    json!({"type": "array", "items": closed_object(json!({
        "address": {"type": "string"},
        "verified": {"type": "boolean"},
    }))})
}

fn emails_json(user: &User) -> Value {
    match &user.email {
        Some(address) => json!([{"address": address, "verified": false}]),
        None => json!([]),
    }
}

/// An address of a user's `emails`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserEmail {
    address: String,
    verified: bool,
}

impl UserEmail {
    /// The user's one address, if it has one; addresses are not verified.
    pub fn of(user: &User) -> Vec<Self> {
        user.email.iter().map(|address| Self { address: address.clone(), verified: false }).collect()
    }
}
