-- One event path: every state change the realtime API (and later the webhooks)
-- publishes is a row here, written in the transaction of the change. Rows are pruned
-- after a retention period by the event bus. SQLite serves one instance: the bus is
-- woken in-process after each write transaction commits.
CREATE TABLE events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    room_id TEXT,
    payload TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX events_created ON events (created_at);
