-- Files uploaded into rooms (Rocket.Chat's Uploads): the bytes live in the configured
-- object store under `object_key`; this row says whose they are. A visitor's upload
-- (livechat/upload) is written with its message in one transaction (`confirmed`); an
-- agent's (rooms.media) waits unconfirmed until rooms.mediaConfirm writes its message.
CREATE TABLE uploads (
    id TEXT PRIMARY KEY,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    -- The uploading user; NULL for a visitor's file.
    user_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    name TEXT NOT NULL,
    content_type TEXT NOT NULL,
    size BIGINT NOT NULL,
    -- Pixel dimensions of an image whose header could be read.
    width BIGINT,
    height BIGINT,
    description TEXT,
    object_key TEXT NOT NULL,
    confirmed BOOLEAN NOT NULL,
    uploaded_at BIGINT NOT NULL
);
CREATE INDEX uploads_room ON uploads (room_id);

INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('FileUpload_Enabled', 'boolean', 'true', 'true', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'FileUpload', NULL),
    ('FileUpload_MaxFileSize', 'int', '104857600', '104857600', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'FileUpload', NULL),
    ('FileUpload_MediaTypeWhiteList', 'string', '""', '""', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'FileUpload', NULL),
    ('FileUpload_MediaTypeBlackList', 'string', '"image/svg+xml"', '"image/svg+xml"', NULL, TRUE, FALSE, FALSE, NULL, NULL, 'FileUpload', NULL)
ON CONFLICT DO NOTHING;
