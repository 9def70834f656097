-- Agents write, edit and delete messages.

-- Rocket.Chat's `editedAt` and `editedBy` of an edited message.
ALTER TABLE messages ADD COLUMN edited_at BIGINT;
ALTER TABLE messages ADD COLUMN edited_by_id TEXT;
ALTER TABLE messages ADD COLUMN edited_by_username TEXT;

-- The message permissions with Rocket.Chat's default grants, as far as their roles
-- exist here (the room roles owner and moderator do not).
INSERT INTO permissions (id, updated_at) VALUES
    ('edit-message', 0),
    ('delete-message', 0),
    ('delete-own-message', 0),
    ('force-delete-message', 0)
ON CONFLICT (id) DO NOTHING;

INSERT INTO permission_roles (permission_id, role) VALUES
    ('edit-message', 'admin'),
    ('delete-message', 'admin'),
    ('delete-own-message', 'admin'),
    ('delete-own-message', 'user'),
    ('force-delete-message', 'admin')
ON CONFLICT DO NOTHING;

-- The message settings these routes obey, with Rocket.Chat's defaults.
INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('Message_AllowDeleting', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Message', NULL),
    ('Message_AllowEditing', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Message', NULL),
    ('Message_MaxAllowedSize', 'int', '5000', '5000', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'Message', NULL)
ON CONFLICT (id) DO NOTHING;

-- Deleted messages leave their id and time, so chat.syncMessages reports them.
CREATE TABLE deleted_messages (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    deleted_at BIGINT NOT NULL
);
CREATE INDEX deleted_messages_room ON deleted_messages (room_id, deleted_at);
CREATE INDEX messages_room_updated ON messages (room_id, updated_at);
