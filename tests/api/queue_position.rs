//! `livechat/queue.position`: a waiting visitor's place in the queue, the `queueInfo`
//! Rocket.Chat's widget shows, among the inquiries of its room's department (all of
//! them for a room without one) in the order routing takes them.

use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, invalid_params};
use crate::harness::{Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

async fn position(app: &TestApp, token: &str, room_id: &str) -> (StatusCode, Value) {
    app.get(&format!("/api/v1/livechat/queue.position?token={token}&rid={room_id}"), None).await
}

fn spot(spot: i64) -> (StatusCode, Value) {
    (StatusCode::OK, json!({"queueInfo": {"spot": spot}, "success": true}))
}

fn not_queued() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"success": true}))
}

async fn take(app: &TestApp, agent: &Session, room_id: &str) {
    let inquiry_id = inquiry_of(app, room_id).await["_id"].as_str().unwrap().to_owned();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
}

// The harness starts under Manual_Selection: rooms wait until an agent takes them.
both_backends!(the_spot_counts_the_inquiries_ahead_in_the_department_and_moves_up, |app| {
    let alice = available_agent(&app, "alice").await;
    let sales = department(&app, "Sales", &[&alice]).await;
    let support = department(&app, "Support", &[&alice]).await;
    let (s1, sales_first) = visitor_with_room(&app, "s1", Some(&sales)).await;
    let (p1, support_first) = visitor_with_room(&app, "p1", Some(&support)).await;
    let (s2, sales_second) = visitor_with_room(&app, "s2", Some(&sales)).await;
    let (n1, no_department) = visitor_with_room(&app, "n1", None).await;
    let (s3, sales_third) = visitor_with_room(&app, "s3", Some(&sales)).await;

    assert_eq!(position(&app, &s1, &sales_first).await, spot(1));
    assert_eq!(position(&app, &s2, &sales_second).await, spot(2));
    assert_eq!(position(&app, &s3, &sales_third).await, spot(3));
    // Another department's inquiries are not ahead; a room of no department waits
    // behind every queued inquiry.
    assert_eq!(position(&app, &p1, &support_first).await, spot(1));
    assert_eq!(position(&app, &n1, &no_department).await, spot(4));

    // Taken, the first leaves the queue and those behind it move up.
    take(&app, &alice, &sales_first).await;
    assert_eq!(position(&app, &s1, &sales_first).await, not_queued());
    assert_eq!(position(&app, &s2, &sales_second).await, spot(1));
    assert_eq!(position(&app, &s3, &sales_third).await, spot(2));
    assert_eq!(position(&app, &n1, &no_department).await, spot(3));
    take(&app, &alice, &support_first).await;
    assert_eq!(position(&app, &n1, &no_department).await, spot(2));

    // Returned to the queue, a room waits behind those queued before it came back.
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&alice), json!({"roomId": sales_first})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"result": true, "success": true})));
    assert_eq!(position(&app, &s1, &sales_first).await, spot(3));
    assert_eq!(position(&app, &s2, &sales_second).await, spot(1));

    // Closed, a room is no longer queued.
    let (status, body) = app.post("/api/v1/livechat/room.close", None, json!({"rid": sales_second, "token": s2})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(position(&app, &s2, &sales_second).await, not_queued());
    assert_eq!(position(&app, &s3, &sales_third).await, spot(1));
});

both_backends!(the_spot_follows_the_sorting_mechanism, |app| {
    let (v1, first) = visitor_with_room(&app, "v1", None).await;
    let (v2, second) = visitor_with_room(&app, "v2", None).await;
    assert_eq!(position(&app, &v1, &first).await, spot(1));
    assert_eq!(position(&app, &v2, &second).await, spot(2));
    // Sorted by SLA, an inquiry with an SLA goes before those without one.
    let (status, body) =
        app.post("/api/v1/settings/Omnichannel_sorting_mechanism", Some(&app.admin), json!({"value": "SLAs"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    let (status, body) = app
        .post(
            "/api/v1/livechat/sla",
            Some(&app.admin),
            json!({"name": "Fast", "description": "", "dueTimeInMinutes": 5}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let (status, body) =
        app.put("/api/v1/livechat/inquiry.setSLA", Some(&app.admin), json!({"roomId": second, "sla": "Fast"})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"success": true})));
    assert_eq!(position(&app, &v2, &second).await, spot(1));
    assert_eq!(position(&app, &v1, &first).await, spot(2));
});

both_backends!(queue_position_refuses_bad_input, |app| {
    let (alice, alice_room) = visitor_with_room(&app, "alice", None).await;
    let (bob, _) = visitor_with_room(&app, "bob", None).await;
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue.position?rid={alice_room}"), None).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'token'"))
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue.position?token={alice}"), None).await,
        (StatusCode::BAD_REQUEST, bare("Match error: Missing key 'rid'"))
    );
    assert_eq!(position(&app, "unknown", &alice_room).await, (StatusCode::BAD_REQUEST, bare("invalid-token")));
    assert_eq!(position(&app, &alice, "no-such-room").await, (StatusCode::BAD_REQUEST, bare("invalid-room")));
    // Another visitor's room is as unknown as a missing one.
    assert_eq!(position(&app, &bob, &alice_room).await, (StatusCode::BAD_REQUEST, bare("invalid-room")));
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue.position?token={alice}&rid={alice_room}&extra=1"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    let long = "x".repeat(257);
    assert_eq!(
        app.get(&format!("/api/v1/livechat/queue.position?token={long}&rid={alice_room}"), None).await,
        (StatusCode::BAD_REQUEST, invalid_params("/token must NOT have more than 256 characters"))
    );
});
