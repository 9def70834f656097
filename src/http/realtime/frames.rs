//! DDP frames: what a client may send, parsed once, and the frames the server sends.
//! Dates travel as EJSON (`{"$date": <milliseconds>}`), as Meteor sends them.

use serde_json::{Map, Value, json};

use crate::domain::time::{Millis, parse_instant};

/// A frame from the client.
#[derive(Debug, PartialEq)]
pub enum ClientFrame {
    Connect {
        version: String,
    },
    Ping {
        id: Option<Value>,
    },
    Pong,
    Method {
        id: String,
        method: String,
        params: Vec<Value>,
    },
    Sub {
        id: String,
        name: String,
        params: Vec<Value>,
    },
    Unsub {
        id: String,
    },
    /// A frame whose `msg` is known but whose fields are not (Meteor answers an
    /// `error` with this reason and keeps the connection).
    Invalid {
        reason: &'static str,
        frame: Value,
    },
    /// A `msg` DDP does not define.
    Unknown {
        frame: Value,
    },
}

/// Why a text frame is not DDP at all: the connection closes with this reason.
#[derive(Debug, PartialEq, Eq)]
pub struct Malformed(pub &'static str);

impl ClientFrame {
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        let frame: Value = serde_json::from_str(text).map_err(|_| Malformed("the frame is not JSON"))?;
        let Some(object) = frame.as_object() else { return Err(Malformed("the frame is not a JSON object")) };
        let Some(msg) = object.get("msg").and_then(Value::as_str) else {
            return Err(Malformed("the frame has no msg"));
        };
        let text = |key: &str| object.get(key).and_then(Value::as_str).map(str::to_owned);
        let params = || match object.get("params") {
            None => Some(Vec::new()),
            Some(Value::Array(params)) => Some(params.clone()),
            Some(_) => None,
        };
        Ok(match msg {
            "connect" => match text("version") {
                Some(version) => Self::Connect { version },
                None => Self::Invalid { reason: "Bad request", frame },
            },
            "ping" => Self::Ping { id: object.get("id").cloned() },
            "pong" => Self::Pong,
            "method" => match (text("id"), text("method"), params()) {
                (Some(id), Some(method), Some(params)) => Self::Method { id, method, params },
                _ => Self::Invalid { reason: "Malformed method invocation", frame },
            },
            "sub" => match (text("id"), text("name"), params()) {
                (Some(id), Some(name), Some(params)) => Self::Sub { id, name, params },
                _ => Self::Invalid { reason: "Malformed subscription", frame },
            },
            "unsub" => match text("id") {
                Some(id) => Self::Unsub { id },
                None => Self::Invalid { reason: "Malformed subscription", frame },
            },
            _ => Self::Unknown { frame },
        })
    }
}

/// A `Meteor.Error` as DDP carries it in `result` and `nosub` frames. `reason` is none
/// for errors Rocket.Chat raises with a code only (`not-allowed`).
pub fn meteor_error(error: Value, reason: Option<&str>) -> Value {
    let code = match &error {
        Value::String(code) => code.clone(),
        other => other.to_string(),
    };
    let mut object = Map::new();
    object.insert("isClientSafe".into(), Value::Bool(true));
    object.insert("error".into(), error);
    match reason {
        Some(reason) => {
            object.insert("reason".into(), Value::String(reason.to_owned()));
            object.insert("message".into(), Value::String(format!("{reason} [{code}]")));
        }
        None => {
            object.insert("message".into(), Value::String(format!("[{code}]")));
        }
    }
    object.insert("errorType".into(), Value::String("Meteor.Error".into()));
    Value::Object(object)
}

pub fn connected(session: &str) -> Value {
    json!({"msg": "connected", "session": session})
}

/// The version this server speaks, for a client that asked for another.
pub fn failed() -> Value {
    json!({"msg": "failed", "version": "1"})
}

pub fn ping() -> Value {
    json!({"msg": "ping"})
}

pub fn pong(id: Option<Value>) -> Value {
    match id {
        Some(id) => json!({"msg": "pong", "id": id}),
        None => json!({"msg": "pong"}),
    }
}

/// The answer of a method: its value (none for methods that return nothing) or its error.
pub fn result(id: &str, outcome: Result<Option<Value>, Value>) -> Value {
    match outcome {
        Ok(Some(value)) => json!({"msg": "result", "id": id, "result": value}),
        Ok(None) => json!({"msg": "result", "id": id}),
        Err(error) => json!({"msg": "result", "id": id, "error": error}),
    }
}

/// Tells the client the method's writes are all visible (sent after its `result`).
pub fn updated(id: &str) -> Value {
    json!({"msg": "updated", "methods": [id]})
}

pub fn ready(id: &str) -> Value {
    json!({"msg": "ready", "subs": [id]})
}

pub fn nosub(id: &str, error: Option<Value>) -> Value {
    match error {
        Some(error) => json!({"msg": "nosub", "id": id, "error": error}),
        None => json!({"msg": "nosub", "id": id}),
    }
}

/// An error about a frame the server could not take, with the frame.
pub fn error(reason: &str, offending: Option<Value>) -> Value {
    match offending {
        Some(frame) => json!({"msg": "error", "reason": reason, "offendingMessage": frame}),
        None => json!({"msg": "error", "reason": reason}),
    }
}

/// A streamer event, as Rocket.Chat's streamer sends it to every subscriber.
pub fn stream_event(stream: &str, event_name: &str, args: Vec<Value>) -> Value {
    json!({
        "msg": "changed",
        "collection": format!("stream-{stream}"),
        "id": "id",
        "fields": {"eventName": event_name, "args": args},
    })
}

pub fn ejson_date(millis: Millis) -> Value {
    json!({ "$date": millis })
}

/// The fields of the REST shapes that hold instants, as ISO text there.
const DATE_FIELDS: [&str; 7] = ["ts", "_updatedAt", "editedAt", "queuedAt", "takenAt", "lastMessageTs", "closedAt"];

/// A REST shape as DDP sends it: every instant among [`DATE_FIELDS`], at any depth, as
/// an EJSON date.
pub fn with_ejson_dates(value: Value) -> Value {
    match value {
        Value::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(key, value)| {
                    let instant = match &value {
                        Value::String(text) if DATE_FIELDS.contains(&key.as_str()) => parse_instant(text),
                        _ => None,
                    };
                    let value = match instant {
                        Some(millis) => ejson_date(millis),
                        None => with_ejson_dates(value),
                    };
                    (key, value)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(with_ejson_dates).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_parse_by_msg_and_malformed_text_is_refused() {
        assert_eq!(
            ClientFrame::parse(r#"{"msg":"method","id":"1","method":"login","params":[{"resume":"x"}]}"#),
            Ok(ClientFrame::Method { id: "1".into(), method: "login".into(), params: vec![json!({"resume": "x"})] })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"msg":"sub","id":"1","name":"stream-room-messages"}"#),
            Ok(ClientFrame::Sub { id: "1".into(), name: "stream-room-messages".into(), params: vec![] })
        );
        assert_eq!(
            ClientFrame::parse(r#"{"msg":"method","id":1,"method":"login"}"#),
            Ok(ClientFrame::Invalid {
                reason: "Malformed method invocation",
                frame: json!({"msg": "method", "id": 1, "method": "login"})
            })
        );
        assert_eq!(ClientFrame::parse("{"), Err(Malformed("the frame is not JSON")));
        assert_eq!(ClientFrame::parse("[1]"), Err(Malformed("the frame is not a JSON object")));
        assert_eq!(ClientFrame::parse(r#"{"id":"1"}"#), Err(Malformed("the frame has no msg")));
    }

    #[test]
    fn meteor_errors_carry_their_reason_or_only_their_code() {
        assert_eq!(
            meteor_error(json!(404), Some("Method 'x' not found")),
            json!({"isClientSafe": true, "error": 404, "reason": "Method 'x' not found",
                   "message": "Method 'x' not found [404]", "errorType": "Meteor.Error"})
        );
        assert_eq!(
            meteor_error(json!("not-allowed"), None),
            json!({"isClientSafe": true, "error": "not-allowed", "message": "[not-allowed]",
                   "errorType": "Meteor.Error"})
        );
    }

    #[test]
    fn instants_become_ejson_dates_at_any_depth() {
        assert_eq!(
            with_ejson_dates(json!({"ts": "2026-01-02T03:04:05.678Z", "msg": "2026-01-02T03:04:05.678Z",
                                    "lastMessage": {"_updatedAt": "2026-01-02T03:04:05.678Z"}})),
            json!({"ts": {"$date": 1_767_323_045_678_i64}, "msg": "2026-01-02T03:04:05.678Z",
                   "lastMessage": {"_updatedAt": {"$date": 1_767_323_045_678_i64}}})
        );
    }
}
