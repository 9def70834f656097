//! What the official livechat widget loads before anything else (`livechat/config`),
//! and the message its offline form leaves when no agent is available
//! (`livechat/offline.message`). Neither needs a login.

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::HeaderMap;
use axum::http::header::HOST;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::auth::client_address;
use super::widget::ServingAgent;
use super::wire::{RoomView, VisitorView};
use crate::domain::ids::meteor_id;
use crate::domain::settings::{
    DisplayOfflineForm, LivechatEnabled, OfflineEmail, ShowAgentEmail, ShowAgentInfo, TypedSetting,
};
use crate::domain::time::Millis;
use crate::http::error::{ApiError, ApiResult, RcErrorBody};
use crate::http::extract::{Body, Query};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcUnavailable};
use crate::http::shapes::Success;
use crate::http::{AppState, ClientAddress};
use crate::store::{CustomField, NewOfflineMessage, SenderSlot, SettingValues, WidgetDepartment};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(config)).routes(routes!(offline_message))
}

/// Every setting livechat/config reads, fetched in one statement.
const CONFIG_SETTINGS: [&str; 38] = [
    "Livechat_enabled",
    "Livechat_registration_form",
    "Livechat_allow_switching_departments",
    "Livechat_name_field_registration_form",
    "Livechat_email_field_registration_form",
    "Livechat_display_offline_form",
    "Omnichannel_call_provider",
    "Livechat_fileupload_enabled",
    "FileUpload_Enabled",
    "Language",
    "Livechat_enable_transcript",
    "Livechat_history_monitor_type",
    "Livechat_force_accept_data_processing_consent",
    "Livechat_Routing_Method",
    "Livechat_show_agent_info",
    "Livechat_show_agent_email",
    "Livechat_clear_local_storage_when_chat_ended",
    "Livechat_enable_message_character_limit",
    "Livechat_message_character_limit",
    "Message_MaxAllowedSize",
    "Livechat_hide_system_messages",
    "Livechat_hide_watermark",
    "Omnichannel_allow_visitors_to_close_conversation",
    "Livechat_title",
    "Livechat_title_color",
    "Livechat_offline_title",
    "Livechat_offline_title_color",
    "Livechat_widget_position",
    "Livechat_background",
    "Livechat_offline_message",
    "Livechat_offline_success_message",
    "Livechat_offline_form_unavailable",
    "Livechat_conversation_finished_message",
    "Livechat_conversation_finished_text",
    "Livechat_transcript_message",
    "Livechat_registration_form_message",
    "Livechat_data_processing_consent_text",
    "Livechat_accept_chats_with_no_agents",
];

#[derive(Deserialize, ToSchema, IntoParams)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ConfigQuery {
    /// The visitor's token: adds `guest`, and its open room and serving agent.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    token: Option<String>,
    /// A department's id: `online` then says whether one of its agents is available.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    department: Option<String>,
    /// Accepted and ignored: there are no business units here.
    #[allow(dead_code)]
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    business_unit: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfigAnswer {
    config: WidgetConfig,
    success: Success,
}

/// `{"enabled": false}` alone while Livechat_enabled is false.
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum WidgetConfig {
    Disabled(DisabledConfig),
    Enabled(Box<EnabledConfig>),
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct DisabledConfig {
    enabled: bool,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct EnabledConfig {
    enabled: bool,
    settings: WidgetSettings,
    theme: Theme,
    messages: WidgetMessages,
    survey: Survey,
    /// Always empty: there are no triggers here.
    triggers: Vec<NeverListed>,
    departments: Vec<DepartmentEntry>,
    resources: Resources,
    /// Whether an agent is available (of `department`, when given), or
    /// Livechat_accept_chats_with_no_agents is true.
    online: bool,
    /// The visible, public, visitor-scoped custom fields the registration form asks for.
    custom_fields: Vec<FormField>,
    /// The visitor of `token`, when it is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    guest: Option<VisitorView>,
    /// The visitor's open room.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    room: Option<RoomView>,
    /// The agent serving that room, as agent.info shows it.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    agent: Option<ServingAgent>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WidgetSettings {
    registration_form: bool,
    allow_switching_departments: bool,
    name_field_registration_form: bool,
    email_field_registration_form: bool,
    display_offline_form: bool,
    /// Omnichannel_call_provider is `default-provider`.
    video_call: bool,
    /// Livechat_fileupload_enabled and FileUpload_Enabled.
    file_upload: bool,
    language: String,
    transcript: bool,
    history_monitor_type: String,
    force_accept_data_processing_consent: bool,
    /// Livechat_Routing_Method is `Manual_Selection`.
    show_connecting: bool,
    /// Livechat_show_agent_info is false.
    agent_hidden_info: bool,
    clear_local_storage_when_chat_ended: bool,
    limit_text_length: TextLimit,
    hidden_system_messages: Vec<String>,
    /// Rocket.Chat's widget logo asset; no assets are uploaded here, so `{}`.
    livechat_logo: NoAsset,
    hide_watermark: bool,
    visitors_can_close_chat: bool,
}

/// `false` when Livechat_enable_message_character_limit is off; else the limit
/// (Livechat_message_character_limit, or Message_MaxAllowedSize when that is 0).
#[derive(Serialize, ToSchema)]
#[serde(untagged)]
enum TextLimit {
    Off(bool),
    Characters(i64),
}

/// An asset setting that holds no upload: `{}`.
#[derive(Serialize, ToSchema)]
struct NoAsset {}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct Theme {
    title: String,
    color: String,
    offline_title: String,
    offline_color: String,
    /// `left` or `right`.
    position: String,
    background: String,
    action_links: ActionLinks,
}

/// The call buttons Rocket.Chat's widget shows, fixed.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ActionLinks {
    webrtc: [WebrtcLink; 2],
    jitsi: [JitsiLink; 2],
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WebrtcLink {
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    action_links_alignment: Option<&'static str>,
    i18n_label: &'static str,
    label: &'static str,
    #[serde(rename = "method_id")]
    method_id: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    danger: Option<bool>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct JitsiLink {
    icon: &'static str,
    i18n_label: &'static str,
}

const ACTION_LINKS: ActionLinks = ActionLinks {
    webrtc: [
        WebrtcLink {
            action_links_alignment: Some("flex-start"),
            i18n_label: "Join_call",
            label: "Join call",
            method_id: "joinLivechatWebRTCCall",
            danger: None,
        },
        WebrtcLink {
            action_links_alignment: None,
            i18n_label: "End_call",
            label: "End call",
            method_id: "endLivechatWebRTCCall",
            danger: Some(true),
        },
    ],
    jitsi: [
        JitsiLink { icon: "icon-videocam", i18n_label: "Accept" },
        JitsiLink { icon: "icon-cancel", i18n_label: "Decline" },
    ],
};

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct WidgetMessages {
    offline_message: String,
    offline_success_message: String,
    offline_unavailable_message: String,
    conversation_finished_message: String,
    conversation_finished_text: String,
    transcript_message: String,
    registration_form_message: String,
    data_processing_consent_text: String,
}

/// The satisfaction survey, fixed as in Rocket.Chat.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct Survey {
    pub(super) items: [&'static str; 4],
    pub(super) values: [&'static str; 5],
}

pub(super) const SURVEY: Survey = Survey {
    // Rocket.Chat's spelling, which its widget expects.
    items: ["satisfaction", "agentKnowledge", "agentResposiveness", "agentFriendliness"],
    values: ["1", "2", "3", "4", "5"],
};

/// An item of a list this server never fills (triggers, custom emojis): `{}`.
#[derive(Serialize, ToSchema)]
struct NeverListed {}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct DepartmentEntry {
    #[serde(rename = "_id")]
    id: String,
    name: String,
    show_on_registration: bool,
    show_on_offline_form: bool,
}

impl From<WidgetDepartment> for DepartmentEntry {
    fn from(department: WidgetDepartment) -> Self {
        Self {
            id: department.id,
            name: department.name,
            show_on_registration: department.show_on_registration,
            show_on_offline_form: department.show_on_offline_form,
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct Resources {
    /// The new-message chime: `/sounds/chime.mp3` on the host the request named (this
    /// server serves no sound file; a proxy in front may).
    sound: String,
    /// Always empty: there are no custom emojis here.
    emojis: Vec<NeverListed>,
}

/// A custom field as the registration form shows it.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct FormField {
    #[serde(rename = "_id")]
    id: String,
    label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    regexp: Option<String>,
    required: bool,
    #[serde(rename = "type", skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    field_type: Option<String>,
    default_value: Option<String>,
    /// The comma-separated choices, split; absent when there are none.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(nullable = false)]
    options: Option<Vec<String>>,
}

impl From<CustomField> for FormField {
    fn from(field: CustomField) -> Self {
        let options = field.options.filter(|options| !options.is_empty());
        Self {
            id: field.id,
            label: field.label,
            regexp: field.regexp,
            required: field.required.unwrap_or(false),
            field_type: field.field_type,
            default_value: field.default_value,
            options: options.map(|options| options.split(',').map(str::to_owned).collect()),
        }
    }
}

impl WidgetSettings {
    fn new(values: &SettingValues) -> Self {
        let character_limit = match values.int("Livechat_message_character_limit", 0) {
            0 => values.int("Message_MaxAllowedSize", 5000),
            limit => limit,
        };
        let hidden_system_messages = values
            .value("Livechat_hide_system_messages")
            .and_then(|value| serde_json::from_value(value.clone()).ok())
            .unwrap_or_default();
        Self {
            registration_form: values.bool("Livechat_registration_form", true),
            allow_switching_departments: values.bool("Livechat_allow_switching_departments", true),
            name_field_registration_form: values.bool("Livechat_name_field_registration_form", true),
            email_field_registration_form: values.bool("Livechat_email_field_registration_form", true),
            display_offline_form: values.bool("Livechat_display_offline_form", true),
            video_call: values.string("Omnichannel_call_provider", "none") == "default-provider",
            file_upload: values.bool("Livechat_fileupload_enabled", true) && values.bool("FileUpload_Enabled", true),
            language: values.string("Language", ""),
            transcript: values.bool("Livechat_enable_transcript", false),
            history_monitor_type: values.string("Livechat_history_monitor_type", "url"),
            force_accept_data_processing_consent: values.bool("Livechat_force_accept_data_processing_consent", false),
            show_connecting: values.string("Livechat_Routing_Method", "Auto_Selection") == "Manual_Selection",
            agent_hidden_info: !values.bool(ShowAgentInfo::ID, true),
            clear_local_storage_when_chat_ended: values.bool("Livechat_clear_local_storage_when_chat_ended", false),
            limit_text_length: if values.bool("Livechat_enable_message_character_limit", false) {
                TextLimit::Characters(character_limit)
            } else {
                TextLimit::Off(false)
            },
            hidden_system_messages,
            livechat_logo: NoAsset {},
            hide_watermark: values.bool("Livechat_hide_watermark", false),
            visitors_can_close_chat: values.bool("Omnichannel_allow_visitors_to_close_conversation", true),
        }
    }
}

impl Theme {
    fn new(values: &SettingValues) -> Self {
        let position = values.string("Livechat_widget_position", "right");
        Self {
            title: values.string("Livechat_title", "Rocket.Chat"),
            color: values.string("Livechat_title_color", "#C1272D"),
            offline_title: values.string("Livechat_offline_title", "Leave a message"),
            offline_color: values.string("Livechat_offline_title_color", "#666666"),
            position: if position.is_empty() { "right".to_owned() } else { position },
            background: values.string("Livechat_background", ""),
            action_links: ACTION_LINKS,
        }
    }
}

impl WidgetMessages {
    fn new(values: &SettingValues) -> Self {
        Self {
            offline_message: values.string("Livechat_offline_message", ""),
            offline_success_message: values.string("Livechat_offline_success_message", ""),
            offline_unavailable_message: values.string("Livechat_offline_form_unavailable", ""),
            conversation_finished_message: values.string("Livechat_conversation_finished_message", ""),
            conversation_finished_text: values.string("Livechat_conversation_finished_text", ""),
            transcript_message: values.string("Livechat_transcript_message", ""),
            registration_form_message: values.string("Livechat_registration_form_message", ""),
            data_processing_consent_text: values.string("Livechat_data_processing_consent_text", ""),
        }
    }
}

/// The chime's address on the host the client named (`Host`), over https when a
/// trusted proxy says so (`X-Forwarded-Proto`).
fn sound_url(state: &AppState, headers: &HeaderMap) -> String {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let host = header(HOST.as_str()).unwrap_or("localhost");
    let forwarded_https = state.settings.trust_forwarded_for && header("x-forwarded-proto") == Some("https");
    let scheme = if forwarded_https { "https" } else { "http" };
    format!("{scheme}://{host}/sounds/chime.mp3")
}

/// Everything the widget needs to start: its settings, theme and texts, the
/// departments and custom fields of its registration form, whether an agent is
/// available, and with a known `token` the visitor, its open room and serving agent.
#[utoipa::path(get, path = "/api/v1/livechat/config", tag = "visitor",
    params(ConfigQuery),
    responses(
        (status = 200, description = "The widget's configuration; `{\"enabled\": false}` alone while Livechat_enabled is false", body = ConfigAnswer),
        (status = 400, response = RcBadRequest),
        (status = 503, response = RcUnavailable),
    ))]
async fn config(
    State(state): State<AppState>,
    headers: HeaderMap,
    Query(query): Query<ConfigQuery>,
) -> ApiResult<Json<ConfigAnswer>> {
    let values = state.store.setting_values(&CONFIG_SETTINGS).await?;
    if !values.bool(LivechatEnabled::ID, true) {
        let config = WidgetConfig::Disabled(DisabledConfig { enabled: false });
        return Ok(Json(ConfigAnswer { config, success: Success }));
    }
    let department = query.department.as_deref().filter(|department| !department.is_empty());
    let online = values.bool("Livechat_accept_chats_with_no_agents", false)
        || state.store.any_agent_available(department).await?;
    let token = query.token.as_deref().filter(|token| !token.is_empty());
    let guest = match token {
        Some(token) => state.store.visitor_by_token(token).await?,
        None => None,
    };
    let room = match &guest {
        Some(guest) => state.store.open_room_of_visitor(&guest.id).await?,
        None => None,
    };
    let agent = match room.as_ref().and_then(|room| room.served_by.as_deref()) {
        Some(agent_id) => state.store.user_by_id(agent_id).await?.map(|agent| {
            let (show_info, show_email) = (values.bool(ShowAgentInfo::ID, true), values.bool(ShowAgentEmail::ID, true));
            ServingAgent::new(agent, show_info, show_email)
        }),
        None => None,
    };
    let departments = state.store.widget_departments().await?.into_iter().map(DepartmentEntry::from).collect();
    let custom_fields = state.store.public_visitor_custom_fields().await?.into_iter().map(FormField::from).collect();
    let config = EnabledConfig {
        enabled: true,
        settings: WidgetSettings::new(&values),
        theme: Theme::new(&values),
        messages: WidgetMessages::new(&values),
        survey: SURVEY,
        triggers: Vec::new(),
        departments,
        resources: Resources { sound: sound_url(&state, &headers), emojis: Vec::new() },
        online,
        custom_fields,
        guest: guest.as_ref().map(VisitorView::from),
        room: room.as_ref().map(RoomView::from),
        agent,
    };
    Ok(Json(ConfigAnswer { config: WidgetConfig::Enabled(Box::new(config)), success: Success }))
}

/// Offline messages kept at most; past it offline.message refuses new ones. Each is at
/// most about 23 KB (5,000 characters of text, addresses and names of 256, a host of
/// 1,024), so the table stays under about 230 MB.
const MAX_STORED_OFFLINE_MESSAGES: i64 = 10_000;

/// One offline message per client address per this interval (Rocket.Chat's rate limit
/// of the route: 1 request per 5 seconds).
const OFFLINE_MESSAGE_INTERVAL_MS: Millis = 5_000;

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OfflineMessageBody {
    #[schema(max_length = 256)]
    name: String,
    #[schema(max_length = 256)]
    email: String,
    #[schema(max_length = 5000)]
    message: String,
    /// A department's id or name; its address, when it has one, receives the message.
    #[schema(max_length = 256)]
    department: Option<String>,
    /// The page the form was sent from.
    #[schema(max_length = 1024)]
    host: Option<String>,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct OfflineMessageSent {
    /// `Livechat offline message sent`.
    message: &'static str,
    success: Success,
}

/// Rocket.Chat's one answer to an offline message it could not send, whatever the
/// reason.
fn offline_message_refused() -> ApiError {
    ApiError::bad_request("Error sending Omnichannel offline message")
}

/// Whether `address` looks like an e-mail address: `local@domain.tld`, no spaces.
fn is_email_address(address: &str) -> bool {
    let Some((local, domain)) = address.rsplit_once('@') else {
        return false;
    };
    let labels: Vec<&str> = domain.split('.').collect();
    !local.is_empty()
        && !address.chars().any(char::is_whitespace)
        && labels.len() >= 2
        && labels.iter().all(|label| !label.is_empty())
}

/// Leaves a message for the team while no agent is available. It is stored with the
/// address it is meant for (the department's, else Livechat_offline_email) in the
/// table `offline_messages`; no mail is sent.
#[utoipa::path(post, path = "/api/v1/livechat/offline.message", tag = "visitor",
    request_body = OfflineMessageBody,
    responses(
        (status = 200, description = "The message was kept", body = OfflineMessageSent),
        RcJsonBody,
        (status = 429, description = "This client address left an offline message less than 5 seconds ago", body = RcErrorBody,
            headers(("Retry-After" = u32, description = "Seconds until the address may send again"))),
    ))]
async fn offline_message(
    State(state): State<AppState>,
    ConnectInfo(peer): ClientAddress,
    headers: HeaderMap,
    Body(body): Body<OfflineMessageBody>,
) -> ApiResult<Json<OfflineMessageSent>> {
    let now = state.now();
    let address = client_address(&state, &headers, peer.ip());
    if let SenderSlot::Busy { last_sent_at } =
        state.store.take_offline_message_slot(&address, now - OFFLINE_MESSAGE_INTERVAL_MS, now).await?
    {
        return Err(too_many_offline_messages(last_sent_at + OFFLINE_MESSAGE_INTERVAL_MS - now));
    }
    if !state.store.setting::<DisplayOfflineForm>().await? || !is_email_address(&body.email) {
        return Err(offline_message_refused());
    }
    let department = match body.department.as_deref().filter(|department| !department.is_empty()) {
        Some(department) => state.store.department_by_id_or_name(department).await?,
        None => None,
    };
    let recipient = match department.as_ref().map(|department| department.email.clone()) {
        Some(email) if !email.is_empty() => email,
        _ => state.store.setting::<OfflineEmail>().await?,
    };
    // Rocket.Chat fails to mail a message that has nowhere valid to go.
    if !is_email_address(&recipient) {
        return Err(offline_message_refused());
    }
    let message = NewOfflineMessage {
        id: &meteor_id(),
        name: &body.name,
        email: &body.email,
        message: &body.message,
        department_id: department.as_ref().map(|department| department.id.as_str()),
        host: body.host.as_deref().filter(|host| !host.is_empty()),
        recipient: &recipient,
        now,
    };
    if !state.store.store_offline_message(message, MAX_STORED_OFFLINE_MESSAGES).await? {
        tracing::warn!(capacity = MAX_STORED_OFFLINE_MESSAGES, "offline message refused: the table is full");
        return Err(offline_message_refused());
    }
    Ok(Json(OfflineMessageSent { message: "Livechat offline message sent", success: Success }))
}

/// Rocket.Chat's rate-limit answer, waiting `wait_ms` (rounded up to whole seconds).
fn too_many_offline_messages(wait_ms: Millis) -> ApiError {
    let seconds = u32::try_from((wait_ms.max(1) + 999) / 1000).unwrap_or(u32::MAX);
    ApiError::too_many_requests(seconds)
}
