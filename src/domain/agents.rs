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
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "agent" => Some(Self::Agent),
            "manager" => Some(Self::Manager),
            _ => None,
        }
    }

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
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "available" => Some(Self::Available),
            "not-available" => Some(Self::NotAvailable),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Available => "available",
            Self::NotAvailable => "not-available",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_names_round_trip() {
        assert_eq!(LivechatRole::parse("agent").map(LivechatRole::role), Some(ROLE_AGENT));
        assert_eq!(LivechatRole::parse("manager").map(LivechatRole::role), Some(ROLE_MANAGER));
        assert_eq!(LivechatRole::parse("monitor"), None);
        for status in [LivechatStatus::Available, LivechatStatus::NotAvailable] {
            assert_eq!(LivechatStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(LivechatStatus::parse("away"), None);
    }
}
