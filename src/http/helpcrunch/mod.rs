//! The HelpCrunch REST API (/v1): bearer API keys, a per-key rate limit and
//! HelpCrunch's error envelope, over the same store as the Rocket.Chat face.

mod auth;
mod chats;
mod customers;
mod departments;
pub mod error;
pub mod extract;
mod fields;
mod messages;
mod wire;

use utoipa_axum::router::OpenApiRouter;

use super::AppState;
pub use auth::{require_api_key, serves};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .merge(chats::router())
        .merge(departments::router())
        .merge(customers::router())
        .merge(messages::router())
}
