-- What the livechat widget reports beside its messages.

-- Pages the visitor visits are kept as messages of type livechat_navigation_history
-- that the room's history does not show (Rocket.Chat's `_hidden`).
ALTER TABLE messages ADD COLUMN hidden BOOLEAN NOT NULL DEFAULT FALSE;

-- Custom field definitions (Rocket.Chat's livechat custom fields); `id` is the key
-- clients send. Only visitor-scoped fields take values from the widget.
CREATE TABLE livechat_custom_fields (
    id TEXT PRIMARY KEY,
    label TEXT NOT NULL,
    scope TEXT NOT NULL CHECK (scope IN ('visitor', 'room')),
    visibility TEXT NOT NULL DEFAULT 'visible',
    created_at BIGINT NOT NULL
);

CREATE TABLE visitor_custom_fields (
    visitor_id TEXT NOT NULL REFERENCES visitors (id) ON DELETE CASCADE,
    field_id TEXT NOT NULL REFERENCES livechat_custom_fields (id) ON DELETE CASCADE,
    value TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (visitor_id, field_id)
);

-- users.info shows another user's emails only to holders of this permission
-- (Rocket.Chat grants it to admin); an earlier migration may have added it already.
INSERT INTO permissions (id, updated_at) VALUES ('view-full-other-user-info', 0) ON CONFLICT DO NOTHING;
INSERT INTO permission_roles (permission_id, role) VALUES ('view-full-other-user-info', 'admin') ON CONFLICT DO NOTHING;
