//! Checks a JSON value against the schema a request type derives (`ToSchema`), in
//! ajv's order: the type of the value, then missing required properties, then
//! properties the schema does not list, then each property in the schema's order.
//! The type's own schema drives the check, so the documented shape and the accepted
//! shape cannot differ; serde then reads the checked value into the type.

use std::any::TypeId;
use std::collections::HashMap;
use std::sync::{LazyLock, RwLock};

use serde_json::{Map, Value};
use utoipa::ToSchema;

/// What is wrong with a value, and where (`/agents/0/order`; empty for the root). A
/// wrong type also says what it `found` (`number`, `null`), for wordings that name it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Violation {
    Missing { at: String, name: String },
    Unknown { at: String, name: String },
    WrongType { at: String, expected: &'static str, found: &'static str },
    TooShort { at: String, limit: u64 },
    TooLong { at: String, limit: u64 },
    TooManyItems { at: String, limit: u64 },
    TooFewItems { at: String, limit: u64 },
    NotAllowed { at: String },
    TooSmall { at: String, limit: String },
    TooLarge { at: String, limit: String },
}

impl Violation {
    /// Rocket.Chat's (ajv's) wording: `/name must be string`, `must have required
    /// property 'name'` (ajv names the property, not the path, of a missing one).
    pub fn ajv_message(&self) -> String {
        let (at, rule) = match self {
            Self::Missing { name, .. } => return format!("must have required property '{name}'"),
            Self::Unknown { .. } => return "must NOT have additional properties".to_owned(),
            Self::WrongType { at, expected, .. } => (at, format!("must be {expected}")),
            Self::TooShort { at, limit } => (at, format!("must NOT have fewer than {limit} characters")),
            Self::TooLong { at, limit } => (at, format!("must NOT have more than {limit} characters")),
            Self::TooManyItems { at, limit } => (at, format!("must NOT have more than {limit} items")),
            Self::TooFewItems { at, limit } => (at, format!("must NOT have fewer than {limit} items")),
            Self::NotAllowed { at } => (at, "must be equal to one of the allowed values".to_owned()),
            Self::TooSmall { at, limit } => (at, format!("must be >= {limit}")),
            Self::TooLarge { at, limit } => (at, format!("must be <= {limit}")),
        };
        if at.is_empty() { rule } else { format!("{at} {rule}") }
    }

    /// Where the violation is, as a path of property names and indexes
    /// (`["agents", "0", "order"]`), the property itself for missing and unknown ones.
    pub fn location(&self) -> Vec<String> {
        let (at, name) = match self {
            Self::Missing { at, name } | Self::Unknown { at, name } => (at, Some(name)),
            Self::WrongType { at, .. }
            | Self::TooShort { at, .. }
            | Self::TooLong { at, .. }
            | Self::TooManyItems { at, .. }
            | Self::TooFewItems { at, .. }
            | Self::NotAllowed { at }
            | Self::TooSmall { at, .. }
            | Self::TooLarge { at, .. } => (at, None),
        };
        at.split('/').filter(|part| !part.is_empty()).map(str::to_owned).chain(name.cloned()).collect()
    }
}

/// Whether a check stops at the first violation (Rocket.Chat) or lists them all (HelpCrunch).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Report {
    First,
    All,
}

/// The schema of `T` with every `$ref` replaced by the schema it names, built once.
pub fn resolved_schema<T: ToSchema + 'static>() -> &'static Value {
    static SCHEMAS: LazyLock<RwLock<HashMap<TypeId, &'static Value>>> = LazyLock::new(RwLock::default);
    if let Some(schema) = SCHEMAS.read().expect("schema cache").get(&TypeId::of::<T>()) {
        return schema;
    }
    let mut components = Vec::new();
    T::schemas(&mut components);
    let components: HashMap<String, Value> = components
        .into_iter()
        .map(|(name, schema)| (name, serde_json::to_value(schema).expect("schemas serialize")))
        .collect();
    let root = serde_json::to_value(T::schema()).expect("schemas serialize");
    let schema: &'static Value = Box::leak(Box::new(inline_refs(root, &components, 0)));
    SCHEMAS.write().expect("schema cache").insert(TypeId::of::<T>(), schema);
    schema
}

fn inline_refs(schema: Value, components: &HashMap<String, Value>, depth: usize) -> Value {
    assert!(depth < 32, "request schemas are not recursive");
    match schema {
        Value::Object(object) => {
            if let Some(Value::String(reference)) = object.get("$ref") {
                let name = reference.rsplit('/').next().unwrap_or_default();
                let target = components.get(name).unwrap_or_else(|| panic!("no schema component {name}"));
                return inline_refs(target.clone(), components, depth + 1);
            }
            Value::Object(object.into_iter().map(|(key, value)| (key, inline_refs(value, components, depth))).collect())
        }
        Value::Array(items) => {
            Value::Array(items.into_iter().map(|item| inline_refs(item, components, depth)).collect())
        }
        other => other,
    }
}

/// The violations of `value` against `schema`: none when it conforms.
pub fn check(schema: &Value, value: &Value, report: Report) -> Vec<Violation> {
    let mut found = Vec::new();
    Checker { report, found: &mut found }.value(schema, value, "");
    found
}

struct Checker<'a> {
    report: Report,
    found: &'a mut Vec<Violation>,
}

impl Checker<'_> {
    fn done(&self) -> bool {
        self.report == Report::First && !self.found.is_empty()
    }

    fn add(&mut self, violation: Violation) {
        if !self.done() {
            self.found.push(violation);
        }
    }

    fn value(&mut self, schema: &Value, value: &Value, at: &str) {
        let Some(schema) = schema.as_object() else { return };
        if let Some(Value::Array(branches)) = schema.get("oneOf").or_else(|| schema.get("anyOf")) {
            return self.branches(branches, value, at);
        }
        if let Some(types) = schema.get("type")
            && !type_matches(types, value)
        {
            let (at, expected, found) = (at.to_owned(), expected_type(types), type_name(value));
            return self.add(Violation::WrongType { at, expected, found });
        }
        match value {
            Value::Object(object) => self.object(schema, object, at),
            Value::Array(items) => self.array(schema, items, at),
            Value::String(text) => self.string(schema, text, at),
            Value::Number(number) => self.number(schema, number, at),
            Value::Bool(_) | Value::Null => {}
        }
        if let Some(Value::Array(allowed)) = schema.get("enum")
            && !allowed.contains(value)
        {
            self.add(Violation::NotAllowed { at: at.to_owned() });
        }
    }

    /// `Option<T>` derives `oneOf: [{type: null}, T]`; any other union passes when one
    /// branch does, and otherwise reports what its first non-null branch finds.
    fn branches(&mut self, branches: &[Value], value: &Value, at: &str) {
        let mut first_failure = None;
        for branch in branches {
            let found = check(branch, value, self.report);
            if found.is_empty() {
                return;
            }
            let is_null_branch = branch.get("type") == Some(&Value::String("null".into()));
            if first_failure.is_none() && !is_null_branch {
                first_failure = Some(found);
            }
        }
        for violation in first_failure.unwrap_or_default() {
            self.add(violation.rebased(at));
        }
    }

    fn object(&mut self, schema: &Map<String, Value>, object: &Map<String, Value>, at: &str) {
        let properties = schema.get("properties").and_then(Value::as_object);
        if let Some(Value::Array(required)) = schema.get("required") {
            for name in required.iter().filter_map(Value::as_str) {
                if !object.contains_key(name) {
                    self.add(Violation::Missing { at: at.to_owned(), name: name.to_owned() });
                }
            }
        }
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            for name in object.keys() {
                if !properties.is_some_and(|properties| properties.contains_key(name)) {
                    self.add(Violation::Unknown { at: at.to_owned(), name: name.clone() });
                }
            }
        }
        for (name, property) in properties.into_iter().flatten() {
            if self.done() {
                return;
            }
            if let Some(value) = object.get(name) {
                self.value(property, value, &format!("{at}/{name}"));
            }
        }
        // A map's values (`additionalProperties` given as a schema).
        if let Some(values) = schema.get("additionalProperties").filter(|values| values.is_object()) {
            for (name, value) in object {
                if self.done() {
                    return;
                }
                if !properties.is_some_and(|properties| properties.contains_key(name)) {
                    self.value(values, value, &format!("{at}/{name}"));
                }
            }
        }
    }

    fn array(&mut self, schema: &Map<String, Value>, items: &[Value], at: &str) {
        if let Some(limit) = schema.get("maxItems").and_then(Value::as_u64)
            && items.len() as u64 > limit
        {
            return self.add(Violation::TooManyItems { at: at.to_owned(), limit });
        }
        if let Some(limit) = schema.get("minItems").and_then(Value::as_u64)
            && (items.len() as u64) < limit
        {
            return self.add(Violation::TooFewItems { at: at.to_owned(), limit });
        }
        if let Some(item_schema) = schema.get("items") {
            for (index, item) in items.iter().enumerate() {
                if self.done() {
                    return;
                }
                self.value(item_schema, item, &format!("{at}/{index}"));
            }
        }
    }

    fn string(&mut self, schema: &Map<String, Value>, text: &str, at: &str) {
        let length = text.chars().count() as u64;
        if let Some(limit) = schema.get("minLength").and_then(Value::as_u64)
            && length < limit
        {
            self.add(Violation::TooShort { at: at.to_owned(), limit });
        }
        if let Some(limit) = schema.get("maxLength").and_then(Value::as_u64)
            && length > limit
        {
            self.add(Violation::TooLong { at: at.to_owned(), limit });
        }
    }

    fn number(&mut self, schema: &Map<String, Value>, number: &serde_json::Number, at: &str) {
        let value = number.as_f64().unwrap_or_default();
        if let Some(limit) = schema.get("minimum")
            && value < limit.as_f64().unwrap_or(f64::MIN)
        {
            self.add(Violation::TooSmall { at: at.to_owned(), limit: limit.to_string() });
        }
        if let Some(limit) = schema.get("maximum")
            && value > limit.as_f64().unwrap_or(f64::MAX)
        {
            self.add(Violation::TooLarge { at: at.to_owned(), limit: limit.to_string() });
        }
    }
}

impl Violation {
    /// The violation as found inside a branch checked on its own, placed at `at`.
    fn rebased(self, at: &str) -> Self {
        let place = |inner: String| format!("{at}{inner}");
        match self {
            Self::Missing { at: inner, name } => Self::Missing { at: place(inner), name },
            Self::Unknown { at: inner, name } => Self::Unknown { at: place(inner), name },
            Self::WrongType { at: inner, expected, found } => Self::WrongType { at: place(inner), expected, found },
            Self::TooShort { at: inner, limit } => Self::TooShort { at: place(inner), limit },
            Self::TooLong { at: inner, limit } => Self::TooLong { at: place(inner), limit },
            Self::TooManyItems { at: inner, limit } => Self::TooManyItems { at: place(inner), limit },
            Self::TooFewItems { at: inner, limit } => Self::TooFewItems { at: place(inner), limit },
            Self::NotAllowed { at: inner } => Self::NotAllowed { at: place(inner) },
            Self::TooSmall { at: inner, limit } => Self::TooSmall { at: place(inner), limit },
            Self::TooLarge { at: inner, limit } => Self::TooLarge { at: place(inner), limit },
        }
    }
}

fn type_matches(types: &Value, value: &Value) -> bool {
    match types {
        Value::String(name) => is_of_type(name, value),
        Value::Array(names) => names.iter().filter_map(Value::as_str).any(|name| is_of_type(name, value)),
        _ => true,
    }
}

fn is_of_type(name: &str, value: &Value) -> bool {
    match name {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "null" => value.is_null(),
        "number" => value.is_number(),
        "integer" => value.is_i64() || value.is_u64(),
        _ => true,
    }
}

/// The JSON type of a value, as Meteor's `check` names it.
fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// The type a mismatch names: the first one other than `null`.
fn expected_type(types: &Value) -> &'static str {
    let names: Vec<&str> = match types {
        Value::String(name) => vec![name.as_str()],
        Value::Array(names) => names.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let name = names.iter().find(|name| **name != "null").or(names.first()).copied().unwrap_or("object");
    match name {
        "array" => "array",
        "string" => "string",
        "boolean" => "boolean",
        "null" => "null",
        "number" => "number",
        "integer" => "integer",
        _ => "object",
    }
}

/// A query string as the object its schema describes: a property the schema types as
/// boolean, integer or number is converted when the text is one (ajv's type coercion),
/// an array property collects every value of its repeated key, anything else stays text.
pub fn query_object(schema: &Value, pairs: Vec<(String, String)>) -> Value {
    let properties = schema.get("properties").and_then(Value::as_object);
    let mut object = Map::new();
    for (key, text) in pairs {
        let types = properties.and_then(|properties| properties.get(&key)).map(property_types).unwrap_or_default();
        if types.contains(&"array") {
            match object.entry(key).or_insert_with(|| Value::Array(Vec::new())) {
                Value::Array(items) => items.push(Value::String(text)),
                _ => unreachable!("array properties are arrays"),
            }
            continue;
        }
        let value = coerce(&types, text);
        object.entry(key).or_insert(value);
    }
    Value::Object(object)
}

/// Every type a property's schema allows, its union branches' included.
fn property_types(schema: &Value) -> Vec<&'static str> {
    let branches = schema.get("oneOf").or_else(|| schema.get("anyOf")).and_then(Value::as_array);
    std::iter::once(schema)
        .chain(branches.into_iter().flatten())
        .filter_map(|schema| schema.get("type"))
        .flat_map(|types| match types {
            Value::Array(names) => names.iter().map(expected_type).collect(),
            single => vec![expected_type(single)],
        })
        .collect()
}

fn coerce(types: &[&str], text: String) -> Value {
    if types.contains(&"string") || types.is_empty() {
        return Value::String(text);
    }
    if types.contains(&"boolean") {
        match text.as_str() {
            "true" => return Value::Bool(true),
            "false" => return Value::Bool(false),
            _ => {}
        }
    }
    if (types.contains(&"integer") || types.contains(&"number"))
        && let Ok(number) = text.trim().parse::<i64>()
    {
        return Value::from(number);
    }
    if types.contains(&"number")
        && let Some(number) = text.trim().parse::<f64>().ok().and_then(serde_json::Number::from_f64)
    {
        return Value::Number(number);
    }
    Value::String(text)
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Agent {
        #[serde(rename = "agentId")]
        agent_id: String,
        order: Option<i64>,
    }

    #[derive(Deserialize, ToSchema)]
    #[serde(deny_unknown_fields)]
    #[allow(dead_code)]
    struct Changes {
        upsert: Vec<Agent>,
        remove: Vec<Agent>,
        #[schema(min_length = 1, max_length = 4)]
        note: Option<String>,
    }

    fn first(value: Value) -> Option<String> {
        check(resolved_schema::<Changes>(), &value, Report::First).first().map(Violation::ajv_message)
    }

    #[test]
    fn required_comes_before_unknown_and_types() {
        assert_eq!(first(json!({"upsert": {}})).as_deref(), Some("must have required property 'remove'"));
        assert_eq!(first(json!({"x": 1})).as_deref(), Some("must have required property 'upsert'"));
        assert_eq!(
            first(json!({"upsert": [], "remove": [], "x": 1})).as_deref(),
            Some("must NOT have additional properties")
        );
        assert_eq!(first(json!({"upsert": {}, "remove": []})).as_deref(), Some("/upsert must be array"));
        assert_eq!(first(json!([])).as_deref(), Some("must be object"));
    }

    #[test]
    fn nested_items_are_checked_by_path() {
        assert_eq!(first(json!({"upsert": [], "remove": ["x"]})).as_deref(), Some("/remove/0 must be object"));
        assert_eq!(
            first(json!({"upsert": [{"agentId": "a", "order": "first"}], "remove": []})).as_deref(),
            Some("/upsert/0/order must be integer")
        );
        assert_eq!(
            first(json!({"upsert": [{"order": 1}], "remove": []})).as_deref(),
            Some("must have required property 'agentId'")
        );
        assert_eq!(first(json!({"upsert": [{"agentId": "a", "order": null}], "remove": []})), None);
    }

    #[test]
    fn string_lengths_and_nullable_fields() {
        assert_eq!(
            first(json!({"upsert": [], "remove": [], "note": ""})).as_deref(),
            Some("/note must NOT have fewer than 1 characters")
        );
        assert_eq!(
            first(json!({"upsert": [], "remove": [], "note": "hello"})).as_deref(),
            Some("/note must NOT have more than 4 characters")
        );
        assert_eq!(first(json!({"upsert": [], "remove": [], "note": 3})).as_deref(), Some("/note must be string"));
        assert_eq!(first(json!({"upsert": [], "remove": [], "note": null})), None);
    }

    #[test]
    fn a_wrong_type_names_what_was_found() {
        let found = check(resolved_schema::<Changes>(), &json!({"upsert": [], "remove": null}), Report::First);
        assert_eq!(found, vec![Violation::WrongType { at: "/remove".into(), expected: "array", found: "null" }]);
    }

    #[test]
    fn all_violations_are_reported_when_asked() {
        let found = check(resolved_schema::<Changes>(), &json!({"upsert": 1, "x": 2}), Report::All);
        let locations: Vec<Vec<String>> = found.iter().map(Violation::location).collect();
        assert_eq!(locations, vec![vec!["remove".to_owned()], vec!["x".to_owned()], vec!["upsert".to_owned()]]);
    }

    #[test]
    fn query_text_is_coerced_to_the_property_types() {
        #[derive(Deserialize, ToSchema)]
        #[allow(dead_code)]
        struct Filter {
            enabled: Option<bool>,
            count: Option<i64>,
            text: Option<String>,
            tags: Option<Vec<String>>,
        }
        let pairs = [("enabled", "true"), ("count", "5"), ("text", "7"), ("tags", "a"), ("tags", "b"), ("other", "x")]
            .map(|(key, value)| (key.to_owned(), value.to_owned()))
            .to_vec();
        assert_eq!(
            query_object(resolved_schema::<Filter>(), pairs),
            json!({"enabled": true, "count": 5, "text": "7", "tags": ["a", "b"], "other": "x"})
        );
    }
}
