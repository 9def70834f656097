//! ajv-style validation of JSON request bodies, with Rocket.Chat's messages:
//! `must have required property 'name'`, `/name must be string`,
//! `must NOT have additional properties`.

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

pub struct Fields<'a> {
    object: &'a Map<String, Value>,
    /// Where the object sits in the body (`department/`), for type errors.
    path: String,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Self { object, path: String::new() }
    }

    /// The fields of an object nested at `path` (`department`, `agents/0`): type
    /// errors name the whole path, `/department/name must be string`.
    pub fn nested(object: &'a Map<String, Value>, path: &str) -> Self {
        Self { object, path: format!("{path}/") }
    }

    fn wrong_type(&self, name: &str, expected: &str) -> ApiError {
        wrong_type(&format!("{}{name}", self.path), expected)
    }

    pub fn deny_unknown(&self, allowed: &[&str]) -> ApiResult<&Self> {
        if self.object.keys().all(|key| allowed.contains(&key.as_str())) {
            Ok(self)
        } else {
            Err(ApiError::invalid_params("must NOT have additional properties"))
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.object.contains_key(name)
    }

    pub fn value(&self, name: &str) -> Option<&'a Value> {
        self.object.get(name)
    }

    pub fn required_value(&self, name: &str) -> ApiResult<&'a Value> {
        self.object.get(name).ok_or_else(|| missing(name))
    }

    pub fn required_str(&self, name: &str) -> ApiResult<&'a str> {
        self.required_value(name)?.as_str().ok_or_else(|| self.wrong_type(name, "string"))
    }

    /// A string field that may be absent (null counts as absent).
    pub fn optional_str(&self, name: &str) -> ApiResult<Option<&'a str>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(self.wrong_type(name, "string")),
        }
    }

    pub fn optional_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(self.wrong_type(name, "boolean")),
        }
    }

    pub fn required_bool(&self, name: &str) -> ApiResult<bool> {
        self.required_value(name)?.as_bool().ok_or_else(|| self.wrong_type(name, "boolean"))
    }

    pub fn required_object(&self, name: &str) -> ApiResult<&'a Map<String, Value>> {
        self.required_value(name)?.as_object().ok_or_else(|| self.wrong_type(name, "object"))
    }

    pub fn optional_i64(&self, name: &str) -> ApiResult<Option<i64>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(value) => value.as_i64().map(Some).ok_or_else(|| self.wrong_type(name, "integer")),
        }
    }

    pub fn required_array(&self, name: &str) -> ApiResult<&'a Vec<Value>> {
        self.required_value(name)?.as_array().ok_or_else(|| self.wrong_type(name, "array"))
    }

    pub fn optional_array(&self, name: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(self.wrong_type(name, "array")),
        }
    }
}

pub fn missing(name: &str) -> ApiError {
    ApiError::invalid_params(format!("must have required property '{name}'"))
}

pub fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::invalid_params(format!("/{name} must be {expected}"))
}

/// Whether any string or key of `value` holds a NUL character. PostgreSQL cannot store
/// one in text, so both faces refuse it at the edge, on every backend alike.
pub fn has_nul(value: &Value) -> bool {
    match value {
        Value::String(text) => text.contains('\0'),
        Value::Array(items) => items.iter().any(has_nul),
        Value::Object(object) => object_has_nul(object),
        Value::Null | Value::Bool(_) | Value::Number(_) => false,
    }
}

/// [`has_nul`] for a JSON object.
pub fn object_has_nul(object: &Map<String, Value>) -> bool {
    object.iter().any(|(key, value)| key.contains('\0') || has_nul(value))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn nul_is_found_in_strings_and_keys_at_any_depth() {
        assert!(!has_nul(&json!({"a": ["b", {"c": 1}]})));
        assert!(has_nul(&json!({"a": ["b", {"c": "x\0"}]})));
        assert!(has_nul(&json!({"a\0": 1})));
    }
}
