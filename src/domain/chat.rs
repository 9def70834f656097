//! Conversation states. One room row carries both faces' view of it: the HelpCrunch
//! chat status and the Rocket.Chat inquiry status (see conversation-model.md).

/// HelpCrunch chat status, stored as its wire name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChatStatus {
    New,
    Opened,
    Pending,
    OnHold,
    NoCommunication,
    Closed,
}

impl ChatStatus {
    pub const ALL: [ChatStatus; 6] =
        [Self::New, Self::Opened, Self::Pending, Self::OnHold, Self::NoCommunication, Self::Closed];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::New => "new",
            Self::Opened => "opened",
            Self::Pending => "pending",
            Self::OnHold => "on hold",
            Self::NoCommunication => "no communication",
            Self::Closed => "closed",
        }
    }

    /// Parses a wire name; "on-hold" and "onhold" are accepted for "on hold".
    pub fn parse(raw: &str) -> Option<Self> {
        match raw {
            "on-hold" | "onhold" => Some(Self::OnHold),
            _ => Self::ALL.into_iter().find(|status| status.as_str() == raw),
        }
    }

    /// Statuses that need an assignee: an agent is working the chat.
    pub fn needs_assignee(self) -> bool {
        matches!(self, Self::Opened | Self::Pending | Self::OnHold | Self::NoCommunication)
    }
}

/// Who closed a conversation, in HelpCrunch's words.
pub const CLOSED_BY_AGENT: &str = "agent";
pub const CLOSED_BY_CUSTOMER: &str = "customer";

/// Rocket.Chat inquiry status of an open room.
pub const INQUIRY_QUEUED: &str = "queued";
pub const INQUIRY_TAKEN: &str = "taken";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_round_trip_and_accept_aliases() {
        for status in ChatStatus::ALL {
            assert_eq!(ChatStatus::parse(status.as_str()), Some(status));
        }
        assert_eq!(ChatStatus::parse("on-hold"), Some(ChatStatus::OnHold));
        assert_eq!(ChatStatus::parse("onhold"), Some(ChatStatus::OnHold));
        assert_eq!(ChatStatus::parse("archived"), None);
    }
}
