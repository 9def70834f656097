//! HelpCrunch customer searches: fields, operators and values, parsed from their wire
//! names once and trusted by the store.

use super::chat_search::Comparison;
use super::page::Direction;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerField {
    Id,
    Name,
    Email,
    Phone,
    UserId,
    FirstSeen,
    LastSeen,
}

impl CustomerField {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "customers.id" => Some(Self::Id),
            "customers.name" => Some(Self::Name),
            "customers.email" => Some(Self::Email),
            "customers.phone" => Some(Self::Phone),
            "customers.userId" => Some(Self::UserId),
            "customers.firstSeen" => Some(Self::FirstSeen),
            "customers.lastSeen" => Some(Self::LastSeen),
            _ => None,
        }
    }

    /// Ids and instants compare in order; texts compare for (in)equality and contain.
    pub fn is_ordered(self) -> bool {
        matches!(self, Self::Id | Self::FirstSeen | Self::LastSeen)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerOperator {
    Equal,
    NotEqual,
    /// `~`: the text holds the value, in any case.
    Contains,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl CustomerOperator {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "=" => Some(Self::Equal),
            "!=" => Some(Self::NotEqual),
            "~" => Some(Self::Contains),
            ">" => Some(Self::Greater),
            ">=" => Some(Self::GreaterOrEqual),
            "<" => Some(Self::Less),
            "<=" => Some(Self::LessOrEqual),
            _ => None,
        }
    }

    /// Whether the operator applies to `field`.
    pub fn applies_to(self, field: CustomerField) -> bool {
        match self {
            Self::Equal | Self::NotEqual => true,
            Self::Contains => !field.is_ordered(),
            Self::Greater | Self::GreaterOrEqual | Self::Less | Self::LessOrEqual => field.is_ordered(),
        }
    }
}

/// What a condition compares with: text, an integer id, or UNIX seconds.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CustomerValue {
    Text(String),
    Id(i64),
    Seconds(i64),
}

/// One valid search condition: `field operator value`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerCondition {
    pub field: CustomerField,
    pub operator: CustomerOperator,
    pub value: CustomerValue,
}

/// How a page of customers is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CustomerSort {
    /// When the visitor registered.
    FirstSeen,
    /// When the visitor last changed.
    LastSeen,
}

/// A whole customer search; no conditions means every customer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerSearch {
    pub comparison: Comparison,
    pub conditions: Vec<CustomerCondition>,
    pub sort: CustomerSort,
    pub direction: Direction,
    pub offset: i64,
    pub limit: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse_and_operators_fit_their_fields() {
        assert_eq!(CustomerField::parse("customers.email"), Some(CustomerField::Email));
        assert_eq!(CustomerField::parse("chats.status"), None);
        assert_eq!(CustomerOperator::parse("~"), Some(CustomerOperator::Contains));
        assert!(CustomerOperator::Contains.applies_to(CustomerField::Name));
        assert!(!CustomerOperator::Contains.applies_to(CustomerField::LastSeen));
        assert!(!CustomerOperator::Less.applies_to(CustomerField::Email));
        assert!(CustomerOperator::NotEqual.applies_to(CustomerField::Id));
    }
}
