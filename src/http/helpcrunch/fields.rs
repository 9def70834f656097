//! The field types of HelpCrunch requests. HelpCrunch is lenient: ids come as integers
//! or numeric strings, seconds as numbers or fractional strings, names of orders in any
//! case. Each type reads what HelpCrunch accepts, refuses the rest with HelpCrunch's
//! message, and documents itself with a schema of a few lines.

use std::borrow::Cow;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;
use utoipa::openapi::schema::{ObjectBuilder, SchemaType, Type};
use utoipa::openapi::{RefOr, Schema};
use utoipa::{PartialSchema, ToSchema};

use crate::domain::chat::ChatStatus;
use crate::domain::chat_search::{
    ChatField, ChatOperator, ChatSortField, Comparison, MAX_CHATS_PER_PAGE, parse_direction,
};
use crate::domain::customer_search::{CustomerField, CustomerOperator, CustomerSort};
use crate::domain::page::Direction;
use crate::http::extract::MAX_KEY_CHARS;

pub const BLANK: &str = "This value should not be blank.";
pub const MISSING: &str = "This field is missing.";
pub const NOT_NUMERIC: &str = "This value should be of type numeric.";
pub const NOT_VALID: &str = "This value is not valid.";
pub const NOT_STRING: &str = "This value should be of type string.";

/// The message of a value outside `minimum..=maximum` (either bound may be open).
pub fn range_message(minimum: Option<i64>, maximum: Option<i64>) -> String {
    match (minimum, maximum) {
        (Some(minimum), Some(maximum)) => format!("This value should be between {minimum} and {maximum}."),
        (Some(minimum), None) => format!("This value should be greater than or equal to {minimum}."),
        (None, Some(maximum)) => format!("This value should be less than or equal to {maximum}."),
        (None, None) => NOT_VALID.to_owned(),
    }
}

/// Reads the JSON value a field holds and judges it.
fn judged<'de, D: Deserializer<'de>, T>(
    deserializer: D,
    judge: impl FnOnce(&Value) -> Result<T, Cow<'static, str>>,
) -> Result<T, D::Error> {
    let value = Value::deserialize(deserializer)?;
    judge(&value).map_err(D::Error::custom)
}

/// An integer sent as a JSON integer or as a string of digits.
fn integer(value: &Value) -> Option<i64> {
    match value {
        Value::Number(number) => number.as_i64(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// `{"type": ["integer", "string"]}`, the schema of an integer HelpCrunch also takes as
/// text; the text is bounded like every string a request carries.
fn lenient_integer() -> ObjectBuilder {
    ObjectBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Integer, Type::String]))
        .max_length(Some(MAX_KEY_CHARS))
}

/// The integer id of a chat: an integer or a numeric string, not blank.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatId(pub i64);

impl<'de> Deserialize<'de> for ChatId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| match value {
            Value::Null => Err(BLANK.into()),
            Value::String(text) if text.is_empty() => Err(BLANK.into()),
            value => integer(value).map(Self).ok_or(NOT_NUMERIC.into()),
        })
    }
}

impl PartialSchema for ChatId {
    fn schema() -> RefOr<Schema> {
        lenient_integer().min_length(Some(1)).description(Some("An integer, or a string of digits")).into()
    }
}

impl ToSchema for ChatId {}

/// The integer id of an agent, a department or a customer: an integer or a numeric string.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NumericId(pub i64);

impl<'de> Deserialize<'de> for NumericId {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| integer(value).map(Self).ok_or(NOT_NUMERIC.into()))
    }
}

impl PartialSchema for NumericId {
    fn schema() -> RefOr<Schema> {
        lenient_integer().description(Some("An integer, or a string of digits")).into()
    }
}

impl ToSchema for NumericId {}

/// UNIX seconds as a number or a numeric string; a fraction is dropped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seconds(pub i64);

impl<'de> Deserialize<'de> for Seconds {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| {
            let number = match value {
                Value::Number(number) => number.as_f64(),
                Value::String(text) => text.trim().parse::<f64>().ok(),
                _ => None,
            };
            number
                .filter(|number| number.is_finite())
                .map(|number| Self(number.floor() as i64))
                .ok_or(NOT_NUMERIC.into())
        })
    }
}

/// How many chats a page skips: 0 or more.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatOffset(pub i64);

/// How many chats a page holds: 1 to 100.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatLimit(pub i64);

/// An integer within bounds, sent as a JSON integer or a numeric string.
fn bounded(value: &Value, minimum: i64, maximum: Option<i64>) -> Result<i64, Cow<'static, str>> {
    match integer(value) {
        Some(number) if number >= minimum && maximum.is_none_or(|maximum| number <= maximum) => Ok(number),
        Some(_) => Err(range_message(Some(minimum), maximum).into()),
        None => Err(NOT_NUMERIC.into()),
    }
}

impl<'de> Deserialize<'de> for ChatOffset {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| bounded(value, 0, None).map(Self))
    }
}

impl PartialSchema for ChatOffset {
    fn schema() -> RefOr<Schema> {
        lenient_integer().minimum(Some(0)).description(Some("Chats to skip (default 0)")).into()
    }
}

impl ToSchema for ChatOffset {}

impl<'de> Deserialize<'de> for ChatLimit {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| bounded(value, 1, Some(MAX_CHATS_PER_PAGE)).map(Self))
    }
}

impl PartialSchema for ChatLimit {
    fn schema() -> RefOr<Schema> {
        lenient_integer()
            .minimum(Some(1))
            .maximum(Some(MAX_CHATS_PER_PAGE))
            .description(Some("Chats per page, at most 100 (the default)"))
            .into()
    }
}

impl ToSchema for ChatLimit {}

/// A chat status by name; "on-hold" and "onhold" stand for "on hold".
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StatusName(pub ChatStatus);

/// Every name [`StatusName`] takes.
const STATUS_NAMES: [&str; 8] =
    ["new", "opened", "pending", "on hold", "on-hold", "onhold", "no communication", "closed"];

impl<'de> Deserialize<'de> for StatusName {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        judged(deserializer, |value| match value {
            Value::Null => Err(BLANK.into()),
            Value::String(text) if text.is_empty() => Err(BLANK.into()),
            Value::String(text) => ChatStatus::parse(text).map(Self).ok_or(NOT_VALID.into()),
            _ => Err(NOT_STRING.into()),
        })
    }
}

impl PartialSchema for StatusName {
    fn schema() -> RefOr<Schema> {
        ObjectBuilder::new().schema_type(Type::String).min_length(Some(1)).enum_values(Some(STATUS_NAMES)).into()
    }
}

impl ToSchema for StatusName {}

/// A value named by one of a fixed list of words.
pub trait Named: Copy + 'static {
    /// The words, as documented.
    const NAMES: &'static [&'static str];
    /// Whether the words are taken in any case.
    const ANY_CASE: bool = false;
    /// Whether a required one refuses `""` and `null` as blank rather than not valid.
    const NOT_BLANK: bool = false;

    fn parse(raw: &str) -> Option<Self>;
}

/// One of `T`'s words; anything else, of whatever JSON type, is not valid.
fn word<T: Named>(value: &Value) -> Result<T, Cow<'static, str>> {
    match value {
        Value::Null if T::NOT_BLANK => Err(BLANK.into()),
        Value::String(text) if text.is_empty() && T::NOT_BLANK => Err(BLANK.into()),
        Value::String(text) => T::parse(text).ok_or(NOT_VALID.into()),
        _ => Err(NOT_VALID.into()),
    }
}

/// The schema of one of `T`'s words. It has no `type`: a word of the wrong JSON type
/// is "not valid", like any other.
fn word_schema<T: Named>() -> RefOr<Schema> {
    let schema = ObjectBuilder::new().schema_type(SchemaType::AnyValue);
    let schema = if T::ANY_CASE {
        let description = format!("{}, in any case", T::NAMES.join(" or "));
        schema.pattern(Some(any_case_pattern(T::NAMES))).description(Some(description))
    } else {
        schema.enum_values(Some(T::NAMES.iter().copied()))
    };
    schema.min_length(T::NOT_BLANK.then_some(1)).into()
}

/// Declares a request field that holds one of a [`Named`] type's words.
macro_rules! word_field {
    ($(#[$doc:meta])* $name:ident($named:ty)) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq)]
        pub struct $name(pub $named);

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                judged(deserializer, |value| word::<$named>(value).map(Self))
            }
        }

        impl PartialSchema for $name {
            fn schema() -> RefOr<Schema> {
                word_schema::<$named>()
            }
        }

        impl ToSchema for $name {}
    };
}

word_field!(
    /// How the conditions of a search combine: AND or OR.
    ComparisonName(Comparison)
);
word_field!(
    /// The order of a page: asc or desc.
    OrderName(Direction)
);
word_field!(
    /// What a page of chats is sorted by.
    SortName(ChatSortField)
);
word_field!(
    /// What a search condition compares.
    FieldName(ChatField)
);
word_field!(
    /// How a search condition compares.
    OperatorName(ChatOperator)
);

word_field!(
    /// What a page of customers is sorted by.
    CustomerSortName(CustomerSort)
);
word_field!(
    /// What a customer search condition compares.
    CustomerFieldName(CustomerField)
);
word_field!(
    /// How a customer search condition compares.
    CustomerOperatorName(CustomerOperator)
);
word_field!(
    /// The kind of message to post: `message` (private notes are not served).
    MessageTypeName(MessageType)
);

/// A pattern matching any of `names` in any case: `^(?:[aA][sS][cC]|...)$`.
fn any_case_pattern(names: &[&str]) -> String {
    let case_free = |name: &str| -> String {
        name.chars()
            .map(|c| match c.is_ascii_alphabetic() {
                true => format!("[{}{}]", c.to_ascii_lowercase(), c.to_ascii_uppercase()),
                false => c.to_string(),
            })
            .collect()
    };
    format!("^(?:{})$", names.iter().map(|name| case_free(name)).collect::<Vec<_>>().join("|"))
}

impl Named for Comparison {
    const NAMES: &'static [&'static str] = &["AND", "OR"];
    const ANY_CASE: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        Comparison::parse(raw)
    }
}

impl Named for Direction {
    const NAMES: &'static [&'static str] = &["asc", "desc"];
    const ANY_CASE: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        parse_direction(raw)
    }
}

impl Named for ChatSortField {
    const NAMES: &'static [&'static str] =
        &["chats.createdAt", "chats.lastCustomerMessageAt", "chats.lastMessageAt", "chats.closedAt"];

    fn parse(raw: &str) -> Option<Self> {
        ChatSortField::parse(raw)
    }
}

impl Named for ChatField {
    const NAMES: &'static [&'static str] = &[
        "chats.status",
        "chats.assignee",
        "chats.department",
        "chats.createdAt",
        "chats.closedAt",
        "chats.customer",
        "chats.slaDueAt",
        "chats.slaBreachedAt",
    ];
    const NOT_BLANK: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        ChatField::parse(raw)
    }
}

impl Named for ChatOperator {
    const NAMES: &'static [&'static str] = &["=", "!=", ">", ">=", "<", "<="];
    const NOT_BLANK: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        ChatOperator::parse(raw)
    }
}

impl Named for CustomerSort {
    const NAMES: &'static [&'static str] = &["customers.firstSeen", "customers.lastSeen"];

    fn parse(raw: &str) -> Option<Self> {
        match raw {
            "customers.firstSeen" => Some(Self::FirstSeen),
            "customers.lastSeen" => Some(Self::LastSeen),
            _ => None,
        }
    }
}

impl Named for CustomerField {
    const NAMES: &'static [&'static str] = &[
        "customers.id",
        "customers.name",
        "customers.email",
        "customers.phone",
        "customers.userId",
        "customers.firstSeen",
        "customers.lastSeen",
    ];
    const NOT_BLANK: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        CustomerField::parse(raw)
    }
}

impl Named for CustomerOperator {
    const NAMES: &'static [&'static str] = &["=", "!=", "~", ">", ">=", "<", "<="];
    const NOT_BLANK: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        CustomerOperator::parse(raw)
    }
}

/// The kinds of message the API posts: a chat message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MessageType {
    Message,
}

impl Named for MessageType {
    const NAMES: &'static [&'static str] = &["message"];
    const NOT_BLANK: bool = true;

    fn parse(raw: &str) -> Option<Self> {
        (raw == "message").then_some(Self::Message)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read<T: for<'de> Deserialize<'de>>(value: Value) -> Result<T, String> {
        serde_json::from_value(value).map_err(|error| error.to_string())
    }

    #[test]
    fn ids_are_integers_or_numeric_strings() {
        assert_eq!(read::<ChatId>(json!(542335)), Ok(ChatId(542335)));
        assert_eq!(read::<ChatId>(json!("542335")), Ok(ChatId(542335)));
        assert_eq!(read::<ChatId>(json!("abc")), Err(NOT_NUMERIC.to_owned()));
        assert_eq!(read::<ChatId>(json!(1.5)), Err(NOT_NUMERIC.to_owned()));
        assert_eq!(read::<ChatId>(json!("")), Err(BLANK.to_owned()));
        assert_eq!(read::<ChatId>(Value::Null), Err(BLANK.to_owned()));
        assert_eq!(read::<NumericId>(json!("")), Err(NOT_NUMERIC.to_owned()));
        assert_eq!(read::<Option<NumericId>>(Value::Null), Ok(None));
    }

    #[test]
    fn seconds_accept_fractions_and_strings() {
        assert_eq!(read::<Seconds>(json!(1603885746)), Ok(Seconds(1603885746)));
        assert_eq!(read::<Seconds>(json!("1603885746.9")), Ok(Seconds(1603885746)));
        assert_eq!(read::<Seconds>(json!("NaN")), Err(NOT_NUMERIC.to_owned()));
        assert_eq!(read::<Seconds>(json!(true)), Err(NOT_NUMERIC.to_owned()));
    }

    #[test]
    fn pages_are_bounded() {
        assert_eq!(read::<ChatOffset>(json!("3")), Ok(ChatOffset(3)));
        assert_eq!(read::<ChatOffset>(json!(-1)), Err("This value should be greater than or equal to 0.".to_owned()));
        assert_eq!(read::<ChatLimit>(json!(101)), Err("This value should be between 1 and 100.".to_owned()));
        assert_eq!(read::<ChatLimit>(json!("many")), Err(NOT_NUMERIC.to_owned()));
    }

    #[test]
    fn words_are_judged_by_their_list() {
        assert_eq!(read::<OrderName>(json!("DESC")), Ok(OrderName(Direction::Desc)));
        assert_eq!(read::<OrderName>(json!(1)), Err(NOT_VALID.to_owned()));
        assert_eq!(read::<ComparisonName>(json!("")), Err(NOT_VALID.to_owned()));
        assert_eq!(read::<FieldName>(json!("")), Err(BLANK.to_owned()));
        assert_eq!(read::<StatusName>(json!("onhold")), Ok(StatusName(ChatStatus::OnHold)));
        assert_eq!(read::<StatusName>(json!(3)), Err(NOT_STRING.to_owned()));
        assert_eq!(any_case_pattern(&["or", "a-b"]), "^(?:[oO][rR]|[aA]-[bB])$");
    }
}
