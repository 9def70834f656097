//! Files in rooms: a visitor uploads into its open room (`livechat/upload/{rid}`), a
//! user uploads (`rooms.media/{rid}`) and then posts the file (`rooms.mediaConfirm/{rid}/
//! {fileId}`), and both read files back at `/file-upload/{id}/{name}`.
//!
//! An upload's body is a multipart form read as it arrives: the file part is streamed
//! into the file storage under a fresh key, cut off at FileUpload_MaxFileSize, and only
//! then are the rows written, in one transaction (the file's row with its message for a
//! visitor). A refused or failed upload takes its object back, so no object is left
//! without its row and no message without its file.

use std::collections::HashMap;

use axum::Json;
use axum::body::Body as HttpBody;
use axum::extract::{Request, State};
use axum::http::header::{
    CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_LENGTH, CONTENT_SECURITY_POLICY, CONTENT_TYPE, COOKIE, LAST_MODIFIED,
};
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use futures::TryStreamExt;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::messages::room_access;
use super::visitor::store_visitor_file_message;
use super::wire::MessageView;
use crate::domain::files::{Dimensions, FileFacts, file_message_fields, file_url, max_file_size, media_type_allowed};
use crate::domain::ids::{meteor_id, token_digest};
use crate::files::{FileStorage, ObjectWriter, StoredObject};
use crate::http::AppState;
use crate::http::body::{BodyBudget, declared_length, failed_late};
use crate::http::error::{ApiError, ApiResult, RcErrorBody};
use crate::http::extract::{BodyRefusal, Caller, LoggedIn, MAX_KEY_CHARS, Path, Query, WordedBody, Wording};
use crate::http::openapi::{
    RcBadRequest, RcForbidden, RcJsonBody, RcNotLoggedIn, RcRequestTimeout, RcUnavailable, RcUnsupportedMediaType,
};
use crate::http::schema_check::Violation;
use crate::http::shapes::Success;
use crate::store::{AuthUser, ConfirmOutcome, NewMessage, NewUpload, StoreError};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(visitor_upload))
        .routes(routes!(media))
        .routes(routes!(media_confirm))
        .routes(routes!(serve_file))
}

/// Room for the boundaries, part headers and text fields of an upload's form beyond
/// its file.
const FORM_OVERHEAD: u64 = 64 * 1024;

/// The most bytes of one text field of an upload's form (5000 characters of up to four
/// bytes each).
const MAX_TEXT_FIELD_BYTES: usize = 20_000;

/// The most bytes of an image kept to read its dimensions from its header.
const IMAGE_HEADER_BYTES: usize = 256 * 1024;

/// The settings an upload obeys, read in one statement.
struct UploadSettings {
    enabled: bool,
    livechat_enabled: bool,
    /// Setting FileUpload_MaxFileSize as Rocket.Chat reads it; none: no limit.
    max_size: Option<u64>,
    white_list: String,
    black_list: String,
    message_max: u64,
}

async fn upload_settings(state: &AppState) -> ApiResult<UploadSettings> {
    let values = state
        .store
        .setting_values(&[
            "FileUpload_Enabled",
            "Livechat_fileupload_enabled",
            "FileUpload_MaxFileSize",
            "FileUpload_MediaTypeWhiteList",
            "FileUpload_MediaTypeBlackList",
            "Message_MaxAllowedSize",
        ])
        .await?;
    Ok(UploadSettings {
        enabled: values.bool("FileUpload_Enabled", true),
        livechat_enabled: values.bool("Livechat_fileupload_enabled", true),
        max_size: max_file_size(values.int("FileUpload_MaxFileSize", 104_857_600)),
        white_list: values.string("FileUpload_MediaTypeWhiteList", ""),
        black_list: values.string("FileUpload_MediaTypeBlackList", "image/svg+xml"),
        message_max: values.int("Message_MaxAllowedSize", 5000).clamp(0, 5000) as u64,
    })
}

impl UploadSettings {
    fn allows(&self, media_type: &str) -> bool {
        media_type_allowed(media_type, &self.white_list, &self.black_list)
    }
}

/// The multipart form of an upload, as the API document shows it.
#[derive(ToSchema)]
#[allow(dead_code)]
struct UploadForm {
    /// The file.
    #[schema(value_type = String, format = Binary, max_length = 104857600)]
    file: Vec<u8>,
    /// Shown with the file.
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// The message's text (visitor uploads).
    #[schema(max_length = 5000)]
    msg: Option<String>,
}

/// The file part of an upload, stored.
struct ReceivedFile {
    object: StoredObject,
    name: String,
    content_type: String,
    size: i64,
    dimensions: Option<Dimensions>,
    format: Option<&'static str>,
}

/// An upload's form: its file (stored) and its text fields.
struct Form {
    file: ReceivedFile,
    fields: HashMap<String, String>,
}

fn file_too_large() -> ApiError {
    ApiError::coded("error-file-too-large", "File size exceeds the allowed limit")
}

fn storage_failed(error: object_store::Error) -> ApiError {
    ApiError::internal(format!("file storage: {error}"))
}

fn multipart_refusal(error: multer::Error) -> ApiError {
    match error {
        multer::Error::StreamSizeExceeded { .. } | multer::Error::FieldSizeExceeded { .. } => file_too_large(),
        multer::Error::StreamReadFailed(cause) if failed_late(cause.as_ref()) => <ApiError as BodyRefusal>::late(),
        multer::Error::StreamReadFailed(_) => <ApiError as BodyRefusal>::unreadable(),
        other => ApiError::coded("error-upload-failed", other),
    }
}

/// The media type of a file part: the one the part declares, or, for none or
/// `application/octet-stream`, the one its name's extension stands for.
fn media_type(declared: Option<&mime_guess::mime::Mime>, name: &str) -> String {
    match declared.map(|mime| mime.essence_str().to_ascii_lowercase()) {
        Some(declared) if declared != "application/octet-stream" => declared,
        declared => mime_guess::from_path(name)
            .first_raw()
            .map(str::to_owned)
            .or(declared)
            .unwrap_or_else(|| "application/octet-stream".to_owned()),
    }
}

/// The name imagesize gives an image format, as Rocket.Chat's `identify.format`.
fn format_name(format: imagesize::ImageType) -> &'static str {
    use imagesize::ImageType;
    match format {
        ImageType::Png => "png",
        ImageType::Jpeg => "jpeg",
        ImageType::Gif => "gif",
        ImageType::Webp => "webp",
        ImageType::Bmp => "bmp",
        ImageType::Tiff => "tiff",
        ImageType::Ico => "ico",
        _ => "",
    }
}

/// Reads an upload's multipart form: the part `file` is streamed into `storage` under
/// `key` (after `check_type` accepted its media type), at most `max_size` bytes; text
/// fields are kept. The body reserves room in the budget of bodies being read for what
/// the storage buffers, not for its whole length.
async fn read_form(
    request: Request,
    storage: &FileStorage,
    key: &str,
    max_size: Option<u64>,
    check_type: impl Fn(&str) -> ApiResult<()>,
) -> ApiResult<Form> {
    let content_type = request.headers().get(CONTENT_TYPE).and_then(|value| value.to_str().ok()).map(str::to_owned);
    let boundary =
        content_type.and_then(|content_type| multer::parse_boundary(content_type).ok()).ok_or_else(|| {
            ApiError::coded_with_status(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "error-unsupported-media-type",
                "Content-Type must be multipart/form-data",
            )
        })?;
    // A body declared larger than the file limit allows is refused before it is read.
    let declared = declared_length(request.headers());
    if let (Some(limit), Some(declared)) = (max_size, declared)
        && declared > limit + FORM_OVERHEAD
    {
        return Err(ApiError::coded_with_status(
            StatusCode::PAYLOAD_TOO_LARGE,
            "error-file-too-large",
            "File size exceeds the allowed limit",
        ));
    }
    let reservation = match request.extensions().get::<BodyBudget>() {
        Some(budget) => {
            let needed = (storage.write_buffer_bytes() as u64 + FORM_OVERHEAD).min(declared.unwrap_or(u64::MAX));
            Some(budget.reserve(needed as usize).await.ok_or_else(<ApiError as BodyRefusal>::busy)?)
        }
        None => None,
    };
    let mut limits = multer::SizeLimit::new();
    if let Some(limit) = max_size {
        limits = limits.whole_stream(limit + FORM_OVERHEAD);
    }
    let constraints = multer::Constraints::new().size_limit(limits);
    let stream = request.into_body().into_data_stream();
    let mut multipart = multer::Multipart::with_constraints(stream, boundary, constraints);
    let mut file: Option<ReceivedFile> = None;
    let mut fields = HashMap::new();
    loop {
        let field = match multipart.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(error) => {
                if let Some(file) = file.take() {
                    file.object.discard().await;
                }
                return Err(multipart_refusal(error));
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let Some(file_name) = field.file_name().map(str::to_owned) else {
            let text = read_text(field).await;
            match text {
                Ok(text) => {
                    fields.insert(name, text);
                    continue;
                }
                Err(error) => {
                    if let Some(file) = file.take() {
                        file.object.discard().await;
                    }
                    return Err(error);
                }
            }
        };
        let refusal = if name != "file" {
            Some(ApiError::meteor("invalid-field"))
        } else if file.is_some() {
            Some(ApiError::coded("error-too-many-files", "Too many files in upload"))
        } else if file_name.chars().count() > MAX_KEY_CHARS {
            Some(ApiError::invalid_params(format!("/file/filename must NOT have more than {MAX_KEY_CHARS} characters")))
        } else {
            let media_type = media_type(field.content_type(), &file_name);
            check_type(&media_type).err()
        };
        if let Some(refusal) = refusal {
            if let Some(file) = file.take() {
                file.object.discard().await;
            }
            return Err(refusal);
        }
        let media_type = media_type(field.content_type(), &file_name);
        let mut writer = storage.writer(key);
        match stream_file(field, &mut writer, max_size, media_type.starts_with("image/")).await {
            Ok(header) => {
                let size = writer.written() as i64;
                let object = writer.finish().await.map_err(storage_failed)?;
                let dimensions = imagesize::blob_size(&header)
                    .ok()
                    .map(|size| Dimensions { width: size.width as i64, height: size.height as i64 });
                let format = imagesize::image_type(&header).ok().map(format_name).filter(|name| !name.is_empty());
                file =
                    Some(ReceivedFile { object, name: file_name, content_type: media_type, size, dimensions, format });
            }
            Err(error) => {
                writer.abort().await;
                return Err(error);
            }
        }
    }
    drop(reservation);
    match file {
        Some(file) => Ok(Form { file, fields }),
        None => Err(ApiError::coded("error-no-file", "No file uploaded")),
    }
}

/// Streams a file part into `writer`, refusing it past `max_size`; answers the first
/// bytes of an image, to read its dimensions from.
async fn stream_file(
    mut field: multer::Field<'_>,
    writer: &mut ObjectWriter,
    max_size: Option<u64>,
    image: bool,
) -> ApiResult<Vec<u8>> {
    let mut header = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_refusal)? {
        if max_size.is_some_and(|limit| writer.written() + chunk.len() as u64 > limit) {
            return Err(file_too_large());
        }
        if image && header.len() < IMAGE_HEADER_BYTES {
            let take = chunk.len().min(IMAGE_HEADER_BYTES - header.len());
            header.extend_from_slice(&chunk[..take]);
        }
        writer.write(&chunk).await.map_err(storage_failed)?;
    }
    Ok(header)
}

/// A text field, of at most [`MAX_TEXT_FIELD_BYTES`].
async fn read_text(mut field: multer::Field<'_>) -> ApiResult<String> {
    let mut bytes = Vec::new();
    while let Some(chunk) = field.chunk().await.map_err(multipart_refusal)? {
        if bytes.len() + chunk.len() > MAX_TEXT_FIELD_BYTES {
            return Err(message_too_long());
        }
        bytes.extend_from_slice(&chunk);
    }
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

fn message_too_long() -> ApiError {
    ApiError::meteor("error-message-size-exceeded")
}

/// Refuses a text longer than Message_MaxAllowedSize.
fn check_text(text: Option<&str>, limit: u64) -> ApiResult<()> {
    match text {
        Some(text) if text.chars().count() as u64 > limit => Err(message_too_long()),
        _ => Ok(()),
    }
}

/// A fresh storage key of a room's file.
fn object_key(room_id: &str, file_id: &str) -> String {
    format!("uploads/{room_id}/{file_id}")
}

/// What livechat/upload answers: the visitor's message showing the file.
#[derive(Serialize, ToSchema)]
struct UploadedFileMessage {
    #[serde(flatten)]
    message: MessageView,
    /// Always false: the room existed.
    #[serde(rename = "newRoom")]
    new_room: bool,
    /// Always false.
    #[serde(rename = "showConnecting")]
    show_connecting: bool,
    success: Success,
}

/// The visitor (header `x-visitor-token`) uploads a file into its open room; the file
/// and the message showing it are stored together.
#[utoipa::path(post, path = "/api/v1/livechat/upload/{rid}", tag = "files",
    params(
        ("rid" = String, Path, description = "The visitor's open room", max_length = 256),
        ("x-visitor-token" = String, Header, description = "The visitor's token", max_length = 256),
    ),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The message showing the file", body = UploadedFileMessage),
        (status = 400, response = RcBadRequest),
        (status = 403, response = RcForbidden),
        (status = 408, response = RcRequestTimeout),
        (status = 413, description = "The body is declared larger than FileUpload_MaxFileSize allows", body = RcErrorBody),
        (status = 415, response = RcUnsupportedMediaType),
        (status = 503, response = RcUnavailable),
    ))]
async fn visitor_upload(
    State(state): State<AppState>,
    Path(room_id): Path<String>,
    headers: HeaderMap,
    request: Request,
) -> ApiResult<Json<UploadedFileMessage>> {
    let token = headers
        .get("x-visitor-token")
        .and_then(|value| value.to_str().ok())
        .filter(|token| !token.is_empty() && token.len() <= MAX_KEY_CHARS)
        .ok_or_else(ApiError::unauthorized_object)?
        .to_owned();
    let settings = upload_settings(&state).await?;
    if !(settings.livechat_enabled && settings.enabled) {
        return Err(ApiError::reason("error-file-upload-disabled"));
    }
    let visitor = state.store.visitor_by_token(&token).await?.ok_or_else(ApiError::unauthorized_object)?;
    match state.store.room_by_id(&room_id).await? {
        Some(room) if room.visitor_id == visitor.id && room.open => {}
        _ => return Err(ApiError::unauthorized_object()),
    }
    let file_id = meteor_id();
    let key = object_key(&room_id, &file_id);
    let check_type = |media_type: &str| {
        if settings.allows(media_type) { Ok(()) } else { Err(ApiError::reason("error-type-not-allowed")) }
    };
    let form = read_form(request, &state.files, &key, settings.max_size, check_type).await?;
    let Form { file, fields } = form;
    let description = fields.get("description").map(String::as_str);
    let msg = fields.get("msg").map(String::as_str).unwrap_or("");
    if let Err(refusal) = check_text(description, settings.message_max).and(check_text(Some(msg), settings.message_max))
    {
        file.object.discard().await;
        return Err(refusal);
    }
    let extra = serde_json::Value::Object(file_message_fields(&FileFacts {
        id: &file_id,
        name: &file.name,
        content_type: &file.content_type,
        size: file.size,
        description,
        dimensions: file.dimensions,
        format: file.format,
    }))
    .to_string();
    let upload = NewUpload {
        id: &file_id,
        room_id: &room_id,
        user_id: None,
        name: &file.name,
        content_type: &file.content_type,
        size: file.size,
        width: file.dimensions.map(|size| size.width),
        height: file.dimensions.map(|size| size.height),
        description,
        object_key: file.object.key(),
        now: state.now(),
    };
    let (name, username) = (visitor.display_name(), visitor.username());
    let message_id = meteor_id();
    let message = NewMessage {
        id: &message_id,
        room_id: &room_id,
        msg,
        kind: None,
        author_id: &visitor.id,
        author_username: &username,
        author_name: Some(&name),
        extra: Some(&extra),
        now: state.now(),
    };
    match store_visitor_file_message(&state, &visitor, message, Some(&upload)).await {
        Ok(stored) => {
            file.object.keep();
            Ok(Json(UploadedFileMessage {
                message: MessageView::new(&stored, Some(&visitor.token)),
                new_room: false,
                show_connecting: false,
                success: Success,
            }))
        }
        Err(error) => {
            file.object.discard().await;
            match error {
                // The room closed while the file arrived.
                StoreError::NotFound => Err(ApiError::unauthorized_object()),
                other => Err(other.into()),
            }
        }
    }
}

/// What rooms.media answers: the stored file's id and address.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MediaAnswer {
    file: MediaFile,
    success: Success,
}

#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MediaFile {
    #[serde(rename = "_id")]
    id: String,
    /// `/file-upload/<id>/<name>`.
    url: String,
}

/// Why a user's change of a room's files was refused, from the room as it is now.
async fn room_refusal(state: &AppState, caller: &AuthUser, room_id: &str) -> ApiError {
    match state.store.room_state(room_id, room_access(caller)).await {
        Ok(Some(room)) if room.accessible && !room.open => super::visitor::room_closed(),
        Ok(_) => ApiError::unauthorized_object(),
        Err(error) => error.into(),
    }
}

/// A user who may see the open room uploads a file into it; no message shows it until
/// rooms.mediaConfirm.
#[utoipa::path(post, path = "/api/v1/rooms.media/{rid}", tag = "files",
    security(("userId" = [], "authToken" = [])),
    params(("rid" = String, Path, description = "The room", max_length = 256)),
    request_body(content = UploadForm, content_type = "multipart/form-data"),
    responses(
        (status = 200, description = "The stored file", body = MediaAnswer),
        (status = 400, response = RcBadRequest),
        (status = 401, response = RcNotLoggedIn),
        (status = 403, response = RcForbidden),
        (status = 408, response = RcRequestTimeout),
        (status = 413, description = "The body is declared larger than FileUpload_MaxFileSize allows", body = RcErrorBody),
        (status = 415, response = RcUnsupportedMediaType),
        (status = 503, response = RcUnavailable),
    ))]
async fn media(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Path(room_id): Path<String>,
    request: Request,
) -> ApiResult<Json<MediaAnswer>> {
    match state.store.room_state(&room_id, room_access(&caller)).await? {
        Some(room) if room.accessible && room.open => {}
        Some(room) if room.accessible => return Err(super::visitor::room_closed()),
        _ => return Err(ApiError::unauthorized_object()),
    }
    let settings = upload_settings(&state).await?;
    if !settings.enabled {
        return Err(ApiError::coded("error-file-upload-disabled", "File uploads are disabled."));
    }
    let file_id = meteor_id();
    let key = object_key(&room_id, &file_id);
    let check_type = |media_type: &str| {
        if settings.allows(media_type) {
            Ok(())
        } else {
            Err(ApiError::coded("error-invalid-file-type", "File type is not accepted."))
        }
    };
    let Form { file, .. } = read_form(request, &state.files, &key, settings.max_size, check_type).await?;
    let upload = NewUpload {
        id: &file_id,
        room_id: &room_id,
        user_id: Some(&caller.id),
        name: &file.name,
        content_type: &file.content_type,
        size: file.size,
        width: file.dimensions.map(|size| size.width),
        height: file.dimensions.map(|size| size.height),
        description: None,
        object_key: file.object.key(),
        now: state.now(),
    };
    match state.store.add_pending_upload(room_access(&caller), &upload).await {
        Ok(true) => {
            file.object.keep();
            Ok(Json(MediaAnswer {
                file: MediaFile { url: file_url(&file_id, &file.name), id: file_id },
                success: Success,
            }))
        }
        Ok(false) => {
            file.object.discard().await;
            Err(room_refusal(&state, &caller, &room_id).await)
        }
        Err(error) => {
            file.object.discard().await;
            Err(error.into())
        }
    }
}

/// `{msg?, description?, groupable?}` of rooms.mediaConfirm.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct MediaConfirmBody {
    /// The message's text; empty by default.
    #[schema(max_length = 5000)]
    msg: Option<String>,
    /// Shown with the file.
    #[schema(max_length = 5000)]
    description: Option<String>,
    /// Accepted; a file message is never grouped.
    #[allow(dead_code)]
    groupable: Option<bool>,
}

/// Rocket.Chat refuses a text longer than Message_MaxAllowedSize with its own error.
impl Wording for MediaConfirmBody {
    fn refusal(violation: &Violation) -> ApiError {
        match violation {
            Violation::TooLong { at, .. } if at == "/description" || at == "/msg" => message_too_long(),
            other => crate::http::extract::ajv_refusal(other),
        }
    }
}

/// `{message, success}`.
#[derive(Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct ConfirmedMedia {
    message: MessageView,
    success: Success,
}

/// The user posts a file it uploaded with rooms.media into the room: the message
/// showing it, written with the file's confirmation in one transaction.
#[utoipa::path(post, path = "/api/v1/rooms.mediaConfirm/{rid}/{fileId}", tag = "files",
    security(("userId" = [], "authToken" = [])),
    params(
        ("rid" = String, Path, description = "The room", max_length = 256),
        ("fileId" = String, Path, description = "The file rooms.media answered", max_length = 256),
    ),
    request_body = MediaConfirmBody,
    responses(
        (status = 200, description = "The message showing the file", body = ConfirmedMedia),
        (status = 401, response = RcNotLoggedIn),
        (status = 403, response = RcForbidden),
        RcJsonBody,
    ))]
async fn media_confirm(
    State(state): State<AppState>,
    caller: Caller<LoggedIn>,
    Path((room_id, file_id)): Path<(String, String)>,
    WordedBody(body): WordedBody<MediaConfirmBody>,
) -> ApiResult<Json<ConfirmedMedia>> {
    match state.store.room_state(&room_id, room_access(&caller)).await? {
        Some(room) if room.accessible => {}
        _ => return Err(ApiError::unauthorized_object()),
    }
    let upload = match state.store.upload_by_id(&file_id).await? {
        Some(upload)
            if upload.room_id == room_id && upload.user_id.as_deref() == Some(&caller.id) && !upload.confirmed =>
        {
            upload
        }
        _ => return Err(ApiError::meteor("invalid-file")),
    };
    let message_max = upload_settings(&state).await?.message_max;
    check_text(body.description.as_deref(), message_max)?;
    check_text(body.msg.as_deref(), message_max)?;
    let description = body.description.as_deref().filter(|description| !description.is_empty());
    let dimensions = match (upload.width, upload.height) {
        (Some(width), Some(height)) => Some(Dimensions { width, height }),
        _ => None,
    };
    let format = if dimensions.is_some() { crate::domain::files::file_extension(&upload.name) } else { "" };
    let extra = serde_json::Value::Object(file_message_fields(&FileFacts {
        id: &upload.id,
        name: &upload.name,
        content_type: &upload.content_type,
        size: upload.size,
        description,
        dimensions,
        format: Some(format).filter(|format| !format.is_empty()),
    }))
    .to_string();
    let message_id = meteor_id();
    let message = NewMessage {
        id: &message_id,
        room_id: &room_id,
        msg: body.msg.as_deref().unwrap_or(""),
        kind: None,
        author_id: &caller.id,
        author_username: &caller.username,
        author_name: Some(&caller.name),
        extra: Some(&extra),
        now: state.now(),
    };
    match state.store.confirm_upload(room_access(&caller), &upload.id, description, message).await? {
        ConfirmOutcome::Sent(stored) => Ok(Json(ConfirmedMedia {
            message: MessageView::new(&stored, Some(&upload.visitor_token)),
            success: Success,
        })),
        ConfirmOutcome::FileGone => Err(ApiError::meteor("invalid-file")),
        ConfirmOutcome::RoomRefused => Err(room_refusal(&state, &caller, &room_id).await),
    }
}

/// The credentials a file read may carry besides the login headers: Rocket.Chat's
/// `rc_*` query parameters (or cookies of the same names).
#[derive(Deserialize, ToSchema, IntoParams)]
#[into_params(parameter_in = Query)]
struct FileQuery {
    /// A user's id, with its login token as `rc_token`.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rc_uid: Option<String>,
    /// A user's login token (with `rc_uid`), or the visitor's token.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rc_token: Option<String>,
    /// The room of the visitor's token; when given, it must be the file's room.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    rc_rid: Option<String>,
    /// `l` for a livechat visitor; accepted and not needed.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    #[allow(dead_code)]
    rc_room_type: Option<String>,
    /// Accepted and ignored: files are always served as attachments.
    #[schema(max_length = 256)]
    #[param(max_length = 256)]
    #[allow(dead_code)]
    download: Option<String>,
}

/// The value of cookie `name` in the `Cookie` headers.
fn cookie(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| percent_encoding::percent_decode_str(value).decode_utf8_lossy().into_owned())
        .filter(|value| !value.is_empty() && value.len() <= MAX_KEY_CHARS)
}

fn header(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|value| value.to_str().ok())
        .filter(|value| !value.is_empty() && value.len() <= MAX_KEY_CHARS)
        .map(str::to_owned)
}

/// What `encodeURIComponent` leaves as it is: letters, digits and `-_.!~*'()`.
const URI_COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'!')
    .remove(b'~')
    .remove(b'*')
    .remove(b'\'')
    .remove(b'(')
    .remove(b')');

/// A file's bytes, with its stored media type, to the visitor of its room (its token as
/// `rc_token`, by query or cookie) and to users who may see its room (the login headers,
/// or `rc_uid` and `rc_token`). Others get 403, an unknown file 404, both without a body.
#[utoipa::path(get, path = "/file-upload/{id}/{name}", tag = "files",
    params(
        ("id" = String, Path, description = "The file's id", max_length = 256),
        ("name" = String, Path, description = "The file's name (not checked)", max_length = 256),
        FileQuery,
    ),
    responses(
        (status = 200, description = "The file's bytes, of its stored media type", content_type = "application/octet-stream", body = String),
        (status = 400, response = RcBadRequest),
        (status = 403, description = "The caller may not read the room's files"),
        (status = 404, description = "No such file"),
        (status = 503, response = RcUnavailable),
    ))]
async fn serve_file(
    State(state): State<AppState>,
    Path((file_id, _name)): Path<(String, String)>,
    Query(query): Query<FileQuery>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let Some(upload) = state.store.upload_by_id(&file_id).await? else {
        return Ok(StatusCode::NOT_FOUND.into_response());
    };
    let user_id = query.rc_uid.or_else(|| cookie(&headers, "rc_uid"));
    let rc_token = query.rc_token.or_else(|| cookie(&headers, "rc_token"));
    let rc_rid = query.rc_rid.or_else(|| cookie(&headers, "rc_rid"));
    let allowed = match (user_id, rc_token) {
        // A visitor: its token must be the room's visitor's, and a named room the file's.
        (None, Some(token)) if token == upload.visitor_token => rc_rid.is_none_or(|rid| rid == upload.room_id),
        (user_id, token) => {
            let login = match (user_id, token) {
                (Some(user_id), Some(token)) => Some((user_id, token)),
                _ => header(&headers, "x-user-id").zip(header(&headers, "x-auth-token")),
            };
            match login {
                Some((user_id, token)) => match state.store.authenticate(&user_id, &token_digest(&token)).await? {
                    Some(user) => state
                        .store
                        .room_state(&upload.room_id, room_access(&user))
                        .await?
                        .is_some_and(|room| room.accessible),
                    None => false,
                },
                None => false,
            }
        }
    };
    if !allowed {
        return Ok(StatusCode::FORBIDDEN.into_response());
    }
    let bytes = match state.files.read(&upload.object_key).await {
        Ok(bytes) => bytes,
        Err(object_store::Error::NotFound { .. }) => return Ok(StatusCode::NOT_FOUND.into_response()),
        Err(error) => return Err(storage_failed(error)),
    };
    let disposition = format!("attachment; filename*=UTF-8''{}", utf8_percent_encode(&upload.name, URI_COMPONENT));
    let mut response = HttpBody::from_stream(bytes.map_err(std::io::Error::other)).into_response();
    let headers = response.headers_mut();
    let value = |text: &str| HeaderValue::from_str(text).unwrap_or_else(|_| HeaderValue::from_static(""));
    headers.insert(CONTENT_TYPE, value(&upload.content_type));
    headers.insert(CONTENT_LENGTH, HeaderValue::from(upload.size.max(0) as u64));
    headers.insert(CONTENT_DISPOSITION, value(&disposition));
    headers.insert(CONTENT_SECURITY_POLICY, HeaderValue::from_static("default-src 'none'"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("max-age=31536000"));
    if let Some(modified) = chrono::DateTime::from_timestamp_millis(upload.uploaded_at) {
        headers.insert(LAST_MODIFIED, value(&modified.format("%a, %d %b %Y %H:%M:%S GMT").to_string()));
    }
    Ok(response)
}
