//! Role-based permissions, named as Rocket.Chat names them.

pub const ROLE_ADMIN: &str = "admin";
pub const ROLE_USER: &str = "user";
pub const ROLE_AGENT: &str = "livechat-agent";
pub const ROLE_MANAGER: &str = "livechat-manager";
pub const ROLE_MONITOR: &str = "livechat-monitor";

pub const ROLES: [&str; 5] = [ROLE_ADMIN, ROLE_USER, ROLE_AGENT, ROLE_MANAGER, ROLE_MONITOR];

pub const VIEW_LIVECHAT_MANAGER: &str = "view-livechat-manager";
pub const VIEW_L_ROOM: &str = "view-l-room";
pub const MANAGE_LIVECHAT_SLA: &str = "manage-livechat-sla";
pub const MANAGE_LIVECHAT_PRIORITIES: &str = "manage-livechat-priorities";
pub const VIEW_LIVECHAT_ROOMS: &str = "view-livechat-rooms";
pub const MANAGE_LIVECHAT_AGENTS: &str = "manage-livechat-agents";
pub const MANAGE_LIVECHAT_MANAGERS: &str = "manage-livechat-managers";
pub const MANAGE_LIVECHAT_DEPARTMENTS: &str = "manage-livechat-departments";
pub const VIEW_LIVECHAT_DEPARTMENTS: &str = "view-livechat-departments";
pub const CREATE_USER: &str = "create-user";
pub const ACCESS_PERMISSIONS: &str = "access-permissions";
pub const MANAGE_LIVECHAT_API_KEYS: &str = "manage-livechat-api-keys";
pub const VIEW_PRIVILEGED_SETTING: &str = "view-privileged-setting";
pub const EDIT_PRIVILEGED_SETTING: &str = "edit-privileged-setting";
pub const VIEW_FULL_OTHER_USER_INFO: &str = "view-full-other-user-info";
pub const TRANSFER_LIVECHAT_GUEST: &str = "transfer-livechat-guest";
pub const CLOSE_LIVECHAT_ROOM: &str = "close-livechat-room";
pub const CLOSE_OTHERS_LIVECHAT_ROOM: &str = "close-others-livechat-room";
pub const REMOVE_CLOSED_LIVECHAT_ROOM: &str = "remove-closed-livechat-room";
pub const SAVE_OTHERS_LIVECHAT_ROOM_INFO: &str = "save-others-livechat-room-info";
pub const ON_HOLD_LIVECHAT_ROOM: &str = "on-hold-livechat-room";
pub const ON_HOLD_OTHERS_LIVECHAT_ROOM: &str = "on-hold-others-livechat-room";
pub const VIEW_LIVECHAT_ROOM_CLOSED_BY_ANOTHER_AGENT: &str = "view-livechat-room-closed-by-another-agent";
pub const VIEW_LIVECHAT_ROOM_CLOSED_SAME_DEPARTMENT: &str = "view-livechat-room-closed-same-department";
pub const EDIT_MESSAGE: &str = "edit-message";
pub const DELETE_MESSAGE: &str = "delete-message";
pub const DELETE_OWN_MESSAGE: &str = "delete-own-message";
pub const FORCE_DELETE_MESSAGE: &str = "force-delete-message";
pub const CREATE_LIVECHAT_CONTACT: &str = "create-livechat-contact";
pub const UPDATE_LIVECHAT_CONTACT: &str = "update-livechat-contact";
pub const DELETE_LIVECHAT_CONTACT: &str = "delete-livechat-contact";
pub const BLOCK_LIVECHAT_CONTACT: &str = "block-livechat-contact";
pub const UNBLOCK_LIVECHAT_CONTACT: &str = "unblock-livechat-contact";
pub const VIEW_LIVECHAT_CONTACT: &str = "view-livechat-contact";
pub const VIEW_LIVECHAT_CONTACT_HISTORY: &str = "view-livechat-contact-history";
pub const SEND_OMNICHANNEL_CHAT_TRANSCRIPT: &str = "send-omnichannel-chat-transcript";
