//! A pass over a JSON body's bytes as they arrive, before any parsing, that bounds what
//! parsing it can cost. A 1 MiB body of `[0],[0],...` builds hundreds of thousands of values; parsed
//! into a tree that costs tens of megabytes, so such a body is refused by its shape.
//! And a check, after parsing, that no string holds a NUL character.

use serde_json::{Map, Value};

/// Most nesting of arrays and objects a body may have.
pub const MAX_DEPTH: usize = 32;

/// Most values (numbers, strings, literals, arrays and objects) a body may hold.
pub const MAX_VALUES: usize = 20_000;

/// Counts a JSON body's nesting and values as its bytes arrive, so that a body over
/// [`MAX_DEPTH`] or [`MAX_VALUES`] is refused at the first byte past them, without
/// reading the rest. It only counts, and does not check the syntax: what it lets
/// through is parsed, and refused there if bad.
pub struct JsonGuard {
    depth: usize,
    values: usize,
    in_string: bool,
    escaped: bool,
    /// A value starts at an opening bracket, a quote, or the first byte of a literal or
    /// number: a byte that is not a separator, after a separator.
    after_separator: bool,
}

impl Default for JsonGuard {
    fn default() -> Self {
        Self { depth: 0, values: 0, in_string: false, escaped: false, after_separator: true }
    }
}

impl JsonGuard {
    /// Counts the next bytes of the body; false once the body is past a limit.
    pub fn feed(&mut self, bytes: &[u8]) -> bool {
        for &byte in bytes {
            if self.in_string {
                match (self.escaped, byte) {
                    (true, _) => self.escaped = false,
                    (false, b'\\') => self.escaped = true,
                    (false, b'"') => self.in_string = false,
                    _ => {}
                }
                continue;
            }
            match byte {
                b'[' | b'{' => {
                    self.depth += 1;
                    self.values += 1;
                    self.after_separator = true;
                    if self.depth > MAX_DEPTH {
                        return false;
                    }
                }
                b']' | b'}' => {
                    self.depth = self.depth.saturating_sub(1);
                    self.after_separator = false;
                }
                b',' | b':' => self.after_separator = true,
                b'"' => {
                    self.in_string = true;
                    self.values += 1;
                    self.after_separator = false;
                }
                b' ' | b'\t' | b'\n' | b'\r' => {}
                _ => {
                    if self.after_separator {
                        self.values += 1;
                    }
                    self.after_separator = false;
                }
            }
            if self.values > MAX_VALUES {
                return false;
            }
        }
        true
    }
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

    /// Whether `bytes`, fed whole, stay within the limits.
    fn within_limits(bytes: &[u8]) -> bool {
        JsonGuard::default().feed(bytes)
    }

    #[test]
    fn ordinary_bodies_pass() {
        assert!(within_limits(br#"{"user":"ann","password":"p\"[[[[","list":[1,2,{"a":null}]}"#));
        assert!(within_limits(b""));
    }

    #[test]
    fn deep_nesting_is_refused() {
        let deep = "[".repeat(MAX_DEPTH + 1);
        assert!(!within_limits(deep.as_bytes()));
        assert!(within_limits("[".repeat(MAX_DEPTH).as_bytes()));
    }

    #[test]
    fn many_small_values_are_refused() {
        let many = format!("[{}0]", "[0],".repeat(MAX_VALUES / 2));
        assert!(!within_limits(many.as_bytes()));
        let numbers = format!("[{}0]", "1,".repeat(MAX_VALUES - 2));
        assert!(within_limits(numbers.as_bytes()));
        let too_many_numbers = format!("[{}0]", "1,".repeat(MAX_VALUES));
        assert!(!within_limits(too_many_numbers.as_bytes()));
    }

    #[test]
    fn brackets_inside_strings_do_not_count() {
        let text = format!(r#"{{"a":"{}"}}"#, "[".repeat(10_000));
        assert!(within_limits(text.as_bytes()));
    }

    #[test]
    fn counts_carry_across_pieces() {
        let mut guard = JsonGuard::default();
        assert!(guard.feed(br#"{"a":"[[[\"#));
        assert!(guard.feed(br#"" ]]]","b":"#));
        assert!(guard.feed(b"[".repeat(MAX_DEPTH - 1).as_slice()));
        assert!(!guard.feed(b"["));
    }
}
