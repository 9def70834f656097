-- Rocket.Chat's settings, with its ids, types, defaults and public flags. `value` and
-- `package_value` (the default) hold JSON. A setting changed through the API is marked
-- `changed`; until then a default given by an environment variable replaces both at
-- start. Ids compare bytewise (MongoDB's order) on both backends.
CREATE TABLE settings (
    id TEXT COLLATE "C" PRIMARY KEY,
    kind TEXT NOT NULL CHECK (kind IN ('boolean', 'string', 'int', 'select', 'multiSelect', 'color', 'language')),
    value TEXT NOT NULL,
    package_value TEXT NOT NULL,
    -- The keys a select or multiSelect accepts (JSON array); NULL for other kinds.
    allowed_values TEXT,
    public BOOLEAN NOT NULL,
    -- Never served without a login, whatever `public` says.
    secret BOOLEAN NOT NULL,
    enterprise BOOLEAN NOT NULL,
    invalid_value TEXT,
    modules TEXT,
    group_id TEXT NOT NULL,
    section TEXT,
    changed BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL DEFAULT 0
);

INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('Language', 'language', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'General', NULL),
    ('Livechat_Allow_collect_and_store_HTTP_header_informations', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'GDPR'),
    ('Livechat_Routing_Method', 'select', '"Auto_Selection"', '"Auto_Selection"', '["External","Auto_Selection","Manual_Selection","Load_Balancing","Load_Rotation"]', TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Routing'),
    ('Livechat_accept_chats_with_no_agents', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Routing'),
    ('Livechat_allow_switching_departments', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_background', 'string', '""', '""', NULL, TRUE, FALSE, TRUE, '""', '["livechat-enterprise"]', 'Omnichannel', 'Livechat'),
    ('Livechat_clear_local_storage_when_chat_ended', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_conversation_finished_message', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_conversation_finished_text', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_data_processing_consent_text', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'GDPR'),
    ('Livechat_display_offline_form', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_email_field_registration_form', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_enable_message_character_limit', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_enable_transcript', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Livechat_enabled', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Livechat_fileupload_enabled', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Livechat_force_accept_data_processing_consent', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'GDPR'),
    ('Livechat_hide_system_messages', 'multiSelect', '["uj","ul","livechat-close"]', '["uj","ul","livechat-close"]', '["uj","ul","livechat-close","livechat-started","livechat_transfer_history"]', TRUE, FALSE, TRUE, '[]', '["livechat-enterprise"]', 'Omnichannel', 'Livechat'),
    ('Livechat_hide_watermark', 'boolean', 'false', 'false', NULL, TRUE, FALSE, TRUE, 'false', '["livechat-enterprise"]', 'Omnichannel', 'Livechat'),
    ('Livechat_history_monitor_type', 'select', '"url"', '"url"', '["url","title"]', FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_message_character_limit', 'int', '0', '0', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_name_field_registration_form', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_email', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_form_unavailable', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_message', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_success_message', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_title', 'string', '"Leave a message"', '"Leave a message"', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_offline_title_color', 'color', '"#666666"', '"#666666"', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_registration_form', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_registration_form_message', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_secret_token', 'string', '""', '""', NULL, FALSE, TRUE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_show_agent_email', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_show_agent_info', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_show_queue_list_link', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Routing'),
    ('Livechat_title', 'string', '"Rocket.Chat"', '"Rocket.Chat"', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_title_color', 'color', '"#C1272D"', '"#C1272D"', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Livechat'),
    ('Livechat_transcript_message', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Livechat_videocall_enabled', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Livechat_webhookUrl', 'string', '""', '""', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_agent_message', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_capture', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_chat_queued', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_chat_taken', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_close', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_forward', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_offline_msg', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_start', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_webhook_on_visitor_message', 'boolean', 'false', 'false', NULL, FALSE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'CRM_Integration'),
    ('Livechat_widget_position', 'select', '"right"', '"right"', '["left","right"]', TRUE, FALSE, TRUE, '"right"', '["livechat-enterprise"]', 'Omnichannel', 'Livechat'),
    ('Omnichannel_allow_visitors_to_close_conversation', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Omnichannel_call_provider', 'select', '"none"', '"none"', '["none","default-provider"]', TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', 'Video_and_Audio_Call'),
    ('Omnichannel_contact_manager_routing', 'boolean', 'true', 'true', NULL, FALSE, FALSE, TRUE, 'false', '["livechat-enterprise"]', 'Omnichannel', 'Routing'),
    ('Omnichannel_enable_department_removal', 'boolean', 'false', 'false', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Omnichannel', NULL),
    ('Omnichannel_sorting_mechanism', 'select', '"Timestamp"', '"Timestamp"', '["Timestamp","Priority","SLAs"]', TRUE, FALSE, TRUE, '""', '["livechat-enterprise"]', 'Omnichannel', 'Queue_management');

-- The settings permissions, with Rocket.Chat's default grants.
INSERT INTO permissions (id, updated_at) VALUES
    ('view-privileged-setting', 0),
    ('edit-privileged-setting', 0);

INSERT INTO permission_roles (permission_id, role) VALUES
    ('view-privileged-setting', 'admin'),
    ('edit-privileged-setting', 'admin');
