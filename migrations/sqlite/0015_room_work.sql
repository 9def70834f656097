-- Room work: topic and tags (room.saveInfo, closing tags), users who joined a room
-- (room.join), manual on-hold.

-- The topic, NULL when none; the tags, a JSON array of strings, NULL when none.
ALTER TABLE rooms ADD COLUMN topic TEXT;
ALTER TABLE rooms ADD COLUMN tags TEXT;

-- Users who joined a room besides its serving agent (Rocket.Chat's subscription): they
-- see and write into the room as its agent does. Cleared when the room closes.
CREATE TABLE room_members (
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    joined_at BIGINT NOT NULL,
    PRIMARY KEY (room_id, user_id)
);
CREATE INDEX room_members_user ON room_members (user_id);

-- A chat on hold (HelpCrunch's "on hold" status, Rocket.Chat's `onHold`) does not count
-- against its agent's chat limit, as in Rocket.Chat: `open_chats` counts the open,
-- served rooms not on hold.
DROP TRIGGER rooms_count_open_chats_insert;
DROP TRIGGER rooms_count_open_chats_leave;
DROP TRIGGER rooms_count_open_chats_enter;
DROP TRIGGER rooms_count_open_chats_delete;

CREATE TRIGGER rooms_count_open_chats_insert AFTER INSERT ON rooms
    FOR EACH ROW WHEN NEW.open AND NEW.served_by IS NOT NULL AND NEW.chat_status <> 'on hold'
BEGIN
    UPDATE users SET open_chats = open_chats + 1 WHERE id = NEW.served_by;
END;

CREATE TRIGGER rooms_count_open_chats_leave AFTER UPDATE OF open, served_by, chat_status ON rooms
    FOR EACH ROW WHEN OLD.open AND OLD.served_by IS NOT NULL AND OLD.chat_status <> 'on hold'
        AND (NOT NEW.open OR NEW.served_by IS NOT OLD.served_by OR NEW.chat_status = 'on hold')
BEGIN
    UPDATE users SET open_chats = open_chats - 1 WHERE id = OLD.served_by;
END;

CREATE TRIGGER rooms_count_open_chats_enter AFTER UPDATE OF open, served_by, chat_status ON rooms
    FOR EACH ROW WHEN NEW.open AND NEW.served_by IS NOT NULL AND NEW.chat_status <> 'on hold'
        AND (NOT OLD.open OR OLD.served_by IS NOT NEW.served_by OR OLD.chat_status = 'on hold')
BEGIN
    UPDATE users SET open_chats = open_chats + 1 WHERE id = NEW.served_by;
END;

CREATE TRIGGER rooms_count_open_chats_delete AFTER DELETE ON rooms
    FOR EACH ROW WHEN OLD.open AND OLD.served_by IS NOT NULL AND OLD.chat_status <> 'on hold'
BEGIN
    UPDATE users SET open_chats = open_chats - 1 WHERE id = OLD.served_by;
END;

UPDATE users SET open_chats = (SELECT COUNT(*) FROM rooms
    WHERE rooms.open AND rooms.served_by = users.id AND rooms.chat_status <> 'on hold');

INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('Livechat_allow_manual_on_hold', 'boolean', 'false', 'false', NULL, TRUE, FALSE, TRUE, 'false',
     '["livechat-enterprise"]', 'Omnichannel', 'Sessions')
ON CONFLICT (id) DO NOTHING;
