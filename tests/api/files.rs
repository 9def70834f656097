//! Files: livechat/upload/{rid} (visitors), rooms.media/{rid} and rooms.mediaConfirm
//! (users), and /file-upload/{id}/{name}, with real multipart requests, on both backends
//! and both storages: the local folder and an S3-compatible server (s3s-fs on a real
//! socket, started once for the test process). Every refusal leaves neither an object in
//! the storage nor a row or message behind.

use std::sync::OnceLock;

use livechat_server::config::{AppSettings, S3Settings};
use reqwest::StatusCode;
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::agent_messages::{served_room, set_setting};
use crate::envelopes::{coded, invalid_params, not_logged_in};
use crate::harness::{Backend, START, Session, TestApp, both_backends, send};
use crate::lifecycle::{available_agent, visitor_with_room};

pub(crate) const START_TEXT: &str = "2026-01-02T03:04:05.678Z";
pub(crate) const BUCKET: &str = "livechat-files";
pub(crate) const ACCESS_KEY: &str = "test-access-key";
pub(crate) const SECRET_KEY: &str = "test-secret-key";

/// The endpoint of the S3-compatible server shared by the tests: s3s-fs serving a
/// folder of its own, on a thread of its own so that it outlives each test's runtime.
pub(crate) fn s3_endpoint() -> &'static str {
    static ENDPOINT: OnceLock<String> = OnceLock::new();
    ENDPOINT.get_or_init(|| {
        let (started, endpoint) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
            runtime.block_on(async move {
                let root = std::env::temp_dir().join(format!("livechat-s3-{}", uuid::Uuid::new_v4().simple()));
                std::fs::create_dir_all(root.join(BUCKET)).expect("the bucket folder");
                let storage = s3s_fs::FileSystem::new(&root).expect("s3s-fs over the folder");
                let mut builder = s3s::service::S3ServiceBuilder::new(storage);
                builder.set_auth(s3s::auth::SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
                let service = builder.build();
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                started.send(format!("http://{}", listener.local_addr().unwrap())).unwrap();
                loop {
                    let (socket, _) = listener.accept().await.expect("the S3 server accepts");
                    let service = service.clone();
                    tokio::spawn(async move {
                        let io = hyper_util::rt::TokioIo::new(socket);
                        let _ = hyper::server::conn::http1::Builder::new().serve_connection(io, service).await;
                    });
                }
            });
        });
        endpoint.recv().expect("the S3 server starts")
    })
}

/// A server storing its files in the S3 server, under a prefix of its own.
pub(crate) fn s3_settings() -> AppSettings {
    AppSettings {
        s3: S3Settings {
            bucket: Some(BUCKET.into()),
            endpoint: Some(s3_endpoint().to_owned()),
            region: "us-east-1".into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some(SECRET_KEY.to_owned().into()),
            prefix: Some(format!("test-{}", uuid::Uuid::new_v4().simple())),
        },
        ..AppSettings::default()
    }
}

/// A PNG of `width` x `height` pixels as far as its header tells, with some bytes after it.
pub(crate) fn png(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = vec![0x89, b'P', b'N', b'G', 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13];
    bytes.extend_from_slice(b"IHDR");
    bytes.extend_from_slice(&width.to_be_bytes());
    bytes.extend_from_slice(&height.to_be_bytes());
    bytes.extend_from_slice(&[8, 6, 0, 0, 0, 0x12, 0x34, 0x56, 0x78]);
    bytes.extend((0..2000u32).map(|index| (index % 251) as u8));
    bytes
}

pub(crate) fn file_part(bytes: Vec<u8>, name: &str, media_type: &str) -> Part {
    Part::bytes(bytes).file_name(name.to_owned()).mime_str(media_type).unwrap()
}

/// A visitor's upload: the form, with `x-visitor-token` when given.
pub(crate) async fn visitor_upload(
    app: &TestApp,
    room_id: &str,
    token: Option<&str>,
    form: Form,
) -> (StatusCode, Value) {
    let mut request = app.client.post(app.url(&format!("/api/v1/livechat/upload/{room_id}"))).multipart(form);
    if let Some(token) = token {
        request = request.header("x-visitor-token", token);
    }
    send(request).await
}

pub(crate) async fn media(app: &TestApp, session: Option<&Session>, room_id: &str, form: Form) -> (StatusCode, Value) {
    let mut request = app.client.post(app.url(&format!("/api/v1/rooms.media/{room_id}"))).multipart(form);
    if let Some(session) = session {
        request = request.header("X-User-Id", &session.user_id).header("X-Auth-Token", &session.token);
    }
    send(request).await
}

/// A file read back: status, content type and bytes.
pub(crate) async fn download(
    app: &TestApp,
    url: &str,
    session: Option<&Session>,
    cookie: Option<&str>,
) -> (StatusCode, String, Vec<u8>) {
    let mut request = app.client.get(app.url(url));
    if let Some(session) = session {
        request = request.header("X-User-Id", &session.user_id).header("X-Auth-Token", &session.token);
    }
    if let Some(cookie) = cookie {
        request = request.header("Cookie", cookie);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let media_type =
        response.headers().get("content-type").map(|value| value.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, media_type, response.bytes().await.unwrap().to_vec())
}

/// The storage keys of every stored file.
pub(crate) async fn stored_keys(app: &TestApp) -> Vec<String> {
    app.files.keys("uploads").await.expect("the storage lists its files")
}

pub(crate) async fn upload_rows(app: &TestApp) -> Vec<String> {
    app.column_strings("SELECT id FROM uploads ORDER BY id").await
}

async fn message_ids(app: &TestApp) -> Vec<String> {
    app.column_strings("SELECT id FROM messages ORDER BY id").await
}

/// The messages showing a file.
async fn file_messages(app: &TestApp) -> Vec<String> {
    app.column_strings("SELECT id FROM messages WHERE extra LIKE '%file-upload%' ORDER BY id").await
}

/// A request whose answer the API document does not describe (a 500), as status and body.
async fn send_undocumented(request: reqwest::RequestBuilder) -> (StatusCode, Value) {
    let response = request.send().await.expect("request is answered");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

pub(crate) fn md(text: &str) -> Value {
    json!([{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": text}]}])
}

async fn visitor_uploads_an_image_and_reads_it_back(app: TestApp) {
    let (token, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let image = png(3, 2);
    let form =
        Form::new().part("file", file_part(image.clone(), "pixel map.png", "image/png")).text("description", "A pixel");
    let (status, body) = visitor_upload(&app, &room_id, Some(&token), form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file_id = body["file"]["_id"].as_str().unwrap().to_owned();
    let url = format!("/file-upload/{file_id}/pixel%20map.png");
    let entry =
        json!({"_id": file_id, "name": "pixel map.png", "type": "image/png", "size": image.len(), "format": "png"});
    assert_eq!(
        body,
        json!({
            "_id": body["_id"], "rid": room_id, "msg": "", "token": token, "alias": "Visitor tok-1",
            "ts": START_TEXT, "u": {"_id": body["u"]["_id"], "username": "guest-1", "name": "Visitor tok-1"},
            "_updatedAt": START_TEXT, "urls": [], "mentions": [], "channels": [], "md": md(""),
            "file": entry, "files": [entry],
            "attachments": [{
                "ts": "1970-01-01T00:00:00.000Z", "title": "pixel map.png", "type": "file", "description": "A pixel",
                "title_link": url, "title_link_download": true, "image_url": url, "image_type": "image/png",
                "image_size": image.len(), "image_dimensions": {"width": 3, "height": 2}
            }],
            "groupable": false, "newRoom": false, "showConnecting": false, "success": true
        })
    );
    crate::upstream_schema::assert_conforms("/api/v1/livechat/upload/{rid}", "post", 200, &body);
    // Stored bytes are the sent bytes, and so are the served ones.
    let key = format!("uploads/{room_id}/{file_id}");
    assert_eq!(stored_keys(&app).await, vec![key.clone()]);
    assert_eq!(app.files.read_all(&key).await.unwrap(), image);
    let visitor_query = format!("{url}?rc_token={token}&rc_rid={room_id}&rc_room_type=l");
    let (status, media_type, bytes) = download(&app, &visitor_query, None, None).await;
    assert_eq!((status, media_type.as_str()), (StatusCode::OK, "image/png"));
    assert_eq!(bytes, image);
    let cookie = format!("rc_token={token}; rc_rid={room_id}; rc_room_type=l");
    assert_eq!(download(&app, &url, None, Some(&cookie)).await, (StatusCode::OK, "image/png".into(), image.clone()));
    // Users who may see the room read it by the login headers or the rc_uid/rc_token pair.
    assert_eq!(download(&app, &url, Some(&app.admin), None).await, (StatusCode::OK, "image/png".into(), image.clone()));
    let admin_query = format!("{url}?rc_uid={}&rc_token={}", app.admin.user_id, app.admin.token);
    assert_eq!(download(&app, &admin_query, None, None).await.2, image);
    // Nobody else: another visitor, an agent who does not serve the room, no credentials.
    let (other_token, _) = visitor_with_room(&app, "tok-2", None).await;
    let foreign = format!("{url}?rc_token={other_token}&rc_rid={room_id}&rc_room_type=l");
    assert_eq!(download(&app, &foreign, None, None).await, (StatusCode::FORBIDDEN, String::new(), Vec::new()));
    let wrong_room = format!("{url}?rc_token={token}&rc_rid={}", "another-room");
    assert_eq!(download(&app, &wrong_room, None, None).await.0, StatusCode::FORBIDDEN);
    let agent = available_agent(&app, "agent").await;
    assert_eq!(download(&app, &url, Some(&agent), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(download(&app, &url, None, None).await.0, StatusCode::FORBIDDEN);
    let bad_login = Session { user_id: app.admin.user_id.clone(), token: "wrong".into() };
    assert_eq!(download(&app, &url, Some(&bad_login), None).await.0, StatusCode::FORBIDDEN);
    assert_eq!(download(&app, "/file-upload/unknown/x.png", Some(&app.admin), None).await.0, StatusCode::NOT_FOUND);
    // The message is the room's, in its history, and was published.
    let (status, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token={token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    assert_eq!(history["messages"][0]["file"], entry);
    assert_eq!(history["messages"][0]["_id"], body["_id"]);
    app.events_published().await;
    // The visitor still reads its file after its room closed.
    let (status, closed) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": token})).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    assert_eq!(download(&app, &visitor_query, None, None).await.2, image);
    // Erasing the visitor takes its files from the storage too.
    let (status, erased) = app.delete(&format!("/api/v1/livechat/visitor/{token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{erased}");
    assert_eq!(upload_rows(&app).await, Vec::<String>::new());
    crate::file_cleanup::wait_for_files(&app, Vec::new()).await;
}

both_backends!(a_visitor_uploads_into_the_local_folder, clock = START, |app| {
    visitor_uploads_an_image_and_reads_it_back(app).await;
});
both_backends!(a_visitor_uploads_into_s3, settings = s3_settings(), clock = START, |app| {
    visitor_uploads_an_image_and_reads_it_back(app).await;
});

async fn agent_uploads_and_confirms(app: TestApp) {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    // A large file, sent in several parts to S3.
    let document: Vec<u8> = (0..6 * 1024 * 1024 + 123u32).map(|index| (index % 253) as u8).collect();
    let form = Form::new().part("file", file_part(document.clone(), "report.pdf", "application/pdf"));
    let (status, body) = media(&app, Some(&agent), &room_id, form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file_id = body["file"]["_id"].as_str().unwrap().to_owned();
    let url = format!("/file-upload/{file_id}/report.pdf");
    assert_eq!(body, json!({"file": {"_id": file_id, "url": url}, "success": true}));
    let key = format!("uploads/{room_id}/{file_id}");
    assert_eq!(app.files.read_all(&key).await.unwrap(), document);
    // Not yet a message; the uploader (who may see the room) reads it already.
    assert_eq!(
        download(&app, &url, Some(&agent), None).await,
        (StatusCode::OK, "application/pdf".into(), document.clone())
    );
    // Another agent may neither confirm it nor upload into the room.
    let other = available_agent(&app, "other").await;
    let confirm = format!("/api/v1/rooms.mediaConfirm/{room_id}/{file_id}");
    let (status, body) = app.post(&confirm, Some(&other), json!({})).await;
    assert_eq!((status, body), (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"})));
    // The admin may see the room but the file is not its own.
    let (status, body) = app.post(&confirm, Some(&app.admin), json!({})).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-file]", "errorType": "invalid-file"}))
    );
    let (status, body) = app.post(&confirm, Some(&agent), json!({"msg": "The report", "description": "Q3"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let entry =
        json!({"_id": file_id, "name": "report.pdf", "type": "application/pdf", "size": document.len(), "format": ""});
    assert_eq!(
        body,
        json!({
            "message": {
                "_id": body["message"]["_id"], "rid": room_id, "msg": "The report", "ts": START_TEXT,
                "u": {"_id": agent.user_id, "username": "agent", "name": "agent"}, "_updatedAt": START_TEXT,
                "urls": [], "mentions": [], "channels": [], "md": md("The report"),
                "file": entry, "files": [entry],
                "attachments": [{
                    "ts": "1970-01-01T00:00:00.000Z", "title": "report.pdf", "type": "file", "description": "Q3",
                    "title_link": url, "title_link_download": true, "format": "pdf", "size": document.len()
                }],
                "groupable": false
            },
            "success": true
        })
    );
    // Confirmed once only.
    let (status, body) = app.post(&confirm, Some(&agent), json!({})).await;
    assert_eq!(
        (status, body),
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-file]", "errorType": "invalid-file"}))
    );
    assert_eq!(download(&app, &url, Some(&other), None).await.0, StatusCode::FORBIDDEN);
    // The room's visitor reads the agent's file with its token.
    let visitor_query = format!("{url}?rc_token=tok-1&rc_rid={room_id}&rc_room_type=l");
    assert_eq!(download(&app, &visitor_query, None, None).await.2, document);
    assert_eq!(stored_keys(&app).await, vec![key]);
}

both_backends!(an_agent_posts_a_file_into_the_local_folder, clock = START, |app| {
    agent_uploads_and_confirms(app).await;
});
both_backends!(an_agent_posts_a_file_into_s3, settings = s3_settings(), clock = START, |app| {
    agent_uploads_and_confirms(app).await;
});

fn unauthorized() -> Value {
    json!({"success": false, "error": "unauthorized"})
}

fn reason(code: &str) -> Value {
    json!({"reason": code, "success": false})
}

fn image_form() -> Form {
    Form::new().part("file", file_part(png(1, 1), "a.png", "image/png"))
}

async fn refusals_leave_nothing_behind(app: TestApp) {
    let (token, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let (other_token, other_room) = visitor_with_room(&app, "tok-2", None).await;
    // Who: no token, an unknown token, another visitor's room.
    assert_eq!(visitor_upload(&app, &room_id, None, image_form()).await, (StatusCode::FORBIDDEN, unauthorized()));
    assert_eq!(
        visitor_upload(&app, &room_id, Some("nobody"), image_form()).await,
        (StatusCode::FORBIDDEN, unauthorized())
    );
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&other_token), image_form()).await,
        (StatusCode::FORBIDDEN, unauthorized())
    );
    assert_eq!(
        visitor_upload(&app, "no-room", Some(&token), image_form()).await,
        (StatusCode::FORBIDDEN, unauthorized())
    );
    // The form: no file, a file under another name, not a form at all.
    let no_file = Form::new().text("description", "nothing");
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), no_file).await,
        (StatusCode::BAD_REQUEST, coded("error-no-file", "No file uploaded"))
    );
    let other_field = Form::new().part("document", file_part(png(1, 1), "a.png", "image/png"));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), other_field).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-field]", "errorType": "invalid-field"}))
    );
    let not_a_form = app
        .client
        .post(app.url(&format!("/api/v1/livechat/upload/{room_id}")))
        .header("x-visitor-token", &token)
        .json(&json!({"file": "a.png"}));
    assert_eq!(
        send(not_a_form).await,
        (
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            coded("error-unsupported-media-type", "Content-Type must be multipart/form-data")
        )
    );
    let long_name = "n".repeat(257) + ".png";
    let form = Form::new().part("file", file_part(png(1, 1), &long_name, "image/png"));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), form).await,
        (StatusCode::BAD_REQUEST, invalid_params("/file/filename must NOT have more than 256 characters"))
    );
    let form = image_form().text("description", "d".repeat(5001));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), form).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"success": false, "error": "[error-message-size-exceeded]", "errorType": "error-message-size-exceeded"})
        )
    );
    // The type: the default black list, then a white list.
    let svg = Form::new().part("file", file_part(b"<svg/>".to_vec(), "a.svg", "image/svg+xml"));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), svg).await,
        (StatusCode::BAD_REQUEST, reason("error-type-not-allowed"))
    );
    set_setting(&app, "FileUpload_MediaTypeWhiteList", json!("image/*")).await;
    let text = Form::new().part("file", file_part(b"hello".to_vec(), "a.txt", "text/plain"));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), text).await,
        (StatusCode::BAD_REQUEST, reason("error-type-not-allowed"))
    );
    // The size: past the limit while streaming, and declared far past it.
    set_setting(&app, "FileUpload_MaxFileSize", json!(1000)).await;
    let too_large = coded("error-file-too-large", "File size exceeds the allowed limit");
    let form = Form::new().part("file", file_part(png(1, 1), "big.png", "image/png"));
    assert_eq!(visitor_upload(&app, &room_id, Some(&token), form).await, (StatusCode::BAD_REQUEST, too_large));
    let form = Form::new().part("file", file_part(vec![7; 200 * 1024], "huge.png", "image/png"));
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), form).await,
        (StatusCode::PAYLOAD_TOO_LARGE, coded("error-file-too-large", "File size exceeds the allowed limit"))
    );
    // The room: closed.
    let (status, closed) =
        app.post("/api/v1/livechat/room.close", None, json!({"rid": other_room, "token": other_token})).await;
    assert_eq!(status, StatusCode::OK, "{closed}");
    let small = || Form::new().part("file", file_part(vec![1, 2, 3], "a.png", "image/png"));
    assert_eq!(
        visitor_upload(&app, &other_room, Some(&other_token), small()).await,
        (StatusCode::FORBIDDEN, unauthorized())
    );
    // Uploads turned off, either setting.
    set_setting(&app, "Livechat_fileupload_enabled", json!(false)).await;
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), small()).await,
        (StatusCode::BAD_REQUEST, reason("error-file-upload-disabled"))
    );
    set_setting(&app, "Livechat_fileupload_enabled", json!(true)).await;
    set_setting(&app, "FileUpload_Enabled", json!(false)).await;
    assert_eq!(
        visitor_upload(&app, &room_id, Some(&token), small()).await,
        (StatusCode::BAD_REQUEST, reason("error-file-upload-disabled"))
    );
    // Users: rooms.media and rooms.mediaConfirm.
    assert_eq!(media(&app, None, &room_id, small()).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let agent = available_agent(&app, "agent").await;
    assert_eq!(media(&app, Some(&agent), &room_id, small()).await, (StatusCode::FORBIDDEN, unauthorized()));
    assert_eq!(
        media(&app, Some(&app.admin), &room_id, small()).await,
        (StatusCode::BAD_REQUEST, coded("error-file-upload-disabled", "File uploads are disabled."))
    );
    set_setting(&app, "FileUpload_Enabled", json!(true)).await;
    let text = Form::new().part("file", file_part(b"hello".to_vec(), "a.txt", "text/plain"));
    assert_eq!(
        media(&app, Some(&app.admin), &room_id, text).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-file-type", "File type is not accepted."))
    );
    let big = Form::new().part("file", file_part(vec![9; 5000], "b.png", "image/png"));
    assert_eq!(
        media(&app, Some(&app.admin), &room_id, big).await,
        (StatusCode::BAD_REQUEST, coded("error-file-too-large", "File size exceeds the allowed limit"))
    );
    assert_eq!(
        media(&app, Some(&app.admin), &other_room, small()).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "room-closed"}))
    );
    let confirm = format!("/api/v1/rooms.mediaConfirm/{room_id}/unknown-file");
    assert_eq!(app.post(&confirm, None, json!({})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(
        app.post(&confirm, Some(&app.admin), json!({})).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-file]", "errorType": "invalid-file"}))
    );
    assert_eq!(app.post(&confirm, Some(&agent), json!({})).await, (StatusCode::FORBIDDEN, unauthorized()));
    assert_eq!(
        app.post(&confirm, Some(&app.admin), json!({"msg": 5})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/msg must be string"))
    );
    assert_eq!(
        app.post(&confirm, Some(&app.admin), json!({"other": 1})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    // Nothing of all that was kept: no object, no row, no message showing a file.
    assert_eq!(stored_keys(&app).await, Vec::<String>::new());
    assert_eq!(upload_rows(&app).await, Vec::<String>::new());
    assert_eq!(file_messages(&app).await, Vec::<String>::new());
}

both_backends!(refusals_keep_nothing_in_the_local_folder, clock = START, |app| {
    refusals_leave_nothing_behind(app).await;
});
both_backends!(refusals_keep_nothing_in_s3, settings = s3_settings(), clock = START, |app| {
    refusals_leave_nothing_behind(app).await;
});

/// Makes every insert of an upload row fail, as a database failing mid-transaction would.
async fn break_upload_inserts(app: &TestApp) {
    match app.backend {
        Backend::Sqlite => {
            app.execute(
                "CREATE TRIGGER refuse_uploads BEFORE INSERT ON uploads BEGIN SELECT RAISE(ABORT, 'refused'); END",
            )
            .await
        }
        Backend::Postgres => {
            app.execute(
                "CREATE FUNCTION refuse_uploads() RETURNS trigger LANGUAGE plpgsql AS \
                 $$ BEGIN RAISE EXCEPTION 'refused'; END $$",
            )
            .await;
            app.execute(
                "CREATE TRIGGER refuse_uploads BEFORE INSERT ON uploads FOR EACH ROW EXECUTE FUNCTION refuse_uploads()",
            )
            .await;
        }
    }
}

async fn a_failed_transaction_takes_the_object_back(app: TestApp) {
    let (token, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let messages_before = message_ids(&app).await;
    break_upload_inserts(&app).await;
    let internal = (StatusCode::INTERNAL_SERVER_ERROR, coded("error-internal", "Internal server error"));
    let request = app
        .client
        .post(app.url(&format!("/api/v1/livechat/upload/{room_id}")))
        .header("x-visitor-token", &token)
        .multipart(image_form());
    assert_eq!(send_undocumented(request).await, internal);
    let request = app
        .client
        .post(app.url(&format!("/api/v1/rooms.media/{room_id}")))
        .header("X-User-Id", &app.admin.user_id)
        .header("X-Auth-Token", &app.admin.token)
        .multipart(image_form());
    assert_eq!(send_undocumented(request).await, internal);
    assert_eq!(stored_keys(&app).await, Vec::<String>::new());
    assert_eq!(message_ids(&app).await, messages_before);
}

both_backends!(a_failed_transaction_leaves_no_local_file, |app| {
    a_failed_transaction_takes_the_object_back(app).await;
});
both_backends!(a_failed_transaction_leaves_no_s3_object, settings = s3_settings(), |app| {
    a_failed_transaction_takes_the_object_back(app).await;
});
