-- Rocket.Chat's omnichannel priorities: five fixed levels a room or its inquiry may
-- carry. A level's weight (`sort_item`, 1 the highest) orders the queue under the
-- Priority sorting mechanism; managers may rename a level (`name`, then `dirty`) and
-- reset it to its translated default (`i18n`). Levels are never added or removed.
CREATE TABLE livechat_priorities (
    id TEXT PRIMARY KEY,
    i18n TEXT NOT NULL,
    sort_item BIGINT NOT NULL UNIQUE,
    name TEXT,
    -- The trimmed name, lowercased: names are unique whatever their case, as
    -- Rocket.Chat compares them. NULL while the level has no name (or a blank one).
    name_key TEXT,
    dirty BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX livechat_priorities_name_key ON livechat_priorities (name_key);

-- Rocket.Chat's defaults, each with an id of its own as Rocket.Chat gives them.
INSERT INTO livechat_priorities (id, i18n, sort_item, updated_at)
SELECT substr(md5(random()::text || clock_timestamp()::text || defaults.i18n), 1, 24), defaults.i18n,
       defaults.sort_item, CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT)
FROM (VALUES ('Lowest', 5), ('Low', 4), ('Medium', 3), ('High', 2), ('Highest', 1)) AS defaults (i18n, sort_item);

-- The level of a room and its inquiry; `priority_weight` holds the level's
-- `sort_item` while it has one (99 without).
ALTER TABLE rooms ADD COLUMN priority_id TEXT REFERENCES livechat_priorities (id);
