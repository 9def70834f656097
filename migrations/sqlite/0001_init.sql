-- Timestamps are milliseconds since the UNIX epoch (BIGINT) on both backends, so
-- rows map to the same Rust types and compare and sort the same way.
-- Entities shared by both API faces carry a string id (Rocket.Chat `_id`) and an
-- integer id (HelpCrunch `id`), both assigned once at creation.

CREATE TABLE users (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    username TEXT NOT NULL,
    name TEXT NOT NULL,
    email TEXT,
    password_hash TEXT,
    status TEXT NOT NULL DEFAULT 'offline',
    livechat_status TEXT NOT NULL DEFAULT 'not-available',
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX users_username_key ON users (LOWER(username));
CREATE UNIQUE INDEX users_email_key ON users (LOWER(email));

CREATE TABLE roles (
    id TEXT PRIMARY KEY,
    description TEXT NOT NULL
);

CREATE TABLE user_roles (
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (user_id, role)
);
CREATE INDEX user_roles_role ON user_roles (role);

CREATE TABLE permissions (
    id TEXT PRIMARY KEY,
    updated_at BIGINT NOT NULL
);

CREATE TABLE permission_roles (
    permission_id TEXT NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    role TEXT NOT NULL REFERENCES roles (id),
    PRIMARY KEY (permission_id, role)
);
CREATE INDEX permission_roles_role ON permission_roles (role);

-- Login tokens and personal access tokens, stored only as digests.
CREATE TABLE auth_tokens (
    digest TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL CHECK (kind IN ('login', 'personal')),
    name TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX auth_tokens_user ON auth_tokens (user_id);
CREATE UNIQUE INDEX auth_tokens_personal_name_key ON auth_tokens (user_id, name) WHERE kind = 'personal';

CREATE TABLE login_failures (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL,
    address TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX login_failures_username ON login_failures (username, at);
CREATE INDEX login_failures_address ON login_failures (address, at);

CREATE TABLE departments (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    enabled BOOLEAN NOT NULL,
    email TEXT NOT NULL DEFAULT '',
    show_on_registration BOOLEAN NOT NULL DEFAULT TRUE,
    show_on_offline_form BOOLEAN NOT NULL DEFAULT TRUE,
    description TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT departments_name_key UNIQUE (name)
);

CREATE TABLE department_agents (
    department_id TEXT NOT NULL REFERENCES departments (id) ON DELETE CASCADE,
    agent_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    username TEXT NOT NULL,
    chat_count BIGINT NOT NULL DEFAULT 0,
    sort_order BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (department_id, agent_id)
);
CREATE INDEX department_agents_agent ON department_agents (agent_id);

-- A visitor's username is `guest-<num_id>`, derived rather than stored.
CREATE TABLE visitors (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    token TEXT NOT NULL UNIQUE,
    name TEXT,
    email TEXT,
    phone TEXT,
    department_id TEXT REFERENCES departments (id) ON DELETE SET NULL,
    status TEXT NOT NULL DEFAULT 'online',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sla_policies (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT NOT NULL DEFAULT '',
    due_time_in_minutes BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    CONSTRAINT sla_policies_name_key UNIQUE (name),
    CONSTRAINT sla_policies_due_time_key UNIQUE (due_time_in_minutes)
);

-- A livechat room (HelpCrunch: a chat) and, while it is open, its inquiry: the
-- inquiry is not a second table but the room's queue state, so every transition is
-- one conditional UPDATE of one row and both faces read the same row.
CREATE TABLE rooms (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    visitor_id TEXT NOT NULL REFERENCES visitors (id),
    -- The visitor's display name when the room was opened.
    fname TEXT NOT NULL,
    department_id TEXT REFERENCES departments (id) ON DELETE SET NULL,
    source_type TEXT NOT NULL,
    open BOOLEAN NOT NULL,
    chat_status TEXT NOT NULL,
    served_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    served_at BIGINT,
    closed_at BIGINT,
    closed_by TEXT,
    closer_id TEXT,
    close_comment TEXT,
    sla_id TEXT REFERENCES sla_policies (id) ON DELETE SET NULL,
    priority_weight BIGINT NOT NULL DEFAULT 99,
    estimated_waiting_time_queue BIGINT NOT NULL DEFAULT 9999999,
    inquiry_id TEXT UNIQUE,
    inquiry_status TEXT CHECK (inquiry_status IN ('queued', 'taken')),
    inquiry_message TEXT NOT NULL DEFAULT '',
    queued_at BIGINT,
    taken_at BIGINT,
    last_message_id TEXT,
    last_message_at BIGINT,
    last_customer_message_at BIGINT,
    message_count BIGINT NOT NULL DEFAULT 0,
    ts BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX rooms_one_open_per_visitor ON rooms (visitor_id) WHERE open;
CREATE INDEX rooms_served_by ON rooms (served_by) WHERE open;
CREATE INDEX rooms_department ON rooms (department_id);
CREATE INDEX rooms_ts ON rooms (ts);
-- The queue indexes cover queued rows only, so closed history never slows the queue.
CREATE INDEX rooms_queue_ts ON rooms (ts, num_id) WHERE inquiry_status = 'queued';
CREATE INDEX rooms_queue_queued_at ON rooms (queued_at, ts, num_id) WHERE inquiry_status = 'queued';
CREATE INDEX rooms_queue_department ON rooms (department_id, ts, num_id) WHERE inquiry_status = 'queued';
CREATE INDEX rooms_queue_priority ON rooms (priority_weight, queued_at, ts, num_id) WHERE inquiry_status = 'queued';
CREATE INDEX rooms_queue_sla ON rooms (estimated_waiting_time_queue, queued_at, ts, num_id) WHERE inquiry_status = 'queued';
CREATE INDEX rooms_sla ON rooms (sla_id) WHERE sla_id IS NOT NULL;

CREATE TABLE messages (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    room_id TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    msg TEXT NOT NULL,
    kind TEXT,
    author_id TEXT NOT NULL,
    author_username TEXT NOT NULL,
    author_name TEXT,
    from_visitor BOOLEAN NOT NULL,
    extra TEXT,
    ts BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX messages_room_ts ON messages (room_id, ts);

CREATE TABLE api_keys (
    num_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    prefix TEXT NOT NULL,
    digest TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT,
    CONSTRAINT api_keys_name_key UNIQUE (name)
);

-- Fixed one-minute windows per key; the counter is bumped with one upsert so that
-- concurrent requests on any number of instances never lose a count.
CREATE TABLE api_rate_windows (
    api_key_id BIGINT NOT NULL REFERENCES api_keys (num_id) ON DELETE CASCADE,
    window_start BIGINT NOT NULL,
    hits BIGINT NOT NULL,
    PRIMARY KEY (api_key_id, window_start)
);
