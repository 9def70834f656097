//! Values of livechat custom fields as room.saveInfo takes them: checked against the
//! definitions of one scope, and merged into the stored JSON object.

use std::collections::BTreeMap;

use serde_json::Value;

/// What a definition says about the values it accepts.
pub struct FieldRule<'a> {
    pub id: &'a str,
    pub label: &'a str,
    /// A pattern every non-blank value must match somewhere in it, as JavaScript's
    /// `RegExp.test` does; blank or absent for none.
    pub regexp: Option<&'a str>,
}

/// A value refused: the definition's label, as Rocket.Chat names it in its error.
#[derive(Debug, PartialEq, Eq)]
pub struct InvalidValue(pub String);

/// The given values of the defined fields, trimmed, as changes to store (a blank
/// value removes the field); keys no definition names are left out, as in
/// Rocket.Chat. A non-blank value that does not match its definition's pattern (or
/// whose pattern cannot be compiled) is refused.
pub fn checked_values(
    rules: &[FieldRule<'_>],
    given: &BTreeMap<String, String>,
) -> Result<Vec<(String, String)>, InvalidValue> {
    let mut changes = Vec::new();
    for rule in rules {
        let Some(value) = given.get(rule.id) else { continue };
        let value = value.trim();
        if let Some(pattern) = rule.regexp.filter(|pattern| !pattern.is_empty())
            && !value.is_empty()
            && !regex::Regex::new(pattern).is_ok_and(|pattern| pattern.is_match(value))
        {
            return Err(InvalidValue(rule.label.to_owned()));
        }
        changes.push((rule.id.to_owned(), value.to_owned()));
    }
    Ok(changes)
}

/// The stored JSON object with `changes` applied: a blank value removes its field.
/// `None` when no field is left. A stored text that is not an object counts as empty.
pub fn merged(stored: Option<&str>, changes: &[(String, String)]) -> Option<String> {
    let mut object = stored
        .and_then(|text| serde_json::from_str::<Value>(text).ok())
        .and_then(|value| match value {
            Value::Object(object) => Some(object),
            _ => None,
        })
        .unwrap_or_default();
    for (id, value) in changes {
        if value.is_empty() {
            object.remove(id);
        } else {
            object.insert(id.clone(), Value::String(value.clone()));
        }
    }
    (!object.is_empty()).then(|| Value::Object(object).to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn given(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs.iter().map(|(key, value)| ((*key).to_owned(), (*value).to_owned())).collect()
    }

    #[test]
    fn values_are_trimmed_checked_and_unknown_keys_left_out() {
        let rules = [
            FieldRule { id: "order", label: "Order number", regexp: Some("^[0-9]+$") },
            FieldRule { id: "note", label: "Note", regexp: None },
        ];
        assert_eq!(
            checked_values(&rules, &given(&[("order", " 42 "), ("note", "  "), ("other", "x")])),
            Ok(vec![("order".to_owned(), "42".to_owned()), ("note".to_owned(), String::new())])
        );
        assert_eq!(checked_values(&rules, &given(&[("order", "4x2")])), Err(InvalidValue("Order number".to_owned())));
        // A blank value is not matched: it removes the field.
        assert_eq!(checked_values(&rules, &given(&[("order", "")])), Ok(vec![("order".to_owned(), String::new())]));
        let broken = [FieldRule { id: "order", label: "Order", regexp: Some("(") }];
        assert_eq!(checked_values(&broken, &given(&[("order", "1")])), Err(InvalidValue("Order".to_owned())));
    }

    #[test]
    fn changes_merge_into_the_stored_object() {
        let changes = [("a".to_owned(), "1".to_owned()), ("b".to_owned(), String::new())];
        let parsed = |text: Option<String>| text.map(|text| serde_json::from_str::<Value>(&text).unwrap());
        assert_eq!(
            parsed(merged(Some(r#"{"b":"2","c":"3"}"#), &changes)),
            Some(serde_json::json!({"a": "1", "c": "3"}))
        );
        assert_eq!(merged(None, &[("b".to_owned(), String::new())]), None);
        assert_eq!(merged(Some("not json"), &changes[..1]), Some(r#"{"a":"1"}"#.to_owned()));
    }
}
