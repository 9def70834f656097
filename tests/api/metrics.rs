//! Prometheus metrics on their own listener.

use livechat_server::config::AppSettings;
use reqwest::StatusCode;
use serde_json::json;

use crate::harness::{MINUTE_START, TestApp, both_backends};
use crate::lifecycle::{department, visitor_with_room};

async fn scrape(app: &TestApp) -> String {
    let response = reqwest::get(format!("{}/metrics", app.metrics_base)).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["content-type"], "text/plain; version=0.0.4");
    response.text().await.unwrap()
}

/// The value of the series whose line starts with `series` (name and labels).
fn value(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| line.strip_prefix(series)?.trim().parse().ok())
}

both_backends!(
    metrics_count_requests_pool_queue_and_rejections,
    settings = AppSettings { hc_rate_limit_per_minute: 1, ..Default::default() },
    clock = MINUTE_START,
    |app| {
        for _ in 0..3 {
            assert_eq!(app.get("/api/info", None).await.0, StatusCode::OK);
        }
        app.get("/no/such/route", None).await;
        let sales = department(&app, "Sales", &[]).await;
        visitor_with_room(&app, "m1", Some(&sales)).await;
        visitor_with_room(&app, "m2", None).await;
        visitor_with_room(&app, "m3", None).await;
        let (_, created) = app.post("/api/v1/livechat/api-keys", Some(&app.admin), json!({"name": "metrics"})).await;
        let key = created["key"].as_str().unwrap().to_owned();
        for _ in 0..2 {
            app.client.get(app.url("/v1/departments")).bearer_auth(&key).send().await.unwrap();
        }

        let text = scrape(&app).await;
        assert_eq!(
            value(&text, r#"livechat_http_requests_total{method="GET",route="/api/info",status="200"}"#),
            Some(3.0)
        );
        assert_eq!(
            value(&text, r#"livechat_http_requests_total{method="GET",route="(unmatched)",status="404"}"#),
            Some(1.0)
        );
        assert_eq!(
            value(
                &text,
                r#"livechat_http_request_duration_seconds_count{method="GET",route="/api/info",status="200"}"#
            ),
            Some(3.0)
        );
        assert_eq!(value(&text, &format!(r#"livechat_queue_depth{{department="{sales}"}}"#)), Some(1.0));
        assert_eq!(value(&text, r#"livechat_queue_depth{department="none"}"#), Some(2.0));
        assert_eq!(value(&text, r#"livechat_rejections_total{reason="helpcrunch_rate_limit"}"#), Some(1.0));
        assert_eq!(value(&text, "livechat_db_pool_max_connections"), Some(16.0));
        assert!(value(&text, r#"livechat_db_pool_connections{state="idle"}"#).is_some());
        assert!(value(&text, r#"livechat_db_pool_connections{state="in_use"}"#).is_some());
        assert_eq!(value(&text, "livechat_db_pool_waiting"), Some(0.0));
        // The public listener does not expose metrics.
        assert_eq!(
            app.get("/metrics", None).await,
            (StatusCode::NOT_FOUND, json!({"success": false, "error": "Endpoint not found"}))
        );
    }
);
