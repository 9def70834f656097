//! No object outlives its file in the storage: unconfirmed uploads expire after 24 hours,
//! a deleted message takes its file with it, and removing a room or erasing a visitor
//! takes their files; the file sweep deletes the objects, and one it cannot delete stays
//! queued until a later sweep can. On both backends and both storages (the local folder
//! and the S3-compatible server of `files`), checking the storage's contents.

use std::time::Duration;

use livechat_server::config::{AppSettings, S3Settings};
use livechat_server::domain::time::Millis;
use livechat_server::file_sweep::{CLAIM_LEASE, SweepReport, UNCONFIRMED_UPLOAD_LIFETIME, sweep_once};
use reqwest::multipart::Form;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::agent_messages::served_room;
use crate::files::{
    ACCESS_KEY, BUCKET, START_TEXT, download, file_part, md, media, png, s3_endpoint, s3_settings, stored_keys,
    upload_rows, visitor_upload,
};
use crate::harness::{START, Session, TestApp, both_backends, open_store, send};
use crate::lifecycle::{available_agent, visitor_with_room};
use crate::realtime_methods::call_over_rest;

const HOUR: Millis = 60 * 60 * 1000;

/// The instant as Rocket.Chat's answers write it.
fn iso(at: Millis) -> String {
    chrono::DateTime::from_timestamp_millis(at).unwrap().format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

fn sorted(mut keys: Vec<String>) -> Vec<String> {
    keys.sort();
    keys
}

fn key_of(room_id: &str, file_id: &str) -> String {
    format!("uploads/{room_id}/{file_id}")
}

/// The keys of the objects queued for deletion.
async fn queued(app: &TestApp) -> Vec<String> {
    app.column_strings("SELECT object_key FROM discarded_objects ORDER BY object_key").await
}

/// Waits (at most ten seconds, the sweep running every second) until the storage holds
/// exactly `expected` and nothing is queued any more.
pub(crate) async fn wait_for_files(app: &TestApp, expected: Vec<String>) {
    let expected = sorted(expected);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let (stored, queue) = (sorted(stored_keys(app).await), queued(app).await);
        if (stored == expected && queue.is_empty()) || tokio::time::Instant::now() > deadline {
            assert_eq!((stored, queue), (expected, Vec::<String>::new()));
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// An agent's unconfirmed upload of a PDF: its id.
async fn unconfirmed_pdf(app: &TestApp, agent: &Session, room_id: &str, name: &str) -> String {
    let form = Form::new().part("file", file_part(name.as_bytes().repeat(100), name, "application/pdf"));
    let (status, body) = media(app, Some(agent), room_id, form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let file_id = body["file"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({"file": {"_id": file_id, "url": format!("/file-upload/{file_id}/{name}")}, "success": true})
    );
    file_id
}

fn invalid_file() -> (StatusCode, Value) {
    (StatusCode::BAD_REQUEST, json!({"success": false, "error": "[invalid-file]", "errorType": "invalid-file"}))
}

/// Confirms the agent's PDF `name` with the message "Report": the whole answer is checked;
/// answers the message's id.
async fn confirm_pdf(app: &TestApp, agent: &Session, room_id: &str, file_id: &str, name: &str, at: Millis) -> String {
    let confirm = format!("/api/v1/rooms.mediaConfirm/{room_id}/{file_id}");
    let (status, body) = app.post(&confirm, Some(agent), json!({"msg": "Report"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let size = name.len() * 100;
    let entry = json!({"_id": file_id, "name": name, "type": "application/pdf", "size": size, "format": ""});
    let url = format!("/file-upload/{file_id}/{name}");
    let message_id = body["message"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        body,
        json!({
            "message": {
                "_id": message_id, "rid": room_id, "msg": "Report", "ts": iso(at),
                "u": {"_id": agent.user_id, "username": "agent", "name": "agent"}, "_updatedAt": iso(at),
                "urls": [], "mentions": [], "channels": [], "md": md("Report"),
                "file": entry, "files": [entry],
                "attachments": [{
                    "ts": "1970-01-01T00:00:00.000Z", "title": name, "type": "file",
                    "title_link": url, "title_link_download": true, "format": "pdf", "size": size
                }],
                "groupable": false
            },
            "success": true
        })
    );
    message_id
}

/// The visitor's upload of a small PNG: the file's and the message's ids.
async fn visitor_png(app: &TestApp, token: &str, room_id: &str) -> (String, String) {
    let form = Form::new().part("file", file_part(png(1, 1), "dot.png", "image/png"));
    let (status, body) = visitor_upload(app, room_id, Some(token), form).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["file"]["_id"].as_str().unwrap().to_owned(), body["_id"].as_str().unwrap().to_owned())
}

async fn unconfirmed_uploads_expire_after_a_day(app: TestApp) {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let forgotten = unconfirmed_pdf(&app, &agent, &room_id, "forgotten.pdf").await;
    let confirmed = unconfirmed_pdf(&app, &agent, &room_id, "confirmed.pdf").await;
    confirm_pdf(&app, &agent, &room_id, &confirmed, "confirmed.pdf", START).await;
    app.clock.set(START + HOUR);
    let fresh = unconfirmed_pdf(&app, &agent, &room_id, "fresh.pdf").await;
    let all_keys = vec![key_of(&room_id, &forgotten), key_of(&room_id, &confirmed), key_of(&room_id, &fresh)];
    // 24 hours after the first upload it is still kept: it expires once they have passed.
    app.clock.set(START + UNCONFIRMED_UPLOAD_LIFETIME);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(sorted(stored_keys(&app).await), sorted(all_keys.clone()));
    assert_eq!(upload_rows(&app).await, sorted(vec![forgotten.clone(), confirmed.clone(), fresh.clone()]));
    app.clock.set(START + UNCONFIRMED_UPLOAD_LIFETIME + 1);
    wait_for_files(&app, all_keys[1..].to_vec()).await;
    assert_eq!(upload_rows(&app).await, sorted(vec![confirmed.clone(), fresh.clone()]));
    // The expired file is unknown: it can neither be confirmed nor read.
    let confirm = format!("/api/v1/rooms.mediaConfirm/{room_id}/{forgotten}");
    assert_eq!(app.post(&confirm, Some(&agent), json!({})).await, invalid_file());
    let url = format!("/file-upload/{forgotten}/forgotten.pdf");
    assert_eq!(download(&app, &url, Some(&agent), None).await, (StatusCode::NOT_FOUND, String::new(), Vec::new()));
    // The fresh one is confirmed still, and read; the confirmed one is read.
    confirm_pdf(&app, &agent, &room_id, &fresh, "fresh.pdf", START + UNCONFIRMED_UPLOAD_LIFETIME + 1).await;
    for name in ["fresh.pdf", "confirmed.pdf"] {
        let id = if name == "fresh.pdf" { &fresh } else { &confirmed };
        let url = format!("/file-upload/{id}/{name}");
        assert_eq!(
            download(&app, &url, Some(&agent), None).await,
            (StatusCode::OK, "application/pdf".into(), name.as_bytes().repeat(100))
        );
    }
    // A day later, nothing more goes: confirmed files do not expire.
    app.clock.set(START + 3 * UNCONFIRMED_UPLOAD_LIFETIME);
    tokio::time::sleep(Duration::from_millis(2_500)).await;
    assert_eq!(sorted(stored_keys(&app).await), sorted(all_keys[1..].to_vec()));
    assert_eq!(upload_rows(&app).await, sorted(vec![confirmed, fresh]));
}

both_backends!(unconfirmed_uploads_expire_in_the_local_folder, clock = START, |app| {
    unconfirmed_uploads_expire_after_a_day(app).await;
});
both_backends!(unconfirmed_uploads_expire_in_s3, settings = s3_settings(), clock = START, |app| {
    unconfirmed_uploads_expire_after_a_day(app).await;
});

async fn deleting_a_message_deletes_its_file(app: TestApp) {
    let agent = available_agent(&app, "agent").await;
    let room_id = served_room(&app, &agent, "tok-1", None).await;
    let (visitor_file, visitor_message) = visitor_png(&app, "tok-1", &room_id).await;
    let agent_file = unconfirmed_pdf(&app, &agent, &room_id, "report.pdf").await;
    let agent_message = confirm_pdf(&app, &agent, &room_id, &agent_file, "report.pdf", START).await;
    // Another room's file stays through it all.
    let (other_token, other_room) = visitor_with_room(&app, "tok-2", None).await;
    let (other_file, _) = visitor_png(&app, &other_token, &other_room).await;
    let other_key = key_of(&other_room, &other_file);
    wait_for_files(&app, vec![key_of(&room_id, &visitor_file), key_of(&room_id, &agent_file), other_key.clone()]).await;

    // The agent deletes its file's message (chat.delete).
    app.clock.set(START + 1_000);
    assert_eq!(
        app.post("/api/v1/chat.delete", Some(&agent), json!({"roomId": room_id, "msgId": agent_message})).await,
        (
            StatusCode::OK,
            json!({"_id": agent_message, "ts": (START + 1_000).to_string(),
                   "message": {"_id": agent_message, "rid": room_id,
                               "u": {"_id": agent.user_id, "username": "agent", "name": "agent"}},
                   "success": true})
        )
    );
    wait_for_files(&app, vec![key_of(&room_id, &visitor_file), other_key.clone()]).await;
    let url = format!("/file-upload/{agent_file}/report.pdf");
    assert_eq!(download(&app, &url, Some(&agent), None).await, (StatusCode::NOT_FOUND, String::new(), Vec::new()));

    // The visitor deletes its file's message (DELETE livechat/message/{_id}).
    app.clock.set(START + 2_000);
    let path = format!("/api/v1/livechat/message/{visitor_message}");
    assert_eq!(
        app.call(Method::DELETE, &path, None, Some(json!({"token": "tok-1", "rid": room_id}))).await,
        (StatusCode::OK, json!({"message": {"_id": visitor_message, "ts": iso(START + 2_000)}, "success": true}))
    );
    wait_for_files(&app, vec![other_key]).await;
    let url = format!("/file-upload/{visitor_file}/dot.png?rc_token=tok-1&rc_rid={room_id}&rc_room_type=l");
    assert_eq!(download(&app, &url, None, None).await, (StatusCode::NOT_FOUND, String::new(), Vec::new()));
    assert_eq!(upload_rows(&app).await, vec![other_file.clone()]);
    // A plain message's deletion touches no file.
    let (status, body) =
        app.post("/api/v1/chat.delete", Some(&app.admin), json!({"roomId": room_id, "msgId": "tok-1-hello"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(stored_keys(&app).await, vec![key_of(&other_room, &other_file)]);
}

both_backends!(a_deleted_message_takes_its_local_file, clock = START, |app| {
    deleting_a_message_deletes_its_file(app).await;
});
both_backends!(a_deleted_message_takes_its_s3_object, settings = s3_settings(), clock = START, |app| {
    deleting_a_message_deletes_its_file(app).await;
});

async fn close(app: &TestApp, token: &str, room_id: &str) {
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": room_id, "token": token})).await;
    assert_eq!((status, &body["success"]), (StatusCode::OK, &json!(true)), "{body}");
}

async fn removed_rooms_and_erased_visitors_take_their_files(app: TestApp) {
    let agent = available_agent(&app, "agent").await;
    // A room with a visitor's file, an agent's confirmed file and an unconfirmed one.
    let removed_room = served_room(&app, &agent, "tok-1", None).await;
    let (removed_visitor_file, _) = visitor_png(&app, "tok-1", &removed_room).await;
    let confirmed = unconfirmed_pdf(&app, &agent, &removed_room, "confirmed.pdf").await;
    confirm_pdf(&app, &agent, &removed_room, &confirmed, "confirmed.pdf", START).await;
    let pending = unconfirmed_pdf(&app, &agent, &removed_room, "pending.pdf").await;
    // A visitor with two closed rooms, each with a file.
    let (erased_token, first_room) = visitor_with_room(&app, "tok-2", None).await;
    let (first_file, _) = visitor_png(&app, &erased_token, &first_room).await;
    close(&app, &erased_token, &first_room).await;
    let (_, second_room) = visitor_with_room(&app, "tok-2", None).await;
    assert_ne!(first_room, second_room);
    let (second_file, _) = visitor_png(&app, &erased_token, &second_room).await;
    close(&app, &erased_token, &second_room).await;
    // A room that stays, with its file.
    let (kept_token, kept_room) = visitor_with_room(&app, "tok-3", None).await;
    let (kept_file, _) = visitor_png(&app, &kept_token, &kept_room).await;
    let kept_key = key_of(&kept_room, &kept_file);
    wait_for_files(
        &app,
        vec![
            key_of(&removed_room, &removed_visitor_file),
            key_of(&removed_room, &confirmed),
            key_of(&removed_room, &pending),
            key_of(&first_room, &first_file),
            key_of(&second_room, &second_file),
            kept_key.clone(),
        ],
    )
    .await;

    // livechat:removeRoom (over method.call) removes the closed room with its files.
    let (status, body) =
        app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": removed_room})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(
        call_over_rest(&app, Some(&app.admin), "1", "livechat:removeRoom", json!([removed_room])).await,
        json!({"msg": "result", "id": "1"})
    );
    wait_for_files(&app, vec![key_of(&first_room, &first_file), key_of(&second_room, &second_file), kept_key.clone()])
        .await;
    let url = format!("/file-upload/{confirmed}/confirmed.pdf");
    assert_eq!(download(&app, &url, Some(&app.admin), None).await, (StatusCode::NOT_FOUND, String::new(), Vec::new()));

    // Erasing the visitor removes its rooms with their files.
    let (_, visitor) = app.get("/api/v1/livechat/visitor/tok-2", None).await;
    let visitor_id = visitor["visitor"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        send(app.client.delete(app.url("/api/v1/livechat/visitor/tok-2"))).await,
        (StatusCode::OK, json!({"visitor": {"_id": visitor_id, "ts": START_TEXT}, "success": true}))
    );
    wait_for_files(&app, vec![kept_key]).await;
    assert_eq!(upload_rows(&app).await, vec![kept_file]);
}

both_backends!(removed_rooms_and_erased_visitors_take_their_local_files, clock = START, |app| {
    removed_rooms_and_erased_visitors_take_their_files(app).await;
});
both_backends!(
    removed_rooms_and_erased_visitors_take_their_s3_objects,
    settings = s3_settings(),
    clock = START,
    |app| {
        removed_rooms_and_erased_visitors_take_their_files(app).await;
    }
);

/// A local storage that cannot delete: its folder lies under a regular file.
fn broken_local_settings(file: &tempfile::NamedTempFile) -> AppSettings {
    AppSettings { uploads_dir: Some(file.path().join("uploads")), ..AppSettings::default() }
}

/// The S3 server, with a secret it refuses.
fn broken_s3_settings() -> AppSettings {
    AppSettings {
        s3: S3Settings {
            bucket: Some(BUCKET.into()),
            endpoint: Some(s3_endpoint().to_owned()),
            region: "us-east-1".into(),
            access_key_id: Some(ACCESS_KEY.into()),
            secret_access_key: Some("not-the-secret".to_owned().into()),
            prefix: Some("test-refused".into()),
        },
        ..AppSettings::default()
    }
}

/// An instance whose storage fails serves the erasure of a visitor with a file: its
/// sweep cannot delete the object, which stays, queued, until a sweep with a working
/// storage after the failed claim's lease deletes it.
async fn a_failed_deletion_stays_queued(mut app: TestApp, broken: AppSettings) {
    let (token, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let (file_id, _) = visitor_png(&app, &token, &room_id).await;
    close(&app, &token, &room_id).await;
    let key = key_of(&room_id, &file_id);
    // Only the failing instance sweeps from now on; the clock stays at START.
    app.stop_server().await;
    let store = open_store(&app.database_url, Duration::from_secs(5)).await;
    let (base, _stop) = app.start_another_server(store.clone(), broken).await;
    let (_, visitor) = send(app.client.get(format!("{base}/api/v1/livechat/visitor/{token}"))).await;
    let visitor_id = visitor["visitor"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(
        send(app.client.delete(format!("{base}/api/v1/livechat/visitor/{token}"))).await,
        (StatusCode::OK, json!({"visitor": {"_id": visitor_id, "ts": START_TEXT}, "success": true}))
    );
    // The failing sweep claimed the object and kept it queued, the object in place.
    let lease_end = START + CLAIM_LEASE;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while app.column_strings("SELECT CAST(claimable_at AS TEXT) FROM discarded_objects").await
        != vec![lease_end.to_string()]
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    assert_eq!(
        app.column_strings("SELECT object_key || ' ' || CAST(claimable_at AS TEXT) FROM discarded_objects").await,
        vec![format!("{key} {lease_end}")]
    );
    assert_eq!(stored_keys(&app).await, vec![key.clone()]);
    assert_eq!(upload_rows(&app).await, Vec::<String>::new());
    // A working storage does not take it before the lease ends, then deletes it.
    assert_eq!(sweep_once(&store, &app.files, lease_end - 1).await.unwrap(), SweepReport::default());
    assert_eq!(stored_keys(&app).await, vec![key.clone()]);
    assert_eq!(
        sweep_once(&store, &app.files, lease_end).await.unwrap(),
        SweepReport { expired: 0, deleted: vec![key], failed: None }
    );
    assert_eq!(stored_keys(&app).await, Vec::<String>::new());
    assert_eq!(queued(&app).await, Vec::<String>::new());
    // Deleting an object already gone counts as done: nothing is left to sweep.
    assert_eq!(sweep_once(&store, &app.files, lease_end + CLAIM_LEASE).await.unwrap(), SweepReport::default());
}

both_backends!(a_local_deletion_failure_stays_queued, clock = START, |app| {
    let file = tempfile::NamedTempFile::new().unwrap();
    a_failed_deletion_stays_queued(app, broken_local_settings(&file)).await;
});
both_backends!(an_s3_deletion_failure_stays_queued, settings = s3_settings(), clock = START, |app| {
    a_failed_deletion_stays_queued(app, broken_s3_settings()).await;
});

/// Two instances sweeping one database at once claim each object once.
async fn two_instances_claim_each_object_once(mut app: TestApp) {
    let (token, room_id) = visitor_with_room(&app, "tok-1", None).await;
    let mut keys = Vec::new();
    for _ in 0..6 {
        keys.push(key_of(&room_id, &visitor_png(&app, &token, &room_id).await.0));
    }
    // The server's sweep stops; the rows go straight in the database, their objects queued.
    app.stop_server().await;
    app.execute("DELETE FROM uploads").await;
    assert_eq!(queued(&app).await, sorted(keys.clone()));
    let first = open_store(&app.database_url, Duration::from_secs(5)).await;
    let second = open_store(&app.database_url, Duration::from_secs(5)).await;
    let claims = [first.clone(), second.clone(), first.clone(), second].map(|store| {
        tokio::spawn(async move { store.claim_discarded_objects(START, START + CLAIM_LEASE, 2).await.unwrap() })
    });
    let claimed: Vec<String> = futures::future::join_all(claims).await.into_iter().flat_map(Result::unwrap).collect();
    // Four claims of two at most: the six objects, none twice.
    assert_eq!(sorted(claimed), sorted(keys.clone()));
    assert_eq!(first.claim_discarded_objects(START, START + CLAIM_LEASE, 2).await.unwrap(), Vec::<String>::new());
    // Once the claims' lease has ended, a sweep deletes them all.
    let report = sweep_once(&first, &app.files, START + CLAIM_LEASE).await.unwrap();
    assert_eq!(
        SweepReport { deleted: sorted(report.deleted.clone()), ..report },
        SweepReport { expired: 0, deleted: sorted(keys), failed: None }
    );
    assert_eq!((stored_keys(&app).await, queued(&app).await), (Vec::new(), Vec::new()));
}

both_backends!(two_instances_claim_each_object_once_in_the_local_folder, clock = START, |app| {
    two_instances_claim_each_object_once(app).await;
});
both_backends!(two_instances_claim_each_object_once_in_s3, settings = s3_settings(), clock = START, |app| {
    two_instances_claim_each_object_once(app).await;
});
