//! Omnichannel priorities: the five default levels, renaming and resetting them,
//! `inquiry.prioritize` on queued and served rooms, and the queue's order under each
//! sorting mechanism with a mixed queue, read page by page and taken by routing.

use std::sync::Arc;

use livechat_server::config::AppSettings;
use livechat_server::domain::routing::RoutingMethod;
use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};
use crate::lifecycle::{available_agent, department, inquiry_of, visitor_with_room};

const PRIORITIES: &str = "/api/v1/livechat/priorities";
const RESET: &str = "/api/v1/livechat/priorities.reset";
const PRIORITIZE: &str = "/api/v1/livechat/inquiry.prioritize";

/// The five priorities, highest first.
async fn priorities(app: &TestApp) -> Vec<Value> {
    let (status, body) = app.get(&format!("{PRIORITIES}?sort={{\"sortItem\":1}}"), Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["priorities"].as_array().unwrap().clone()
}

/// The id of the priority of weight `sort_item` (1 the highest).
pub async fn priority_id(app: &TestApp, sort_item: i64) -> String {
    priorities(app).await[sort_item as usize - 1]["_id"].as_str().unwrap().to_owned()
}

async fn rename(app: &TestApp, id: &str, name: &str) -> (StatusCode, Value) {
    app.put(&format!("{PRIORITIES}/{id}"), Some(&app.admin), json!({"name": name})).await
}

async fn prioritize(app: &TestApp, session: Option<&Session>, room_id: &str, priority: &str) -> (StatusCode, Value) {
    app.put(PRIORITIZE, session, json!({"roomId": room_id, "priority": priority})).await
}

fn done() -> (StatusCode, Value) {
    (StatusCode::OK, json!({"success": true}))
}

/// The room as the manager's room list shows it.
async fn listed_room(app: &TestApp, room_id: &str) -> Value {
    let (status, body) = app.get("/api/v1/livechat/rooms?count=100", Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    body["rooms"].as_array().unwrap().iter().find(|room| room["_id"] == json!(room_id)).unwrap().clone()
}

both_backends!(the_five_default_priorities_are_listed_by_name_then_level, |app| {
    let (status, body) = app.get(PRIORITIES, Some(&app.admin)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let listed = body["priorities"].as_array().unwrap();
    let expected: Vec<Value> = ["Lowest", "Low", "Medium", "High", "Highest"]
        .into_iter()
        .zip([5, 4, 3, 2, 1])
        .zip(listed)
        .map(|((i18n, sort_item), priority)| {
            json!({"_id": priority["_id"], "i18n": i18n, "sortItem": sort_item, "dirty": false,
                   "_updatedAt": priority["_updatedAt"]})
        })
        .collect();
    assert_eq!(body, json!({"priorities": expected, "count": 5, "offset": 0, "total": 5, "success": true}));
    assert!(listed.iter().all(|priority| priority["_updatedAt"].as_str().is_some_and(|at| at.ends_with('Z'))));
    // Each installation gives its levels ids of their own.
    let ids: std::collections::BTreeSet<_> = listed.iter().filter_map(|priority| priority["_id"].as_str()).collect();
    assert_eq!(ids.len(), 5);

    // An agent reads them too (view-l-room).
    let agent = available_agent(&app, "agent").await;
    assert_eq!(app.get(PRIORITIES, Some(&agent)).await, (StatusCode::OK, body.clone()));

    // Paged and sorted.
    let by_level = priorities(&app).await;
    assert_eq!(
        by_level.iter().map(|priority| priority["i18n"].clone()).collect::<Vec<_>>(),
        [json!("Highest"), json!("High"), json!("Medium"), json!("Low"), json!("Lowest")]
    );
    let (status, page) =
        app.get(&format!("{PRIORITIES}?sort={{\"sortItem\":-1}}&count=2&offset=1"), Some(&agent)).await;
    assert_eq!(
        (status, page),
        (
            StatusCode::OK,
            json!({"priorities": [by_level[3], by_level[2]], "count": 2, "offset": 1, "total": 5, "success": true})
        )
    );

    // `text` finds names in any case; the default levels have none until renamed.
    assert_eq!(
        app.get(&format!("{PRIORITIES}?text=high"), Some(&agent)).await,
        (StatusCode::OK, json!({"priorities": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    let urgent_id = by_level[0]["_id"].as_str().unwrap();
    assert_eq!(rename(&app, urgent_id, "Very Urgent").await, done());
    assert_eq!(rename(&app, by_level[1]["_id"].as_str().unwrap(), "Urgent_ish").await, done());
    let (status, found) = app.get(&format!("{PRIORITIES}?text=URGENT"), Some(&agent)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        found["priorities"].as_array().unwrap().iter().map(|priority| priority["name"].clone()).collect::<Vec<_>>(),
        [json!("Urgent_ish"), json!("Very Urgent")]
    );
    // LIKE wildcards are text: `_` matches only itself.
    let (_, underscored) = app.get(&format!("{PRIORITIES}?text=t_i"), Some(&agent)).await;
    assert_eq!(underscored["total"], json!(1));
    let (_, wildcard) = app.get(&format!("{PRIORITIES}?text=%25"), Some(&agent)).await;
    assert_eq!(wildcard["total"], json!(0));
    // Unnamed levels sort before named ones.
    let (_, by_name) = app.get(PRIORITIES, Some(&agent)).await;
    assert_eq!(
        by_name["priorities"].as_array().unwrap().iter().map(|priority| priority["i18n"].clone()).collect::<Vec<_>>(),
        [json!("Lowest"), json!("Low"), json!("Medium"), json!("High"), json!("Highest")]
    );
    let (_, by_name_desc) = app.get(&format!("{PRIORITIES}?sort={{\"name\":-1}}"), Some(&agent)).await;
    assert_eq!(by_name_desc["priorities"][0]["name"], json!("Very Urgent"));
});

both_backends!(listing_priorities_refuses_bad_input, |app| {
    assert_eq!(app.get(PRIORITIES, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(app.get(PRIORITIES, Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.get(&format!("{PRIORITIES}?sort={{\"secret\":1}}"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"secret\":1}\""))
    );
    assert_eq!(
        app.get(&format!("{PRIORITIES}?colour=red"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        app.get(&format!("{PRIORITIES}?text={}", "x".repeat(257)), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/text must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.get(&format!("{PRIORITIES}?offset=-1"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("BSON field 'skip' value must be >= 0, actual value '-1'"))
    );
});

both_backends!(one_priority_is_read_by_id, |app| {
    let highest = priorities(&app).await[0].clone();
    let id = highest["_id"].as_str().unwrap();
    let agent = available_agent(&app, "agent").await;
    assert_eq!(
        app.get(&format!("{PRIORITIES}/{id}"), Some(&agent)).await,
        (
            StatusCode::OK,
            json!({"_id": id, "i18n": "Highest", "sortItem": 1, "dirty": false, "_updatedAt": highest["_updatedAt"],
                   "success": true})
        )
    );
    assert_eq!(
        app.get(&format!("{PRIORITIES}/123"), Some(&agent)).await,
        (StatusCode::NOT_FOUND, bare("Priority with id 123 not found"))
    );
    assert_eq!(app.get(&format!("{PRIORITIES}/{id}"), None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(app.get(&format!("{PRIORITIES}/{id}"), Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.get(&format!("{PRIORITIES}/{}", "x".repeat(257)), Some(&agent)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/priority_id must NOT have more than 256 characters"))
    );
});

both_backends!(a_priority_is_renamed_then_reset, clock = START, |app| {
    let [first, second] = [priority_id(&app, 1).await, priority_id(&app, 2).await];
    // Trimmed, and dirty from then on.
    assert_eq!(rename(&app, &first, "  Urgent ").await, done());
    assert_eq!(
        app.get(&format!("{PRIORITIES}/{first}"), Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"_id": first, "i18n": "Highest", "sortItem": 1, "name": "Urgent", "dirty": true,
                   "_updatedAt": "2026-01-02T03:04:05.678Z", "success": true})
        )
    );
    // Renaming to its own name again, in another case, is no clash.
    assert_eq!(rename(&app, &first, "URGENT").await, done());
    // Names are unique whatever their case.
    assert_eq!(rename(&app, &second, "urgent").await, (StatusCode::BAD_REQUEST, bare("error-duplicate-priority-name")));
    assert_eq!(
        rename(&app, &second, " Urgent").await,
        (StatusCode::BAD_REQUEST, bare("error-duplicate-priority-name"))
    );
    assert_eq!(
        app.get(&format!("{PRIORITIES}/{second}"), Some(&app.admin)).await.1["dirty"],
        json!(false),
        "a refused rename changes nothing"
    );

    // `reset: true` gives the level back its default name; the name is free again.
    app.clock.advance(1_000);
    assert_eq!(app.put(&format!("{PRIORITIES}/{first}"), Some(&app.admin), json!({"reset": true})).await, done());
    assert_eq!(
        app.get(&format!("{PRIORITIES}/{first}"), Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"_id": first, "i18n": "Highest", "sortItem": 1, "dirty": false,
                   "_updatedAt": "2026-01-02T03:04:06.678Z", "success": true})
        )
    );
    assert_eq!(rename(&app, &second, "Urgent").await, done());
    // A blank name is kept as Rocket.Chat keeps it, empty, and clashes with nothing.
    let third = priority_id(&app, 3).await;
    assert_eq!(rename(&app, &third, "   ").await, done());
    assert_eq!(rename(&app, &first, "").await, done());
    let (_, blank) = app.get(&format!("{PRIORITIES}/{third}"), Some(&app.admin)).await;
    assert_eq!((&blank["name"], &blank["dirty"]), (&json!(""), &json!(true)));
    // `reset: false` only marks the level renamed, as Rocket.Chat does.
    assert_eq!(app.put(&format!("{PRIORITIES}/{first}"), Some(&app.admin), json!({"reset": false})).await, done());
    assert_eq!(app.get(&format!("{PRIORITIES}/{first}"), Some(&app.admin)).await.1["dirty"], json!(true));
});

both_backends!(renaming_a_priority_refuses_bad_input, |app| {
    let id = priority_id(&app, 3).await;
    let path = format!("{PRIORITIES}/{id}");
    assert_eq!(app.put(&path, None, json!({"name": "x"})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Reading priorities (view-l-room) is not managing them.
    let agent = available_agent(&app, "agent").await;
    assert_eq!(app.put(&path, Some(&agent), json!({"name": "x"})).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.put(&format!("{PRIORITIES}/123"), Some(&app.admin), json!({"name": "x"})).await,
        (StatusCode::BAD_REQUEST, bare("error-unable-to-update-priority"))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), json!({"name": "x", "reset": true})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), json!({"name": {"name": "x"}})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/name must be string"))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), json!({"reset": "yes"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'name'"))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'name'"))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), json!({"name": "x".repeat(257)})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/name must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.send_raw_json(Method::PUT, &path, &app.admin, "{\"name\":").await,
        (
            StatusCode::BAD_REQUEST,
            coded("error-invalid-json", "Body is not valid JSON: EOF while parsing a value at line 1 column 8")
        )
    );
    // Nothing was changed by the refusals.
    assert_eq!(app.get(&path, Some(&app.admin)).await.1["dirty"], json!(false));
});

both_backends!(priorities_are_reset_together, |app| {
    assert_eq!(app.get(RESET, Some(&app.admin)).await, (StatusCode::OK, json!({"reset": false, "success": true})));
    // Nothing to reset: Rocket.Chat's bare failure.
    assert_eq!(
        app.post(RESET, Some(&app.admin), json!({})).await,
        (StatusCode::BAD_REQUEST, json!({"success": false}))
    );

    let [first, second] = [priority_id(&app, 1).await, priority_id(&app, 5).await];
    assert_eq!(rename(&app, &first, "Urgent").await, done());
    assert_eq!(rename(&app, &second, "Whenever").await, done());
    assert_eq!(app.get(RESET, Some(&app.admin)).await, (StatusCode::OK, json!({"reset": true, "success": true})));
    assert_eq!(app.post(RESET, Some(&app.admin), json!({})).await, done());
    assert_eq!(app.get(RESET, Some(&app.admin)).await, (StatusCode::OK, json!({"reset": false, "success": true})));
    for priority in priorities(&app).await {
        assert_eq!((priority.get("name"), &priority["dirty"]), (None, &json!(false)), "{priority}");
    }
    // The names are free again.
    assert_eq!(rename(&app, &second, "Urgent").await, done());

    assert_eq!(app.get(RESET, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(RESET, None, json!({})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let agent = available_agent(&app, "agent").await;
    assert_eq!(app.get(RESET, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.post(RESET, Some(&agent), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
});

both_backends!(concurrent_renames_to_one_name_let_exactly_one_win, |app| {
    let app = Arc::new(app);
    let ids: Vec<String> = priorities(&app).await.iter().map(|p| p["_id"].as_str().unwrap().to_owned()).collect();
    for round in 0..4 {
        let name = format!("Urgent {round}");
        let renames = ids.iter().enumerate().map(|(index, id)| {
            let (app, id) = (app.clone(), id.clone());
            // Each asks in its own case: the names clash whatever the case.
            let name = if index % 2 == 0 { name.to_uppercase() } else { name.to_lowercase() };
            tokio::spawn(async move { rename(&app, &id, &name).await })
        });
        let answers: Vec<_> = futures::future::join_all(renames).await.into_iter().map(Result::unwrap).collect();
        let won = answers.iter().filter(|answer| **answer == done()).count();
        let refused = answers
            .iter()
            .filter(|answer| **answer == (StatusCode::BAD_REQUEST, bare("error-duplicate-priority-name")))
            .count();
        assert_eq!((won, refused), (1, ids.len() - 1), "{answers:?}");
        let (_, found) = app.get(&format!("{PRIORITIES}?text={}", name.replace(' ', "%20")), Some(&app.admin)).await;
        assert_eq!(found["total"], json!(1), "{found}");
        assert_eq!(app.post(RESET, Some(&app.admin), json!({})).await, done());
    }
});

both_backends!(prioritizing_a_queued_room_sets_its_weight_and_writes_its_history, clock = START, |app| {
    let agent = available_agent(&app, "prio.agent").await;
    let (token, room_id) = visitor_with_room(&app, "visitor", None).await;
    let high = priorities(&app).await[1].clone();
    let high_id = high["_id"].as_str().unwrap();

    app.clock.advance(1_000);
    assert_eq!(prioritize(&app, Some(&agent), &room_id, high_id).await, done());
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!(
        (&inquiry["priorityId"], &inquiry["priorityWeight"], &inquiry["_updatedAt"]),
        (&json!(high_id), &json!(2), &json!("2026-01-02T03:04:06.678Z"))
    );
    let room = listed_room(&app, &room_id).await;
    assert_eq!((&room["priorityId"], &room["priorityWeight"]), (&json!(high_id), &json!(2)));

    // By name, once the level has one: the weight follows the level.
    assert_eq!(rename(&app, priorities(&app).await[4]["_id"].as_str().unwrap(), "Someday").await, done());
    app.clock.advance(1_000);
    assert_eq!(prioritize(&app, Some(&app.admin), &room_id, "Someday").await, done());
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!(inquiry["priorityWeight"], json!(5));

    // The room's history records who set which level, newest first.
    let (status, history) = app.get(&format!("/api/v1/livechat/messages.history/{room_id}?token={token}"), None).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let messages = history["messages"].as_array().unwrap();
    let by_admin = &messages[0];
    let lowest =
        app.get(&format!("{PRIORITIES}/{}", inquiry["priorityId"].as_str().unwrap()), Some(&app.admin)).await.1;
    assert_eq!(
        by_admin,
        &json!({
            "_id": by_admin["_id"], "rid": room_id, "msg": "", "t": "omnichannel_priority_change_history",
            "ts": "2026-01-02T03:04:07.678Z",
            "u": {"_id": app.admin.user_id, "username": "admin", "name": by_admin["u"]["name"]},
            "_updatedAt": "2026-01-02T03:04:07.678Z", "urls": [], "mentions": [], "channels": [],
            "priorityData": {
                "definedBy": {"_id": app.admin.user_id, "username": "admin"},
                "priority": {"_id": lowest["_id"], "i18n": "Lowest", "sortItem": 5, "name": "Someday", "dirty": true,
                             "_updatedAt": lowest["_updatedAt"]},
            },
        })
    );
    assert_eq!(
        messages[1]["priorityData"],
        json!({
            "definedBy": {"_id": agent.user_id, "username": "prio.agent"},
            "priority": {"_id": high_id, "i18n": "High", "sortItem": 2, "dirty": false, "_updatedAt": high["_updatedAt"]},
        })
    );
    assert_eq!(messages[1]["u"], json!({"_id": agent.user_id, "username": "prio.agent", "name": "prio.agent"}));
});

both_backends!(prioritizing_a_served_room_keeps_it_served, |app| {
    let agent = available_agent(&app, "agent").await;
    let (_, room_id) = visitor_with_room(&app, "visitor", None).await;
    let inquiry_id = inquiry_of(&app, &room_id).await["_id"].clone();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!((status, body), done());
    let highest = priority_id(&app, 1).await;
    assert_eq!(prioritize(&app, Some(&agent), &room_id, &highest).await, done());
    let inquiry = inquiry_of(&app, &room_id).await;
    assert_eq!(
        (&inquiry["status"], &inquiry["priorityId"], &inquiry["priorityWeight"]),
        (&json!("taken"), &json!(highest), &json!(1))
    );
    let room = listed_room(&app, &room_id).await;
    assert_eq!(
        (&room["servedBy"]["_id"], &room["priorityId"], &room["priorityWeight"]),
        (&json!(agent.user_id), &json!(highest), &json!(1))
    );

    // Closed, the room has no inquiry left to prioritize.
    let (status, body) = app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": room_id})).await;
    assert_eq!((status, body), done());
    assert_eq!(
        prioritize(&app, Some(&agent), &room_id, &highest).await,
        (StatusCode::BAD_REQUEST, bare("error-invalid-inquiry"))
    );
});

both_backends!(prioritize_refuses_bad_input_and_rooms_out_of_reach, |app| {
    let insider = available_agent(&app, "insider").await;
    let outsider = available_agent(&app, "outsider").await;
    let sales = department(&app, "Sales", &[&insider]).await;
    let (_, room_id) = visitor_with_room(&app, "visitor", Some(&sales)).await;
    let medium = priority_id(&app, 3).await;

    assert_eq!(prioritize(&app, None, &room_id, &medium).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(prioritize(&app, Some(&plain), &room_id, &medium).await, (StatusCode::FORBIDDEN, no_permission()));
    // An agent of another department does not reach the room, whatever the priority.
    assert_eq!(
        prioritize(&app, Some(&outsider), &room_id, &medium).await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );
    assert_eq!(
        prioritize(&app, Some(&outsider), &room_id, "nope").await,
        (StatusCode::FORBIDDEN, bare("unauthorized"))
    );

    let required = (StatusCode::BAD_REQUEST, bare("The 'roomId' param is required"));
    assert_eq!(app.put(PRIORITIZE, Some(&insider), json!({"priority": medium})).await, required);
    assert_eq!(app.put(PRIORITIZE, Some(&insider), json!({"roomId": "", "priority": medium})).await, required);
    assert_eq!(app.put(PRIORITIZE, Some(&insider), json!({"roomId": null, "priority": medium})).await, required);
    assert_eq!(
        app.put(PRIORITIZE, Some(&insider), json!({"roomId": 7, "priority": medium})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must be string"))
    );
    assert_eq!(
        app.put(PRIORITIZE, Some(&insider), json!({"roomId": "x".repeat(257), "priority": medium})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/roomId must NOT have more than 256 characters"))
    );
    assert_eq!(
        app.put(PRIORITIZE, Some(&insider), json!({"roomId": room_id, "priority": 3})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/priority must be string"))
    );
    // The inquiry is checked before the priority, as in Rocket.Chat.
    let invalid_inquiry = (StatusCode::BAD_REQUEST, bare("error-invalid-inquiry"));
    assert_eq!(prioritize(&app, Some(&insider), "no-such-room", &medium).await, invalid_inquiry);
    assert_eq!(prioritize(&app, Some(&insider), "no-such-room", "nope").await, invalid_inquiry);
    let invalid_priority = (StatusCode::BAD_REQUEST, bare("error-invalid-priority"));
    assert_eq!(prioritize(&app, Some(&insider), &room_id, "nope").await, invalid_priority);
    assert_eq!(app.put(PRIORITIZE, Some(&insider), json!({"roomId": room_id})).await, invalid_priority);
    // The default levels have no name to be found by.
    assert_eq!(prioritize(&app, Some(&insider), &room_id, "Medium").await, invalid_priority);
    assert_eq!(inquiry_of(&app, &room_id).await.get("priorityId"), None, "no refusal changed the inquiry");

    assert_eq!(prioritize(&app, Some(&insider), &room_id, &medium).await, done());
    // A manager (manage-livechat-priorities) reaches every room.
    let manager = app.user_with_roles("manager", &["user", "livechat-manager"]).await;
    assert_eq!(prioritize(&app, Some(&manager), &room_id, &medium).await, done());
});

/// Every room id of the agent's queue, read two at a time, with the total checked.
async fn queue_order(app: &TestApp, agent: &Session) -> Vec<String> {
    let mut rooms = Vec::new();
    loop {
        let path = format!("/api/v1/livechat/inquiries.queuedForUser?count=2&offset={}", rooms.len());
        let (status, page) = app.get(&path, Some(agent)).await;
        assert_eq!(status, StatusCode::OK, "{page}");
        let items = page["inquiries"].as_array().unwrap();
        if items.is_empty() {
            assert_eq!(page["total"], json!(rooms.len()));
            return rooms;
        }
        rooms.extend(items.iter().map(|item| item["rid"].as_str().unwrap().to_owned()));
    }
}

/// A queued room of the mixed queue, with what orders it.
#[derive(Clone)]
struct Queued {
    room_id: String,
    weight: i64,
    sla_minutes: i64,
}

/// Ten rooms queued one second apart, with a priority, an SLA, both or neither, in an
/// order where arrival, priority and SLA all disagree and levels and SLAs repeat (ties
/// go by arrival). The first room is prioritized last, so its `_updatedAt` is the
/// newest yet it stays first by arrival.
async fn mixed_queue(app: &TestApp) -> Vec<Queued> {
    let mut slas = Vec::new();
    for (name, minutes) in [("Slow", 60), ("Fast", 5), ("Medium", 30)] {
        let (status, body) = app
            .post("/api/v1/livechat/sla", Some(&app.admin), json!({"name": name, "dueTimeInMinutes": minutes}))
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        slas.push((body["sla"]["_id"].as_str().unwrap().to_owned(), minutes));
    }
    let levels = priorities(app).await;
    let plan: [(Option<usize>, Option<usize>); 10] = [
        (Some(4), None),
        (None, Some(1)),
        (Some(0), Some(0)),
        (None, None),
        (Some(2), Some(2)),
        (Some(0), None),
        (None, Some(0)),
        (Some(4), Some(1)),
        (Some(1), None),
        (None, None),
    ];
    let mut queue = Vec::new();
    for (index, (level, sla)) in plan.into_iter().enumerate() {
        let (_, room_id) = visitor_with_room(app, &format!("q{index}"), None).await;
        app.clock.advance(1_000);
        if let Some(sla) = sla {
            let body = json!({"roomId": room_id, "sla": slas[sla].0});
            assert_eq!(app.put("/api/v1/livechat/inquiry.setSLA", Some(&app.admin), body).await, done());
        }
        let weight = match level {
            Some(level) if index > 0 => {
                assert_eq!(
                    prioritize(app, Some(&app.admin), &room_id, levels[level]["_id"].as_str().unwrap()).await,
                    done()
                );
                levels[level]["sortItem"].as_i64().unwrap()
            }
            Some(level) => levels[level]["sortItem"].as_i64().unwrap(),
            None => 99,
        };
        queue.push(Queued { room_id, weight, sla_minutes: sla.map_or(9_999_999, |sla| slas[sla].1) });
    }
    let first = levels[plan[0].0.unwrap()]["_id"].as_str().unwrap();
    assert_eq!(prioritize(app, Some(&app.admin), &queue[0].room_id, first).await, done());
    queue
}

fn ids_by(queue: &[Queued], key: impl Fn(&Queued) -> i64) -> Vec<String> {
    // A stable sort: equal keys keep their arrival order.
    let mut sorted: Vec<&Queued> = queue.iter().collect();
    sorted.sort_by_key(|queued| key(queued));
    sorted.into_iter().map(|queued| queued.room_id.clone()).collect()
}

async fn sort_queue_by(app: &TestApp, mechanism: &str) {
    let (status, body) =
        app.post("/api/v1/settings/Omnichannel_sorting_mechanism", Some(&app.admin), json!({"value": mechanism})).await;
    assert_eq!((status, body), done());
}

both_backends!(the_queue_pages_in_the_order_of_each_sorting_mechanism, clock = START, |app| {
    let queue = mixed_queue(&app).await;
    let agent = available_agent(&app, "agent").await;
    let arrival: Vec<String> = queue.iter().map(|queued| queued.room_id.clone()).collect();

    sort_queue_by(&app, "Priority").await;
    let by_priority = ids_by(&queue, |queued| queued.weight);
    assert_ne!(by_priority, arrival);
    assert_eq!(queue_order(&app, &agent).await, by_priority);

    sort_queue_by(&app, "SLAs").await;
    let by_sla = ids_by(&queue, |queued| queued.sla_minutes);
    assert_ne!(by_sla, by_priority);
    assert_eq!(queue_order(&app, &agent).await, by_sla);

    sort_queue_by(&app, "Timestamp").await;
    assert_eq!(queue_order(&app, &agent).await, arrival);

    // A room returned to the queue waits by its new arrival, its priority kept.
    sort_queue_by(&app, "Priority").await;
    let returned = &queue[3];
    let inquiry_id = inquiry_of(&app, &returned.room_id).await["_id"].clone();
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.take", Some(&agent), json!({"inquiryId": inquiry_id})).await;
    assert_eq!((status, body), done());
    let highest = priority_id(&app, 1).await;
    assert_eq!(prioritize(&app, Some(&agent), &returned.room_id, &highest).await, done());
    app.clock.advance(1_000);
    let (status, body) =
        app.post("/api/v1/livechat/inquiries.returnAsInquiry", Some(&agent), json!({"roomId": returned.room_id})).await;
    assert_eq!((status, body), (StatusCode::OK, json!({"result": true, "success": true})));
    // It waits behind the other Highest rooms, which arrived before it came back.
    let mut requeued: Vec<Queued> = queue.iter().filter(|queued| queued.room_id != returned.room_id).cloned().collect();
    requeued.push(Queued { weight: 1, ..returned.clone() });
    assert_eq!(queue_order(&app, &agent).await, ids_by(&requeued, |queued| queued.weight));
});

both_backends!(
    routing_takes_the_queue_in_priority_order,
    settings = AppSettings { routing_method: Some(RoutingMethod::AutoSelection), ..AppSettings::default() },
    clock = START,
    |app| {
        let agent = app.user_with_roles("agent", &["user", "livechat-agent"]).await;
        let (status, body) =
            app.post("/api/v1/settings/Livechat_maximum_chats_per_agent", Some(&app.admin), json!({"value": 1})).await;
        assert_eq!((status, body), done());
        sort_queue_by(&app, "Priority").await;
        // Queued while no agent is available.
        let queue = mixed_queue(&app).await;
        let (status, body) =
            app.post("/api/v1/livechat/agent.status", Some(&agent), json!({"status": "available"})).await;
        assert_eq!(status, StatusCode::OK, "{body}");
        let mut served = Vec::new();
        for _ in 0..queue.len() {
            let (status, page) = app.get("/api/v1/livechat/rooms?open=true&count=100", Some(&app.admin)).await;
            assert_eq!(status, StatusCode::OK);
            let serving: Vec<String> = page["rooms"]
                .as_array()
                .unwrap()
                .iter()
                .filter(|room| room["servedBy"]["_id"] == json!(agent.user_id))
                .map(|room| room["_id"].as_str().unwrap().to_owned())
                .collect();
            assert_eq!(serving.len(), 1, "one chat at a time: {serving:?}");
            served.push(serving[0].clone());
            let (status, body) =
                app.post("/api/v1/livechat/room.closeByUser", Some(&agent), json!({"rid": serving[0]})).await;
            assert_eq!((status, body), done());
        }
        assert_eq!(served, ids_by(&queue, |queued| queued.weight));
    }
);
