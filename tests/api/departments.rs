//! Omnichannel agents and managers, agent status, departments and their agents.

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};

use crate::envelopes::{bare, coded, invalid_params, no_permission, not_logged_in};
use crate::harness::{START, Session, TestApp, both_backends};

fn bad_json() -> Value {
    coded("error-invalid-json", "Body is not valid JSON: EOF while parsing an object at line 1 column 1")
}

/// A user made by `user_with_roles`, as the livechat user routes show it.
fn livechat_user(session: &Session, username: &str, status_livechat: &str, departments: &[&str]) -> Value {
    json!({
        "_id": session.user_id,
        "username": username,
        "name": username,
        "status": "offline",
        "statusLivechat": status_livechat,
        "emails": [{"address": format!("{username}@example.com"), "verified": false}],
        "departments": departments,
    })
}

fn department_body(name: &str, agents: Value) -> Value {
    json!({
        "department": {
            "enabled": true, "showOnRegistration": true, "name": name,
            "email": "support@example.com", "showOnOfflineForm": false, "description": "first line",
        },
        "agents": agents,
    })
}

/// Creates a department through the API and returns its id.
async fn create_department(app: &TestApp, name: &str, agents: Value) -> String {
    let (status, body) = app.post("/api/v1/livechat/department", Some(&app.admin), department_body(name, agents)).await;
    assert_eq!(status, StatusCode::OK, "create department {name}: {body}");
    body["department"]["_id"].as_str().unwrap().to_owned()
}

both_backends!(agents_are_added_listed_read_and_removed, |app| {
    let jane = app.user_with_roles("jane", &["user"]).await;
    assert_eq!(
        app.post("/api/v1/livechat/users/agent", Some(&app.admin), json!({"username": "JANE"})).await,
        (
            StatusCode::OK,
            json!({"user": {
                "_id": jane.user_id, "username": "jane", "name": "jane", "status": "offline",
                "statusLivechat": "not-available", "emails": [{"address": "jane@example.com", "verified": false}],
            }, "success": true})
        )
    );
    // Adding an agent twice is fine.
    assert_eq!(
        app.post("/api/v1/livechat/users/agent", Some(&app.admin), json!({"username": "jane"})).await.0,
        StatusCode::OK
    );
    let department_id = create_department(&app, "Sales", json!([{"agentId": jane.user_id}])).await;

    assert_eq!(
        app.get("/api/v1/livechat/users/agent", Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"users": [livechat_user(&jane, "jane", "not-available", &[&department_id])],
                   "count": 1, "offset": 0, "total": 1, "success": true})
        )
    );
    let path = format!("/api/v1/livechat/users/agent/{}", jane.user_id);
    assert_eq!(
        app.get(&path, Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"user": livechat_user(&jane, "jane", "not-available", &[&department_id]), "success": true})
        )
    );
    // Jane is no manager.
    assert_eq!(
        app.get(&format!("/api/v1/livechat/users/manager/{}", jane.user_id), Some(&app.admin)).await,
        (StatusCode::OK, json!({"user": null, "success": true}))
    );

    assert_eq!(app.delete(&path, Some(&app.admin)).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(app.get(&path, Some(&app.admin)).await, (StatusCode::OK, json!({"user": null, "success": true})));
    // Leaving the role leaves the departments too.
    let (_, department) = app.get(&format!("/api/v1/livechat/department/{department_id}"), Some(&app.admin)).await;
    assert_eq!((department["department"]["numAgents"].clone(), department["agents"].clone()), (json!(0), json!([])));
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "error-removing-agent"}))
    );
});

both_backends!(managers_are_added_and_removed_by_holders_of_manage_managers, |app| {
    let manager = app.user_with_roles("mona", &["livechat-manager"]).await;
    let monitor = app.user_with_roles("milo", &["livechat-monitor"]).await;
    let sam = app.user_with_roles("sam", &["user"]).await;
    // Monitors manage agents but not managers; managers and admins manage managers.
    assert_eq!(
        app.post("/api/v1/livechat/users/manager", Some(&monitor), json!({"username": "sam"})).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    let (status, _) = app.post("/api/v1/livechat/users/manager", Some(&manager), json!({"username": "sam"})).await;
    assert_eq!(status, StatusCode::OK);
    // view-livechat-manager is enough to list them.
    assert_eq!(
        app.get("/api/v1/livechat/users/manager?sort={\"username\":-1}", Some(&monitor)).await,
        (
            StatusCode::OK,
            json!({"users": [
                livechat_user(&sam, "sam", "not-available", &[]),
                livechat_user(&manager, "mona", "not-available", &[]),
            ], "count": 2, "offset": 0, "total": 2, "success": true})
        )
    );
    let path = format!("/api/v1/livechat/users/manager/{}", sam.user_id);
    assert_eq!(app.delete(&path, Some(&monitor)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.delete(&path, Some(&manager)).await, (StatusCode::OK, json!({"success": true})));
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "error-removing-manager"}))
    );
});

both_backends!(livechat_user_list_filters_sorts_and_pages, |app| {
    let bob = app.user_with_roles("bob", &["livechat-agent"]).await;
    let alice = app.user_with_roles("alice", &["livechat-agent"]).await;
    let carol = app.user_with_roles("carol", &["livechat-agent"]).await;
    let list = |query: &'static str| {
        let app = &app;
        async move { app.get(&format!("/api/v1/livechat/users/agent{query}"), Some(&app.admin)).await }
    };
    assert_eq!(
        list("?text=LI").await,
        (
            StatusCode::OK,
            json!({"users": [livechat_user(&alice, "alice", "not-available", &[])], "count": 1, "offset": 0, "total": 1, "success": true})
        )
    );
    assert_eq!(
        list("?sort={\"username\":-1}&count=2").await,
        (
            StatusCode::OK,
            json!({"users": [
                livechat_user(&carol, "carol", "not-available", &[]),
                livechat_user(&bob, "bob", "not-available", &[]),
            ], "count": 2, "offset": 0, "total": 3, "success": true})
        )
    );
    assert_eq!(
        list("?offset=1&count=1").await,
        (
            StatusCode::OK,
            json!({"users": [livechat_user(&bob, "bob", "not-available", &[])], "count": 1, "offset": 1, "total": 3, "success": true})
        )
    );
    // `%` is matched literally.
    assert_eq!(list("?text=%25").await.1["total"], json!(0));
    assert_eq!(
        list("?sort={\"password\":1}").await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"password\":1}\""))
    );
    assert_eq!(list("?count=ten").await, (StatusCode::BAD_REQUEST, invalid_params("/count must be number")));
    // Rocket.Chat's own keys are filters (none of these agents is available); others are refused.
    assert_eq!(
        list("?onlyAvailable=true").await,
        (StatusCode::OK, json!({"users": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    assert_eq!(
        list("?color=red").await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
});

both_backends!(livechat_user_routes_reject_bad_requests, |app| {
    let agent = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    let add = "/api/v1/livechat/users/agent";
    assert_eq!(
        app.post(add, None, json!({"username": "agent.one"})).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(app.get(add, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Permission comes before validation: an agent sending nothing is still 403.
    assert_eq!(app.post(add, Some(&agent), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(add, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(
        app.delete(&format!("{add}/{}", agent.user_id), Some(&agent)).await,
        (StatusCode::FORBIDDEN, no_permission())
    );
    assert_eq!(
        app.post(add, Some(&app.admin), json!({"username": "nobody"})).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-user", "User not found"))
    );
    assert_eq!(
        app.post("/api/v1/livechat/users/monitor", Some(&app.admin), json!({"username": "agent.one"})).await,
        (StatusCode::BAD_REQUEST, bare("Invalid type"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/users/monitor", Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, bare("Invalid type"))
    );
    assert_eq!(
        app.post(add, Some(&app.admin), json!({})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must have required property 'username'"))
    );
    assert_eq!(
        app.post(add, Some(&app.admin), json!({"username": 5})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/username must be string"))
    );
    assert_eq!(
        app.post(add, Some(&app.admin), json!({"username": "agent.one", "role": "admin"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("must NOT have additional properties"))
    );
    assert_eq!(app.send_raw_json(Method::POST, add, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
});

both_backends!(agents_set_and_toggle_their_status, |app| {
    let agent = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    let other = app.user_with_roles("agent.two", &["livechat-agent"]).await;
    let path = "/api/v1/livechat/agent.status";
    assert_eq!(
        app.post(path, Some(&agent), json!({})).await,
        (StatusCode::OK, json!({"status": "available", "success": true}))
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({})).await,
        (StatusCode::OK, json!({"status": "not-available", "success": true}))
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"status": "available"})).await,
        (StatusCode::OK, json!({"status": "available", "success": true}))
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"status": "available"})).await,
        (StatusCode::OK, json!({"status": "available", "success": true}))
    );
    // Another agent's status needs manage-livechat-agents.
    assert_eq!(
        app.post(path, Some(&agent), json!({"agentId": other.user_id})).await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    assert_eq!(
        app.post(path, Some(&app.admin), json!({"agentId": other.user_id, "status": "available"})).await,
        (StatusCode::OK, json!({"status": "available", "success": true}))
    );
    let (_, listed) = app.get("/api/v1/livechat/users/agent", Some(&app.admin)).await;
    assert_eq!(
        listed["users"],
        json!([
            livechat_user(&agent, "agent.one", "available", &[]),
            livechat_user(&other, "agent.two", "available", &[]),
        ])
    );
    // The admin is no agent; who is not an agent is not found, before any permission.
    let not_found = (StatusCode::NOT_FOUND, json!({"success": false, "error": "Agent not found"}));
    assert_eq!(app.post(path, Some(&app.admin), json!({})).await, not_found.clone());
    assert_eq!(app.post(path, Some(&app.admin), json!({"agentId": "nobody"})).await, not_found.clone());
    assert_eq!(app.post(path, Some(&agent), json!({"agentId": "nobody"})).await, not_found.clone());
    assert_eq!(app.post(path, Some(&agent), json!({"agentId": app.admin.user_id})).await, not_found);
    assert_eq!(
        app.post(path, Some(&agent), json!({"status": "away"})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/status must be equal to one of the allowed values"))
    );
    assert_eq!(
        app.post(path, Some(&agent), json!({"status": 1})).await,
        (StatusCode::BAD_REQUEST, invalid_params("/status must be string"))
    );
    assert_eq!(app.send_raw_json(Method::POST, path, &agent, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    assert_eq!(app.post(path, None, json!({})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(app.post(path, Some(&plain), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
});

both_backends!(departments_are_created_read_updated_and_deleted, clock = START, |app| {
    let ann = app.user_with_roles("ann", &["livechat-agent"]).await;
    let ben = app.user_with_roles("ben", &["livechat-agent"]).await;
    let (status, created) = app
        .post(
            "/api/v1/livechat/department",
            Some(&app.admin),
            department_body("Sales", json!([{"agentId": ann.user_id, "username": "ann", "count": 3, "order": 1}])),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let id = created["department"]["_id"].as_str().unwrap().to_owned();
    assert_eq!(id.len(), 17);
    let created_at = "2026-01-02T03:04:05.678Z";
    let sales = json!({
        "_id": id, "enabled": true, "name": "Sales", "description": "first line", "email": "support@example.com",
        "showOnRegistration": true, "showOnOfflineForm": false, "numAgents": 1, "_updatedAt": created_at, "type": "d",
    });
    assert_eq!(
        created,
        json!({"department": sales, "agents": [{"agentId": ann.user_id, "username": "ann", "count": 3, "order": 1}], "success": true})
    );

    let path = format!("/api/v1/livechat/department/{id}");
    let ann_entry = json!({
        "_id": ann.user_id, "agentId": ann.user_id, "departmentId": id, "username": "ann", "count": 3, "order": 1,
        "departmentEnabled": true, "_updatedAt": created_at,
    });
    assert_eq!(
        app.get(&path, Some(&app.admin)).await,
        (StatusCode::OK, json!({"department": sales, "agents": [ann_entry], "success": true}))
    );
    assert_eq!(
        app.get(&format!("{path}?includeAgents=false"), Some(&ann)).await,
        (StatusCode::OK, json!({"department": sales, "success": true}))
    );

    // PUT replaces the agent list: Ann stays with her count, Ben joins.
    app.clock.advance(1_000);
    let (status, updated) = app
        .put(
            &path,
            Some(&app.admin),
            json!({
                "department": {"enabled": false, "showOnRegistration": false, "name": "Sales EU",
                               "email": "eu@example.com", "showOnOfflineForm": true},
                "agents": [{"agentId": ben.user_id, "username": "ben", "order": 0}, {"agentId": ann.user_id}],
            }),
        )
        .await;
    assert_eq!(status, StatusCode::OK);
    let updated_at = "2026-01-02T03:04:06.678Z";
    let sales_eu = json!({
        "_id": id, "enabled": false, "name": "Sales EU", "description": "first line", "email": "eu@example.com",
        "showOnRegistration": false, "showOnOfflineForm": true, "numAgents": 2, "_updatedAt": updated_at, "type": "d",
    });
    let agent_entry = |session: &Session, username: &str, count: i64, order: i64| {
        json!({
            "_id": session.user_id, "agentId": session.user_id, "departmentId": id, "username": username,
            "count": count, "order": order, "departmentEnabled": false, "_updatedAt": updated_at,
        })
    };
    let both_agents = json!([agent_entry(&ben, "ben", 0, 0), agent_entry(&ann, "ann", 3, 1)]);
    assert_eq!(updated, json!({"department": sales_eu, "agents": both_agents, "success": true}));
    assert_eq!(app.get(&path, Some(&app.admin)).await, (StatusCode::OK, updated.clone()));

    // Without `agents` the list is kept; an empty list empties it.
    let mut rename = department_body("Sales", Value::Null);
    rename.as_object_mut().unwrap().remove("agents");
    let (status, renamed) = app.put(&path, Some(&app.admin), rename).await;
    assert_eq!((status, renamed["department"]["numAgents"].clone()), (StatusCode::OK, json!(2)));
    let (status, emptied) = app.put(&path, Some(&app.admin), department_body("Sales", json!([]))).await;
    assert_eq!((status, emptied["agents"].clone()), (StatusCode::OK, json!([])));

    crate::settings::allow_department_removal(&app).await;
    assert_eq!(app.delete(&path, Some(&app.admin)).await, (StatusCode::OK, json!({"success": true})));
    // Rocket.Chat's answers to an unknown id: null on GET, 400 on DELETE.
    assert_eq!(
        app.get(&path, Some(&app.admin)).await,
        (StatusCode::OK, json!({"department": null, "agents": [], "success": true}))
    );
    assert_eq!(
        app.get(&format!("{path}?includeAgents=false"), Some(&app.admin)).await,
        (StatusCode::OK, json!({"department": null, "success": true}))
    );
    assert_eq!(
        app.delete(&path, Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, json!({"success": false, "error": "error-department-not-found"}))
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), department_body("Sales", json!([]))).await,
        (StatusCode::BAD_REQUEST, coded("error-department-not-found", "Department not found"))
    );
});

both_backends!(department_list_filters_sorts_and_pages, |app| {
    // A manager reads every department; an agent without view-livechat-departments
    // reads only those it belongs to (here none), as in Rocket.Chat.
    let manager = app.user_with_roles("manager.one", &["livechat-manager"]).await;
    let agent = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    for name in ["Billing", "Sales", "Support"] {
        create_department(&app, name, json!([])).await;
    }
    let mut disabled = department_body("Archive", json!([]));
    disabled["department"]["enabled"] = json!(false);
    assert_eq!(app.post("/api/v1/livechat/department", Some(&app.admin), disabled).await.0, StatusCode::OK);

    let names = |body: &Value| -> Vec<String> {
        body["departments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect()
    };
    let (status, all) = app.get("/api/v1/livechat/department", Some(&manager)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(names(&all), ["Archive", "Billing", "Sales", "Support"]);
    assert_eq!((all["count"].clone(), all["offset"].clone(), all["total"].clone()), (json!(4), json!(0), json!(4)));
    assert_eq!(all["success"], json!(true));

    let (_, found) = app.get("/api/v1/livechat/department?text=s&sort={\"name\":-1}", Some(&manager)).await;
    assert_eq!(names(&found), ["Support", "Sales"]);
    let (_, enabled) = app.get("/api/v1/livechat/department?enabled=false", Some(&manager)).await;
    assert_eq!((names(&enabled), enabled["total"].clone()), (vec!["Archive".to_owned()], json!(1)));
    let (_, paged) = app.get("/api/v1/livechat/department?offset=1&count=2", Some(&manager)).await;
    assert_eq!(
        (names(&paged), paged["count"].clone(), paged["offset"].clone(), paged["total"].clone()),
        (vec!["Billing".to_owned(), "Sales".to_owned()], json!(2), json!(1), json!(4))
    );

    assert_eq!(
        app.get("/api/v1/livechat/department?enabled=maybe", Some(&manager)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/enabled must be boolean"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/department?sort={\"email\":1}", Some(&manager)).await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-sort", "Invalid sort parameter provided: \"{\"email\":1}\""))
    );
    assert_eq!(
        app.get("/api/v1/livechat/department?offset=-1", Some(&manager)).await,
        (StatusCode::BAD_REQUEST, bare("BSON field 'skip' value must be >= 0, actual value '-1'"))
    );
    assert_eq!(
        app.get("/api/v1/livechat/department", Some(&agent)).await,
        (StatusCode::OK, json!({"departments": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    assert_eq!(app.get("/api/v1/livechat/department", None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    let plain = app.user_with_roles("plain", &["user"]).await;
    assert_eq!(app.get("/api/v1/livechat/department", Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));
});

both_backends!(department_changes_reject_bad_requests, |app| {
    let agent = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let id = create_department(&app, "Sales", json!([])).await;
    let create = "/api/v1/livechat/department";
    let path = format!("{create}/{id}");

    assert_eq!(
        app.post(create, None, department_body("X", json!([]))).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(
        app.put(&path, None, department_body("X", json!([]))).await,
        (StatusCode::UNAUTHORIZED, not_logged_in())
    );
    assert_eq!(app.delete(&path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    // Agents may read departments but not change them, whatever they send.
    assert_eq!(app.post(create, Some(&agent), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.put(&path, Some(&agent), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.delete(&path, Some(&agent)).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(&path, Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));

    for (body, message) in [
        (json!({}), "must have required property 'department'"),
        (
            json!({"department": {"enabled": true, "showOnRegistration": true, "email": "", "showOnOfflineForm": true}}),
            "must have required property 'name'",
        ),
        (json!({"department": "Sales"}), "/department must be object"),
        (
            json!({"department": {"enabled": "yes", "showOnRegistration": true, "name": "X", "email": "", "showOnOfflineForm": true}}),
            "/department/enabled must be boolean",
        ),
        (
            json!({"department": {"enabled": true, "showOnRegistration": true, "name": 7, "email": "", "showOnOfflineForm": true}}),
            "/department/name must be string",
        ),
        (department_body(" ", json!([])), "/department/name must NOT have fewer than 1 characters"),
        (department_body("X", json!({"agentId": "a"})), "/agents must be array"),
        (department_body("X", json!([{"username": "ann"}])), "must have required property 'agentId'"),
        (department_body("X", json!([{"agentId": "a", "order": "first"}])), "/agents/0/order must be integer"),
        (json!({"department": {}, "unit": {}}), "must NOT have additional properties"),
    ] {
        assert_eq!(
            app.post(create, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, invalid_params(message)),
            "POST {body}"
        );
        assert_eq!(
            app.put(&path, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, invalid_params(message)),
            "PUT {body}"
        );
    }
    assert_eq!(app.send_raw_json(Method::POST, create, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    assert_eq!(app.send_raw_json(Method::PUT, &path, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));

    let duplicate = coded("error-duplicated-department-name", "Department name already exists");
    assert_eq!(
        app.post(create, Some(&app.admin), department_body("Sales", json!([]))).await,
        (StatusCode::BAD_REQUEST, duplicate.clone())
    );
    create_department(&app, "Support", json!([])).await;
    assert_eq!(
        app.put(&path, Some(&app.admin), department_body("Support", json!([]))).await,
        (StatusCode::BAD_REQUEST, duplicate)
    );

    // No user at all cannot join (a user who is not an agent can, as in Rocket.Chat);
    // nothing is written.
    let invalid_agent = coded("error-invalid-agent", "Invalid agent");
    assert_eq!(
        app.post(
            create,
            Some(&app.admin),
            department_body("Billing", json!([{"agentId": agent.user_id}, {"agentId": "no-such-user"}]))
        )
        .await,
        (StatusCode::BAD_REQUEST, invalid_agent.clone())
    );
    assert_eq!(
        app.put(&path, Some(&app.admin), department_body("Renamed", json!([{"agentId": "no-such-user"}]))).await,
        (StatusCode::BAD_REQUEST, invalid_agent)
    );
    let (_, listed) = app.get(create, Some(&app.admin)).await;
    let names: Vec<&str> =
        listed["departments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Sales", "Support"]);
    assert_eq!(listed["departments"][0]["numAgents"], json!(0));

    assert_eq!(
        app.get(&format!("{path}?includeAgents=yes"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/includeAgents must be boolean"))
    );
});

both_backends!(department_agents_are_listed_and_changed_together, clock = START, |app| {
    let ann = app.user_with_roles("ann", &["livechat-agent"]).await;
    let ben = app.user_with_roles("ben", &["livechat-agent"]).await;
    let cy = app.user_with_roles("cy", &["livechat-agent"]).await;
    let plain = app.user_with_roles("plain", &["user"]).await;
    let id = create_department(&app, "Sales", json!([{"agentId": ann.user_id}])).await;
    let path = format!("/api/v1/livechat/department/{id}/agents");

    app.clock.advance(1_000);
    assert_eq!(
        app.post(
            &path,
            Some(&app.admin),
            json!({"upsert": [{"agentId": ben.user_id, "username": "ben"}, {"agentId": cy.user_id, "username": "cy", "order": 5}],
                   "remove": [{"agentId": ann.user_id}]})
        )
        .await,
        (StatusCode::OK, json!({"success": true}))
    );
    // Ann left, so (without view-livechat-departments) she no longer reads it; Ben does.
    assert_eq!(
        app.get(&path, Some(&ann)).await,
        (StatusCode::FORBIDDEN, json!({"success": false, "error": "unauthorized"}))
    );
    let (status, listed) = app.get(&path, Some(&ben)).await;
    assert_eq!(status, StatusCode::OK);
    // Both joined with the change, a second after the department was made.
    let entry = |session: &Session, username: &str, order: i64| {
        json!({
            "_id": session.user_id, "agentId": session.user_id, "departmentId": id, "username": username,
            "count": 0, "order": order, "departmentEnabled": true, "_updatedAt": "2026-01-02T03:04:06.678Z",
        })
    };
    assert_eq!(
        listed,
        json!({"agents": [entry(&ben, "ben", 0), entry(&cy, "cy", 5)], "count": 2, "offset": 0, "total": 2, "success": true})
    );
    assert_eq!(
        app.get(&format!("{path}?sort={{\"username\":-1}}&count=1"), Some(&app.admin)).await,
        (
            StatusCode::OK,
            json!({"agents": [entry(&cy, "cy", 5)], "count": 1, "offset": 0, "total": 2, "success": true})
        )
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/users/agent/{}", ben.user_id), Some(&app.admin)).await.1["user"]["departments"],
        json!([id])
    );

    // One bad agent and nothing changes: Cy stays, Ann does not come back.
    assert_eq!(
        app.post(
            &path,
            Some(&app.admin),
            json!({"upsert": [{"agentId": ann.user_id, "username": "ann"}, {"agentId": "no-such-user", "username": "ghost"}],
                   "remove": [{"agentId": cy.user_id}]})
        )
        .await,
        (StatusCode::BAD_REQUEST, coded("error-invalid-agent", "Invalid agent"))
    );
    assert_eq!(app.get(&path, Some(&app.admin)).await.1["total"], json!(2));

    for (body, message) in [
        (json!({"upsert": []}), "must have required property 'remove'"),
        (json!({"remove": []}), "must have required property 'upsert'"),
        (json!({"upsert": {}, "remove": []}), "/upsert must be array"),
        // ajv reports a missing property before a wrong type or an unknown property.
        (json!({"upsert": {}}), "must have required property 'remove'"),
        (json!({"x": 1}), "must have required property 'upsert'"),
        (json!({"upsert": [], "remove": [], "x": 1}), "must NOT have additional properties"),
        (json!({"upsert": [{"agentId": ann.user_id}], "remove": []}), "must have required property 'username'"),
        (json!({"upsert": [], "remove": ["x"]}), "/remove/0 must be object"),
        (json!({"upsert": [], "remove": [{"agentId": 1}]}), "/remove/0/agentId must be string"),
    ] {
        assert_eq!(
            app.post(&path, Some(&app.admin), body.clone()).await,
            (StatusCode::BAD_REQUEST, invalid_params(message)),
            "{body}"
        );
    }
    assert_eq!(app.send_raw_json(Method::POST, &path, &app.admin, "{").await, (StatusCode::BAD_REQUEST, bad_json()));
    assert_eq!(app.post(&path, None, json!({})).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.get(&path, None).await, (StatusCode::UNAUTHORIZED, not_logged_in()));
    assert_eq!(app.post(&path, Some(&ann), json!({})).await, (StatusCode::FORBIDDEN, no_permission()));
    assert_eq!(app.get(&path, Some(&plain)).await, (StatusCode::FORBIDDEN, no_permission()));

    let unknown = "/api/v1/livechat/department/unknown/agents";
    assert_eq!(
        app.get(unknown, Some(&app.admin)).await,
        (StatusCode::OK, json!({"agents": [], "count": 0, "offset": 0, "total": 0, "success": true}))
    );
    assert_eq!(
        app.post(unknown, Some(&app.admin), json!({"upsert": [], "remove": []})).await,
        (StatusCode::BAD_REQUEST, coded("error-department-not-found", "Department not found"))
    );
});

both_backends!(readers_without_view_departments_see_only_their_departments, |app| {
    let ann = app.user_with_roles("ann", &["livechat-agent"]).await;
    let mine = create_department(&app, "Mine", json!([{"agentId": ann.user_id}])).await;
    let other = create_department(&app, "Other", json!([])).await;
    // Agents keep view-l-room only.
    let (status, _) = app
        .post(
            "/api/v1/permissions.update",
            Some(&app.admin),
            json!({"permissions": [{"_id": "view-livechat-departments", "roles": ["admin", "livechat-manager"]}]}),
        )
        .await;
    assert_eq!(status, StatusCode::OK);

    let (status, listed) = app.get("/api/v1/livechat/department", Some(&ann)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!((listed["departments"][0]["_id"].clone(), listed["total"].clone()), (json!(mine), json!(1)));
    assert_eq!(app.get(&format!("/api/v1/livechat/department/{mine}"), Some(&ann)).await.0, StatusCode::OK);
    let unauthorized = json!({"success": false, "error": "unauthorized"});
    assert_eq!(
        app.get(&format!("/api/v1/livechat/department/{other}"), Some(&ann)).await,
        (StatusCode::FORBIDDEN, unauthorized.clone())
    );
    assert_eq!(
        app.get(&format!("/api/v1/livechat/department/{other}/agents"), Some(&ann)).await,
        (StatusCode::FORBIDDEN, unauthorized)
    );
});

both_backends!(department_list_default_order_is_byte_order_of_names, |app| {
    // MongoDB's order: upper case before `_` before lower case, accents last.
    for name in ["beta", "Émile", "_staff", "alpha", "Zulu", "Alpha"] {
        create_department(&app, name, json!([])).await;
    }
    let names = |body: &Value| -> Vec<String> {
        body["departments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect()
    };
    for path in [
        "/api/v1/livechat/department",
        "/api/v1/livechat/department?text=",
        "/api/v1/livechat/department?sort={\"name\":1}",
    ] {
        let (status, body) = app.get(path, Some(&app.admin)).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        assert_eq!(names(&body), ["Alpha", "Zulu", "_staff", "alpha", "beta", "Émile"], "{path}");
    }
    let (_, body) = app.get("/api/v1/livechat/department?sort={\"name\":-1}", Some(&app.admin)).await;
    assert_eq!(names(&body), ["Émile", "beta", "alpha", "_staff", "Zulu", "Alpha"]);
});

both_backends!(agent_list_honours_rocket_chat_filters, |app| {
    let one = app.user_with_roles("agent.one", &["livechat-agent"]).await;
    let two = app.user_with_roles("agent.two", &["livechat-agent"]).await;
    let status = "/api/v1/livechat/agent.status";
    assert_eq!(app.post(status, Some(&one), json!({"status": "available"})).await.0, StatusCode::OK);
    let page = |users: Vec<Value>| {
        let count = users.len();
        json!({"users": users, "count": count, "offset": 0, "total": count, "success": true})
    };
    let one_view = livechat_user(&one, "agent.one", "available", &[]);
    let two_view = livechat_user(&two, "agent.two", "not-available", &[]);
    let list = "/api/v1/livechat/users/agent";
    for (query, expected) in [
        ("", vec![one_view.clone(), two_view.clone()]),
        ("?onlyAvailable=true", vec![one_view.clone()]),
        ("?onlyAvailable=false", vec![one_view.clone(), two_view.clone()]),
        (&format!("?excludeId={}", one.user_id), vec![two_view.clone()]),
        ("?showIdleAgents=true", vec![one_view.clone(), two_view.clone()]),
        // Every user here is offline: without idle agents none is left.
        ("?showIdleAgents=false", vec![]),
        ("?sort={\"statusLivechat\":-1}", vec![two_view.clone(), one_view.clone()]),
    ] {
        assert_eq!(
            app.get(&format!("{list}{query}"), Some(&app.admin)).await,
            (StatusCode::OK, page(expected)),
            "{query}"
        );
    }
    let mut by_id = vec![(one.user_id.clone(), one_view.clone()), (two.user_id.clone(), two_view.clone())];
    by_id.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let ascending: Vec<Value> = by_id.into_iter().map(|(_, view)| view).collect();
    assert_eq!(
        app.get(&format!("{list}?sort={{\"_id\":1}}"), Some(&app.admin)).await,
        (StatusCode::OK, page(ascending))
    );
    assert_eq!(
        app.get(&format!("{list}?onlyAvailable=maybe"), Some(&app.admin)).await,
        (StatusCode::BAD_REQUEST, invalid_params("/onlyAvailable must be boolean"))
    );
});

both_backends!(department_list_honours_rocket_chat_filters, |app| {
    let billing = create_department(&app, "Billing", json!([])).await;
    let sales = create_department(&app, "Sales", json!([])).await;
    let names = |body: &Value| -> Vec<String> {
        body["departments"].as_array().unwrap().iter().map(|d| d["name"].as_str().unwrap().to_owned()).collect()
    };
    let list = "/api/v1/livechat/department";
    for (query, expected) in [
        (format!("?excludeDepartmentId={billing}"), vec!["Sales".to_owned()]),
        (format!("?excludeDepartmentId={sales}&showArchived=true&onlyMyDepartments=true"), vec!["Billing".to_owned()]),
        ("?showArchived=false&onlyMyDepartments=false".to_owned(), vec!["Billing".to_owned(), "Sales".to_owned()]),
    ] {
        let (status, body) = app.get(&format!("{list}{query}"), Some(&app.admin)).await;
        let total = json!(expected.len());
        assert_eq!((status, names(&body), body["total"].clone()), (StatusCode::OK, expected, total), "{query}");
    }
    let mut ids = [billing.clone(), sales.clone()];
    ids.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    let (_, body) = app.get(&format!("{list}?sort={{\"_id\":-1}}"), Some(&app.admin)).await;
    let listed: Vec<&str> =
        body["departments"].as_array().unwrap().iter().map(|d| d["_id"].as_str().unwrap()).collect();
    assert_eq!(listed, [ids[1].as_str(), ids[0].as_str()]);
});
