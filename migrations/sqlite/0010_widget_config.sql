-- What the official livechat widget needs to load from this server (livechat/config,
-- offline.message and the custom field routes).

-- Settings of other groups that livechat/config reads, with Rocket.Chat's ids, types
-- and defaults; another migration may have added them already.
INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('FileUpload_Enabled', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'FileUpload', NULL),
    ('Message_MaxAllowedSize', 'int', '5000', '5000', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Message', NULL)
ON CONFLICT DO NOTHING;

-- The rest of a custom field's definition, as custom-fields.save takes it. NULL: not
-- given (Rocket.Chat then leaves the key out).
ALTER TABLE livechat_custom_fields ADD COLUMN field_type TEXT;
ALTER TABLE livechat_custom_fields ADD COLUMN regexp TEXT;
ALTER TABLE livechat_custom_fields ADD COLUMN searchable BOOLEAN;
ALTER TABLE livechat_custom_fields ADD COLUMN required BOOLEAN;
ALTER TABLE livechat_custom_fields ADD COLUMN default_value TEXT;
ALTER TABLE livechat_custom_fields ADD COLUMN options TEXT;
ALTER TABLE livechat_custom_fields ADD COLUMN public BOOLEAN;
ALTER TABLE livechat_custom_fields ADD COLUMN updated_at BIGINT NOT NULL DEFAULT 0;
UPDATE livechat_custom_fields SET updated_at = created_at;

-- Messages visitors leave through the widget's offline form, kept for whoever handles
-- them. `recipient` is where Rocket.Chat would have mailed it: the department's
-- address, else Livechat_offline_email.
CREATE TABLE offline_messages (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    message TEXT NOT NULL,
    department_id TEXT REFERENCES departments (id) ON DELETE SET NULL,
    host TEXT,
    recipient TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX offline_messages_created_at ON offline_messages (created_at);

-- When each client address last left an offline message, for the per-address limit;
-- rows older than the limit's interval are dropped as new ones come.
CREATE TABLE offline_message_senders (
    address TEXT PRIMARY KEY,
    sent_at BIGINT NOT NULL
);
CREATE INDEX offline_message_senders_sent_at ON offline_message_senders (sent_at);
