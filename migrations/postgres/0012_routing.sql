-- Automatic routing and chat limits.
-- `max_chats` is Rocket.Chat's `maxNumberSimultaneousChat` of an agent (users) or of a
-- department; 0 means no limit. `open_chats` counts the open rooms an agent serves,
-- kept by triggers in the same transaction as the room change, so that an assignment
-- can hold the agent's row and test its load in one statement. `last_routed_at` is
-- when the agent last got a chat (Rocket.Chat's lastAssignTime / lastRoutingTime).
ALTER TABLE users ADD COLUMN max_chats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN open_chats BIGINT NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN last_routed_at BIGINT;
ALTER TABLE departments ADD COLUMN max_chats BIGINT NOT NULL DEFAULT 0;

UPDATE users SET open_chats = (SELECT COUNT(*) FROM rooms WHERE rooms.open AND rooms.served_by = users.id);

CREATE FUNCTION count_open_chats() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') AND OLD.open AND OLD.served_by IS NOT NULL THEN
        UPDATE users SET open_chats = open_chats - 1 WHERE id = OLD.served_by;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') AND NEW.open AND NEW.served_by IS NOT NULL THEN
        UPDATE users SET open_chats = open_chats + 1 WHERE id = NEW.served_by;
    END IF;
    RETURN NULL;
END;
$$;

CREATE TRIGGER rooms_count_open_chats_insert AFTER INSERT ON rooms
    FOR EACH ROW WHEN (NEW.open AND NEW.served_by IS NOT NULL) EXECUTE FUNCTION count_open_chats();
CREATE TRIGGER rooms_count_open_chats_update AFTER UPDATE OF open, served_by ON rooms
    FOR EACH ROW WHEN (
        ((OLD.open AND OLD.served_by IS NOT NULL) OR (NEW.open AND NEW.served_by IS NOT NULL))
        AND (OLD.open IS DISTINCT FROM NEW.open OR OLD.served_by IS DISTINCT FROM NEW.served_by)
    ) EXECUTE FUNCTION count_open_chats();
CREATE TRIGGER rooms_count_open_chats_delete AFTER DELETE ON rooms
    FOR EACH ROW WHEN (OLD.open AND OLD.served_by IS NOT NULL) EXECUTE FUNCTION count_open_chats();

-- Agents that may be offered a chat, for the routing queries.
CREATE INDEX users_available ON users (livechat_status) WHERE livechat_status = 'available';

INSERT INTO settings
    (id, kind, value, package_value, allowed_values, public, secret, enterprise, invalid_value, modules, group_id, section)
VALUES
    ('Livechat_maximum_chats_per_agent', 'int', '0', '0', NULL, FALSE, FALSE, TRUE, '0', '["livechat-enterprise"]', 'Omnichannel', 'Routing');
