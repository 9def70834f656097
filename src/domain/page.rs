//! Paging (`offset`, `count`) and sorting (`sort={"ts":-1}`) of Rocket.Chat list endpoints.

use serde_json::Value;

/// A validated page request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Page {
    pub offset: i64,
    pub count: i64,
}

/// Limits of paging, from configuration.
#[derive(Clone, Copy, Debug)]
pub struct PageLimits {
    pub default_count: i64,
    pub max_count: i64,
}

#[derive(Debug, PartialEq, Eq)]
pub enum PageError {
    /// The raw `sort` value that could not be used.
    InvalidSort(String),
}

impl Page {
    /// A page of `count` items after `offset` (already checked to be non-negative);
    /// `count` absent or 0 means the default, a negative count its size (as MongoDB's
    /// negative limit under Rocket.Chat), and counts above the cap are cut to it.
    pub fn new(offset: Option<i64>, count: Option<i64>, limits: PageLimits) -> Self {
        let count = match count {
            None | Some(0) => limits.default_count,
            Some(count) => count.saturating_abs().min(limits.max_count),
        };
        Self { offset: offset.unwrap_or(0), count }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Direction {
    Asc,
    Desc,
}

/// One sort key: a whitelisted column and its direction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SortKey<F> {
    pub field: F,
    pub direction: Direction,
}

/// Parses a `sort` parameter (a JSON object of field -> 1 | -1, in priority order)
/// against a whitelist that maps wire names to fields. Anything else is `InvalidSort`.
pub fn parse_sort<F: Copy>(raw: &str, whitelist: &[(&str, F)]) -> Result<Vec<SortKey<F>>, PageError> {
    let invalid = || PageError::InvalidSort(raw.to_owned());
    let Ok(Value::Object(object)) = serde_json::from_str::<Value>(raw) else {
        return Err(invalid());
    };
    if object.is_empty() {
        return Err(invalid());
    }
    object
        .iter()
        .map(|(name, direction)| {
            let field = whitelist.iter().find(|(wire, _)| wire == name).map(|(_, field)| *field).ok_or_else(invalid)?;
            let direction = match direction.as_i64() {
                Some(1) => Direction::Asc,
                Some(-1) => Direction::Desc,
                _ => return Err(invalid()),
            };
            Ok(SortKey { field, direction })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: PageLimits = PageLimits { default_count: 50, max_count: 100 };

    #[test]
    fn page_defaults_and_caps() {
        assert_eq!(Page::new(None, None, LIMITS), Page { offset: 0, count: 50 });
        assert_eq!(Page::new(Some(5), Some(0), LIMITS), Page { offset: 5, count: 50 });
        assert_eq!(Page::new(None, Some(1000), LIMITS), Page { offset: 0, count: 100 });
        assert_eq!(Page::new(None, Some(-2), LIMITS), Page { offset: 0, count: 2 });
        assert_eq!(Page::new(None, Some(i64::MIN), LIMITS), Page { offset: 0, count: 100 });
    }

    #[test]
    fn sort_keeps_order_and_rejects_unknown_fields() {
        let whitelist = [("ts", 'T'), ("name", 'N')];
        assert_eq!(
            parse_sort(r#"{"name":1,"ts":-1}"#, &whitelist),
            Ok(vec![
                SortKey { field: 'N', direction: Direction::Asc },
                SortKey { field: 'T', direction: Direction::Desc }
            ])
        );
        for bad in [r#"{"password":1}"#, r#"{"ts":2}"#, "ts", "{}", r#"{"ts":"1"}"#] {
            assert_eq!(parse_sort(bad, &whitelist), Err(PageError::InvalidSort(bad.into())));
        }
    }
}
