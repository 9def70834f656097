//! ajv-style validation of JSON request bodies, with Rocket.Chat's messages:
//! `must have required property 'name'`, `/name must be string`,
//! `must NOT have additional properties`.

use serde_json::{Map, Value};

use super::error::{ApiError, ApiResult};

pub struct Fields<'a> {
    object: &'a Map<String, Value>,
}

impl<'a> Fields<'a> {
    pub fn new(object: &'a Map<String, Value>) -> Self {
        Self { object }
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
        self.required_value(name)?.as_str().ok_or_else(|| wrong_type(name, "string"))
    }

    /// A string field that may be absent (null counts as absent).
    pub fn optional_str(&self, name: &str) -> ApiResult<Option<&'a str>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::String(value)) => Ok(Some(value)),
            Some(_) => Err(wrong_type(name, "string")),
        }
    }

    pub fn optional_bool(&self, name: &str) -> ApiResult<Option<bool>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Bool(value)) => Ok(Some(*value)),
            Some(_) => Err(wrong_type(name, "boolean")),
        }
    }

    pub fn required_bool(&self, name: &str) -> ApiResult<bool> {
        self.required_value(name)?.as_bool().ok_or_else(|| wrong_type(name, "boolean"))
    }

    pub fn required_object(&self, name: &str) -> ApiResult<&'a Map<String, Value>> {
        self.required_value(name)?.as_object().ok_or_else(|| wrong_type(name, "object"))
    }

    pub fn optional_array(&self, name: &str) -> ApiResult<Option<&'a Vec<Value>>> {
        match self.object.get(name) {
            None | Some(Value::Null) => Ok(None),
            Some(Value::Array(items)) => Ok(Some(items)),
            Some(_) => Err(wrong_type(name, "array")),
        }
    }
}

pub fn missing(name: &str) -> ApiError {
    ApiError::invalid_params(format!("must have required property '{name}'"))
}

pub fn wrong_type(name: &str, expected: &str) -> ApiError {
    ApiError::invalid_params(format!("/{name} must be {expected}"))
}
