//! The Rocket.Chat error envelopes tests expect, written once.

use serde_json::{Value, json};

pub fn not_logged_in() -> Value {
    json!({"success": false, "status": "error", "error": "You must be logged in to do this.", "message": "You must be logged in to do this."})
}

pub fn no_permission() -> Value {
    json!({"success": false, "error": "User does not have the permissions required for this action [error-unauthorized]"})
}

pub fn invalid_params(message: &str) -> Value {
    json!({"success": false, "error": format!("{message} [invalid-params]"), "errorType": "invalid-params"})
}

pub fn coded(code: &str, reason: &str) -> Value {
    json!({"success": false, "error": format!("{reason} [{code}]"), "errorType": code})
}

pub fn bare(error: &str) -> Value {
    json!({"success": false, "error": error})
}
