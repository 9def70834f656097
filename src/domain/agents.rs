//! Omnichannel users: the two livechat roles the agent routes manage and an agent's
//! availability for new chats.

use super::permissions::{ROLE_AGENT, ROLE_MANAGER};

/// The `{type}` of /livechat/users/{type}.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LivechatRole {
    Agent,
    Manager,
}

impl LivechatRole {
    /// The role a user holds to be one.
    pub fn role(self) -> &'static str {
        match self {
            Self::Agent => ROLE_AGENT,
            Self::Manager => ROLE_MANAGER,
        }
    }
}

/// Whether an agent takes new chats (`statusLivechat`), stored as its wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LivechatStatus {
    Available,
    NotAvailable,
}

impl LivechatStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::NotAvailable => "not-available",
        }
    }
}
