//! The HelpCrunch face's customers and chat messages: the same visitor and message rows
//! the Rocket.Chat face serves, found by their integer ids.

use sqlx::FromRow;

use super::sql::{message_columns, visitor_columns};
use super::{Message, Store, StoreResult, Visitor, contains_pattern, on_pool};
use crate::domain::chat_search::Comparison;
use crate::domain::customer_search::{
    CustomerCondition, CustomerField, CustomerOperator, CustomerSearch, CustomerSort, CustomerValue,
};
use crate::domain::page::Direction;

/// A message of a chat, with its author's integer id and email address when the
/// author is a user (an agent).
#[derive(Clone, Debug, FromRow)]
pub struct ChatMessage {
    #[sqlx(flatten)]
    pub message: Message,
    pub agent_num_id: Option<i64>,
    pub agent_email: Option<String>,
}

impl Store {
    /// The visitor with this integer id.
    pub async fn customer_by_num_id(&self, num_id: i64) -> StoreResult<Option<Visitor>> {
        const SQL: &str = concat!("SELECT ", visitor_columns!(), " FROM visitors WHERE num_id = $1");
        Ok(on_pool!(self, |pool| sqlx::query_as(SQL).bind(num_id).fetch_optional(pool).await)?)
    }

    /// The visitors matching every (AND) or any (OR) condition, one page of them in the
    /// order asked (the integer id breaks ties the same way), with their total.
    pub async fn search_customers(&self, search: &CustomerSearch) -> StoreResult<(Vec<Visitor>, i64)> {
        let mut binds = Vec::new();
        let conditions: Vec<String> =
            search.conditions.iter().map(|condition| condition_sql(condition, &mut binds)).collect();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            let joiner = match search.comparison {
                Comparison::And => " AND ",
                Comparison::Or => " OR ",
            };
            format!(" WHERE {}", conditions.join(joiner))
        };
        let order = match (search.sort, search.direction) {
            (CustomerSort::FirstSeen, Direction::Asc) => "created_at ASC, num_id ASC",
            (CustomerSort::FirstSeen, Direction::Desc) => "created_at DESC, num_id DESC",
            (CustomerSort::LastSeen, Direction::Asc) => "updated_at ASC, num_id ASC",
            (CustomerSort::LastSeen, Direction::Desc) => "updated_at DESC, num_id DESC",
        };
        let limit_parameter = binds.len() + 1;
        // Only the fixed fragments of `condition_sql` and the order, and parameter
        // numbers, are joined: every value travels as a bound parameter.
        let list = format!(
            "SELECT {} FROM visitors{where_clause} ORDER BY {order} LIMIT ${limit_parameter} OFFSET ${}",
            visitor_columns!(),
            limit_parameter + 1
        );
        let count = format!("SELECT COUNT(*) FROM visitors{where_clause}");
        on_pool!(self, |pool| {
            let mut list_query = sqlx::query_as(sqlx::AssertSqlSafe(list.clone()));
            let mut count_query = sqlx::query_as(sqlx::AssertSqlSafe(count.clone()));
            for bound in &binds {
                (list_query, count_query) = match bound {
                    Bound::Text(text) => (list_query.bind(text.clone()), count_query.bind(text.clone())),
                    Bound::Int(number) => (list_query.bind(*number), count_query.bind(*number)),
                };
            }
            let customers: Vec<Visitor> = list_query.bind(search.limit).bind(search.offset).fetch_all(pool).await?;
            let (total,): (i64,) = count_query.fetch_one(pool).await?;
            Ok((customers, total))
        })
    }

    /// A page of the visible messages of room `room_id`, newest first, with the total.
    pub async fn chat_messages(&self, room_id: &str, offset: i64, limit: i64) -> StoreResult<(Vec<ChatMessage>, i64)> {
        const LIST: &str = concat!(
            "SELECT ",
            message_columns!(),
            ", (SELECT u.num_id FROM users u WHERE u.id = messages.author_id AND NOT messages.from_visitor) \
               AS agent_num_id, \
             (SELECT u.email FROM users u WHERE u.id = messages.author_id AND NOT messages.from_visitor) \
               AS agent_email \
             FROM messages WHERE room_id = $1 AND NOT hidden ORDER BY ts DESC, num_id DESC LIMIT $2 OFFSET $3"
        );
        const COUNT: &str = "SELECT COUNT(*) FROM messages WHERE room_id = $1 AND NOT hidden";
        on_pool!(self, |pool| {
            let messages = sqlx::query_as(LIST).bind(room_id).bind(limit).bind(offset).fetch_all(pool).await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).fetch_one(pool).await?;
            Ok((messages, total))
        })
    }
}

/// A parameter of a search condition.
enum Bound {
    Text(String),
    Int(i64),
}

/// The fixed SQL of one condition; its value is pushed onto `binds` and referenced by
/// number. Texts compare in any case; instants in whole seconds, as the wire shows them.
fn condition_sql(condition: &CustomerCondition, binds: &mut Vec<Bound>) -> String {
    let column = match condition.field {
        CustomerField::Id => "num_id",
        CustomerField::Name => "LOWER(name)",
        CustomerField::Email => "LOWER(email)",
        CustomerField::Phone => "LOWER(phone)",
        CustomerField::UserId => "LOWER(id)",
        CustomerField::FirstSeen => "(created_at / 1000)",
        CustomerField::LastSeen => "(updated_at / 1000)",
    };
    binds.push(match (&condition.value, condition.operator) {
        (CustomerValue::Text(text), CustomerOperator::Contains) => Bound::Text(contains_pattern(text)),
        (CustomerValue::Text(text), _) => Bound::Text(text.to_lowercase()),
        (CustomerValue::Id(number) | CustomerValue::Seconds(number), _) => Bound::Int(*number),
    });
    let parameter = binds.len();
    match condition.operator {
        // "Not this name" includes the customers without one.
        CustomerOperator::NotEqual => format!("({column} IS NULL OR {column} <> ${parameter})"),
        CustomerOperator::Equal => format!("{column} = ${parameter}"),
        CustomerOperator::Contains => format!("{column} LIKE ${parameter} ESCAPE '\\'"),
        CustomerOperator::Greater => format!("{column} > ${parameter}"),
        CustomerOperator::GreaterOrEqual => format!("{column} >= ${parameter}"),
        CustomerOperator::Less => format!("{column} < ${parameter}"),
        CustomerOperator::LessOrEqual => format!("{column} <= ${parameter}"),
    }
}
