//! What agents read of a visitor's conversations: its rooms (chat history and chat
//! search) and the pages it visited in a room, each within the rooms the reader may see.

use super::sql::{message_columns, room_access, room_select};
use super::{Message, Room, RoomAccess, SortColumn, Store, StoreResult, contains_pattern, on_pool, order_by};
use crate::domain::page::{Page, SortKey};

/// The message type of a page visit (see `add_navigation`).
const NAVIGATION_HISTORY: &str = "livechat_navigation_history";

/// Which of a visitor's rooms a chat search finds.
#[derive(Clone, Copy, Debug, Default)]
pub struct VisitorRoomFilter<'a> {
    /// Only closed rooms.
    pub closed_only: bool,
    /// Only rooms an agent served.
    pub served_only: bool,
    /// Only rooms whose source type holds this text, in any case.
    pub source: Option<&'a str>,
    /// Only rooms with a message holding this text, in any case.
    pub text: Option<&'a str>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VisitorRoomSort {
    Ts,
    UpdatedAt,
    ClosedAt,
    Fname,
    Id,
}

impl SortColumn for VisitorRoomSort {
    fn column(self) -> &'static str {
        match self {
            Self::Ts => "r.ts",
            Self::UpdatedAt => "r.updated_at",
            Self::ClosedAt => "r.closed_at",
            Self::Fname => r#"r.fname COLLATE "BINARY""#,
            Self::Id => r#"r.id COLLATE "BINARY""#,
        }
    }
}

/// Rooms of visitor `$1` that `$2`..`$6` (a `RoomAccess`) reach, filtered by `$7`..`$10`
/// (see `VisitorRoomFilter`; the patterns are contains-patterns).
const VISITOR_ROOMS_WHERE: &str = concat!(
    "WHERE r.visitor_id = $1 AND ",
    room_access!("r.", "$2", "$3", "$4", "$5", "$6"),
    " AND (NOT $7 OR r.closed_at IS NOT NULL) AND (NOT $8 OR r.served_by IS NOT NULL) \
     AND ($9 IS NULL OR LOWER(r.source_type) LIKE $9 ESCAPE '\\') \
     AND ($10 IS NULL OR EXISTS (SELECT 1 FROM messages sm WHERE sm.room_id = r.id AND LOWER(sm.msg) LIKE $10 ESCAPE '\\')) "
);

impl Store {
    /// A page of the visitor's rooms that `access` reaches and `filter` lets through,
    /// newest first unless `sort` says otherwise, with their total.
    pub async fn visitor_rooms(
        &self,
        visitor_id: &str,
        access: RoomAccess<'_>,
        filter: VisitorRoomFilter<'_>,
        sort: &[SortKey<VisitorRoomSort>],
        page: Page,
    ) -> StoreResult<(Vec<Room>, i64)> {
        // Assembled from static fragments and a whitelisted ORDER BY only.
        let list = format!(
            "{}{VISITOR_ROOMS_WHERE}{} LIMIT $11 OFFSET $12",
            room_select!(),
            order_by(sort, "r.ts DESC, r.num_id DESC")
        );
        let count = format!("SELECT COUNT(*) FROM rooms r {VISITOR_ROOMS_WHERE}");
        let source = filter.source.map(contains_pattern);
        let text = filter.text.map(contains_pattern);
        macro_rules! bind_filter {
            ($query:expr) => {
                $query
                    .bind(visitor_id)
                    .bind(access.user_id)
                    .bind(access.any_room)
                    .bind(access.closed_rooms)
                    .bind(access.closed_department_rooms)
                    .bind(access.bound)
                    .bind(filter.closed_only)
                    .bind(filter.served_only)
                    .bind(&source)
                    .bind(&text)
            };
        }
        on_pool!(self, |pool| {
            let rooms = bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(list.clone())))
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) =
                bind_filter!(sqlx::query_as(sqlx::AssertSqlSafe(count.clone()))).fetch_one(pool).await?;
            Ok((rooms, total))
        })
    }

    /// A page of the pages visited in a room (its navigation history), newest first or
    /// oldest first, with their total.
    pub async fn visited_pages(
        &self,
        room_id: &str,
        oldest_first: bool,
        page: Page,
    ) -> StoreResult<(Vec<Message>, i64)> {
        macro_rules! pages {
            ($order:literal) => {
                concat!(
                    "SELECT ",
                    message_columns!(),
                    " FROM messages WHERE room_id = $1 AND kind = $2 ORDER BY ",
                    $order,
                    " LIMIT $3 OFFSET $4"
                )
            };
        }
        const NEWEST_FIRST: &str = pages!("ts DESC, num_id DESC");
        const OLDEST_FIRST: &str = pages!("ts, num_id");
        const COUNT: &str = "SELECT COUNT(*) FROM messages WHERE room_id = $1 AND kind = $2";
        let list = if oldest_first { OLDEST_FIRST } else { NEWEST_FIRST };
        on_pool!(self, |pool| {
            let pages = sqlx::query_as(list)
                .bind(room_id)
                .bind(NAVIGATION_HISTORY)
                .bind(page.count)
                .bind(page.offset)
                .fetch_all(pool)
                .await?;
            let (total,): (i64,) = sqlx::query_as(COUNT).bind(room_id).bind(NAVIGATION_HISTORY).fetch_one(pool).await?;
            Ok((pages, total))
        })
    }
}
