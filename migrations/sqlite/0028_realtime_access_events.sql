-- Events the realtime API needs from changes made by many statements: a visitor's
-- data changing (its open rooms' widgets are told, `visitor.changed`) and an agent
-- leaving a department (its subscriptions to that department's queue and rooms are
-- checked again, `department.agent-removed`). Written by triggers, so in the
-- transaction of every statement that makes the change, whichever path it takes.

CREATE TRIGGER visitors_changed_event AFTER UPDATE ON visitors
WHEN OLD.name IS NOT NEW.name OR OLD.email IS NOT NEW.email OR OLD.phone IS NOT NEW.phone
  OR OLD.status IS NOT NEW.status OR OLD.department_id IS NOT NEW.department_id
  OR OLD.livechat_data IS NOT NEW.livechat_data OR OLD.contact_manager IS NOT NEW.contact_manager
BEGIN
    INSERT INTO events (kind, room_id, payload, created_at)
    SELECT 'visitor.changed', r.id, json_object('visitorId', NEW.id), NEW.updated_at
    FROM rooms r WHERE r.visitor_id = NEW.id AND r.open;
END;

CREATE TRIGGER department_agents_removed_event AFTER DELETE ON department_agents
BEGIN
    INSERT INTO events (kind, room_id, payload, created_at)
    VALUES ('department.agent-removed', NULL,
            json_object('departmentId', OLD.department_id, 'agentId', OLD.agent_id),
            CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER));
END;
