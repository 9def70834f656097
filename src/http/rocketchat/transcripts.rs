//! Transcripts of livechat rooms: the visitor has its room's messages mailed to an
//! address (`POST livechat/transcript`), and an agent asks for, or withdraws, a
//! transcript to be mailed when the room closes (`POST` / `DELETE
//! livechat/transcript/{rid}`). Mail goes through the SMTP relay of the settings
//! `SMTP_Host`, `SMTP_Port` and `From_Email` (see [`crate::mail`]).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use crate::domain::ids::meteor_id;
use crate::domain::permissions::SEND_OMNICHANNEL_CHAT_TRANSCRIPT;
use crate::domain::settings::{FromEmail, ShowAgentInfo, SmtpHost, SmtpPort, TranscriptEmailSubject};
use crate::domain::time::Millis;
use crate::http::error::{ApiError, ApiResult};
use crate::http::extract::{Body, Caller, Path, permission_set};
use crate::http::openapi::{RcBadRequest, RcJsonBody, RcPermitted, RcSmallJsonBody, RcUnavailable};
use crate::http::shapes::{Done, Success, Timestamp};
use crate::http::{AppState, SMALL_BODY_BYTES};
use crate::mail::{self, Email, Relay, escape_html};
use crate::store::{AuthUser, Message, NewMessage, ROCKET_CAT};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(mail_transcript)).routes(routes!(request_transcript, withdraw_request))
}

permission_set!(SendTranscripts = [SEND_OMNICHANNEL_CHAT_TRANSCRIPT]);

/// The subject of a transcript mail when neither the request nor
/// Livechat_transcript_email_subject names one.
const DEFAULT_SUBJECT: &str = "Transcript of your livechat conversation";

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TranscriptBody {
    /// The visitor's token.
    #[schema(max_length = 256)]
    token: String,
    /// The visitor's room.
    #[schema(max_length = 256)]
    rid: String,
    /// Where the transcript goes.
    #[schema(max_length = 256)]
    email: String,
    /// The mail's subject; Livechat_transcript_email_subject when absent.
    #[schema(max_length = 1024)]
    subject: Option<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TranscriptRequestBody {
    /// Where the transcript goes when the room closes.
    #[schema(max_length = 256)]
    email: String,
    #[schema(max_length = 1024)]
    subject: String,
}

/// `{"message": "Omnichannel transcript sent", "success": true}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct TranscriptSent {
    message: String,
    success: Success,
}

/// Rocket.Chat's failure of a transcript that was not sent.
fn not_sent() -> ApiError {
    ApiError::failure_message("Error sending Omnichannel transcript")
}

/// Mails the transcript of room `room_id` of the visitor with `token` to `email`, with
/// `subject` (else Livechat_transcript_email_subject, else Rocket.Chat's default), and
/// records it in the room (a `livechat_transcript_history` message by rocket.cat).
/// Done when the relay accepted the mail; nothing is recorded otherwise. The realtime
/// method `livechat:sendTranscript` does the same.
pub(crate) async fn send_transcript(
    state: &AppState,
    token: &str,
    room_id: &str,
    email: &str,
    subject: Option<&str>,
) -> ApiResult<()> {
    mail_room_transcript(state, token, room_id, email, subject, None).await
}

/// [`send_transcript`], recorded as asked by `requested_by` (`{_id, username, name}`)
/// when an agent asked for it, else by the visitor.
async fn mail_room_transcript(
    state: &AppState,
    token: &str,
    room_id: &str,
    email: &str,
    subject: Option<&str>,
    requested_by: Option<Value>,
) -> ApiResult<()> {
    let visitor =
        state.store.visitor_by_token(token).await?.ok_or_else(|| ApiError::bad_request("error-invalid-token"))?;
    // Only the visitor's own room: another's is as unknown as a missing one.
    match state.store.room_by_id(room_id).await? {
        Some(room) if room.visitor_id == visitor.id => {}
        _ => return Err(ApiError::bad_request("error-invalid-room")),
    }
    let host = state.store.setting::<SmtpHost>().await?;
    let port = state.store.setting::<SmtpPort>().await?;
    let from = state.store.setting::<FromEmail>().await?;
    let Some(relay) = Relay::from_settings(&host, &port, &from) else {
        tracing::warn!("a transcript was asked for, but SMTP_Host or From_Email is not set");
        return Err(not_sent());
    };
    let show_agents = state.store.setting::<ShowAgentInfo>().await?;
    let messages = state.store.transcript_messages(room_id).await?;
    let stored_subject = state.store.setting::<TranscriptEmailSubject>().await?;
    let subject = subject
        .filter(|subject| !subject.trim().is_empty())
        .or(Some(stored_subject.as_str()).filter(|subject| !subject.trim().is_empty()))
        .unwrap_or(DEFAULT_SUBJECT);
    let message = Email { to: email, subject, html: transcript_html(&messages, show_agents) };
    if let Err(error) = mail::send(&relay, message).await {
        tracing::warn!(%error, room_id, "the transcript was not sent");
        return Err(not_sent());
    }
    let (kind, user) = match requested_by {
        Some(user) => ("user", user),
        None => ("visitor", json!({ "_id": ROCKET_CAT, "username": ROCKET_CAT, "name": "Rocket.Cat" })),
    };
    let extra = json!({
        "requestData": {
            "type": kind,
            "visitor": {
                "_id": visitor.id,
                "token": visitor.token,
                "username": visitor.username(),
                "name": visitor.name,
            },
            "user": user,
        }
    })
    .to_string();
    let note = NewMessage {
        id: &meteor_id(),
        room_id,
        msg: "",
        kind: Some("livechat_transcript_history"),
        author_id: ROCKET_CAT,
        author_username: ROCKET_CAT,
        author_name: Some("Rocket.Cat"),
        extra: Some(&extra),
        now: state.now(),
    };
    state.store.add_transcript_note(&note).await?;
    Ok(())
}

/// The mail's body: each plain message, oldest first, with its author (`You` for the
/// visitor; the agent's name, or `Agent` while Livechat_show_agent_info is off) and its
/// time (UTC), as Rocket.Chat lays it out.
fn transcript_html(messages: &[Message], show_agents: bool) -> String {
    let mut html = String::from("<div> <hr>");
    for message in messages {
        let author = if message.from_visitor {
            "You".to_owned()
        } else if show_agents {
            message
                .author_name
                .clone()
                .filter(|name| !name.is_empty())
                .unwrap_or_else(|| message.author_username.clone())
        } else {
            "Agent".to_owned()
        };
        html.push_str(&format!(
            "\n<p><strong>{}</strong>  <em>{}</em></p>\n<p>{}</p>\n",
            escape_html(&author),
            written_at(message.ts),
            escape_html(&message.msg)
        ));
    }
    html.push_str("</div>");
    html
}

/// An instant as Rocket.Chat's transcript shows it (moment's `LLL`), in UTC:
/// `December 6, 2026 8:13 PM`.
fn written_at(ts: Millis) -> String {
    DateTime::<Utc>::from_timestamp_millis(ts).unwrap_or_default().format("%B %-d, %Y %-I:%M %p").to_string()
}

/// The visitor mails its room's transcript (open or closed) to an address. The answer
/// waits until the SMTP relay accepted the mail; a relay that is down or refuses is
/// `Error sending Omnichannel transcript`, and nothing is recorded.
#[utoipa::path(post, path = "/api/v1/livechat/transcript", tag = "visitor",
    request_body = TranscriptBody,
    responses(
        (status = 200, description = "Sent", body = TranscriptSent),
        RcSmallJsonBody,
        (status = 503, response = RcUnavailable),
    ))]
async fn mail_transcript(
    State(state): State<AppState>,
    Body(body): Body<TranscriptBody, SMALL_BODY_BYTES>,
) -> ApiResult<Json<TranscriptSent>> {
    send_transcript(&state, &body.token, &body.rid, &body.email, body.subject.as_deref()).await?;
    Ok(Json(TranscriptSent { message: "Omnichannel transcript sent".to_owned(), success: Success }))
}

/// Why a change of the room's transcript request was refused, from the room as it is.
async fn request_refusal(state: &AppState, caller: &AuthUser, room_id: &str) -> ApiResult<ApiError> {
    Ok(match state.store.room_state(room_id, room_access(caller)).await? {
        None => ApiError::coded("error-invalid-room", "Invalid room"),
        Some(room) if !room.open => ApiError::coded("error-invalid-room", "Invalid room"),
        Some(room) if !room.accessible => ApiError::coded("error-not-allowed", "Not allowed"),
        Some(_) => ApiError::coded("error-transcript-already-requested", "Transcript already requested"),
    })
}

/// Asks for the open room's transcript to be mailed to `email` when the room closes;
/// the room shows it as `transcriptRequest`. One request at a time.
#[utoipa::path(post, path = "/api/v1/livechat/transcript/{rid}", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room's id", max_length = 256)),
    request_body = TranscriptRequestBody,
    responses((status = 200, description = "Requested", body = Done), RcPermitted, RcJsonBody))]
async fn request_transcript(
    State(state): State<AppState>,
    caller: Caller<SendTranscripts>,
    Path(room_id): Path<String>,
    Body(body): Body<TranscriptRequestBody>,
) -> ApiResult<Json<Done>> {
    let now = state.now();
    let request = json!({
        "requestedAt": Timestamp(now),
        "requestedBy": { "_id": caller.id, "username": caller.username, "name": caller.name, "utcOffset": 0 },
        "email": body.email,
        "subject": body.subject,
    })
    .to_string();
    if state.store.request_transcript(&room_id, room_access(&caller), &request, now).await? {
        return Ok(Done::ANSWER);
    }
    Err(request_refusal(&state, &caller, &room_id).await?)
}

/// Withdraws the open room's transcript request.
#[utoipa::path(delete, path = "/api/v1/livechat/transcript/{rid}", tag = "rooms",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room's id", max_length = 256)),
    responses((status = 200, description = "Withdrawn", body = Done), RcPermitted, (status = 400, response = RcBadRequest)))]
async fn withdraw_request(
    State(state): State<AppState>,
    caller: Caller<SendTranscripts>,
    Path(room_id): Path<String>,
) -> ApiResult<Json<Done>> {
    if state.store.cancel_transcript_request(&room_id, room_access(&caller), state.now()).await? {
        return Ok(Done::ANSWER);
    }
    Err(match state.store.room_state(&room_id, room_access(&caller)).await? {
        Some(room) if room.open && !room.accessible => ApiError::coded("error-not-allowed", "Not allowed"),
        Some(room) if room.open => ApiError::bad_request("error-transcript-not-requested"),
        _ => ApiError::bad_request("error-invalid-room"),
    })
}

/// After a room closed: mails the transcript an agent asked for
/// (`POST livechat/transcript/{rid}`), in the background as Rocket.Chat does, and
/// clears the request. The request is taken by one statement, so one instance mails it.
pub(crate) fn after_close(state: &AppState, room_id: &str) {
    let (state, room_id) = (state.clone(), room_id.to_owned());
    tokio::spawn(async move {
        if let Err(error) = mail_requested_transcript(&state, &room_id).await {
            tracing::warn!(?error, room_id = %room_id, "the transcript asked for on close was not sent");
        }
    });
}

async fn mail_requested_transcript(state: &AppState, room_id: &str) -> ApiResult<()> {
    let Some(request) = state.store.take_transcript_request(room_id).await? else { return Ok(()) };
    let Some(room) = state.store.room_by_id(room_id).await? else { return Ok(()) };
    let request: Value = serde_json::from_str(&request).unwrap_or_default();
    let text = |key: &str| request[key].as_str().unwrap_or_default().to_owned();
    let requested_by = request["requestedBy"].clone();
    let user = json!({
        "_id": requested_by["_id"],
        "username": requested_by["username"],
        "name": requested_by["name"],
    });
    let subject = text("subject");
    mail_room_transcript(state, &room.visitor_token, room_id, &text("email"), Some(&subject), Some(user)).await
}
