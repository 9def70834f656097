//! The Rocket.Chat REST API (/api/v1).

mod agents;
mod api_keys;
mod auth;
mod contact_moderation;
mod contacts;
mod contacts_family;
mod custom_fields;
pub(crate) mod departments;
mod files;
pub(crate) mod inquiries;
pub(crate) mod messages;
mod permissions;
mod priorities;
mod roles;
mod room_data;
mod room_work;
mod rooms;
mod routing;
mod settings;
mod sla;
mod sla_breaches;
pub(crate) mod transcripts;
mod transfers;
mod users;
pub(crate) mod visitor;
mod visitor_messages;
mod visitors;
pub(crate) mod widget;
mod widget_config;
pub(crate) mod wire;

use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;

use super::AppState;
use super::shapes::{Success, Timestamp};
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
        visitor_messages::router(),
        visitors::router(),
        messages::router(),
        inquiries::router(),
        rooms::router(),
        room_work::router(),
        sla::router(),
        priorities::router(),
        sla_breaches::router(),
        settings::router(),
        widget::router(),
        widget_config::router(),
        custom_fields::router(),
        roles::router(),
        routing::router(),
        transfers::router(),
        contacts::router(),
        contacts_family::router(),
        contact_moderation::router(),
        room_data::router(),
        transcripts::router(),
        files::router(),
    ]
    .into_iter()
    .fold(OpenApiRouter::new(), OpenApiRouter::merge)
}

/// A user as Rocket.Chat shows its own profile: login's `me`, and `/me` with
/// `success`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct Profile {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    emails: Vec<UserEmail>,
    status: String,
    status_connection: String,
    username: String,
    utc_offset: i64,
    active: bool,
    roles: Vec<String>,
    settings: ProfileSettings,
    status_livechat: String,
    /// Only on `/me`.
    #[serde(skip_serializing_if = "Option::is_none")]
    success: Option<Success>,
}

impl Profile {
    /// The profile of `user`, who holds `roles`.
    pub fn new(user: &User, roles: Vec<String>) -> Self {
        Self {
            id: user.id.clone(),
            name: user.name.clone(),
            emails: UserEmail::of(user),
            status: user.status.clone(),
            status_connection: user.status.clone(),
            username: user.username.clone(),
            utc_offset: 0,
            active: user.active,
            roles,
            settings: ProfileSettings { preferences: Unkept {} },
            status_livechat: user.livechat_status.clone(),
            success: None,
        }
    }

    /// The profile as `/me` answers it, with `"success": true`.
    pub fn with_success(self) -> Self {
        Self { success: Some(Success), ..self }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileSettings {
    preferences: Unkept,
}

/// Settings this server does not keep: always `{}`.
#[derive(Serialize, ToSchema)]
pub struct Unkept {}

/// A user as Rocket.Chat returns it from users.create.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserView {
    #[serde(rename = "_id")]
    id: String,
    created_at: Timestamp,
    username: String,
    emails: Vec<UserEmail>,
    #[serde(rename = "type")]
    kind: UserKind,
    status: String,
    active: bool,
    roles: Vec<String>,
    name: String,
    status_livechat: String,
    #[serde(rename = "_updatedAt")]
    updated_at: Timestamp,
    settings: Unkept,
}

#[derive(Serialize, ToSchema)]
enum UserKind {
    #[serde(rename = "user")]
    User,
}

impl UserView {
    /// `user`, who holds `roles`.
    pub fn new(user: &User, roles: Vec<String>) -> Self {
        Self {
            id: user.id.clone(),
            created_at: Timestamp(user.created_at),
            username: user.username.clone(),
            emails: UserEmail::of(user),
            kind: UserKind::User,
            status: user.status.clone(),
            active: user.active,
            roles,
            name: user.name.clone(),
            status_livechat: user.livechat_status.clone(),
            updated_at: Timestamp(user.updated_at),
            settings: Unkept {},
        }
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
