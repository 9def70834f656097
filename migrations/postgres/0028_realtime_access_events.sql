-- Events the realtime API needs from changes made by many statements: a visitor's
-- data changing (its open rooms' widgets are told, `visitor.changed`) and an agent
-- leaving a department (its subscriptions to that department's queue and rooms are
-- checked again, `department.agent-removed`). Written by triggers, so in the
-- transaction of every statement that makes the change, whichever path it takes.

CREATE FUNCTION visitor_changed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (kind, room_id, payload, created_at)
    SELECT 'visitor.changed', r.id, json_build_object('visitorId', NEW.id)::text, NEW.updated_at
    FROM rooms r WHERE r.visitor_id = NEW.id AND r.open;
    RETURN NULL;
END;
$$;

CREATE TRIGGER visitors_changed_event AFTER UPDATE ON visitors
    FOR EACH ROW
    WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.email IS DISTINCT FROM NEW.email
          OR OLD.phone IS DISTINCT FROM NEW.phone OR OLD.status IS DISTINCT FROM NEW.status
          OR OLD.department_id IS DISTINCT FROM NEW.department_id
          OR OLD.livechat_data IS DISTINCT FROM NEW.livechat_data
          OR OLD.contact_manager IS DISTINCT FROM NEW.contact_manager)
    EXECUTE FUNCTION visitor_changed_event();

CREATE FUNCTION department_agent_removed_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO events (kind, room_id, payload, created_at)
    VALUES ('department.agent-removed', NULL,
            json_build_object('departmentId', OLD.department_id, 'agentId', OLD.agent_id)::text,
            CAST(EXTRACT(EPOCH FROM clock_timestamp()) * 1000 AS BIGINT));
    RETURN NULL;
END;
$$;

CREATE TRIGGER department_agents_removed_event AFTER DELETE ON department_agents
    FOR EACH ROW EXECUTE FUNCTION department_agent_removed_event();
