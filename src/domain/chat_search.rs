//! HelpCrunch chat lists and searches: sort fields and filter conditions, parsed from
//! their wire names once and trusted by the store.

use super::chat::ChatStatus;
use super::page::Direction;

/// How a list of chats is ordered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatSortField {
    CreatedAt,
    LastCustomerMessageAt,
    LastMessageAt,
    ClosedAt,
}

impl ChatSortField {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "chats.createdAt" => Some(Self::CreatedAt),
            "chats.lastCustomerMessageAt" => Some(Self::LastCustomerMessageAt),
            "chats.lastMessageAt" => Some(Self::LastMessageAt),
            "chats.closedAt" => Some(Self::ClosedAt),
            _ => None,
        }
    }
}

pub fn parse_direction(raw: &str) -> Option<Direction> {
    match raw.to_ascii_lowercase().as_str() {
        "asc" => Some(Direction::Asc),
        "desc" => Some(Direction::Desc),
        _ => None,
    }
}

/// How the conditions of a search combine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Comparison {
    And,
    Or,
}

impl Comparison {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw.to_ascii_uppercase().as_str() {
            "AND" => Some(Self::And),
            "OR" => Some(Self::Or),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatField {
    Status,
    Assignee,
    Department,
    CreatedAt,
    ClosedAt,
    Customer,
    /// The SLA due time (an addition of this server).
    SlaDueAt,
    /// When the SLA due time was recorded as breached (an addition of this server).
    SlaBreachedAt,
}

impl ChatField {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "chats.status" => Some(Self::Status),
            "chats.assignee" => Some(Self::Assignee),
            "chats.department" => Some(Self::Department),
            "chats.createdAt" => Some(Self::CreatedAt),
            "chats.closedAt" => Some(Self::ClosedAt),
            "chats.customer" => Some(Self::Customer),
            "chats.slaDueAt" => Some(Self::SlaDueAt),
            "chats.slaBreachedAt" => Some(Self::SlaBreachedAt),
            _ => None,
        }
    }

    /// Instants compare in order; statuses and ids only for (in)equality.
    pub fn is_ordered(self) -> bool {
        matches!(self, Self::CreatedAt | Self::ClosedAt | Self::SlaDueAt | Self::SlaBreachedAt)
    }

    /// Assignee, department and the SLA instants may be empty: `= null` finds chats
    /// without one.
    pub fn may_be_empty(self) -> bool {
        matches!(self, Self::Assignee | Self::Department | Self::SlaDueAt | Self::SlaBreachedAt)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatOperator {
    Equal,
    NotEqual,
    Greater,
    GreaterOrEqual,
    Less,
    LessOrEqual,
}

impl ChatOperator {
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "=" => Some(Self::Equal),
            "!=" => Some(Self::NotEqual),
            ">" => Some(Self::Greater),
            ">=" => Some(Self::GreaterOrEqual),
            "<" => Some(Self::Less),
            "<=" => Some(Self::LessOrEqual),
            _ => None,
        }
    }

    pub fn is_equality(self) -> bool {
        matches!(self, Self::Equal | Self::NotEqual)
    }
}

/// What a condition compares with: a status, an integer id, UNIX seconds, or nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatValue {
    Status(ChatStatus),
    Id(i64),
    Seconds(i64),
    Empty,
}

/// One valid search condition: `field operator value`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ChatCondition {
    pub field: ChatField,
    pub operator: ChatOperator,
    pub value: ChatValue,
}

/// A whole chat search; no conditions means every chat.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChatSearch {
    pub comparison: Comparison,
    pub conditions: Vec<ChatCondition>,
    pub sort: ChatSortField,
    pub direction: Direction,
    pub offset: i64,
    pub limit: i64,
}

/// Largest and default page of chats.
pub const MAX_CHATS_PER_PAGE: i64 = 100;

/// Most conditions one search may hold: each is a bound parameter and a clause.
pub const MAX_SEARCH_CONDITIONS: usize = 50;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_parse() {
        assert_eq!(ChatSortField::parse("chats.closedAt"), Some(ChatSortField::ClosedAt));
        assert_eq!(ChatSortField::parse("closedAt"), None);
        assert_eq!(parse_direction("DESC"), Some(Direction::Desc));
        assert_eq!(Comparison::parse("or"), Some(Comparison::Or));
        assert_eq!(ChatField::parse("chats.customer"), Some(ChatField::Customer));
        assert_eq!(ChatField::parse("chats.slaBreachedAt"), Some(ChatField::SlaBreachedAt));
        assert_eq!(ChatOperator::parse("<="), Some(ChatOperator::LessOrEqual));
        assert_eq!(ChatOperator::parse("=="), None);
    }
}
