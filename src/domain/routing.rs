//! How queued inquiries reach agents: Rocket.Chat's routing methods.

use clap::ValueEnum;
use serde::Deserialize;

/// The values of the setting `Livechat_Routing_Method`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum, Deserialize)]
pub enum RoutingMethod {
    /// Inquiries wait until an agent takes one (`inquiries.take`).
    #[serde(rename = "Manual_Selection")]
    #[value(name = "Manual_Selection")]
    ManualSelection,
    /// The agent with the fewest open chats; ties go to the one assigned least recently.
    #[serde(rename = "Auto_Selection")]
    #[value(name = "Auto_Selection")]
    AutoSelection,
    /// The agent with the fewest open chats in the inquiry's department, then overall,
    /// then assigned least recently.
    #[serde(rename = "Load_Balancing")]
    #[value(name = "Load_Balancing")]
    LoadBalancing,
    /// The agent assigned least recently, whatever its load (within its limit).
    #[serde(rename = "Load_Rotation")]
    #[value(name = "Load_Rotation")]
    LoadRotation,
    /// Rocket.Chat asks an outside service; none is configured here, so inquiries wait
    /// as with manual selection.
    #[serde(rename = "External")]
    #[value(skip)]
    External,
}

impl RoutingMethod {
    /// The name of this method in `Livechat_Routing_Method`.
    pub fn setting_value(self) -> &'static str {
        match self {
            Self::ManualSelection => "Manual_Selection",
            Self::AutoSelection => "Auto_Selection",
            Self::LoadBalancing => "Load_Balancing",
            Self::LoadRotation => "Load_Rotation",
            Self::External => "External",
        }
    }

    /// Whether the server assigns inquiries by itself under this method.
    pub fn assigns_automatically(self) -> bool {
        !matches!(self, Self::ManualSelection | Self::External)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn setting_values_read_back_as_the_same_method() {
        for method in [
            RoutingMethod::ManualSelection,
            RoutingMethod::AutoSelection,
            RoutingMethod::LoadBalancing,
            RoutingMethod::LoadRotation,
            RoutingMethod::External,
        ] {
            let read: RoutingMethod = serde_json::from_value(method.setting_value().into()).unwrap();
            assert_eq!(read, method);
        }
    }
}
