//! DDP frames: what a client may send, parsed once, and the frames the server sends.
//! Dates travel as EJSON (`{"$date": <milliseconds>}`), as Meteor sends them.

use serde::Serialize;
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

/// A frame to the client, tagged on `msg` as DDP names them.
#[derive(Debug, PartialEq, Serialize)]
#[serde(tag = "msg", rename_all = "lowercase")]
pub enum ServerFrame {
    Connected {
        session: String,
    },
    /// The version this server speaks, for a client that asked for another.
    Failed {
        version: &'static str,
    },
    Ping,
    Pong {
        #[serde(skip_serializing_if = "Option::is_none")]
        id: Option<Value>,
    },
    /// The answer of a method: its value (none for methods that return nothing) or its
    /// error.
    Result {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        result: Option<Value>,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
    },
    /// Tells the client the method's writes are all visible (sent after its `result`).
    Updated {
        methods: [String; 1],
    },
    Ready {
        subs: [String; 1],
    },
    Nosub {
        id: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<Value>,
    },
    /// An error about a frame the server could not take, with the frame.
    Error {
        reason: &'static str,
        #[serde(rename = "offendingMessage", skip_serializing_if = "Option::is_none")]
        offending_message: Option<Value>,
    },
    /// A streamer event, as Rocket.Chat's streamer sends it to every subscriber.
    Changed {
        collection: String,
        id: &'static str,
        fields: StreamFields,
    },
}

/// The fields of a streamer event.
#[derive(Debug, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct StreamFields {
    event_name: String,
    args: Vec<Value>,
}

impl ServerFrame {
    /// The frame as the text sent.
    pub fn text(&self) -> String {
        serde_json::to_string(self).expect("frames serialize")
    }
}

pub fn connected(session: &str) -> ServerFrame {
    ServerFrame::Connected { session: session.to_owned() }
}

pub fn failed() -> ServerFrame {
    ServerFrame::Failed { version: "1" }
}

pub fn ping() -> ServerFrame {
    ServerFrame::Ping
}

pub fn pong(id: Option<Value>) -> ServerFrame {
    ServerFrame::Pong { id }
}

pub fn result(id: &str, outcome: Result<Option<Value>, Value>) -> ServerFrame {
    let (result, error) = match outcome {
        Ok(result) => (result, None),
        Err(error) => (None, Some(error)),
    };
    ServerFrame::Result { id: id.to_owned(), result, error }
}

pub fn updated(id: &str) -> ServerFrame {
    ServerFrame::Updated { methods: [id.to_owned()] }
}

pub fn ready(id: &str) -> ServerFrame {
    ServerFrame::Ready { subs: [id.to_owned()] }
}

pub fn nosub(id: &str, error: Option<Value>) -> ServerFrame {
    ServerFrame::Nosub { id: id.to_owned(), error }
}

pub fn error(reason: &'static str, offending: Option<Value>) -> ServerFrame {
    ServerFrame::Error { reason, offending_message: offending }
}

pub fn stream_event(stream: &str, event_name: &str, args: Vec<Value>) -> ServerFrame {
    ServerFrame::Changed {
        collection: format!("stream-{stream}"),
        id: "id",
        fields: StreamFields { event_name: event_name.to_owned(), args },
    }
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
    fn server_frames_are_tagged_on_msg() {
        let text = |frame: ServerFrame| serde_json::from_str::<Value>(&frame.text()).unwrap();
        assert_eq!(text(ping()), json!({"msg": "ping"}));
        assert_eq!(text(pong(None)), json!({"msg": "pong"}));
        assert_eq!(text(result("1", Ok(None))), json!({"msg": "result", "id": "1"}));
        assert_eq!(text(result("1", Err(json!("x")))), json!({"msg": "result", "id": "1", "error": "x"}));
        assert_eq!(text(updated("1")), json!({"msg": "updated", "methods": ["1"]}));
        assert_eq!(
            text(error("Bad request", Some(json!({"msg": "x"})))),
            json!({"msg": "error", "reason": "Bad request", "offendingMessage": {"msg": "x"}})
        );
        assert_eq!(
            text(stream_event("room-messages", "r1", vec![json!(1)])),
            json!({"msg": "changed", "collection": "stream-room-messages", "id": "id",
                   "fields": {"eventName": "r1", "args": [1]}})
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
