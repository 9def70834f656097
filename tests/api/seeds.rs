//! The four seed pages, one test per documented response, on both backends; then
//! the rest of the SLA family and the queue order.

use std::sync::Arc;

use livechat_server::config::AppSettings;
use livechat_server::domain::queue::QueueSort;
use reqwest::StatusCode;
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};
use crate::upstream_schema::assert_conforms;

const SET_SLA: &str = "/api/v1/livechat/inquiry.setSLA";
const SLA: &str = "/api/v1/livechat/sla";
const LIST: &str = "/api/v1/livechat/inquiries.list";
const GET_ONE: &str = "/api/v1/livechat/inquiries.getOne";

async fn create_sla(app: &TestApp, name: &str, due: i64) -> String {
    let (status, body) = app
        .post(
            SLA,
            Some(&app.admin),
            json!({"name": name, "description": format!("{name} SLA"), "dueTimeInMinutes": due}),
        )
        .await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["sla"]["_id"].as_str().unwrap().to_owned()
}

// ---- Seed 000: PUT /api/v1/livechat/inquiry.setSLA ----

both_backends!(set_sla_200_by_id_and_by_name, |app| {
    let sla_id = create_sla(&app, "Optimum", 4).await;
    create_sla(&app, "Relaxed", 120).await;
    let (_, room_id) = visitor_with_room(&app, "sla-visitor", None).await;
    let (status, body) = app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": sla_id})).await;
    assert_eq!((status, body.clone()), (StatusCode::OK, json!({"success": true})));
    assert_conforms(SET_SLA, "put", 200, &body);
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!((inquiry["slaId"].clone(), inquiry["estimatedWaitingTimeQueue"].clone()), (json!(sla_id), json!(4)));

    // By name, by an agent (view-l-room).
    let agent = available_agent(&app, "sla.agent").await;
    assert_eq!(
        app.put(SET_SLA, Some(&agent), json!({"roomId": room_id, "sla": "Relaxed"})).await,
        (StatusCode::OK, json!({"success": true}))
    );
    assert_eq!(inquiry_of(&app, &room_id).await["estimatedWaitingTimeQueue"], json!(120));

    // The room's history records who set which policy.
    let (_, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=sla-visitor"), None).await;
    let change = &history["messages"][0];
    assert_eq!(change["t"], json!("omnichannel_sla_change_history"));
    assert_eq!(change["u"], json!({"_id": agent.user_id, "username": "sla.agent", "name": "sla.agent"}));
    assert_eq!(change["slaData"]["definedBy"], json!({"_id": agent.user_id, "username": "sla.agent"}));
    assert_eq!(change["slaData"]["sla"]["name"], json!("Relaxed"));
    assert_eq!(history["messages"][1]["slaData"]["sla"]["_id"], json!(sla_id));
});

both_backends!(set_sla_400_examples, |app| {
    let sla_id = create_sla(&app, "Optimum", 4).await;
    let (_, room_id) = visitor_with_room(&app, "v", None).await;
    let example_1 = json!({"success": false, "error": "The 'roomId' param is required"});
    let (status, body) = app.put(SET_SLA, Some(&app.admin), json!({"sla": sla_id})).await;
    assert_eq!((status, body.clone()), (StatusCode::BAD_REQUEST, example_1));
    assert_conforms(SET_SLA, "put", 400, &body);
    assert_eq!(
        app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id})).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "The 'sla' param is required"}))
    );
    assert_eq!(
        app.put(SET_SLA, Some(&app.admin), json!({"roomId": 12, "sla": sla_id})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must be string"))
    );
    assert_eq!(
        app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": "Nope"})).await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-sla"))
    );
    assert_eq!(
        app.put(SET_SLA, Some(&app.admin), json!({"roomId": "unknown", "sla": sla_id})).await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-inquiry"))
    );

    // Example 2: the inquiry was taken, so no policy can be set any more.
    let agent = available_agent(&app, "taker").await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
    app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    let (status, body) = app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": sla_id})).await;
    assert_eq!((status, body.clone()), (StatusCode::BAD_REQUEST, bare("error-invalid-inquiry")));
    assert_conforms(SET_SLA, "put", 400, &body);
    assert_eq!(inquiry_of(&app, &room_id).await.get("slaId"), None);
});

both_backends!(set_sla_401_and_403_examples, |app| {
    let sla_id = create_sla(&app, "Optimum", 4).await;
    let (status, body) = app.put(SET_SLA, None, json!({"roomId": "r", "sla": sla_id})).await;
    assert_eq!((status, body.clone()), (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_conforms(SET_SLA, "put", 401, &body);
    let plain = app.user_with_roles("plain", &["user"]).await;
    let (status, body) = app.put(SET_SLA, Some(&plain), json!({})).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, no_permission()));
    assert_conforms(SET_SLA, "put", 403, &body);

    // Example 2: an agent may not touch an inquiry of a department it is not in.
    let outsider = available_agent(&app, "outsider").await;
    let insider = available_agent(&app, "insider").await;
    let sales = department(&app, "Sales", &[&insider]).await;
    let (_, room_id) = visitor_with_room(&app, "sales-visitor", Some(&sales)).await;
    let (status, body) = app.put(SET_SLA, Some(&outsider), json!({"roomId": room_id, "sla": sla_id})).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, bare("unauthorized")));
    assert_conforms(SET_SLA, "put", 403, &body);
    assert_eq!(
        app.put(SET_SLA, Some(&insider), json!({"roomId": room_id, "sla": sla_id})).await,
        (StatusCode::OK, json!({"success": true}))
    );
});

both_backends!(set_sla_racing_take_never_leaves_an_sla_on_a_taken_inquiry, |app| {
    let sla_id = create_sla(&app, "Fast", 2).await;
    let agent = available_agent(&app, "racer").await;
    let app = Arc::new(app);
    for round in 0..15 {
        let (_, room_id) = visitor_with_room(&app, &format!("race-{round}"), None).await;
        let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
        let take = {
            let (app, agent) = (app.clone(), agent.clone());
            tokio::spawn(async move {
                app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await
            })
        };
        let set = {
            let (app, room_id, sla_id) = (app.clone(), room_id.clone(), sla_id.clone());
            tokio::spawn(
                async move { app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": sla_id})).await },
            )
        };
        let (take, set) = (take.await.unwrap(), set.await.unwrap());
        assert_eq!(take, (StatusCode::OK, json!({"success": true})));
        let inquiry = inquiry_of(&app, &room_id).await;
        assert_eq!(inquiry["status"], json!("taken"));
        let (_, history) =
            app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token=race-{round}"), None).await;
        if set == (StatusCode::OK, json!({"success": true})) {
            // The policy landed while the inquiry was still queued.
            assert_eq!(inquiry["slaId"], json!(sla_id));
            assert_eq!(history["total"], json!(1));
        } else {
            assert_eq!(set, (StatusCode::BAD_REQUEST, bare("error-invalid-inquiry")));
            assert_eq!(inquiry.get("slaId"), None);
            assert_eq!(inquiry["estimatedWaitingTimeQueue"], json!(9_999_999));
            assert_eq!(history["total"], json!(0));
        }
    }
});

// ---- Seed 001: POST /api/v1/livechat/sla ----

both_backends!(create_sla_200, |app| {
    let (status, body) = app
        .post(SLA, Some(&app.admin), json!({"name": "Optimum", "description": "Optimum SLA", "dueTimeInMinutes": 4}))
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = body["sla"]["_id"].as_str().unwrap().to_owned();
    assert!(id.len() == 24 && id.bytes().all(|b| b.is_ascii_hexdigit()));
    assert_eq!(
        body,
        json!({"sla": {"name": "Optimum", "description": "Optimum SLA", "dueTimeInMinutes": 4, "_id": id}, "success": true})
    );
    assert_conforms(SLA, "post", 200, &body);
    // The description may be left out.
    let (status, body) = app.post(SLA, Some(&app.admin), json!({"name": "Bare", "dueTimeInMinutes": 9})).await;
    assert_eq!((status, body["sla"]["description"].clone()), (StatusCode::OK, json!("")));
});

both_backends!(create_sla_400_examples_and_duplicates, |app| {
    let (status, body) = app.post(SLA, Some(&app.admin), json!({"description": "x", "dueTimeInMinutes": 4})).await;
    assert_eq!((status, body.clone()), (StatusCode::BAD_REQUEST, invalid_params("must have required property 'name'")));
    assert_conforms(SLA, "post", 400, &body);
    let (status, body) = app.post(SLA, Some(&app.admin), json!({"name": "Optimum", "description": "x"})).await;
    assert_eq!(
        (status, body.clone()),
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'dueTimeInMinutes'"))
    );
    assert_conforms(SLA, "post", 400, &body);
    assert_eq!(
        app.post(SLA, Some(&app.admin), json!({"name": "A", "dueTimeInMinutes": "4"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/dueTimeInMinutes must be integer"))
    );
    assert_eq!(
        app.post(SLA, Some(&app.admin), json!({"name": "A", "dueTimeInMinutes": 4.5})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/dueTimeInMinutes must be integer"))
    );
    assert_eq!(
        app.post(SLA, Some(&app.admin), json!({"name": "A", "dueTimeInMinutes": 0})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/dueTimeInMinutes must be >= 1"))
    );
    assert_eq!(
        app.post(SLA, Some(&app.admin), json!({"name": 3, "dueTimeInMinutes": 4})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/name must be string"))
    );
    assert_eq!(
        app.post(SLA, Some(&app.admin), json!({"name": "A", "dueTimeInMinutes": 4, "color": "red"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );

    create_sla(&app, "Optimum", 4).await;
    let duplicated = (StatusCode::BAD_REQUEST, bare("error-duplicated-sla"));
    assert_eq!(app.post(SLA, Some(&app.admin), json!({"name": "Optimum", "dueTimeInMinutes": 5})).await, duplicated);
    assert_eq!(app.post(SLA, Some(&app.admin), json!({"name": "Other", "dueTimeInMinutes": 4})).await, duplicated);
});

both_backends!(create_sla_401_and_403, |app| {
    let body = json!({"name": "Optimum", "dueTimeInMinutes": 4});
    let (status, response) = app.post(SLA, None, body.clone()).await;
    assert_eq!((status, response.clone()), (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_conforms(SLA, "post", 401, &response);
    let agent = available_agent(&app, "agent").await;
    let (status, response) = app.post(SLA, Some(&agent), json!({})).await;
    assert_eq!((status, response.clone()), (StatusCode::FORBIDDEN, no_permission()));
    assert_conforms(SLA, "post", 403, &response);
});

both_backends!(concurrent_creates_of_one_policy_make_one, |app| {
    let app = Arc::new(app);
    let creates = (0..10).map(|index| {
        let app = app.clone();
        tokio::spawn(async move {
            app.post(SLA, Some(&app.admin), json!({"name": "Race", "dueTimeInMinutes": 10 + index})).await
        })
    });
    let results: Vec<(StatusCode, Value)> =
        futures::future::join_all(creates).await.into_iter().map(Result::unwrap).collect();
    assert_eq!(results.iter().filter(|(status, _)| *status == StatusCode::OK).count(), 1, "{results:?}");
    assert!(
        results
            .iter()
            .filter(|(status, _)| *status != StatusCode::OK)
            .all(|result| *result == (StatusCode::BAD_REQUEST, bare("error-duplicated-sla")))
    );
    let (_, listed) = app.get(SLA, Some(&app.admin)).await;
    assert_eq!(listed["total"], json!(1));
});

both_backends!(sla_family_lists_reads_updates_and_deletes, |app| {
    let optimum = create_sla(&app, "Optimum", 4).await;
    let relaxed = create_sla(&app, "Relaxed", 60).await;
    let (status, listed) = app.get(SLA, Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        listed,
        json!({"sla": [
        {"name": "Optimum", "description": "Optimum SLA", "dueTimeInMinutes": 4, "_id": optimum},
        {"name": "Relaxed", "description": "Relaxed SLA", "dueTimeInMinutes": 60, "_id": relaxed},
    ], "count": 2, "offset": 0, "total": 2, "success": true})
    );
    let (_, found) = app.get(&format!("{SLA}?text=RELAX"), Some(&app.admin)).await;
    assert_eq!((found["total"].clone(), found["sla"][0]["_id"].clone()), (json!(1), json!(relaxed)));
    let (_, sorted) = app.get(&format!("{SLA}?sort={{\"dueTimeInMinutes\":-1}}&count=1"), Some(&app.admin)).await;
    assert_eq!(
        (sorted["sla"][0]["_id"].clone(), sorted["count"].clone(), sorted["total"].clone()),
        (json!(relaxed), json!(1), json!(2))
    );
    assert_eq!(
        app.get(&format!("{SLA}?sort={{\"secret\":1}}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"secret\":1}\""))
    );

    let (status, one) = app.get(&format!("{SLA}/{optimum}"), Some(&app.admin)).await;
    assert_eq!(
        (status, one),
        (
            StatusCode::OK,
            json!({"name": "Optimum", "description": "Optimum SLA", "dueTimeInMinutes": 4, "_id": optimum, "success": true})
        )
    );
    let missing = "000000000000000000000000";
    assert_eq!(
        app.get(&format!("{SLA}/{missing}"), Some(&app.admin)).await,
        (StatusCode::NOT_FOUND, bare(&format!("SLA with id {missing} not found")))
    );

    // An edit is re-applied to queued inquiries using the policy.
    let (_, room_id) = visitor_with_room(&app, "queued", None).await;
    app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": optimum})).await;
    let (status, updated) = app
        .put(
            &format!("{SLA}/{optimum}"),
            Some(&app.admin),
            json!({"name": "Optimum+", "description": "faster", "dueTimeInMinutes": 3}),
        )
        .await;
    assert_eq!(
        (status, updated),
        (
            StatusCode::OK,
            json!({"sla": {"name": "Optimum+", "description": "faster", "dueTimeInMinutes": 3, "_id": optimum}, "success": true})
        )
    );
    assert_eq!(inquiry_of(&app, &room_id).await["estimatedWaitingTimeQueue"], json!(3));
    assert_eq!(
        app.put(&format!("{SLA}/{missing}"), Some(&app.admin), json!({"name": "X", "dueTimeInMinutes": 7})).await,
        (StatusCode::NOT_FOUND, bare(&format!("SLA with id {missing} not found")))
    );
    assert_eq!(
        app.put(&format!("{SLA}/{optimum}"), Some(&app.admin), json!({"name": "Relaxed", "dueTimeInMinutes": 3})).await,
        (StatusCode::BAD_REQUEST, bare("error-duplicated-sla"))
    );
    assert_eq!(
        app.put(&format!("{SLA}/{optimum}"), Some(&app.admin), json!({"dueTimeInMinutes": 3})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'name'"))
    );

    // Deleting clears it from queued inquiries.
    assert_eq!(
        app.delete(&format!("{SLA}/{optimum}"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"success": true}))
    );
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!((inquiry.get("slaId"), inquiry["estimatedWaitingTimeQueue"].clone()), (None, json!(9_999_999)));
    assert_eq!(
        app.delete(&format!("{SLA}/{optimum}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare(&format!("SLA with id {optimum} not found")))
    );

    let agent = available_agent(&app, "agent").await;
    assert_eq!(app.get(SLA, Some(&agent)).await.0, StatusCode::OK, "agents read policies");
    for (status, body) in [
        app.put(&format!("{SLA}/{relaxed}"), Some(&agent), json!({})).await,
        app.delete(&format!("{SLA}/{relaxed}"), Some(&agent)).await,
    ] {
        assert_eq!((status, body), (StatusCode::FORBIDDEN, no_permission()));
    }
    assert_eq!(app.get(SLA, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
});

// ---- Seed 002: GET /api/v1/livechat/inquiries.list ----

both_backends!(inquiries_list_200_lists_queued_inquiries, clock = START, |app| {
    let (_, room_id) = visitor_with_room(&app, "marcos", None).await;
    let inquiry = inquiry_of(&app, &room_id).await;
    let (status, body) = app.get(LIST, Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({
            "inquiries": [{"_id": inquiry["_id"], "rid": room_id, "name": "Visitor marcos", "ts": "2026-01-02T03:04:05.678Z", "status": "queued"}],
            "offset": 0, "count": 1, "total": 1, "success": true,
        })
    );
    assert_conforms(LIST, "get", 200, &body);

    // Department by id or by name; only queued inquiries; paging and sorting. The
    // later inquiries come a second apart, so that their instants decide the order.
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    app.clock.advance(1_000);
    let (_, sales_room) = visitor_with_room(&app, "s1", Some(&sales)).await;
    app.clock.advance(1_000);
    let (_, taken_room) = visitor_with_room(&app, "s2", Some(&sales)).await;
    app.post(
        "/api/v1/livechat/inquiries.take",
        Some(&agent),
        json!({"inquiryId": inquiry_of(&app, &taken_room).await["_id"]}),
    )
    .await;
    for filter in [sales.as_str(), "Sales"] {
        let (_, body) = app.get(&format!("{LIST}?department={filter}"), Some(&app.admin)).await;
        let item = &body["inquiries"][0];
        assert_eq!(
            (body["total"].clone(), item["rid"].clone(), item["department"].clone()),
            (json!(1), json!(sales_room), json!(sales))
        );
    }
    assert_eq!(
        app.get(&format!("{LIST}?department=Nowhere"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"inquiries": [], "offset": 0, "count": 0, "total": 0, "success": true}))
    );
    let (_, newest_first) = app.get(&format!("{LIST}?count=1"), Some(&app.admin)).await;
    assert_eq!(
        (newest_first["inquiries"][0]["rid"].clone(), newest_first["total"].clone()),
        (json!(sales_room), json!(2))
    );
    let (_, oldest_first) = app.get(&format!("{LIST}?sort={{\"ts\":1}}&count=1&offset=0"), Some(&app.admin)).await;
    assert_eq!(oldest_first["inquiries"][0]["rid"], json!(room_id));
    let (_, second_page) = app.get(&format!("{LIST}?count=1&offset=1"), Some(&app.admin)).await;
    assert_eq!((second_page["inquiries"][0]["rid"].clone(), second_page["offset"].clone()), (json!(room_id), json!(1)));
});

both_backends!(inquiries_list_400s, |app| {
    assert_eq!(
        app.get(&format!("{LIST}?status=taken"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        app.get(&format!("{LIST}?count=many"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/count must be number"))
    );
    assert_eq!(
        app.get(&format!("{LIST}?offset=-3"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("BSON field 'skip' value must be >= 0, actual value '-3'"))
    );
    for raw in ["{\"v.token\":1}", "{\"ts\":0}", "ts"] {
        assert_eq!(
            app.get(&format!("{LIST}?sort={}", urlencode(raw)), Some(&app.admin)).await,
            (
                StatusCode::BAD_REQUEST,
                coded("error-invalid-sort", &format!("Invalid sort parameter provided: \"{raw}\""))
            )
        );
    }
});

both_backends!(inquiries_list_401_and_403_examples, |app| {
    let (status, body) = app.get(LIST, None).await;
    assert_eq!((status, body.clone()), (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_conforms(LIST, "get", 401, &body);
    let agent = available_agent(&app, "agent").await;
    let (status, body) = app.get(LIST, Some(&agent)).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, no_permission()));
    assert_conforms(LIST, "get", 403, &body);

    // Example 2: a monitor may only list the departments it belongs to.
    let monitor = app.user_with_roles("monitor", &["user", "livechat-monitor"]).await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let (status, body) = app.get(&format!("{LIST}?department={sales}"), Some(&monitor)).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, bare("unauthorized")));
    assert_conforms(LIST, "get", 403, &body);
    assert_eq!(app.get(LIST, Some(&monitor)).await.0, StatusCode::OK);
});

fn urlencode(raw: &str) -> String {
    url::form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

// ---- Seed 003: GET /api/v1/livechat/inquiries.getOne ----

both_backends!(get_one_200_returns_the_full_inquiry, clock = START, |app| {
    let agent = available_agent(&app, "test.cat").await;
    let (_, room_id) = visitor_with_room(&app, "kookie", None).await;
    let (status, queued) = app.get(&format!("{GET_ONE}?roomId={room_id}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK);
    let inquiry = &queued["inquiry"];
    let visitor = app.get("/api/v1/livechat/visitor/kookie", None).await.1["visitor"].clone();
    assert_eq!(
        queued,
        json!({"inquiry": {
        "_id": inquiry["_id"], "rid": room_id, "name": "Visitor kookie", "ts": "2026-01-02T03:04:05.678Z", "message": "",
        "status": "queued",
        "v": {"_id": visitor["_id"], "username": visitor["username"], "token": "kookie", "status": "online"},
        "t": "l", "priorityWeight": 99, "estimatedWaitingTimeQueue": 9_999_999, "source": {"type": "api"},
        "_updatedAt": "2026-01-02T03:04:05.678Z", "queuedAt": "2026-01-02T03:04:05.678Z",
    }, "success": true})
    );
    assert_conforms(GET_ONE, "get", 200, &queued);

    app.clock.advance(1_000);
    app.post("/api/v1/livechat/message", None, json!({"token": "kookie", "rid": room_id, "msg": "hello"})).await;
    app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry["_id"]})).await;
    let (status, taken) = app.get(&format!("{GET_ONE}?roomId={room_id}"), Some(&agent)).await;
    assert_eq!(status, StatusCode::OK);
    let taken_inquiry = &taken["inquiry"];
    let last = &taken_inquiry["lastMessage"];
    assert_eq!(taken_inquiry["status"], json!("taken"));
    assert_eq!(taken_inquiry["message"], json!("hello"));
    assert!(taken_inquiry["takenAt"].is_string());
    assert_eq!(
        last,
        &json!({
            "_id": last["_id"], "rid": room_id, "msg": "hello", "token": "kookie", "alias": "Visitor kookie",
            "ts": "2026-01-02T03:04:06.678Z",
            "u": {"_id": visitor["_id"], "username": visitor["username"], "name": "Visitor kookie"},
            "_updatedAt": "2026-01-02T03:04:06.678Z", "urls": [], "mentions": [], "channels": [],
            "md": [{"type": "PARAGRAPH", "value": [{"type": "PLAIN_TEXT", "value": "hello"}]}],
        })
    );
    assert_conforms(GET_ONE, "get", 200, &taken);

    // A room without an inquiry (closed, or unknown): inquiry null, as Rocket.Chat answers.
    app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!(
        app.get(&format!("{GET_ONE}?roomId={room_id}"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"inquiry": null, "success": true}))
    );
    assert_eq!(
        app.get(&format!("{GET_ONE}?roomId=unknown"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"inquiry": null, "success": true}))
    );
});

both_backends!(get_one_400_401_403_examples, |app| {
    let (status, body) = app.get(GET_ONE, Some(&app.admin)).await;
    assert_eq!(
        (status, body.clone()),
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'roomId'"))
    );
    assert_conforms(GET_ONE, "get", 400, &body);
    let (status, body) = app.get(&format!("{GET_ONE}?roomId=x"), None).await;
    assert_eq!((status, body.clone()), (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_conforms(GET_ONE, "get", 401, &body);
    let plain = app.user_with_roles("plain", &["user"]).await;
    let (status, body) = app.get(&format!("{GET_ONE}?roomId=x"), Some(&plain)).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, no_permission()));
    assert_conforms(GET_ONE, "get", 403, &body);

    let insider = available_agent(&app, "insider").await;
    let outsider = available_agent(&app, "outsider").await;
    let sales = department(&app, "Sales", &[&insider]).await;
    let (_, room_id) = visitor_with_room(&app, "sales-visitor", Some(&sales)).await;
    let (status, body) = app.get(&format!("{GET_ONE}?roomId={room_id}"), Some(&outsider)).await;
    assert_eq!((status, body.clone()), (StatusCode::FORBIDDEN, bare("unauthorized")));
    assert_conforms(GET_ONE, "get", 403, &body);
    assert_eq!(app.get(&format!("{GET_ONE}?roomId={room_id}"), Some(&insider)).await.0, StatusCode::OK);
});

// ---- Queue order for agents ----

async fn queue_order(app: &TestApp, agent: &Session) -> Vec<String> {
    let mut rooms = Vec::new();
    let mut offset = 0;
    loop {
        let (status, page) =
            app.get(&format!("/api/v1/livechat/inquiries.queuedForUser?count=2&offset={offset}"), Some(agent)).await;
        assert_eq!(status, StatusCode::OK);
        let items = page["inquiries"].as_array().unwrap();
        if items.is_empty() {
            assert_eq!(page["total"], json!(rooms.len()));
            return rooms;
        }
        rooms.extend(items.iter().map(|item| item["rid"].as_str().unwrap().to_owned()));
        offset += items.len();
    }
}

/// Five rooms, in this order: none, SLA 30, none, SLA 5, SLA 30. Returns their ids.
async fn mixed_queue(app: &TestApp) -> Vec<String> {
    let slow = create_sla(app, "Slow", 30).await;
    let fast = create_sla(app, "Fast", 5).await;
    let mut rooms = Vec::new();
    for (index, sla) in [None, Some(&slow), None, Some(&fast), Some(&slow)].into_iter().enumerate() {
        let (_, room_id) = visitor_with_room(app, &format!("q{index}"), None).await;
        if let Some(sla) = sla {
            app.put(SET_SLA, Some(&app.admin), json!({"roomId": room_id, "sla": sla})).await;
        }
        rooms.push(room_id);
    }
    rooms
}

both_backends!(
    queue_sorted_by_timestamp,
    settings = AppSettings { queue_sort: Some(QueueSort::Timestamp), ..Default::default() },
    |app| {
        let rooms = mixed_queue(&app).await;
        let agent = available_agent(&app, "agent").await;
        assert_eq!(queue_order(&app, &agent).await, rooms);
    }
);

both_backends!(
    queue_sorted_by_sla,
    settings = AppSettings { queue_sort: Some(QueueSort::Sla), ..Default::default() },
    |app| {
        let rooms = mixed_queue(&app).await;
        let agent = available_agent(&app, "agent").await;
        let expected: Vec<String> = [3, 1, 4, 0, 2].iter().map(|&index| rooms[index].clone()).collect();
        assert_eq!(queue_order(&app, &agent).await, expected);
    }
);

both_backends!(
    queue_sorted_by_priority,
    settings = AppSettings { queue_sort: Some(QueueSort::Priority), ..Default::default() },
    |app| {
        // Every inquiry has Rocket.Chat's default priority weight, so arrival decides.
        let rooms = mixed_queue(&app).await;
        let agent = available_agent(&app, "agent").await;
        assert_eq!(queue_order(&app, &agent).await, rooms);
    }
);

// ---- Queue totals come from counters and stay exact ----

/// (total, number of items) of inquiries.list with the given query.
async fn listed(app: &TestApp, query: &str) -> (Value, usize) {
    let (status, body) = app.get(&format!("{LIST}?count=100{query}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    (body["total"].clone(), body["inquiries"].as_array().unwrap().len())
}

both_backends!(queue_totals_stay_exact_through_every_transition, |app| {
    let agent = available_agent(&app, "agent").await;
    let sales = department(&app, "Sales", &[&agent]).await;
    let support = department(&app, "Support", &[&agent]).await;
    let (_, sales_a) = visitor_with_room(&app, "a", Some(&sales)).await;
    let (_, _sales_b) = visitor_with_room(&app, "b", Some(&sales)).await;
    let (_, unassigned) = visitor_with_room(&app, "c", None).await;
    assert_eq!(listed(&app, "").await, (json!(3), 3));
    assert_eq!(listed(&app, &format!("&department={sales}")).await, (json!(2), 2));

    // Taken: leaves the queue. Returned into another department: counted there.
    app.post(
        "/api/v1/livechat/inquiries.take",
        Some(&agent),
        json!({"inquiryId": inquiry_of(&app, &sales_a).await["_id"]}),
    )
    .await;
    assert_eq!(listed(&app, "").await, (json!(2), 2));
    assert_eq!(
        app.post(
            "/api/v1/livechat/inquiries.returnAsInquiry",
            Some(&app.admin),
            json!({"roomId": sales_a, "departmentId": support}),
        )
        .await,
        (StatusCode::OK, json!({"result": true, "success": true}))
    );
    assert_eq!(listed(&app, &format!("&department={sales}")).await, (json!(1), 1));
    assert_eq!(listed(&app, &format!("&department={support}")).await, (json!(1), 1));

    // The agent's own queue total agrees.
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&agent)).await;
    assert_eq!((queue["total"].clone(), queue["count"].clone()), (json!(3), json!(3)));

    // Closed by the visitor: gone. Department deleted: its queue moves to "no department".
    app.post("/api/v1/livechat/room.close", None, json!({"rid": unassigned, "token": "c"})).await;
    assert_eq!(listed(&app, "").await, (json!(2), 2));
    crate::settings::allow_department_removal(&app).await;
    assert_eq!(app.delete(&format!("/api/v1/livechat/department/{support}"), Some(&app.admin)).await.0, StatusCode::OK);
    assert_eq!(listed(&app, "").await, (json!(2), 2));
    assert_eq!(listed(&app, &format!("&department={sales}")).await, (json!(1), 1));
    let (_, queue) = app.get("/api/v1/livechat/inquiries.queuedForUser", Some(&agent)).await;
    assert_eq!((queue["total"].clone(), queue["count"].clone()), (json!(2), json!(2)));
});
