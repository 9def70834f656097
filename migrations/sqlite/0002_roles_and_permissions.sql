-- The built-in roles and Rocket.Chat's default grants for the permissions this
-- server checks. permissions.update changes permission_roles at run time.
INSERT INTO roles (id, description) VALUES
    ('admin', 'Administrator'),
    ('user', 'User'),
    ('livechat-agent', 'Livechat agent'),
    ('livechat-manager', 'Livechat manager'),
    ('livechat-monitor', 'Livechat monitor');

INSERT INTO permissions (id, updated_at) VALUES
    ('view-livechat-manager', 0),
    ('view-l-room', 0),
    ('manage-livechat-sla', 0),
    ('view-livechat-rooms', 0),
    ('manage-livechat-agents', 0),
    ('manage-livechat-managers', 0),
    ('manage-livechat-departments', 0),
    ('view-livechat-departments', 0),
    ('create-user', 0),
    ('access-permissions', 0),
    ('manage-livechat-api-keys', 0);

INSERT INTO permission_roles (permission_id, role) VALUES
    ('view-livechat-manager', 'admin'),
    ('view-livechat-manager', 'livechat-manager'),
    ('view-livechat-manager', 'livechat-monitor'),
    ('view-l-room', 'admin'),
    ('view-l-room', 'livechat-manager'),
    ('view-l-room', 'livechat-monitor'),
    ('view-l-room', 'livechat-agent'),
    ('manage-livechat-sla', 'admin'),
    ('manage-livechat-sla', 'livechat-manager'),
    ('view-livechat-rooms', 'admin'),
    ('view-livechat-rooms', 'livechat-manager'),
    ('view-livechat-rooms', 'livechat-monitor'),
    ('manage-livechat-agents', 'admin'),
    ('manage-livechat-agents', 'livechat-manager'),
    ('manage-livechat-managers', 'admin'),
    ('manage-livechat-departments', 'admin'),
    ('manage-livechat-departments', 'livechat-manager'),
    ('view-livechat-departments', 'admin'),
    ('view-livechat-departments', 'livechat-manager'),
    ('view-livechat-departments', 'livechat-monitor'),
    ('view-livechat-departments', 'livechat-agent'),
    ('create-user', 'admin'),
    ('access-permissions', 'admin'),
    ('manage-livechat-api-keys', 'admin');
