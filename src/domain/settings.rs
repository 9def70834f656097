//! Rocket.Chat's settings: the kinds of value a setting holds, the check of a new value
//! against its kind, and typed keys for the settings that change this server's
//! behaviour, so code reads `LivechatEnabled` rather than a string and a JSON value.

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::queue::QueueSort;
use super::routing::RoutingMethod;

/// The kinds of setting this server stores, as Rocket.Chat names them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SettingKind {
    Boolean,
    String,
    Int,
    Select,
    MultiSelect,
    Color,
    Language,
}

impl SettingKind {
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "boolean" => Self::Boolean,
            "string" => Self::String,
            "int" => Self::Int,
            "select" => Self::Select,
            "multiSelect" => Self::MultiSelect,
            "color" => Self::Color,
            "language" => Self::Language,
            _ => return None,
        })
    }
}

/// Why a value does not fit its setting.
#[derive(Debug, PartialEq, Eq)]
pub enum ValueError {
    /// Meteor `check()` wording, as Rocket.Chat's saveSettings refuses a wrong type:
    /// `Expected boolean, got string`.
    WrongType(String),
    /// A select's (or multiSelect's) value outside its keys.
    NotAllowed,
}

/// Checks `value` against a setting of `kind` whose select keys are `allowed`.
pub fn check_value(kind: SettingKind, allowed: &[String], value: &Value) -> Result<(), ValueError> {
    let wrong = |expected: &str| Err(ValueError::WrongType(format!("Expected {expected}, got {}", type_name(value))));
    let is_allowed = |key: &Value| key.as_str().is_some_and(|key| allowed.iter().any(|allowed| allowed == key));
    match kind {
        SettingKind::Boolean if !value.is_boolean() => wrong("boolean"),
        SettingKind::String | SettingKind::Color | SettingKind::Language | SettingKind::Select
            if !value.is_string() =>
        {
            wrong("string")
        }
        // Meteor's Match.Integer names the value itself: `Expected Integer, got 1.5`.
        SettingKind::Int if value.is_number() && !(value.is_i64() || value.is_u64()) => {
            Err(ValueError::WrongType(format!("Expected Integer, got {value}")))
        }
        SettingKind::Int if !value.is_number() => wrong("number"),
        SettingKind::MultiSelect => match value.as_array() {
            None => wrong("array"),
            Some(keys) if keys.iter().all(is_allowed) => Ok(()),
            Some(_) => Err(ValueError::NotAllowed),
        },
        SettingKind::Select if !is_allowed(value) => Err(ValueError::NotAllowed),
        _ => Ok(()),
    }
}

/// JavaScript's `typeof`, with `null` named as Meteor names it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) | Value::Object(_) => "object",
    }
}

/// A setting whose value changes what the server does, read with
/// `Store::setting::<S>()`. A stored value that does not decode (Rocket.Chat's
/// `invalidValue` of an enterprise setting, say) reads as [`TypedSetting::fallback`].
pub trait TypedSetting {
    const ID: &'static str;
    type Value: DeserializeOwned;
    fn fallback() -> Self::Value;
}

/// Declares a [`TypedSetting`].
macro_rules! typed_setting {
    ($(#[$doc:meta])* $name:ident = $id:literal: $value:ty = $fallback:expr) => {
        $(#[$doc])*
        pub enum $name {}

        impl TypedSetting for $name {
            const ID: &'static str = $id;
            type Value = $value;
            fn fallback() -> $value {
                $fallback
            }
        }
    };
}

typed_setting!(
    /// When false, visitors can open no room and send no message.
    LivechatEnabled = "Livechat_enabled": bool = true
);
typed_setting!(
    /// Whether `DELETE livechat/department/{id}` may delete.
    DepartmentRemoval = "Omnichannel_enable_department_removal": bool = false
);
typed_setting!(
    /// When false, a visitor opens a room only while an agent of the room's department
    /// is available.
    AcceptChatsWithNoAgents = "Livechat_accept_chats_with_no_agents": bool = false
);
typed_setting!(
    /// Whether agents may put chats on hold (room.onHold).
    AllowManualOnHold = "Livechat_allow_manual_on_hold": bool = false
);
typed_setting!(
    /// Whether a new visitor's IP address, user agent and host are stored.
    CollectHttpHeaders = "Livechat_Allow_collect_and_store_HTTP_header_informations": bool = false
);
typed_setting!(
    /// The order in which agents are offered the queue.
    SortingMechanism = "Omnichannel_sorting_mechanism": QueueSort = QueueSort::Timestamp
);
typed_setting!(
    /// When false, the visitor is told only that an agent serves it (`hiddenInfo`).
    ShowAgentInfo = "Livechat_show_agent_info": bool = true
);
typed_setting!(
    /// Whether the serving agent's addresses are shown to the visitor.
    ShowAgentEmail = "Livechat_show_agent_email": bool = true
);
typed_setting!(
    /// The kind of page change (`url` or `title`) page.visited records.
    HistoryMonitorType = "Livechat_history_monitor_type": String = "url".to_owned()
);
typed_setting!(
    /// When false, offline.message takes no message.
    DisplayOfflineForm = "Livechat_display_offline_form": bool = true
);
typed_setting!(
    /// Where offline messages go when their department names no address.
    OfflineEmail = "Livechat_offline_email": String = String::new()
);
typed_setting!(
    /// Whether a visitor's new inquiry goes first to its contact's manager.
    ContactManagerRouting = "Omnichannel_contact_manager_routing": bool = true
);
typed_setting!(
    /// How queued inquiries reach agents.
    RoutingMethodSetting = "Livechat_Routing_Method": RoutingMethod = RoutingMethod::AutoSelection
);

typed_setting!(
    /// The most characters of a message an agent sends or edits.
    MessageMaxAllowedSize = "Message_MaxAllowedSize": u64 = 5000
);
typed_setting!(
    /// Whether authors may edit their own messages (edit-message edits any regardless).
    MessageAllowEditing = "Message_AllowEditing": bool = true
);
typed_setting!(
    /// Whether messages may be deleted, except with force-delete-message.
    MessageAllowDeleting = "Message_AllowDeleting": bool = true
);

typed_setting!(
    /// The SMTP relay mails go through; blank: mail is not configured.
    SmtpHost = "SMTP_Host": String = String::new()
);
typed_setting!(
    /// The relay's port, as text (Rocket.Chat's setting is a string); blank: 25.
    SmtpPort = "SMTP_Port": String = String::new()
);
typed_setting!(
    /// The sender of mails: an address, or `Name <address>`.
    FromEmail = "From_Email": String = String::new()
);
typed_setting!(
    /// The subject of transcript mails when the request names none; blank: Rocket.Chat's
    /// `Transcript of your livechat conversation`.
    TranscriptEmailSubject = "Livechat_transcript_email_subject": String = String::new()
);

/// The JSON of a setting value given at start by an environment variable: the
/// setting's default until the setting is changed through the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SettingDefault {
    pub id: &'static str,
    pub value: Value,
}

impl SettingDefault {
    pub fn of<S: TypedSetting>(value: impl Into<Value>) -> Self {
        Self { id: S::ID, value: value.into() }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn keys(keys: &[&str]) -> Vec<String> {
        keys.iter().map(|key| (*key).to_owned()).collect()
    }

    #[test]
    fn values_are_checked_against_their_kind() {
        assert_eq!(check_value(SettingKind::Boolean, &[], &json!(false)), Ok(()));
        assert_eq!(
            check_value(SettingKind::Boolean, &[], &json!("false")),
            Err(ValueError::WrongType("Expected boolean, got string".into()))
        );
        assert_eq!(
            check_value(SettingKind::String, &[], &json!(null)),
            Err(ValueError::WrongType("Expected string, got null".into()))
        );
        assert_eq!(check_value(SettingKind::Int, &[], &json!(-3)), Ok(()));
        assert_eq!(
            check_value(SettingKind::Int, &[], &json!(1.5)),
            Err(ValueError::WrongType("Expected Integer, got 1.5".into()))
        );
        assert_eq!(
            check_value(SettingKind::Int, &[], &json!([1])),
            Err(ValueError::WrongType("Expected number, got object".into()))
        );
        let sorts = keys(&["Timestamp", "SLAs"]);
        assert_eq!(check_value(SettingKind::Select, &sorts, &json!("SLAs")), Ok(()));
        assert_eq!(check_value(SettingKind::Select, &sorts, &json!("sla")), Err(ValueError::NotAllowed));
        let types = keys(&["uj", "ul"]);
        assert_eq!(check_value(SettingKind::MultiSelect, &types, &json!(["ul"])), Ok(()));
        assert_eq!(check_value(SettingKind::MultiSelect, &types, &json!(["ul", "x"])), Err(ValueError::NotAllowed));
        assert_eq!(
            check_value(SettingKind::MultiSelect, &types, &json!("ul")),
            Err(ValueError::WrongType("Expected array, got string".into()))
        );
    }
}
