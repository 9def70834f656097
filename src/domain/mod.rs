//! The rules of the product, free of I/O: identifiers, permissions, list paging and
//! sorting, queue order, conversation states and settings.

pub mod agents;
pub mod api_keys;
pub mod chat;
pub mod chat_search;
pub mod custom_fields;
pub mod customer_search;
pub mod files;
pub mod ids;
pub mod page;
pub mod password;
pub mod permissions;
pub mod queue;
pub mod routing;
pub mod settings;
pub mod time;
