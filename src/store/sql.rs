//! SQL fragments that several queries share: the column lists and SELECTs of the row
//! types, the joins behind them, and the read of the queue counters.
//!
//! Each fragment is a macro expanding to a string literal, because `concat!` joins only
//! literals (not `const`s): statements built from them with `concat!` are
//! `&'static str`, static text that sqlx accepts without `AssertSqlSafe`. Fragments
//! refer to each other by `$crate` path, so a caller imports only the one it uses.

/// The columns of a `Visitor`, unqualified.
macro_rules! visitor_columns {
    () => {
        "id, num_id, token, name, email, phone, department_id, status, ip, user_agent, host, livechat_data, contact_manager, \
         created_at, updated_at"
    };
}
pub(super) use visitor_columns;

/// The columns of a `Message`, unqualified.
macro_rules! message_columns {
    () => {
        "id, num_id, room_id, msg, kind, author_id, author_username, author_name, from_visitor, extra, ts, updated_at, \
         edited_at, edited_by_id, edited_by_username"
    };
}
pub(super) use message_columns;

/// The last message `lm` (see `join_last_message`) as the flattened
/// `LastMessageColumns` of a room or inquiry row.
macro_rules! last_message_columns {
    () => {
        "lm.id AS lm_id, lm.num_id AS lm_num_id, lm.msg AS lm_msg, lm.kind AS lm_kind, \
         lm.author_id AS lm_author_id, lm.author_username AS lm_author_username, \
         lm.author_name AS lm_author_name, lm.from_visitor AS lm_from_visitor, lm.extra AS lm_extra, \
         lm.ts AS lm_ts, lm.updated_at AS lm_updated_at, lm.edited_at AS lm_edited_at, \
         lm.edited_by_id AS lm_edited_by_id, lm.edited_by_username AS lm_edited_by_username "
    };
}
pub(super) use last_message_columns;

/// A room `r` with its visitor `v`.
macro_rules! from_room_and_visitor {
    () => {
        "FROM rooms r JOIN visitors v ON v.id = r.visitor_id "
    };
}
pub(super) use from_room_and_visitor;

/// A room `r` with what a chat shows of it: visitor `v`, department `d`, assignee `u`.
macro_rules! from_chat {
    () => {
        concat!(
            $crate::store::sql::from_room_and_visitor!(),
            "LEFT JOIN departments d ON d.id = r.department_id \
             LEFT JOIN users u ON u.id = r.served_by "
        )
    };
}
pub(super) use from_chat;

/// The room's last message, as `lm`.
macro_rules! join_last_message {
    () => {
        "LEFT JOIN messages lm ON lm.id = r.last_message_id "
    };
}
pub(super) use join_last_message;

/// When the room `r`'s inquiry was recorded as breached at its current due time; NULL
/// while it was not.
macro_rules! sla_breached_at {
    () => {
        "(SELECT b.breached_at FROM sla_breaches b WHERE b.inquiry_id = r.inquiry_id AND b.due_at = r.sla_due_at)"
    };
}
pub(super) use sla_breached_at;

/// Selects `Room` rows; a WHERE clause on `r`, `v`, `d` or `u` may follow.
macro_rules! room_select {
    () => {
        concat!(
            "SELECT r.id, r.num_id, r.fname, r.visitor_id, v.num_id AS visitor_num_id, v.token AS visitor_token, \
             v.name AS visitor_name, v.email AS visitor_email, v.status AS visitor_status, \
             r.department_id, d.num_id AS department_num_id, d.name AS department_name, r.source_type, r.open, \
             r.chat_status, r.served_by, u.num_id AS served_by_num_id, u.username AS served_by_username, \
             u.name AS served_by_name, u.email AS served_by_email, r.served_at, r.closed_at, r.closed_by, \
             r.close_comment, r.sla_id, r.priority_id, r.priority_weight, r.estimated_waiting_time_queue, r.sla_due_at, ",
            $crate::store::sql::sla_breached_at!(),
            " AS sla_breached_at, r.inquiry_id, \
             r.inquiry_status, r.inquiry_message, r.queued_at, r.taken_at, r.message_count, r.last_message_at, \
             r.last_customer_message_at, r.topic, r.tags, r.livechat_data, r.survey_feedback, r.transcript_request, \
             r.ts, r.updated_at, ",
            $crate::store::sql::last_message_columns!(),
            $crate::store::sql::from_chat!(),
            $crate::store::sql::join_last_message!()
        )
    };
}
pub(super) use room_select;

/// Selects `Inquiry` rows; a WHERE clause on `r` or `v` may follow.
macro_rules! inquiry_select {
    () => {
        concat!(
            "SELECT r.inquiry_id AS id, r.id AS room_id, r.fname AS name, r.ts, r.inquiry_status AS status, \
             r.inquiry_message AS message, r.department_id, r.priority_id, r.priority_weight, r.estimated_waiting_time_queue, \
             r.sla_id, r.sla_due_at, r.source_type, r.served_by, r.queued_at, r.taken_at, r.updated_at, r.visitor_id, \
             v.num_id AS visitor_num_id, v.token AS visitor_token, v.status AS visitor_status, ",
            $crate::store::sql::last_message_columns!(),
            $crate::store::sql::from_room_and_visitor!(),
            $crate::store::sql::join_last_message!()
        )
    };
}
pub(super) use inquiry_select;

/// The number of queued inquiries from the trigger-maintained counters; a WHERE
/// clause on `department_key` may follow.
macro_rules! queued_total {
    () => {
        "SELECT CAST(COALESCE(SUM(queued), 0) AS BIGINT) FROM queue_counts "
    };
}
pub(super) use queued_total;

/// Whether the room (columns prefixed by `$prefix`, e.g. `"r."`) is one that user
/// `$user` (a parameter, e.g. `"$4"`) reaches through its departments: a room of no
/// department or of a department it belongs to. A NULL `$user` reaches every room.
macro_rules! within_reach {
    ($prefix:literal, $user:literal) => {
        concat!(
            "(",
            $user,
            " IS NULL OR ",
            $prefix,
            "department_id IS NULL OR ",
            $prefix,
            "department_id IN (SELECT da.department_id FROM department_agents da WHERE da.agent_id = ",
            $user,
            "))"
        )
    };
}
pub(super) use within_reach;

/// Whether user `$user` joined the room (id column prefixed by `$prefix`) with
/// room.join: Rocket.Chat's subscription of a user who does not serve the room.
macro_rules! room_member {
    ($prefix:literal, $user:literal) => {
        concat!(
            "EXISTS (SELECT 1 FROM room_members rm WHERE rm.room_id = ",
            $prefix,
            "id AND rm.user_id = ",
            $user,
            ")"
        )
    };
}
pub(super) use room_member;

/// Whether user `$user` may act on the room (unprefixed columns of `rooms`): it serves
/// or joined the room, or `$others` is true and the room is within reach of `$bound` (see `within_reach`).
/// A NULL `$user` with `$others` true and a NULL `$bound` allows every room.
macro_rules! room_guard {
    ($user:literal, $others:literal, $bound:literal) => {
        concat!(
            "(served_by = ",
            $user,
            " OR ",
            $crate::store::sql::room_member!("rooms.", $user),
            " OR (",
            $others,
            " AND ",
            $crate::store::sql::within_reach!("", $bound),
            "))"
        )
    };
}
pub(super) use room_guard;

/// The columns of a `User`, unqualified.
macro_rules! user_columns {
    () => {
        "id, num_id, username, name, email, status, livechat_status, active, created_at, updated_at"
    };
}
pub(super) use user_columns;

/// A livechat user's columns plus its department ids joined by commas (ids never
/// contain one).
macro_rules! livechat_user_select {
    () => {
        concat!(
            "SELECT ",
            $crate::store::sql::user_columns!(),
            ", (SELECT string_agg(da.department_id, ',') FROM department_agents da WHERE da.agent_id = users.id) \
             AS department_ids"
        )
    };
}
pub(super) use livechat_user_select;

/// Selects `Department` rows with their agent count; a WHERE clause may follow.
macro_rules! department_select {
    () => {
        "SELECT id, num_id, name, enabled, email, show_on_registration, show_on_offline_form, description, \
         request_tag_before_closing_chat, chat_closing_tags, fallback_forward_department, \
         departments_allowed_to_forward, allow_receive_forward_offline, created_at, updated_at, max_chats, archived, \
         (SELECT COUNT(*) FROM department_agents da WHERE da.department_id = departments.id) AS num_agents \
         FROM departments"
    };
}
pub(super) use department_select;

/// Selects the `DepartmentAgent` rows of department `$1`.
macro_rules! department_agent_select {
    () => {
        "SELECT da.department_id, da.agent_id, da.username, da.chat_count, da.sort_order, \
         d.enabled AS department_enabled, da.updated_at \
         FROM department_agents da JOIN departments d ON d.id = da.department_id \
         WHERE da.department_id = $1"
    };
}
pub(super) use department_agent_select;

/// The columns of an `ApiKey`, unqualified.
macro_rules! api_key_columns {
    () => {
        "num_id, name, prefix, created_at, last_used_at, revoked_at"
    };
}
pub(super) use api_key_columns;

/// The columns of an `SlaPolicy`, unqualified.
macro_rules! sla_columns {
    () => {
        "id, name, description, due_time_in_minutes"
    };
}
pub(super) use sla_columns;

/// The columns of a `Priority`, unqualified.
macro_rules! priority_columns {
    () => {
        "id, i18n, sort_item, name, dirty, updated_at"
    };
}
pub(super) use priority_columns;

/// Whether the agent (users columns prefixed by `$user`, e.g. `"u."`) has room for one
/// more chat of department `$department` (an SQL expression, NULL for none): its open
/// chats are under every limit that applies, the lowest of its own, the department's
/// and `Livechat_maximum_chats_per_agent` (each 0 or less: no limit).
macro_rules! under_chat_limit {
    ($user:literal, $department:literal) => {
        concat!(
            "((",
            $user,
            "max_chats <= 0 OR ",
            $user,
            "open_chats < ",
            $user,
            "max_chats) \
             AND NOT EXISTS (SELECT 1 FROM departments ld WHERE ld.id = ",
            $department,
            " AND ld.max_chats > 0 AND ld.max_chats <= ",
            $user,
            "open_chats) \
             AND COALESCE(CAST((SELECT ls.value FROM settings ls WHERE ls.id = 'Livechat_maximum_chats_per_agent') \
               AS BIGINT), 0) NOT BETWEEN 1 AND ",
            $user,
            "open_chats)"
        )
    };
}
pub(super) use under_chat_limit;

/// Whether the agent `u` may be given a chat of department `$department` now: an
/// active, available livechat agent of that department (any agent for no department;
/// none for an archived one), under its chat limit.
macro_rules! routable_agent {
    ($department:literal) => {
        concat!(
            "u.livechat_status = 'available' AND u.active \
             AND EXISTS (SELECT 1 FROM user_roles ur WHERE ur.user_id = u.id AND ur.role = 'livechat-agent') \
             AND (",
            $department,
            " IS NULL OR u.id IN (SELECT da.agent_id FROM department_agents da \
               JOIN departments rd ON rd.id = da.department_id AND NOT rd.archived WHERE da.department_id = ",
            $department,
            ")) AND ",
            $crate::store::sql::under_chat_limit!("u.", $department)
        )
    };
}
pub(super) use routable_agent;

/// The `last_routed_at` of an agent given a chat at `$now`: `$now`, or just after the
/// latest stamp when that is not earlier, so that agents given chats within one
/// millisecond (or on a stopped test clock) still rotate in the order they got them.
macro_rules! next_routing_stamp {
    ($now:literal) => {
        concat!(
            "(SELECT CASE WHEN COALESCE(MAX(lu.last_routed_at), 0) >= ",
            $now,
            " THEN MAX(lu.last_routed_at) + 1 ELSE ",
            $now,
            " END FROM users lu)"
        )
    };
}
pub(super) use next_routing_stamp;

/// Holds agent `$2`'s row for a chat of department `$department` given at `$3`, when
/// the agent is under its chat limit (a condition may follow with ` AND ...`): the
/// first statement of an assignment, so that concurrent assignments to one agent
/// queue on its row and each sees the load the one before left.
macro_rules! hold_agent_under_limit {
    ($department:literal) => {
        concat!(
            "UPDATE users SET last_routed_at = ",
            $crate::store::sql::next_routing_stamp!("$3"),
            " WHERE id = $2 AND ",
            $crate::store::sql::under_chat_limit!("users.", $department)
        )
    };
}
pub(super) use hold_agent_under_limit;

/// Whether user `$user` may see the livechat room (columns prefixed by `$prefix`), as
/// Rocket.Chat's livechat room access validators decide: it serves or joined the room; or
/// `$any` (view-livechat-rooms), or `$closed` (view-livechat-room-closed-by-another-agent)
/// on a closed room, and the room is within reach of `$bound` (see `within_reach`); or
/// `$same` (view-livechat-room-closed-same-department) on a closed room of one of its
/// departments.
macro_rules! room_access {
    ($prefix:literal, $user:literal, $any:literal, $closed:literal, $same:literal, $bound:literal) => {
        concat!(
            "(",
            $prefix,
            "served_by = ",
            $user,
            " OR ",
            $crate::store::sql::room_member!($prefix, $user),
            " OR ((",
            $any,
            " OR (",
            $closed,
            " AND NOT ",
            $prefix,
            "open)) AND ",
            $crate::store::sql::within_reach!($prefix, $bound),
            ") OR (",
            $same,
            " AND NOT ",
            $prefix,
            "open AND ",
            $prefix,
            "department_id IN (SELECT da.department_id FROM department_agents da WHERE da.agent_id = ",
            $user,
            ")))"
        )
    };
}
pub(super) use room_access;

/// The strings of the JSON array parameter `$param` as a subquery's rows, in each
/// backend's words: `json_strings!(postgres, "$2")`, `json_strings!(sqlite, "$2")`.
macro_rules! json_strings {
    (postgres, $param:literal) => {
        concat!("SELECT jsonb_array_elements_text(CAST(", $param, " AS jsonb))")
    };
    (sqlite, $param:literal) => {
        concat!("SELECT value FROM json_each(", $param, ")")
    };
}
pub(super) use json_strings;
