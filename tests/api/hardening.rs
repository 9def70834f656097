//! Protections against hostile requests.

use reqwest::StatusCode;
use serde_json::json;

use crate::envelopes::coded;
use crate::harness::{TestApp, both_backends, send};

/// 1 MiB less a little of `[0],[0],...`: a few bytes per value, the costliest shape to parse.
fn many_small_arrays() -> String {
    let items = "[0],".repeat((1024 * 1024 - 64) / 4);
    format!(r#"{{"department":[{items}[0]]}}"#)
}

fn too_complex_rc() -> serde_json::Value {
    coded("error-body-too-complex", "Request body nests deeper than 32 levels or holds more than 20000 values")
}

async fn post_raw(
    app: &TestApp,
    path: &str,
    authorization: Option<&str>,
    body: String,
) -> (StatusCode, serde_json::Value) {
    let mut request = app
        .client
        .post(app.url(path))
        .header("X-User-Id", &app.admin.user_id)
        .header("X-Auth-Token", &app.admin.token)
        .header("content-type", "application/json")
        .body(body);
    if let Some(authorization) = authorization {
        request = request.header("Authorization", authorization);
    }
    send(request).await
}

both_backends!(bodies_that_would_amplify_are_refused_before_parsing, |app| {
    let path = "/api/v1/livechat/department";
    assert_eq!(post_raw(&app, path, None, many_small_arrays()).await, (StatusCode::BAD_REQUEST, too_complex_rc()));
    let deep = format!(r#"{{"department":{}{}}}"#, "[".repeat(40), "]".repeat(40));
    assert_eq!(post_raw(&app, path, None, deep).await, (StatusCode::BAD_REQUEST, too_complex_rc()));

    let (status, body) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "hostile"})).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    let bearer = format!("Bearer {}", body["key"].as_str().unwrap());
    assert_eq!(
        post_raw(&app, "/v1/chats/search", Some(&bearer), many_small_arrays()).await,
        (
            StatusCode::BAD_REQUEST,
            json!({"errors": [
                {"code": "invalid_request", "message": "Invalid request"},
                {"code": "body", "message": "This value is nested too deeply or holds too many values."},
            ]})
        )
    );
    // Nothing was created by the refused bodies.
    assert_eq!(app.get("/api/v1/livechat/department", Some(&app.admin)).await.1["total"], json!(0));
});
