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

use axum::Router;
use serde_json::{Value, json};

use super::AppState;
use crate::domain::time::iso;
use crate::store::User;

pub fn router() -> Router<AppState> {
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
    .fold(Router::new(), Router::merge)
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

fn emails_json(user: &User) -> Value {
    match &user.email {
        Some(address) => json!([{"address": address, "verified": false}]),
        None => json!([]),
    }
}
